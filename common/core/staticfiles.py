"""Static files for production: WhiteNoise's compressed, hashed-name storage, without rewriting source-map
comments.

Vendored minified libraries (static/vendor) end with a `sourceMappingURL` comment naming a map we do not ship
(Chart.js names `chart.umd.min.js.map`). Django's hashed storage rewrites those comments and refuses to
collect when the named file is missing, which stopped `collectstatic` under the production settings. The
comments are left as they are: a browser that asks for the map gets a 404, and only when its developer tools
are open.
"""

from __future__ import annotations

from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns: Any) -> tuple[Any, ...]:
    def keep(pattern: Any) -> bool:
        text = pattern[0] if isinstance(pattern, tuple) else pattern
        return "sourceMappingURL" not in text

    return tuple((glob, tuple(p for p in rules if keep(p))) for glob, rules in patterns)


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    patterns = _without_source_maps(CompressedManifestStaticFilesStorage.patterns)
