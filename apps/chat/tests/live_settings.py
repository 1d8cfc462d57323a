"""Settings of the ASGI server process the end-to-end tests start: the test settings, on the database the
test that started it uses (passed as JSON in DOCENT_LIVE_DATABASE)."""

import json
import os

from config.settings.test import *  # noqa: F403

DATABASES = {"default": json.loads(os.environ["DOCENT_LIVE_DATABASE"])}
