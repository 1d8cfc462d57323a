"""The cluster tests' settings (tests/cluster): the production settings, plus the indexing pipeline's stage delay,
a test hook that makes a document slow enough to kill its worker in the middle of it."""

from config.settings.env import get
from config.settings.prod import *  # noqa: F403

DOCUMENTS_TEST_STAGE_DELAY = get("DOCUMENTS_TEST_STAGE_DELAY", cast=float, default=0.0)
