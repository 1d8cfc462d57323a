"""Settings of the ASGI server the database fault test starts: the test settings on the test's own database
(JSON in DOCENT_FAULT_DATABASE), through the same connection pool as production (`with_pool`), with a short
wait for a free connection so that a request during the outage answers in seconds."""

import json
import os

from config.settings.services import with_pool
from config.settings.test import *  # noqa: F403

DATABASES = {"default": with_pool(json.loads(os.environ["DOCENT_FAULT_DATABASE"]), 4)}
DATABASES["default"]["OPTIONS"]["pool"]["timeout"] = 2
