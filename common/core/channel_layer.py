"""The channel layer of production: channels_redis, made to ride out Redis being away (a restart, a failover).

PostgreSQL is the record and the channel layer only a doorbell (docs/realtime.md): a lost ring costs latency, never
a message. So while Redis does not answer, nothing that uses the layer fails: sends and group changes are logged
and dropped, and a consumer's receive waits (with backoff) for Redis instead of raising, which would end the
consumer and cut its WebSocket. Each process remembers the groups its channels are in; when a channel's receive
comes back after an outage it joins them again, so a Redis that lost its data (no append-only file, a failover to
a replica that lagged) still rings the sockets that were open before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any

from channels_redis.core import RedisChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, asyncio.TimeoutError)
RETRY_FIRST = 0.2
RETRY_MAX = 5.0


class ResilientRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.memberships: defaultdict[str, set[str]] = defaultdict(set)  # channel -> its groups, in this process

    async def receive(self, channel: str) -> Any:
        delay, outage = RETRY_FIRST, False
        while True:
            try:
                if outage:
                    await self._rejoin(channel)
                return await super().receive(channel)
            except UNAVAILABLE as error:
                if not outage:
                    logger.warning("channel layer unavailable (%s); waiting for Redis", error)
                outage = True
                with contextlib.suppress(Exception):  # pooled connections to a Redis that went away are dead
                    await self.close_pools()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

    async def _rejoin(self, channel: str) -> None:
        for group in list(self.memberships.get(channel, ())):
            await super().group_add(group, channel)

    async def group_add(self, group: str, channel: str) -> None:
        self.memberships[channel].add(group)
        try:
            await super().group_add(group, channel)
        except UNAVAILABLE as error:  # joined again when the channel's receive is back
            logger.warning("channel layer unavailable; %s joins %s later (%s)", channel, group, error)

    async def group_discard(self, group: str, channel: str) -> None:
        groups = self.memberships.get(channel)
        if groups is not None:
            groups.discard(group)
            if not groups:
                del self.memberships[channel]
        try:
            await super().group_discard(group, channel)
        except UNAVAILABLE as error:  # the entry expires (group_expiry)
            logger.warning("channel layer unavailable; %s left %s only here (%s)", channel, group, error)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        try:
            await super().send(channel, message)
        except UNAVAILABLE as error:
            logger.warning("channel layer unavailable; a message to %s is dropped (%s)", channel, error)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        try:
            await super().group_send(group, message)
        except UNAVAILABLE as error:
            logger.warning("channel layer unavailable; a ring to %s is dropped (%s)", group, error)
