import redis


def test_the_suite_has_a_real_redis(redis_url):
    client = redis.Redis.from_url(redis_url)
    key = f"docent-test-{id(client)}"
    client.set(key, "1", ex=5)
    assert client.get(key) == b"1"
    client.delete(key)
