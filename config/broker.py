"""Kombu's filesystem transport (the embedded default's broker) with an atomic publish.

The stock transport creates the message file under its final name and then writes it, while a worker takes
any file with that name (it renames it away and reads it, without a lock): a worker polling at the wrong
moment reads an empty or half-written message, crashes on it, and the message is gone (the document then
waits for the queued-document sweep). `make load` hit it. Here a message is written under a name the worker
ignores and renamed into place when complete: a rename within one directory is atomic, so a worker sees
the whole message or nothing.

It also looks again soon while messages are coming: a worker takes one message per free process
(prefetch 1, acks late), so after each task its next message waited for the next poll; a burst of small
documents spent most of its time there (ADR 0112). For a few seconds after a message arrives the worker polls
every BUSY_POLLING_INTERVAL, then back at the configured `polling_interval` while idle.
"""

from __future__ import annotations

import os
import uuid
from queue import Empty
from time import monotonic, sleep
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

FILESYSTEM_TRANSPORT = "config.broker:Transport"

# While messages are coming (up to BUSY_SECONDS after the last one), look again after this long.
BUSY_POLLING_INTERVAL = 0.005
BUSY_SECONDS = 3.0


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Not "<...>.<queue>.msg": the worker's scan skips it until the rename.
        partial = f"{final}.part"
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel

    last_delivery = float("-inf")  # monotonic time of the last message this worker took

    def drain_events(self, connection: Any, timeout: float | None = None, **kwargs: Any) -> None:
        """Kombu's virtual transport loop (get, or sleep and get again until `timeout`), with the sleep
        short while messages are coming and `polling_interval` when idle."""
        started = monotonic()
        cycle = self.cycle
        assert cycle is not None  # set in the constructor; typed optional by kombu
        while True:
            try:
                cycle.get(self._deliver, timeout=timeout)
            except Empty:
                now = monotonic()
                if timeout is not None and now - started >= timeout:
                    raise TimeoutError() from None  # socket.timeout, as kombu raises
                interval = self.polling_interval
                if now - self.last_delivery < BUSY_SECONDS:
                    interval = BUSY_POLLING_INTERVAL if interval is None else min(interval, BUSY_POLLING_INTERVAL)
                if interval is not None:
                    sleep(min(interval, timeout) if timeout else interval)
            else:
                self.last_delivery = monotonic()
                return
