"""Collecting static files with the production storage (hashed names, compressed copies)."""

from __future__ import annotations

import json

from django.core.management import call_command

from config.settings import base


def test_collectstatic_under_the_production_storage_succeeds_and_hashes_the_vendored_scripts(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": base.STORAGES["staticfiles"]}

    call_command("collectstatic", "--no-input", "-v", "0")

    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    hashed = manifest["vendor/chart-4.6.1.umd.min.js"]
    assert hashed != "vendor/chart-4.6.1.umd.min.js" and (tmp_path / hashed).exists()
    assert (tmp_path / f"{hashed}.gz").exists()
