"""Production: everything from the environment; refuses to start without the essentials."""

from __future__ import annotations

from config.settings.base import *  # noqa: F403
from config.settings.env import ConfigError, get
from config.settings.env import database as database_from_env
from config.settings.services import broker, caches, channel_layers, with_pool

SECRET_KEY = get("SECRET_KEY")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith(("dev-", "django-insecure")):
    raise ConfigError("Environment variable SECRET_KEY must be at least 50 random characters.")
ALLOWED_HOSTS = get("ALLOWED_HOSTS", cast=list)
if not ALLOWED_HOSTS:
    raise ConfigError("Set the environment variable ALLOWED_HOSTS (see .env.example).")
DEBUG = get("DEBUG", cast=bool, default=False)
if DEBUG:
    raise ConfigError("Environment variable DEBUG must be off in production.")
DATABASES = {"default": with_pool(database_from_env("DATABASE_URL"), get("DB_POOL_MAX_SIZE", cast=int, default=10))}
if not DATABASES["default"]["OPTIONS"].get("pool"):  # DB_POOL_MAX_SIZE=0: persistent connections instead
    DATABASES["default"]["CONN_MAX_AGE"] = get("DB_CONN_MAX_AGE", cast=int, default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = get("REDIS_URL")
USE_REDIS = True
CACHES = caches(REDIS_URL)
CHANNEL_LAYERS = channel_layers(REDIS_URL)
_broker_url, CELERY_BROKER_TRANSPORT_OPTIONS = broker(REDIS_URL, CELERY_VISIBILITY_TIMEOUT)  # noqa: F405
CELERY_BROKER_URL = get("CELERY_BROKER_URL", default="") or _broker_url
FIELD_ENCRYPTION_KEYS = get("FIELD_ENCRYPTION_KEYS", cast=list)
try:
    from cryptography.fernet import Fernet

    for _key in FIELD_ENCRYPTION_KEYS:
        Fernet(_key.encode())
except (ValueError, TypeError):
    raise ConfigError(
        "Environment variable FIELD_ENCRYPTION_KEYS must be comma-separated Fernet keys "
        "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
    ) from None
if not FIELD_ENCRYPTION_KEYS:
    raise ConfigError("Set the environment variable FIELD_ENCRYPTION_KEYS (see .env.example).")

# X-Forwarded-Proto says "this came over HTTPS" only when a proxy we trust terminates TLS and sets it; with no
# trusted proxy any client could send it, so it is not read at all.
if TRUSTED_PROXY_IPS:  # noqa: F405
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = get("SECURE_SSL_REDIRECT", cast=bool, default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = get("SECURE_HSTS_SECONDS", cast=int, default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
LOG_JSON = get("LOG_JSON", cast=bool, default=True)
LOGGING["handlers"]["console"]["formatter"] = "json" if LOG_JSON else "plain"  # noqa: F405
