"""Test settings: a real PostgreSQL with pgvector (embedded unless DATABASE_URL is set) and a real Redis
when one answers (REDIS_URL, 127.0.0.1:6379, or one started under var/)."""

from __future__ import annotations

import os

from config.embedded import ensure_redis
from config.settings.base import *  # noqa: F403
from config.settings.base import REDIS_URL
from config.settings.env import database_or_embedded, env
from config.settings.services import caches, channel_layers

DEBUG = False
TENANCY_STRICT = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT = None  # type: ignore[assignment]
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"
DATABASES = {"default": database_or_embedded()}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; argon2 is covered in its own test
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

TEST_REDIS_URL = ensure_redis(REDIS_URL or "redis://127.0.0.1:6379/0") or ""
# Each pytest-xdist worker gets its own Redis database number so counters never collide.
_worker = env.str("PYTEST_XDIST_WORKER", default="gw0").removeprefix("gw")
if TEST_REDIS_URL:
    TEST_REDIS_URL = TEST_REDIS_URL.rsplit("/", 1)[0] + f"/{1 + (int(_worker or 0) % 14)}"
REDIS_URL = TEST_REDIS_URL
USE_REDIS = bool(TEST_REDIS_URL)
CACHES = caches(TEST_REDIS_URL)
# A prefix per test process: tests clear only their own keys on a Redis that may be shared.
CACHES["default"]["KEY_PREFIX"] = f"docent-test-{os.getpid()}"
CHANNEL_LAYERS = channel_layers("")
CELERY_BROKER_URL = "memory://"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
FIELD_ENCRYPTION_KEYS = ["kX7e7d0dMNSc1Zc0Yq0bZ2hH3i5o3m5lRrJm4nYp8aQ="]
URL_FETCH_ALLOW_LOOPBACK = True
PROVIDER_ALLOW_PRIVATE_NETWORKS = True  # the loopback provider server
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
DOCUMENTS_RETRY_BACKOFF_SECONDS = 0.0
WEBHOOK_ALLOW_LOOPBACK = True  # the receivers the webhook tests start on 127.0.0.1
WEBHOOK_CONNECT_TIMEOUT_SECONDS = 1.0
WEBHOOK_TIMEOUT_SECONDS = 2.0
