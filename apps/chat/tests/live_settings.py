"""Settings of the ASGI server processes the end-to-end tests start: the test settings, on the database the
test that started them uses (JSON in DOCENT_LIVE_DATABASE), and, when DOCENT_LIVE_REDIS_URL names one, a
channels_redis layer shared by every process of that test (its own prefix, DOCENT_LIVE_LAYER_PREFIX)."""

import json
import os

from config.settings.services import channel_layers
from config.settings.test import *  # noqa: F403

DATABASES = {"default": json.loads(os.environ["DOCENT_LIVE_DATABASE"])}
if os.environ.get("DOCENT_LIVE_REDIS_URL"):
    CHANNEL_LAYERS = channel_layers(os.environ["DOCENT_LIVE_REDIS_URL"])
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ["DOCENT_LIVE_LAYER_PREFIX"]
    # Presence is shared too: one cache namespace for the servers of one test.
    CACHES["default"]["KEY_PREFIX"] = os.environ["DOCENT_LIVE_LAYER_PREFIX"]  # noqa: F405
