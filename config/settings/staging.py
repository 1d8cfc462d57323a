"""Staging: production settings; only the values in the environment differ."""

from config.settings.prod import *  # noqa: F403
