"""Django's PostgreSQL backend with the connection pool's cheaper check (ADR 0123): ENGINE "common.core.postgresql"."""
