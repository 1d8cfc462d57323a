"""Deliveries are signed the Standard Webhooks way, checked against the spec's vector and the reference library."""

from datetime import UTC, datetime

from standardwebhooks import Webhook

from apps.webhooks.signing import SECRET_PREFIX, secret_generate, signature, signed_headers

# The example of the Standard Webhooks specification.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_matches_the_specifications_example():
    assert (
        signature(secret=VECTOR_SECRET, message_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY)
        == VECTOR_SIGNATURE
    )


def test_the_reference_library_signs_the_same():
    reference = Webhook(VECTOR_SECRET).sign(VECTOR_ID, datetime.fromtimestamp(VECTOR_TIMESTAMP, tz=UTC), VECTOR_BODY)
    assert reference == VECTOR_SIGNATURE


def test_secrets_are_whsec_and_32_random_bytes():
    first, second = secret_generate(), secret_generate()
    assert first.startswith(SECRET_PREFIX) and first != second
    assert len(Webhook(first)._whsecret) == 32


def test_headers_signed_with_two_secrets_verify_with_either():
    old, new = secret_generate(), secret_generate()
    now = int(datetime.now(tz=UTC).timestamp())
    headers = signed_headers(secrets_in_use=[new, old], message_id="msg_1", timestamp=now, body='{"a":1}')
    assert headers["webhook-id"] == "msg_1" and headers["webhook-timestamp"] == str(now)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify('{"a":1}', headers) == {"a": 1}
    assert Webhook(old).verify('{"a":1}', headers) == {"a": 1}
