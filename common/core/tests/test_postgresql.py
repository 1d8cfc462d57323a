"""The pool's check before lending a connection (common.core.db)."""

import select
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from common.core.postgresql.base import DatabaseWrapper


@pytest.fixture
def pool() -> Iterator[ConnectionPool]:
    """The pool of a pooled database as the settings configure it (ENGINE common.core.postgresql)."""
    settings_dict: dict[str, Any] = {
        **connection.settings_dict,
        "ENGINE": "common.core.postgresql",
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {**connection.settings_dict["OPTIONS"], "pool": {"min_size": 1, "max_size": 1, "timeout": 10}},
    }
    database = DatabaseWrapper(settings_dict, alias="pool_check_test")
    pool = database.pool
    assert pool is not None
    pool.open()
    try:
        yield pool
    finally:
        database.close_pool()


def _backend_pid(pool: ConnectionPool) -> int:
    with pool.connection() as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        return int(row[0])


@pytest.mark.django_db
def test_a_connection_the_server_ended_while_idle_is_not_lent_and_another_one_is(pool: ConnectionPool) -> None:
    ended = _backend_pid(pool)
    with pool.connection() as conn:
        idle_socket = conn.pgconn.socket
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [ended])
    select.select([idle_socket], [], [], 10)  # the server's goodbye reaches the idle connection
    assert _backend_pid(pool) != ended
    assert pool.get_stats().get("connections_lost", 0) == 1


@pytest.mark.django_db
def test_an_idle_connection_nobody_wrote_to_is_lent_without_a_round_trip(
    pool: ConnectionPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _backend_pid(pool)
    round_trips: list[object] = []
    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(round_trips.append))
    assert _backend_pid(pool) == pid
    assert round_trips == []
