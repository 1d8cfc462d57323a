"""Production settings refuse to start on bad configuration, with one line naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
GOOD = {
    "SECRET_KEY": "p" * 20 + "-very-long-random-production-secret-value-0123456789",
    "ALLOWED_HOSTS": "docent.example.com",
    "DATABASE_URL": "postgres://docent:pw@db.example.com:5432/docent",
    "REDIS_URL": "redis://redis.example.com:6379/0",
    "FIELD_ENCRYPTION_KEYS": "kX7e7d0dMNSc1Zc0Yq0bZ2hH3i5o3m5lRrJm4nYp8aQ=",
}


def _manage(*args: str, **env_overrides: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in GOOD and k not in ("DEBUG", "DJANGO_SETTINGS_MODULE")}
    env.update(GOOD)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.prod"
    for key, value in env_overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "variable", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "FIELD_ENCRYPTION_KEYS"]
)
def test_prod_refuses_to_start_without_required_variable(variable):
    result = _manage("check", **{variable: None})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_prod_names_a_malformed_database_url():
    result = _manage("check", DATABASE_URL="mysql-ish://nonsense")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_prod_refuses_debug_on():
    result = _manage("check", DEBUG="true")
    assert result.returncode != 0
    assert "DEBUG" in result.stderr


def test_prod_refuses_a_broker_visibility_timeout_below_the_task_time_limit():
    result = _manage("check", CELERY_VISIBILITY_TIMEOUT="600", CELERY_TASK_TIME_LIMIT="900")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CELERY_VISIBILITY_TIMEOUT" in lines[0], result.stderr


def test_prod_refuses_a_short_secret_key():
    result = _manage("check", SECRET_KEY="short")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_under_prod_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_prod_names_malformed_encryption_keys_at_start_up():
    result = _manage("check", FIELD_ENCRYPTION_KEYS="not-a-fernet-key")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "FIELD_ENCRYPTION_KEYS" in lines[0]


def test_prod_names_a_malformed_trusted_proxy_list():
    result = _manage("check", TRUSTED_PROXY_IPS="10.0.0.5,load-balancer")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "TRUSTED_PROXY_IPS" in lines[0]


def test_prod_sends_the_content_security_policy():
    script = (
        "from django.conf import settings; "
        "print('common.security.csp.ContentSecurityPolicyMiddleware' in settings.MIDDLEWARE, "
        "settings.SECURE_CSP['script-src'])"
    )
    result = _manage("shell", "-v", "0", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["True", "[\"'self'\"]"]


@pytest.mark.parametrize(("trusted", "expected"), [(None, "None"), ("10.0.0.5", "('HTTP_X_FORWARDED_PROTO', 'https')")])
def test_x_forwarded_proto_is_read_only_when_a_proxy_is_trusted(trusted, expected):
    result = _manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)",
        TRUSTED_PROXY_IPS=trusted,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
