"""Logs: a request id on every request and every log record, text or JSON lines.

Each request gets an id: the proxy's ``X-Request-ID`` when it is a sane token (1 to
64 characters of ``A-Z a-z 0-9 . _ -``; nginx: ``proxy_set_header X-Request-ID
$request_id;``), otherwise a new random one. It is sent back in the response header
``X-Request-ID``, shown on error pages (so a citizen can quote it to the help desk) and
set on every log record as ``record.request_id`` (``"-"`` outside a request), whatever
handler or format the record ends in: the log record factory adds it.

Work outside a request (background jobs, commands) sets its own id with
:func:`bind_request_id`, for instance the id of the request that queued the job::

    with bind_request_id(job.meta.get("request_id")):
        ...

``LOG_FORMAT`` chooses the lines of the handler Balai installs on the root logger
when logging is not configured yet (no root handler; it writes where Flask's own
handler would, the server's error stream): ``"text"`` (the default, for
people) or ``"json"`` (one JSON object a line, for log collectors). A deployment that
configures logging itself (gunicorn ``--log-config``, ``logging.config``) keeps its
handlers and can use ``%(request_id)s`` in its formats.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler, wsgi_errors_stream
from werkzeug.wrappers import Response

__all__ = ["bind_request_id", "request_id"]

HEADER = "X-Request-ID"
ENVIRON_KEY = "HTTP_X_REQUEST_ID"
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"

_current: ContextVar[str | None] = ContextVar("balai_request_id", default=None)
G_KEY = "_balai_request_id"


def request_id() -> str | None:
    """The id of the work bound by :func:`bind_request_id`, else the current request's.

    A request keeps its id on ``g`` (its own app context), not in a context variable:
    a response streamed after the view returned is torn down in another context, and
    an id set there could outlive its request."""
    bound = _current.get()
    if bound is not None or not has_request_context():
        return bound
    value: str | None = g.get(G_KEY)
    return value


def new_request_id() -> str:
    """A fresh random request id (32 hexadecimal characters)."""
    return os.urandom(16).hex()


@contextmanager
def bind_request_id(value: str | None = None) -> Iterator[str]:
    """Give the log records written inside the block the request id ``value``.

    For work outside a request (a background job, a command). ``value`` is kept when
    it is a sane token (see the module docstring), otherwise a new id is made; the
    block receives the id in force. The previous id comes back afterwards.
    """
    bound = value if value is not None and SANE_ID.fullmatch(value) else new_request_id()
    token = _current.set(bound)
    try:
        yield bound
    finally:
        _current.reset(token)


# -- per request ---------------------------------------------------------------------


def _start() -> None:
    given = request.environ.get(ENVIRON_KEY)
    value = given if given is not None and SANE_ID.fullmatch(given) else new_request_id()
    setattr(g, G_KEY, value)


def _answer(response: Response) -> Response:
    value = request_id()
    if value is not None:
        response.headers[HEADER] = value
    return response


# -- log records and lines -----------------------------------------------------------

_factory_installed = False
_handler: logging.Handler | None = None


def _install_record_factory() -> None:
    """Every log record gets ``request_id`` (once per process, kept by later apps)."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = request_id() or "-"
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``LOG_FORMAT`` ``"text"`` or ``"json"``."""
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter(
            JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}
        )
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")


def _install_handler(app: Flask) -> None:
    """A handler on the root logger, unless logging is configured already. Like
    Flask's own, it writes to the server's error stream (``wsgi.errors``: gunicorn's
    error log) in a request and to standard error outside one."""
    global _handler
    root = logging.getLogger()
    if _handler is None and root.handlers:
        return  # the deployment configured logging: keep its handlers
    if _handler is None:
        _handler = logging.StreamHandler(wsgi_errors_stream)  # type: ignore[arg-type]
        root.addHandler(_handler)
    _handler.setFormatter(formatter(app.config["LOG_FORMAT"]))
    app.logger.removeHandler(default_handler)  # the root handler writes the app's records
    balai = logging.getLogger("balai")  # the app's own records (admin changes) at INFO;
    if balai.level == logging.NOTSET:  # other libraries stay at the root's WARNING
        balai.setLevel(logging.INFO)


def init_app(app: Flask) -> None:
    formatter(app.config["LOG_FORMAT"])  # refuse an unknown format at start-up
    _install_record_factory()
    _install_handler(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_answer)
    app.jinja_env.globals["request_id"] = request_id
