"""Settings for a real Celery worker started by a test: the test's database (DATABASE_URL), a filesystem
broker and file storage in the test's temporary directory, tasks not eager."""

from __future__ import annotations

from config.broker import FILESYSTEM_TRANSPORT
from config.settings.env import get
from config.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = False
_root = get("DOCENT_TEST_WORKER_DIR")
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT = FILESYSTEM_TRANSPORT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": f"{_root}/broker",
    "data_folder_out": f"{_root}/broker",
    "processed_folder": f"{_root}/processed",
    "store_processed": False,
    "control_folder": f"{_root}/control",
    "polling_interval": 0.1,
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": f"{_root}/media"}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DOCUMENTS_TEST_STAGE_DELAY = get("DOCUMENTS_TEST_STAGE_DELAY", cast=float, default=0.0)
# A short lease and heartbeat; the old idle deadline far away, so that only the lease can re-queue a document.
DOCUMENTS_LEASE_SECONDS = get("DOCUMENTS_LEASE_SECONDS", cast=float, default=3.0)
DOCUMENTS_HEARTBEAT_SECONDS = get("DOCUMENTS_HEARTBEAT_SECONDS", cast=float, default=0.5)
DOCUMENTS_PROCESSING_STUCK_SECONDS = get("DOCUMENTS_PROCESSING_STUCK_SECONDS", cast=int, default=3600)
DOCUMENTS_QUEUED_STUCK_SECONDS = get("DOCUMENTS_QUEUED_STUCK_SECONDS", cast=int, default=4)
CELERY_BEAT_SCHEDULE = {
    "documents-requeue-stuck": {"task": "documents.requeue_stuck", "schedule": 1.0},
}
