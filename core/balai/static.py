"""The packaged files of plugins and themes (style sheets, scripts, images), cached.

A plugin serves the ``static/`` folder beside its blueprint's module with
:func:`serve_static`; its templates link a file with
``url_for("<blueprint>.static", filename="<plugin>.css")``. Every such file is
answered with ``Cache-Control: public, max-age=...`` and an ``ETag`` of its content
(the same on every host, so a browser's copy stays good behind any worker), and a
request whose ``If-None-Match`` still matches gets ``304 Not Modified``.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, abort, send_file
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from balai.permissions import public

__all__ = ["STATIC_MAX_AGE", "send_static", "serve_static"]

#: How long a browser keeps a plugin's file without asking again: files change only
#: with an upgrade, and a new version's file is at most this late.
STATIC_MAX_AGE = 60 * 60


def serve_static(
    blueprint: Blueprint, folder: str | Path = "static", *, max_age: int = STATIC_MAX_AGE
) -> None:
    """Serve the files under ``folder`` (relative to the blueprint's package) at
    ``<url_prefix>/static/<path:filename>``, endpoint ``<blueprint>.static``, public.

    Give the blueprint no ``static_folder`` of its own: Flask's would answer without
    caching headers.
    """
    root = Path(blueprint.root_path, folder)

    @blueprint.get("/static/<path:filename>", endpoint="static")
    @public
    def static(filename: str) -> Response:
        return send_static(root, filename, max_age=max_age)


def send_static(folder: str | Path, filename: str, *, max_age: int = STATIC_MAX_AGE) -> Response:
    """The file ``filename`` under ``folder`` with caching headers (404 when it is not
    there, or would be outside ``folder``)."""
    path = safe_join(str(folder), filename)
    if path is None or not Path(path).is_file():
        abort(404)
    stat = Path(path).stat()
    etag = _digest(path, stat.st_mtime_ns, stat.st_size)
    response = send_file(path, max_age=max_age, etag=etag, conditional=True)
    response.cache_control.public = True
    return response


@lru_cache(maxsize=512)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    """The content's hash, read once per version of the file (its time and size)."""
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:32]
