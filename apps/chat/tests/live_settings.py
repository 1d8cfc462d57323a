"""Settings of the ASGI server processes the end-to-end tests start: the test settings, on the database the
test that started them uses (JSON in DOCENT_LIVE_DATABASE), and, when DOCENT_LIVE_REDIS_URL names one, a
channels_redis layer shared by every process of that test (its own prefix, DOCENT_LIVE_LAYER_PREFIX).
DOCENT_LIVE_DB_POOL (and DOCENT_LIVE_DB_POOL_TIMEOUT, seconds) give the process a small connection pool, as
production has, to test what happens when it runs short."""

import json
import os

from config.settings.services import channel_layers, with_pool
from config.settings.test import *  # noqa: F403

DATABASES = {"default": json.loads(os.environ["DOCENT_LIVE_DATABASE"])}
if os.environ.get("DOCENT_LIVE_DB_POOL"):
    DATABASES["default"] = with_pool(DATABASES["default"], int(os.environ["DOCENT_LIVE_DB_POOL"]))
    DATABASES["default"]["OPTIONS"]["pool"]["timeout"] = float(os.environ.get("DOCENT_LIVE_DB_POOL_TIMEOUT", "10"))
if os.environ.get("DOCENT_LIVE_REDIS_URL"):
    CHANNEL_LAYERS = channel_layers(os.environ["DOCENT_LIVE_REDIS_URL"])
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ["DOCENT_LIVE_LAYER_PREFIX"]
    # Presence is shared too: one cache namespace for the servers of one test.
    CACHES["default"]["KEY_PREFIX"] = os.environ["DOCENT_LIVE_LAYER_PREFIX"]  # noqa: F405
