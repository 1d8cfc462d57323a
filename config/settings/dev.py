"""Local development: the embedded default. Without DATABASE_URL an embedded PostgreSQL runs under var/;
without REDIS_URL the cache and channel layer live in memory and Celery uses a filesystem broker."""

from __future__ import annotations

import base64
import hashlib

from config.broker import FILESYSTEM_TRANSPORT
from config.embedded import redis_answers
from config.settings.base import *  # noqa: F403
from config.settings.base import CELERY_VISIBILITY_TIMEOUT, FIELD_ENCRYPTION_KEYS, REDIS_URL, SECRET_KEY
from config.settings.env import database_or_embedded, get
from config.settings.services import broker, caches, channel_layers, with_pool

DEBUG = get("DEBUG", cast=bool, default=True)
TENANCY_STRICT = DEBUG
DATABASES = {"default": with_pool(database_or_embedded(), get("DB_POOL_MAX_SIZE", cast=int, default=10))}

# Provider API keys are encrypted at rest. Without FIELD_ENCRYPTION_KEYS, development derives a stable key
# from SECRET_KEY so that adding a provider works out of the box; production requires the variable.
if not FIELD_ENCRYPTION_KEYS:
    _derived = hashlib.sha256(f"docent-dev-field-encryption:{SECRET_KEY}".encode()).digest()
    FIELD_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(_derived).decode()]

_redis = REDIS_URL if REDIS_URL and redis_answers(REDIS_URL) else ""
CACHES = caches(_redis)
CHANNEL_LAYERS = channel_layers(_redis)
CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = broker(_redis, CELERY_VISIBILITY_TIMEOUT)
if not _redis:
    CELERY_BROKER_TRANSPORT = FILESYSTEM_TRANSPORT  # atomic publish (config/broker.py)
USE_REDIS = bool(_redis)
