"""Local development: the embedded default. Without DATABASE_URL an embedded PostgreSQL runs under var/;
without REDIS_URL the cache and channel layer live in memory and Celery uses a filesystem broker."""

from __future__ import annotations

from config.embedded import redis_answers
from config.settings.base import *  # noqa: F403
from config.settings.base import REDIS_URL
from config.settings.env import database_or_embedded, get
from config.settings.services import broker, caches, channel_layers

DEBUG = get("DEBUG", cast=bool, default=True)
DATABASES = {"default": database_or_embedded()}
# As in production: keep connections between requests (and between answers in the chat stream threads)
# instead of opening one per request.
DATABASES["default"]["CONN_MAX_AGE"] = get("DB_CONN_MAX_AGE", cast=int, default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

_redis = REDIS_URL if REDIS_URL and redis_answers(REDIS_URL) else ""
CACHES = caches(_redis)
CHANNEL_LAYERS = channel_layers(_redis)
CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = broker(_redis)
USE_REDIS = bool(_redis)
