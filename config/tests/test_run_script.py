"""`make run` on another port: the links in emails point at that port."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = "import os, runpy; runpy.run_path('scripts/run.py', run_name='imported'); print(os.environ['SITE_URL'])"


def _site_url(**env_overrides: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "HOST", "PORT")}
    env.update(env_overrides)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_email_links_follow_the_port_make_run_serves():
    assert _site_url(PORT="8011") == "http://127.0.0.1:8011"
    assert _site_url() == "http://127.0.0.1:8000"


def test_an_explicit_site_url_wins():
    assert _site_url(PORT="8011", SITE_URL="https://docent.example.com") == "https://docent.example.com"
