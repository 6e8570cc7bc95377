"""Health checks for load balancers and orchestrators: liveness and readiness.

- ``GET /-/health/live``: the process answers; no I/O. ``200 {"status": "ok"}``.
- ``GET /-/health/ready``: every readiness check passes. ``200 {"status": "ok",
  "database": "ok", "storage": "ok"}``, or ``503`` with ``"status": "error"`` and the failing check
  named: ``{"status": "error", "database": "unreachable"}``.
- ``GET /-/health``: the same as ``/-/health/ready`` (its address before the split).

The checks: ``database`` (``SELECT 1``), ``storage`` (the store of uploads: the
folder is writable, or the bucket answers a HEAD), ``redis`` (``PING``; the job
queue's broker and the rate limits' store) when ``REDIS_URL`` is set, and whatever
other parts add with :func:`add_check`. The answers name checks only: never an
address, a host name, an error message or anything about a region.
None of these routes needs a region, so they answer on any host.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text

from balai import storage
from balai.db import db
from balai.permissions import public

__all__ = ["add_check"]

log = logging.getLogger(__name__)

EXTENSION = "balai.health"
#: Seconds a check of Redis waits to connect and for its answer.
REDIS_TIMEOUT = 2

Check = Callable[[], Any]

bp = Blueprint("balai_health", __name__)


def add_check(app: Flask, name: str, check: Check) -> None:
    """Add the readiness check ``name``: ``check()`` raises (or returns ``False``) when
    the service it looks at cannot be used.

    ``check`` runs in the readiness request, inside the app context and without a
    region, on every call of the load balancer: it must be cheap and bound its own
    time (a connect and read timeout of a second or two), so that a service that hangs
    makes the answer 503, not a hung health check.

    :raises ValueError: ``name`` is empty, ``status`` or already taken.
    """
    checks: dict[str, Check] = app.extensions[EXTENSION]
    if not name or name == "status" or name in checks:
        raise ValueError(f"name: a health check needs a new name other than 'status', not {name!r}")
    checks[name] = check


def database() -> None:
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def redis() -> None:
    from redis import Redis

    client = Redis.from_url(
        current_app.config["REDIS_URL"],
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
    )
    try:
        client.ping()
    finally:
        client.close()


def readiness() -> tuple[dict[str, str], bool]:
    """``({"status": ..., check: "ok" | "unreachable"}, ready)`` of the current app."""
    answer: dict[str, str] = {"status": "ok"}
    for name, check in current_app.extensions[EXTENSION].items():
        try:
            passed = check() is not False
        except Exception as exc:
            # The exception's type only: its message may carry an address or a password.
            log.error("health: %s unreachable: %s", name, type(exc).__name__)
            passed = False
        answer[name] = "ok" if passed else "unreachable"
        if not passed:
            answer["status"] = "error"
    return answer, answer["status"] == "ok"


@bp.route("/-/health/live")
@public
def live() -> Any:
    """200 while the process answers."""
    return jsonify({"status": "ok"})


@bp.route("/-/health/ready")
@public
def ready() -> Any:
    """200 when every check passes, 503 naming the checks that fail."""
    answer, ok = readiness()
    return jsonify(answer), 200 if ok else 503


@bp.route("/-/health")
@public
def health() -> Any:
    """The readiness answer at the address it had before liveness was apart."""
    return ready()


#: Routes that answer without a region (see ``balai.tenancy``).
ENDPOINTS = frozenset({"balai_health.live", "balai_health.ready", "balai_health.health"})


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = {"database": database, "storage": storage.check}
    if app.config.get("REDIS_URL"):
        app.extensions[EXTENSION]["redis"] = redis
    app.register_blueprint(bp)
