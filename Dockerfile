# syntax=docker/dockerfile:1
# Multi-stage build: wheels are built once in the builder; the runtime is slim and runs as a non-root user.
FROM python:3.11-slim AS builder
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements/ requirements/
RUN pip wheel --wheel-dir /wheels -r requirements/prod.txt

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=config.settings.prod PATH="/venv/bin:$PATH"
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 curl && rm -rf /var/lib/apt/lists/* \
    && groupadd --system docent && useradd --system --gid docent --home /app docent
COPY --from=builder /wheels /wheels
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir --no-index --find-links=/wheels /wheels/* && rm -rf /wheels
WORKDIR /app
COPY --chown=docent:docent . .
# collectstatic needs only placeholder values: nothing connects at build time.
RUN SECRET_KEY=build-only-placeholder-secret-key-0123456789-abcdefghijklmnop \
    ALLOWED_HOSTS=localhost DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    FIELD_ENCRYPTION_KEYS=kX7e7d0dMNSc1Zc0Yq0bZ2hH3i5o3m5lRrJm4nYp8aQ= \
    python manage.py collectstatic --no-input \
    && mkdir -p /app/var/media && chown -R docent:docent /app/var
USER docent
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
# X-Forwarded-For is honoured only from TRUSTED_PROXY_IPS (from nobody when it is empty), as in the app.
CMD ["sh", "-c", "if [ -n \"${TRUSTED_PROXY_IPS:-}\" ]; then set -- --proxy-headers --forwarded-allow-ips \"$TRUSTED_PROXY_IPS\"; else set -- --no-proxy-headers; fi; exec uvicorn config.asgi:application --host 0.0.0.0 --port 8000 --workers 4 --timeout-graceful-shutdown 8 --ws-per-message-deflate false \"$@\""]
