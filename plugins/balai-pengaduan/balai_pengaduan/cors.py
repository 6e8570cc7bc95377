"""Cross-origin reading of the plugin's public data: Open311 GETs and the GeoJSON feed.

Any web page may read them (``Access-Control-Allow-Origin: *``): they hold what the
public pages show, and a browser sends no cookie with such a request, so nothing
personal is ever exposed this way. A preflight (``OPTIONS``) is answered for reading
only: ``POST`` gets no CORS header, so a page elsewhere cannot read what a submission
answered (Open311 POSTs need an ``api_key`` anyway).
"""

from __future__ import annotations

from flask import Response, request

__all__ = ["READ_METHODS", "allow_reading"]

READ_METHODS = "GET, HEAD, OPTIONS"
PREFLIGHT_MAX_AGE = 86400  # a day: browsers cap it lower anyway


def allow_reading(response: Response) -> Response:
    """Let any origin read a GET or HEAD answer, and answer a preflight for them."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = READ_METHODS
        asked = request.headers.get("Access-Control-Request-Headers")
        if asked:  # request headers change nothing here: whatever a reader sends is fine
            response.headers["Access-Control-Allow-Headers"] = asked
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response
