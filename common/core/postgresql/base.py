"""Django's PostgreSQL backend whose connection pool checks a connection before lending it without a round trip
when nothing happened on it.

psycopg_pool's own check (`ConnectionPool.check_connection`, what Django installs with CONN_HEALTH_CHECKS) sends an
empty query and waits for the answer on every checkout: a round trip, and the CPU of a statement, for each of the
connections a chat answer takes. An idle connection in the pool receives nothing unless the server has something
to say: when PostgreSQL ends a session (a restart, `pg_terminate_backend`, an idle timeout) it sends the error and
closes the socket, which makes the socket readable. So the socket is polled without waiting; a quiet socket is lent
as it is, and one with anything to read (or a connection not idle and healthy on the client side) gets the round
trip, which fails for a dead connection, so the pool drops it and lends another (see docs/adr/0123).

What this cannot see, and the round trip would: a peer that vanished without closing (a cable pulled, a firewall
dropping the session silently). The first statement on such a connection fails as it would have without checks.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base
from psycopg import pq
from psycopg_pool import ConnectionPool


def pooled_connection_check(conn: psycopg.Connection[Any]) -> None:
    """Raise if `conn` cannot be lent (psycopg_pool then discards it and lends another); see the module docstring."""
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    pgconn = conn.pgconn
    if (
        pgconn.status == pq.ConnStatus.OK
        and pgconn.transaction_status == pq.TransactionStatus.IDLE
        and not _readable(pgconn.socket)
    ):
        return
    ConnectionPool.check_connection(conn)


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's, except that the pool's check (CONN_HEALTH_CHECKS) is `pooled_connection_check`.

    Django builds the pool itself and passes psycopg_pool's own check; the pool's options cannot name another (the
    keyword would be passed twice), so the property is Django's (5.2) with that one argument changed.
    """

    @property
    def pool(self) -> ConnectionPool[Any] | None:
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not pool_options:
            return None
        pools: dict[str, ConnectionPool[Any]] = self._connection_pools  # type: ignore[attr-defined]
        if self.alias not in pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            if pool_options is True:
                pool_options = {}
            connect_kwargs = self.get_connection_params()
            connect_kwargs["autocommit"] = True  # Django sets it properly later on
            pool = ConnectionPool(
                kwargs=connect_kwargs,
                open=False,  # not during start-up
                configure=self._configure_connection,  # type: ignore[attr-defined]
                check=pooled_connection_check if self.settings_dict["CONN_HEALTH_CHECKS"] else None,
                **pool_options,
            )
            pools.setdefault(self.alias, pool)  # the first of racing threads wins
        return pools[self.alias]
