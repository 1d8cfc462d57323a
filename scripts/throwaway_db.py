"""A fresh PostgreSQL database next to the dev one for benchmarks and evaluations, dropped afterwards.

Call `throwaway_database` before `django.setup()`: it points DATABASE_URL (and EMBEDDING_DIMENSIONS) at the
new database, so the run can choose its own vector size without touching the dev data."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote


def server() -> dict[str, Any]:
    """The dev PostgreSQL server's connection settings (DATABASE_URL or the embedded one)."""
    if os.environ.get("DATABASE_URL"):
        import environ

        return dict(environ.Env.db_url_config(os.environ["DATABASE_URL"]))
    from config.embedded import embedded_postgres_database

    return embedded_postgres_database()


def throwaway_database(name: str, *, dims: int | None = None, reuse: bool = False) -> dict[str, Any]:
    """Create database `name` (dropped first unless `reuse`), point Django at it; returns the connection info."""
    import psycopg

    base = server()
    conninfo = dict(host=base["HOST"], port=base["PORT"], user=base["USER"], password=base.get("PASSWORD") or None)
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        if not (reuse and exists):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(dbname=name, autocommit=True, **conninfo) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    password = f":{quote(base['PASSWORD'])}" if base.get("PASSWORD") else ""
    os.environ["DATABASE_URL"] = (
        f"postgres://{base['USER']}{password}@{quote(str(base['HOST']), safe='')}:{base['PORT']}/{name}"
    )
    if dims:
        os.environ["EMBEDDING_DIMENSIONS"] = str(dims)
    return conninfo


def drop_database(conninfo: dict[str, Any], name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scratch_database(name: str) -> tuple[dict[str, Any], str]:
    """Create database `name` with pgvector on the dev server (dropped first) without touching Django's settings;
    returns the connection info and a SQLAlchemy URL (psycopg 3) for tools that want one."""
    import psycopg

    base = server()
    conninfo = dict(host=base["HOST"], port=base["PORT"], user=base["USER"], password=base.get("PASSWORD") or None)
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(dbname=name, autocommit=True, **conninfo) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    password = f":{quote(base['PASSWORD'])}" if base.get("PASSWORD") else ""
    host = quote(str(base["HOST"]), safe="")
    return conninfo, f"postgresql+psycopg://{base['USER']}{password}@/{name}?host={host}&port={base['PORT']}"


def drop_scratch_database(conninfo: dict[str, Any], name: str) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
