import threading
import uuid

import pytest
import redis
from redis.exceptions import ResponseError

from common.core.redis import hot_execute, hot_script


def test_the_suite_has_a_real_redis(redis_url):
    client = redis.Redis.from_url(redis_url)
    key = f"docent-test-{id(client)}"
    client.set(key, "1", ex=5)
    assert client.get(key) == b"1"
    client.delete(key)


def _name(suffix: str) -> str:
    return f"docent-test-hot-{uuid.uuid4().hex}-{suffix}"


def test_hot_commands_share_one_round_trip_and_return_the_raw_replies(redis_url):
    name = _name("a")
    try:
        commands = [("SET", name, "1"), ("INCR", name), ("GET", name), ("GET", _name("missing"))]
        replies = hot_execute(*commands, url=redis_url)
        assert replies == [b"OK", 2, b"2", None]
    finally:
        redis.Redis.from_url(redis_url).delete(name)


@pytest.fixture
def a_list(redis_url):
    """The name of a list in Redis: a command for another type gets a WRONGTYPE error reply."""
    name = _name("list")
    client = redis.Redis.from_url(redis_url)
    client.rpush(name, "x")
    yield name
    client.delete(name)


def test_an_error_reply_raises_and_the_connection_stays_in_step(redis_url, a_list):
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        hot_execute(("INCR", a_list), ("LLEN", a_list), url=redis_url)
    # the reply after the error was read too: the next command gets its own reply
    assert hot_execute(("LLEN", a_list), url=redis_url) == [1]


def test_a_script_the_server_does_not_hold_is_sent_whole_once_then_by_its_hash(redis_url, monkeypatch):
    """A Redis that restarted (or never saw the script) answers NOSCRIPT; the call still succeeds.

    The script is unique to this test, so the shared server has never seen it; flushing the server's script
    cache instead would break other tests running against the same Redis at the same moment.
    """
    from common.core import redis as hot

    name = _name("script")
    source = f"-- {name}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])"
    sent: list[str] = []
    original = hot._round_trip

    def counting(connection, commands):
        sent.extend(str(command[0]) for command in commands)
        return original(connection, commands)

    monkeypatch.setattr(hot, "_round_trip", counting)
    client = redis.Redis.from_url(redis_url)
    try:
        assert hot_script(source, [name], [2], url=redis_url) == 2
        assert hot_script(source, [name], [3], url=redis_url) == 5
        assert sent == ["EVALSHA", "EVAL", "EVALSHA"]
    finally:
        client.delete(name)


def test_a_connection_redis_dropped_is_made_again(redis_url):
    name = _name("reconnect")
    client = redis.Redis.from_url(redis_url)
    try:
        hot_execute(("SET", name, "before"), url=redis_url)
        own_id = hot_execute(("CLIENT", "ID"), url=redis_url)[0]
        client.client_kill_filter(_id=own_id)
        assert hot_execute(("GET", name), url=redis_url) == [b"before"]
        assert hot_execute(("CLIENT", "ID"), url=redis_url)[0] != own_id
    finally:
        client.delete(name)


def test_a_request_on_a_new_thread_reuses_the_process_connection_instead_of_connecting_again(redis_url):
    """Django's ASGI handler runs each request's synchronous code on a new thread: a connection per thread was a
    new connection to Redis per request."""
    ids: list[int] = [hot_execute(("CLIENT", "ID"), url=redis_url)[0]]
    for _ in range(3):
        thread = threading.Thread(target=lambda: ids.append(hot_execute(("CLIENT", "ID"), url=redis_url)[0]))
        thread.start()
        thread.join()
    assert len(ids) == 4
    assert set(ids) == {ids[0]}


def test_calls_at_the_same_time_never_share_a_connection(redis_url):
    from common.core import redis as hot

    held = hot._checkout(redis_url)  # a call in progress on another thread holds this one
    try:
        held.send_command("CLIENT", "ID")
        held_id = held.read_response()
        other = hot_execute(("CLIENT", "ID"), url=redis_url)[0]
        assert other != held_id
    finally:
        hot._checkin(redis_url, held)
    assert {hot_execute(("CLIENT", "ID"), url=redis_url)[0] for _ in range(2)} <= {held_id, other}


def test_the_cache_builds_one_redis_client_per_pool_and_still_works(redis_url, settings):
    from django.core.cache import caches

    settings.CACHES = {"default": {"BACKEND": "common.core.cache.RedisCache", "LOCATION": redis_url}}
    cache = caches.create_connection("default")
    name = _name("cache")
    cache.set(name, {"text": "so far"}, timeout=30)
    assert cache.get(name) == {"text": "so far"}
    assert cache._cache.get_client(name, write=True) is cache._cache.get_client(name, write=True)
    cache.delete(name)
    assert cache.get(name) is None


def test_a_request_thread_s_cache_reuses_the_process_s_redis_connections(redis_url, settings):
    """Django's caches are per thread, and under ASGI every request has a thread of its own: the thread's first
    cache call must not build a pool and open a connection of its own."""
    settings.CACHES = {"default": {"BACKEND": "common.core.cache.RedisCache", "LOCATION": redis_url}}
    from django.core.cache import caches

    mine = caches.create_connection("default")
    mine.set(_name("warm"), 1, timeout=5)
    clients = []

    def request() -> None:
        theirs = caches.create_connection("default")  # what a new thread gets
        theirs.get(_name("cold"))
        clients.append(theirs._cache.get_client(write=True))

    thread = threading.Thread(target=request)
    thread.start()
    thread.join()
    assert clients[0] is mine._cache.get_client(write=True)  # the same client, over the same pool


def test_writes_made_together_leave_in_one_round_trip_when_the_block_ends(redis_url, redis_round_trips):
    from common.core.redis import hot_write, hot_writes_together

    sent = redis_round_trips
    first, second = _name("first"), _name("second")
    try:
        with hot_writes_together():
            hot_write(("SET", first, "1"), url=redis_url)
            hot_write(("MULTI",), ("INCR", second), ("EXPIRE", second, 30), ("EXEC",), url=redis_url)
            assert sent == []  # nothing left yet
        assert sent == [["SET", "MULTI", "INCR", "EXPIRE", "EXEC"]]
        assert hot_execute(("GET", first), ("GET", second), url=redis_url) == [b"1", b"1"]
    finally:
        redis.Redis.from_url(redis_url).delete(first, second)


def test_a_write_outside_a_block_leaves_at_once_and_writes_before_an_error_still_leave(redis_url, redis_round_trips):
    from common.core.redis import hot_write, hot_writes_together

    sent = redis_round_trips
    name = _name("alone")
    try:
        hot_write(("SET", name, "1"), url=redis_url)
        assert sent == [["SET"]]
        with pytest.raises(LookupError), hot_writes_together():
            hot_write(("INCR", name), url=redis_url)
            raise LookupError("the block's own work failed")
        assert hot_execute(("GET", name), url=redis_url) == [b"2"]
    finally:
        redis.Redis.from_url(redis_url).delete(name)


def test_a_failed_command_inside_multi_exec_raises_as_redis_py_s_pipeline_does(redis_url, a_list):
    from common.core.redis import hot_write

    with pytest.raises(ResponseError, match="WRONGTYPE"):
        hot_write(("MULTI",), ("HINCRBY", a_list, "tokens", 1), ("EXEC",), url=redis_url)


def test_the_cache_s_commands_write_what_the_cache_reads(redis_url, settings):
    from django.core.cache import cache

    from common.core.cache import cache_delete_command, cache_set_command

    name = _name("marker")
    url, command = cache_set_command(name, {"text": "so far", "at": 1.5}, 60)
    hot_execute(command, url=url)
    assert cache.get(name) == {"text": "so far", "at": 1.5}
    assert 0 < redis.Redis.from_url(url).ttl(cache.make_key(name)) <= 60
    url, command = cache_delete_command(name)
    hot_execute(command, url=url)
    assert cache.get(name) is None


def test_without_a_redis_cache_there_is_no_command_to_send(settings):
    from django.core.cache import caches

    from common.core.cache import cache_delete_command, cache_set_command

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    try:
        assert cache_set_command("marker", {"text": ""}, 60) is None
        assert cache_delete_command("marker") is None
    finally:
        del caches["default"]
