"""Development settings work out of the box: adding a provider with an API key needs no extra variable."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = (
    "import django; django.setup();"
    "from django.conf import settings;"
    "from common.security.encryption import encrypt, decrypt;"
    "print(len(settings.FIELD_ENCRYPTION_KEYS), decrypt(encrypt('sk-secret')))"
)


def _dev(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FIELD_ENCRYPTION_KEYS", "REDIS_URL")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.dev", "DATABASE_URL": "postgres://u:p@127.0.0.1:9/none"})
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_dev_settings_encrypt_provider_keys_without_configuration():
    result = _dev()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "sk-secret"]


def test_dev_settings_use_the_configured_keys_when_given():
    result = _dev(FIELD_ENCRYPTION_KEYS="kX7e7d0dMNSc1Zc0Yq0bZ2hH3i5o3m5lRrJm4nYp8aQ=,not-a-key")
    assert result.returncode != 0  # the configured (malformed) list is used, not replaced
    assert "malformed Fernet key" in result.stderr
