"""The embedded default's filesystem broker: a worker never reads a message that is still being written, and
looks for the next message soon while they are coming."""

from __future__ import annotations

import os
import threading
from queue import Empty

import pytest
from kombu import Connection

from config import broker
from config.broker import FILESYSTEM_TRANSPORT


@pytest.fixture
def channel(tmp_path):
    folder = tmp_path / "broker"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False}
    with Connection("filesystem://", transport=FILESYSTEM_TRANSPORT, transport_options=options) as connection:
        yield connection.default_channel


def test_a_message_being_written_is_not_taken_by_a_worker_until_it_is_complete(channel, monkeypatch):
    real_replace = os.replace
    polled_while_writing = []

    def poll_then_publish(source, destination):
        with pytest.raises(Empty):
            channel._get("celery")  # the worker polls while the file is written: nothing to take yet
        polled_while_writing.append(destination)
        real_replace(source, destination)

    monkeypatch.setattr("config.broker.os.replace", poll_then_publish)
    channel._put("celery", {"body": "index this document"})
    assert polled_while_writing
    assert channel._get("celery") == {"body": "index this document"}


def test_every_message_published_while_a_worker_drains_arrives_whole(channel):
    count = 300
    received = []

    def drain():
        while len(received) < count:
            try:
                received.append(channel._get("celery"))
            except Empty:
                continue

    worker = threading.Thread(target=drain, daemon=True)
    worker.start()
    for n in range(count):
        channel._put("celery", {"n": n, "padding": "x" * 4096})
    worker.join(timeout=60)
    assert sorted(message["n"] for message in received) == list(range(count))


def test_a_worker_looks_again_soon_while_messages_come_and_at_the_configured_interval_when_idle(tmp_path, monkeypatch):
    folder = tmp_path / "broker"
    folder.mkdir()
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "store_processed": False,
        "control_folder": str(tmp_path / "control"),
        "polling_interval": 1.0,
    }
    clock = [1000.0]
    slept: list[float] = []
    # Only this test's thread gets the stopped clock: a thread another test left in this process (a server, a
    # producer) keeps the real ones, and its sleeps are not this transport's.
    mine = threading.get_ident()
    real_monotonic, real_sleep = broker.monotonic, broker.sleep

    def sleep(seconds: float) -> None:  # the transport's clock moves only when it sleeps
        if threading.get_ident() != mine:
            real_sleep(seconds)
            return
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(
        "config.broker.monotonic", lambda: clock[0] if threading.get_ident() == mine else real_monotonic()
    )
    monkeypatch.setattr("config.broker.sleep", sleep)
    with Connection("filesystem://", transport=FILESYSTEM_TRANSPORT, transport_options=options) as connection:
        queue = connection.SimpleQueue("celery")
        with pytest.raises(Empty):
            queue.get(timeout=2)
        assert set(slept) == {1.0}  # idle: the configured interval

        queue.put({"document": 1})
        assert queue.get(timeout=2).payload == {"document": 1}
        slept.clear()
        with pytest.raises(Empty):
            queue.get(timeout=2)
        assert set(slept) == {broker.BUSY_POLLING_INTERVAL}  # a message just came: the next is looked for soon

        clock[0] += broker.BUSY_SECONDS
        slept.clear()
        with pytest.raises(Empty):
            queue.get(timeout=2)
        assert set(slept) == {1.0}  # quiet again
