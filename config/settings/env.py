"""The one place the environment is read. A bad or missing variable raises ConfigError naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
_env_file = BASE_DIR / ".env"
if _env_file.exists():
    environ.Env.read_env(str(_env_file))


class ConfigError(ImproperlyConfigured):
    """A configuration variable is missing or malformed; the message names it."""


def optional_float(name: str) -> float | None:
    """A number that may be left empty (None): e.g. an override that is off unless set."""
    value = str(get(name, default="")).strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number or empty, not {value!r}.") from None


def get(name: str, cast: Any = str, default: Any = environ.Env.NOTSET) -> Any:
    """Read one variable, cast it, and turn any failure into a ConfigError naming the variable."""
    try:
        if cast is bool:
            return env.bool(name, default=default)
        if cast is int:
            return env.int(name, default=default)
        if cast is float:
            return env.float(name, default=default)
        if cast is list:
            return env.list(name, default=default)
        return env.str(name, default=default)
    except ImproperlyConfigured:
        raise ConfigError(f"Set the environment variable {name} (see .env.example).") from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"Environment variable {name} is malformed: {exc}.") from None


def database(name: str) -> dict[str, Any]:
    """Parse a database URL variable into a Django DATABASES entry, naming the variable on failure."""
    raw = get(name)
    try:
        config = env.db_url_config(raw)
    except Exception as exc:  # django-environ raises several types on a bad URL
        raise ConfigError(f"Environment variable {name} is not a valid database URL: {exc}.") from None
    if not config.get("ENGINE"):
        raise ConfigError(f"Environment variable {name} names an unknown database scheme.")
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise ConfigError(f"Environment variable {name} must point to PostgreSQL (postgres://...).")
    host = str(config.get("HOST") or "")
    if host.startswith("%2F"):
        from urllib.parse import unquote

        config["HOST"] = unquote(host)
    return config


def database_or_embedded() -> dict[str, Any]:
    """DATABASE_URL when set; otherwise the embedded PostgreSQL under var/ (dev and test only)."""
    if env.str("DATABASE_URL", default=""):
        return database("DATABASE_URL")
    from config.embedded import embedded_postgres_database

    return embedded_postgres_database()


def ip_networks(name: str) -> list[str]:
    """A comma-separated list of IP addresses or CIDR networks (empty when unset), each checked."""
    from common.security.client_ip import parse_networks

    values = [value.strip() for value in get(name, cast=list, default=[]) if value.strip()]
    try:
        parse_networks(values)
    except ValueError as exc:
        raise ConfigError(f"Environment variable {name} is malformed: {exc}.") from None
    return values
