"""The widget stays small on the host page: the loader every page view downloads, and the whole widget a
visitor who opens the chat downloads, measured gzipped (what a browser receives from WhiteNoise or a CDN)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

WIDGET = Path(__file__).resolve().parents[2] / "static" / "widget"
LOADER = WIDGET / "widget.js"
APP = WIDGET / "widget-app.js"
LOADER_LIMIT = 15 * 1024
WIDGET_LIMIT = 60 * 1024


def gzipped_size(*paths: Path) -> int:
    return sum(len(gzip.compress(path.read_bytes(), compresslevel=9)) for path in paths)


def test_the_loader_is_at_most_15_kb_gzipped():
    size = gzipped_size(LOADER)
    print(f"widget.js: {size} bytes gzipped")
    assert size <= LOADER_LIMIT, f"widget.js is {size} bytes gzipped, over the {LOADER_LIMIT} byte budget"


def test_the_whole_widget_is_at_most_60_kb_gzipped():
    size = gzipped_size(LOADER, APP)
    print(f"widget.js + widget-app.js: {size} bytes gzipped")
    assert size <= WIDGET_LIMIT, f"the widget is {size} bytes gzipped, over the {WIDGET_LIMIT} byte budget"


def test_the_loader_fetches_the_window_from_the_file_this_test_measures():
    assert "widget-app.js" in LOADER.read_text()
    assert APP.exists()


@pytest.mark.parametrize("path", [LOADER, APP], ids=lambda p: p.name)
def test_the_widget_needs_no_eval_and_asks_no_third_party(path: Path):
    source = path.read_text()
    assert not re.search(r"\beval\(|new Function\(|setTimeout\(\s*['\"]", source)
    hosts = set(re.findall(r"https?://([\w.-]+)", source)) - {"www.w3.org", "YOUR-DOCENT"}
    assert not hosts, f"{path.name} names other hosts: {hosts}"
