"""Per-key rate limits and per-key / per-organization quotas, counted in Redis.

One Lua script admits a request or not, atomically, for every web process: it checks the fixed
one-minute window and the daily and monthly request quotas of the key and of its organization, and only
when all pass increments them all (so refused requests never inflate usage). LLM tokens are added after
an answer and checked before the next one. Without Redis (local development only) the same logic runs
on Django's cache, which is per process and not atomic (see docs/adr/0031-api-key-rate-limits-and-quotas.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

from django.core.cache import cache

from apps.api_keys.principal import APIKeyPrincipal
from common.core.redis import hot_execute, hot_script, hot_write, redis_client

WINDOW_SECONDS = 60
DAY_TTL_SECONDS = 8 * 86400  # the flush task copies the last 7 days
MONTH_TTL_SECONDS = 62 * 86400
TOUCH_SECONDS = 60  # last_used_at / last IP are written at most once per minute per key

QUOTA_NAMES = ("key_daily_requests", "key_monthly_requests", "org_daily_requests", "org_monthly_requests")
TOKEN_QUOTA_NAMES = ("key_daily_tokens", "key_monthly_tokens", "org_daily_tokens", "org_monthly_tokens")


@dataclass(frozen=True)
class Admission:
    admitted: bool
    limit: int  # requests per minute; 0 = unlimited (no headers)
    remaining: int
    reset_at: int  # epoch seconds when the window ends
    retry_after: int  # seconds; meaningful when refused
    refused_by: str = ""  # "rate_limit" or a quota name
    quota_limit: int = 0
    touch: bool = False  # time to record last_used_at


def _month(day: date) -> str:
    return day.strftime("%Y%m")


def _org_keys(organization_id: Any, now: datetime) -> dict[str, str]:
    day = now.date()
    return {
        "org_day": f"apikey:ou:{day.isoformat()}:{organization_id}",
        "org_month": f"apikey:om:{_month(day)}:{organization_id}",
    }


def _keys(principal: APIKeyPrincipal, now: datetime) -> dict[str, str]:
    day = now.date()
    window = int(now.timestamp()) // WINDOW_SECONDS
    return {
        "window": f"apikey:rl:{principal.id}:{window}",
        "key_day": f"apikey:u:{day.isoformat()}:{principal.id}",
        "key_month": f"apikey:m:{_month(day)}:{principal.id}",
        **_org_keys(principal.organization_id, now),
        "index": f"apikey:idx:{day.isoformat()}",
        "org_index": f"apikey:oidx:{day.isoformat()}:{principal.organization_id}",
        "touch": f"apikey:touch:{principal.id}",
    }


def _index_member(principal: APIKeyPrincipal) -> str:
    return f"{principal.id}:{principal.organization_id}"


def _seconds_to_day_end(now: datetime) -> int:
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return max(1, math.ceil((tomorrow - now).total_seconds()))


def _seconds_to_month_end(now: datetime) -> int:
    first = now.date().replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    end = datetime.combine(next_month, datetime.min.time(), tzinfo=UTC)
    return max(1, math.ceil((end - now).total_seconds()))


# The admission, on K (keys) and A (arguments); the two scripts below bind them. Counting first and taking the count
# back when a limit refuses costs fewer commands than reading every counter first: an admitted request (the usual
# case) runs INCR and four HINCRBY, plus the touch marker; the day's indexes are written only by the key's first
# counted request of the day (its day counter reads 1), and the usage writers add the key to them as well.
_ADMIT_BODY = """
local rate = tonumber(A[1])
local count = redis.call('INCR', K[1])
if count == 1 then redis.call('PEXPIRE', K[1], A[6]) end
if rate > 0 and count > rate then
  redis.call('DECR', K[1])
  return {1, count - 1, 0, 0}
end
local ttls = {A[7], A[8], A[7], A[8]}
local first_today = false
for i = 2, 5 do
  local used = redis.call('HINCRBY', K[i], 'requests', 1)
  -- a counter's first increment gives it its expiry (usage writers set one too)
  if used == 1 then
    redis.call('EXPIRE', K[i], ttls[i - 1])
    if i == 2 then first_today = true end
  end
  local limit = tonumber(A[i])
  if limit > 0 and used > limit then
    for j = 2, i do redis.call('HINCRBY', K[j], 'requests', -1) end
    redis.call('DECR', K[1])
    return {2, count - 1, 0, i - 1}
  end
end
if first_today then
  if redis.call('SADD', K[6], A[9]) == 1 then redis.call('EXPIRE', K[6], A[7]) end
  if redis.call('SADD', K[8], A[11]) == 1 then redis.call('EXPIRE', K[8], A[7]) end
end
local touch = redis.call('SET', K[7], '1', 'NX', 'EX', A[10])
return {0, count, 0, touch and 1 or 0}
"""
_ADMIT = "local K, A = KEYS, ARGV\n" + _ADMIT_BODY
# The same, for a key whose snapshot the web process holds: first check that the key's generation token is still
# the one that snapshot was read under (the last key and argument); if not (revoked, rotated, changed), count nothing.
GENERATION_MOVED = 3
_ADMIT_WARM = (
    "if redis.call('GET', KEYS[#KEYS]) ~= ARGV[#ARGV] then return {3, 0, 0, 0} end\n"
    "local K, A = KEYS, ARGV\n" + _ADMIT_BODY
)


_SCRIPT_KEYS = ("window", "key_day", "key_month", "org_day", "org_month", "index", "touch", "org_index")


@lru_cache(maxsize=4096)
def _script_keys(key_id: UUID, organization_id: UUID, minute: int) -> list[str]:
    """The script's counter names for a key in one minute (the same for every request of that minute)."""
    now = datetime.fromtimestamp(minute * WINDOW_SECONDS, tz=UTC)
    principal = _KeyIds(key_id, organization_id)
    keys = _keys(principal, now)  # type: ignore[arg-type]
    return [keys[k] for k in _SCRIPT_KEYS]


@dataclass(frozen=True)
class _KeyIds:
    id: UUID
    organization_id: UUID


def _script_call(principal: APIKeyPrincipal, now: datetime) -> tuple[list[str], list[Any], tuple[int, ...]]:
    keys = _script_keys(principal.id, principal.organization_id, int(now.timestamp()) // WINDOW_SECONDS)
    quotas = (
        principal.limits.daily_requests,
        principal.limits.monthly_requests,
        principal.org_limits.daily_requests,
        principal.org_limits.monthly_requests,
    )
    args = [
        principal.limits.rate_per_minute,
        *quotas,
        (WINDOW_SECONDS + 1) * 1000,
        DAY_TTL_SECONDS,
        MONTH_TTL_SECONDS,
        _index_member(principal),
        TOUCH_SECONDS,
        str(principal.id),
    ]
    return keys, args, quotas


def admit(principal: APIKeyPrincipal, *, now: datetime) -> Admission:
    """Count this request against the key's window and quotas, or refuse it without counting it."""
    client = redis_client()
    if client is not None:
        keys, args, quotas = _script_call(principal, now)
        result = hot_script(_ADMIT, keys, args)
    else:
        _, _, quotas = _script_call(principal, now)
        result = _admit_with_cache(_keys(principal, now), principal.limits.rate_per_minute, quotas, principal)
    return _admission(result, principal, quotas, now)


def admit_warm(
    principal: APIKeyPrincipal, *, now: datetime, generation_key: str, generation: bytes
) -> Admission | None:
    """`admit` for a snapshot held by this process, in the same round trip as the check that it is still
    current: None (and nothing counted) when the key's generation token moved since it was read. Redis only."""
    keys, args, quotas = _script_call(principal, now)
    result = hot_script(_ADMIT_WARM, [*keys, generation_key], [*args, generation])
    if int(result[0]) == GENERATION_MOVED:
        return None
    return _admission(result, principal, quotas, now)


def _admission(result: Any, principal: APIKeyPrincipal, quotas: tuple[int, ...], now: datetime) -> Admission:
    status, count, _ttl_ms, extra = (int(v) for v in result)
    rate = principal.limits.rate_per_minute
    window_end = (int(now.timestamp()) // WINDOW_SECONDS + 1) * WINDOW_SECONDS
    if status == 1:
        retry = max(1, math.ceil(window_end - now.timestamp()))
        return Admission(False, rate, 0, window_end, retry, refused_by="rate_limit")
    if status == 2:
        name = QUOTA_NAMES[extra - 1]
        retry = _seconds_to_day_end(now) if "daily" in name else _seconds_to_month_end(now)
        return Admission(
            False, rate, max(0, rate - count), window_end, retry, refused_by=name, quota_limit=quotas[extra - 1]
        )
    return Admission(True, rate, max(0, rate - count), window_end, 0, touch=bool(extra))


def _admit_with_cache(
    keys: dict[str, str], rate: int, quotas: tuple[int, ...], principal: APIKeyPrincipal
) -> tuple[int, int, int, int]:
    """Development fallback on Django's cache: same rules, but per process and check-then-act."""
    count = int(cache.get(keys["window"], 0))
    if rate > 0 and count >= rate:
        return 1, count, 0, 0
    quota_keys = ("key_day", "key_month", "org_day", "org_month")
    for position, (name, limit) in enumerate(zip(quota_keys, quotas, strict=True), start=1):
        if limit > 0 and int(cache.get(f"{keys[name]}:requests", 0)) >= limit:
            return 2, count, 0, position
    cache.add(keys["window"], 0, timeout=WINDOW_SECONDS + 1)
    count = cache.incr(keys["window"])
    for name in quota_keys:
        _cache_incr(f"{keys[name]}:requests", 1, DAY_TTL_SECONDS if "day" in name else MONTH_TTL_SECONDS)
    _cache_index_add(keys["index"], _index_member(principal))
    _cache_index_add(keys["org_index"], str(principal.id))
    touch = cache.add(keys["touch"], 1, timeout=TOUCH_SECONDS)
    return 0, count, 0, int(touch)


def _ttl(name: str) -> int:
    return DAY_TTL_SECONDS if "day" in name else MONTH_TTL_SECONDS


def _cache_incr(key: str, amount: int, ttl: int) -> None:
    cache.add(key, 0, timeout=ttl)
    try:
        cache.incr(key, amount)
    except ValueError:
        cache.set(key, amount, timeout=ttl)


def _cache_index_add(key: str, member: str) -> None:
    members = set(cache.get(key, set()))
    if member not in members:
        members.add(member)
        cache.set(key, members, timeout=DAY_TTL_SECONDS)


def add_usage(principal: APIKeyPrincipal, *, field: str, amount: int, now: datetime, org_too: bool) -> None:
    """Add to a usage field ("tokens" or "errors") of the key's day (and month, and organization's). With Redis, one
    MULTI/EXEC sent with `hot_write` (with the other writes of an open `hot_writes_together()` block)."""
    if amount <= 0:
        return
    keys = _keys(principal, now)
    targets = ["key_day", "key_month", "org_day", "org_month"] if org_too else ["key_day"]
    if redis_client() is not None:
        commands: list[tuple[Any, ...]] = []
        for name in targets:
            commands += [("HINCRBY", keys[name], field, amount), ("EXPIRE", keys[name], _ttl(name))]
        commands += [("SADD", keys["index"], _index_member(principal)), ("EXPIRE", keys["index"], DAY_TTL_SECONDS)]
        commands += [("SADD", keys["org_index"], str(principal.id)), ("EXPIRE", keys["org_index"], DAY_TTL_SECONDS)]
        hot_write(("MULTI",), *commands, ("EXEC",))
        return
    for name in targets:
        _cache_incr(f"{keys[name]}:{field}", amount, _ttl(name))
    _cache_index_add(keys["index"], _index_member(principal))
    _cache_index_add(keys["org_index"], str(principal.id))


def add_organization_usage(organization_id: Any, *, field: str, amount: int, now: datetime) -> None:
    """Add to a usage field of the organization's day and month only: tokens spent without a key (members,
    widget visitors) count against the organization's quotas, which its keys share."""
    if amount <= 0:
        return
    keys = _org_keys(organization_id, now)
    if redis_client() is not None:
        commands: list[tuple[Any, ...]] = []
        for name, key in keys.items():
            commands += [("HINCRBY", key, field, amount), ("EXPIRE", key, _ttl(name))]
        hot_write(("MULTI",), *commands, ("EXEC",))
        return
    for name, key in keys.items():
        _cache_incr(f"{key}:{field}", amount, _ttl(name))


def organization_token_usage(organization_id: Any, *, now: datetime) -> tuple[int, int]:
    """LLM tokens the organization used so far (its keys and everyone else): today, this month."""
    keys = _org_keys(organization_id, now)
    if redis_client() is not None:
        day, month = hot_execute(*organization_token_usage_reads(organization_id, now=now))
    else:
        day, month = (cache.get(f"{key}:tokens", 0) for key in keys.values())
    return int(day or 0), int(month or 0)


def organization_token_usage_reads(organization_id: Any, *, now: datetime) -> tuple[tuple[str, ...], ...]:
    """The commands whose replies (today, this month) `organization_token_usage` reads, to send with others."""
    return tuple(("HGET", key, "tokens") for key in _org_keys(organization_id, now).values())


def token_usage(principal: APIKeyPrincipal, *, now: datetime) -> tuple[int, int, int, int]:
    """LLM tokens used so far: key today, key this month, organization today, organization this month."""
    keys = _keys(principal, now)
    names = ("key_day", "key_month", "org_day", "org_month")
    if redis_client() is not None:
        values = hot_execute(*(("HGET", keys[name], "tokens") for name in names))
    else:
        values = [cache.get(f"{keys[name]}:tokens", 0) for name in names]
    return tuple(int(v or 0) for v in values)  # type: ignore[return-value]


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def day_counters(day: date, *, organization_id: UUID | None = None) -> dict[tuple[UUID, UUID], dict[str, int]]:
    """Live counters of one UTC day: (key id, organization id) → requests, tokens, errors.

    With `organization_id`, only that organization's keys (read from its own index)."""
    stamp = day.isoformat()
    client = redis_client()
    pairs: list[tuple[str, str]]
    if organization_id is not None:
        index = f"apikey:oidx:{stamp}:{organization_id}"
        raw = client.smembers(index) if client is not None else cache.get(index, set())
        pairs = [(_decode(m), str(organization_id)) for m in raw]
    else:
        index = f"apikey:idx:{stamp}"
        raw = client.smembers(index) if client is not None else cache.get(index, set())
        pairs = [tuple(_decode(m).split(":", 1)) for m in raw]  # type: ignore[misc]
    pairs.sort()
    fields = ("requests", "tokens", "errors")
    if client is not None:
        pipe = client.pipeline(transaction=False)
        for key_id, _ in pairs:
            pipe.hmget(f"apikey:u:{stamp}:{key_id}", *fields)
        rows = [[int(v or 0) for v in values] for values in pipe.execute()]
    else:
        rows = [[int(cache.get(f"apikey:u:{stamp}:{key_id}:{f}", 0)) for f in fields] for key_id, _ in pairs]
    return {
        (UUID(key_id), UUID(org_id)): dict(zip(fields, values, strict=True))
        for (key_id, org_id), values in zip(pairs, rows, strict=True)
    }
