"""GET /widget.js: the loader customers put on their pages, served from the committed static file.

Public and cacheable (a CDN may keep it for WIDGET_SCRIPT_MAX_AGE_SECONDS), with an ETag for revalidation,
allowed to load on any site (Cross-Origin-Resource-Policy), and without cookies.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_safe


@lru_cache(maxsize=4)
def _script(path: Path, mtime_ns: int) -> tuple[bytes, str]:
    body = path.read_bytes()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@require_safe
def widget_script(request: HttpRequest) -> HttpResponse:
    path = Path(settings.WIDGET_SCRIPT_PATH)
    try:
        body, etag = _script(path, path.stat().st_mtime_ns)
    except OSError:
        return HttpResponse("/* widget.js is not built */", status=404, content_type="application/javascript")
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={int(settings.WIDGET_SCRIPT_MAX_AGE_SECONDS)}"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["X-Content-Type-Options"] = "nosniff"
    return response
