import importlib

from django.contrib.auth.hashers import check_password, make_password
from django.test import override_settings


def test_argon2_is_the_password_hasher_outside_tests():
    base = importlib.import_module("config.settings.base")
    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    for name in ("dev", "prod", "staging"):
        source = importlib.util.find_spec(f"config.settings.{name}").loader.get_source(f"config.settings.{name}")
        assert "PASSWORD_HASHERS" not in source, f"config.settings.{name} must keep Argon2 from base"


def test_a_password_hashed_with_argon2_verifies():
    base = importlib.import_module("config.settings.base")
    with override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS):
        encoded = make_password("correct-horse-battery")
        assert encoded.startswith("argon2$argon2id$")
        assert check_password("correct-horse-battery", encoded)
        assert not check_password("wrong", encoded)
