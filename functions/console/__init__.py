"""The events console: one HTML page with its scripts and stylesheet, shipped with the package.

Served by the query API at ``/console`` (see ``functions/handlers/query/console.py``). Plain ES
modules and CSS: no build step, nothing fetched from elsewhere at run time.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

PAGE = "index.html"

# Every file the console serves, with its content type. Anything else is a 404.
CONTENT_TYPES: dict[str, str] = {
    PAGE: "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "dom.js": "text/javascript; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}


@lru_cache(maxsize=len(CONTENT_TYPES))
def asset(name: str) -> bytes | None:
    """The bytes of one console file, or None for a name the console does not serve."""
    if name not in CONTENT_TYPES:
        return None
    return resources.files(__name__).joinpath(name).read_bytes()
