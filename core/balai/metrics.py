"""Prometheus metrics, served to operators at ``/-/metrics``.

What is measured:

- ``balai_http_requests_total{route, method, status}``: requests by route template
  (Flask's ``url_rule.rule``, such as ``/pengaduan/<int:complaint_id>``; never the
  path, whose values are unbounded; ``(unmatched)`` when no route matched), method
  (unusual ones count as ``OTHER``) and status;
- ``balai_http_request_duration_seconds{route}``: a histogram of the time from the
  first ``before_request`` to the last ``after_request``;
- ``balai_plugin_errors_total{plugin}``: answers of 500 and above (unhandled
  exceptions included) by the plugin whose blueprint owns the route (``balai`` for
  the core's routes and for requests no route matched);
- ``balai_db_pool_size``, ``balai_db_pool_checked_out``, ``balai_db_pool_overflow``:
  the database connection pool;
- ``balai_outbox_pending{channel}``: messages of the core's outbox still to deliver
  (pending, or failed with tries left), over all regions.

No label carries a region, a user or anything a request sent other than its route
template, method and status.

Other parts of Balai add what they know at scrape time with :func:`add_collector`.

Several worker processes (gunicorn) share their counts through the client library's
multiprocess mode when the environment variable ``PROMETHEUS_MULTIPROC_DIR`` names a
directory (empty at start-up, set before Python starts, and the gunicorn hook
:func:`child_exit` in its configuration; see docs/operators.md). Without it each
process keeps its own registry.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable, Iterable
from time import perf_counter
from typing import Any

from flask import Blueprint, Flask, abort, current_app, g, request
from flask_login import current_user
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Response

from balai.db import db
from balai.permissions import public
from balai.plugins import plugins

__all__ = ["add_collector"]

log = logging.getLogger(__name__)

EXTENSION = "balai.metrics"
UNMATCHED = "(unmatched)"
CORE = "balai"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Seconds; a page of Balai takes a few milliseconds to a few hundred.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Collector = Callable[[], Iterable[Metric]]

bp = Blueprint("balai_metrics", __name__)


def multiprocess_dir() -> str | None:
    """The directory of the multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``), if set."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit`` hook: forget the live gauges of a worker that ended.

    In the gunicorn configuration file: ``from balai.metrics import child_exit``.
    """
    if multiprocess_dir():
        multiprocess.mark_process_dead(worker.pid)


def add_collector(app: Flask, collector: Collector) -> None:
    """Call ``collector()`` at every scrape of ``app``'s metrics and serve what it yields.

    ``collector`` takes no argument, runs inside the scrape's request (the app
    context is there; ``g.tenant`` is not) and returns metric families, such as
    ``prometheus_client.core.GaugeMetricFamily("balai_jobs_queued", "...", value=n)``.
    It should read values shared by every process (the database, Redis), since any
    worker may answer a scrape, and be quick: a scraper waits for it. A collector
    that raises is logged and left out of that scrape; the others are served.
    """
    app.extensions[EXTENSION].collectors.append(collector)


class Metrics:
    """The metrics of one app, and the per-request recording (kept small: it is paid
    on every request)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.multiprocess = multiprocess_dir() is not None
        self.registry = None if self.multiprocess else CollectorRegistry(auto_describe=False)
        reg = {"registry": self.registry}
        self.requests = Counter(
            "balai_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            **reg,
        )
        self.duration = Histogram(
            "balai_http_request_duration_seconds",
            "Time to answer HTTP requests, by route template.",
            ["route"],
            buckets=BUCKETS,
            **reg,
        )
        self.plugin_errors = Counter(
            "balai_plugin_errors",
            "Answers of 500 and above (unhandled exceptions included), by the plugin "
            "owning the route ('balai' for the core).",
            ["plugin"],
            **reg,
        )
        self.collectors: list[Collector] = [self._outbox]
        if self.multiprocess:
            self._watch_pool(db.engine_for(app))
        else:
            self.collectors.insert(0, self._pool)
            assert self.registry is not None
            self.registry.register(_Scrape(self))
        # (route, method, status) -> (counter, histogram): the labels() lookups once.
        # Every part of the key is bounded: route templates, known methods, statuses.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    # -- per request ------------------------------------------------------------------

    def start(self) -> None:
        g._balai_started = perf_counter()

    def record(self, response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]
        rule = req.url_rule
        route = rule.rule if rule is not None else UNMATCHED
        status = response.status_code
        method = req.method
        key = (route, method if method in METHODS else "OTHER", status)
        series = self._series.get(key)
        if series is None:
            series = self._new_series(key)
        series[0].inc()
        started = g.get("_balai_started")
        if started is not None:
            series[1].observe(perf_counter() - started)
        if status >= 500:
            owner = plugins(self.app).owner_of(req.blueprint) if rule is not None else None
            self.plugin_errors.labels(owner or CORE).inc()
        return response

    def _new_series(self, key: tuple[str, str, int]) -> tuple[Any, Any]:
        route, method, status = key
        series = (
            self.requests.labels(route, method, str(status)),
            self.duration.labels(route),
        )
        self._series[key] = series
        return series

    # -- at scrape time ---------------------------------------------------------------

    def exposition(self) -> bytes:
        if not self.multiprocess:
            assert self.registry is not None
            return generate_latest(self.registry)  # type: ignore[no-any-return]
        registry = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(registry)
        registry.register(_Scrape(self))
        return generate_latest(registry)  # type: ignore[no-any-return]

    def collect(self) -> Iterable[Metric]:
        for collector in self.collectors:
            try:
                yield from list(collector())
            except Exception:
                name = getattr(collector, "__qualname__", repr(collector))
                log.exception("metrics collector %s failed", name)

    def _pool(self) -> Iterable[Metric]:
        pool = db.engine_for(self.app).pool
        for name, text, value in _pool_figures(pool):
            yield GaugeMetricFamily(name, text, value=value)

    def _outbox(self) -> Iterable[Metric]:
        from balai.channels import OutboxMessage

        with db.all_tenants() as session:
            rows = session.execute(
                select(OutboxMessage.channel, func.count())
                .where(
                    OutboxMessage.status.in_(("pending", "failed")),
                    OutboxMessage.attempts < self.app.config["OUTBOX_MAX_ATTEMPTS"],
                )
                .group_by(OutboxMessage.channel)
            ).all()
        family = GaugeMetricFamily(
            "balai_outbox_pending",
            "Outbox messages still to deliver (pending, or failed with tries left).",
            labels=["channel"],
        )
        counts = dict.fromkeys(self.app.extensions.get("balai.channels", {}), 0)
        counts.update(dict(rows))  # every channel has a series, 0 when nothing waits
        for channel, count in sorted(counts.items()):
            family.add_metric([channel], count)
        yield family

    def _watch_pool(self, engine: Engine) -> None:
        """Multiprocess mode: each worker keeps its pool's figures in live gauges (the
        scraping worker cannot read the others' pools), summed over live workers.

        Connections in use count up and down with each checkout and checkin; size and
        overflow are read at each checkout (the overflow shrinks only when a surplus
        connection is returned, and shows it at the next checkout).
        """
        pool = engine.pool
        size, checked_out, overflow = (
            Gauge(name, text, multiprocess_mode="livesum", registry=None)
            for name, text, _value in _pool_figures(pool)
        )

        def taken(*_args: Any) -> None:
            checked_out.inc()
            size.set(_figure(pool, "size"))
            overflow.set(_figure(pool, "overflow"))

        def returned(*_args: Any) -> None:
            checked_out.dec()

        event.listen(pool, "checkout", taken)
        event.listen(pool, "checkin", returned)


def _figure(pool: Any, method: str) -> float:
    """``pool.<method>()`` (never below 0), or 0 for a pool without it."""
    read = getattr(pool, method, None)
    return float(max(read(), 0)) if callable(read) else 0.0


def _pool_figures(pool: Any) -> list[tuple[str, str, float]]:
    """Size, checked-out connections and overflow of a pool (0 where it has none)."""
    return [
        ("balai_db_pool_size", "Connections the database pool keeps.", _figure(pool, "size")),
        ("balai_db_pool_checked_out", "Database connections in use.", _figure(pool, "checkedout")),
        (
            "balai_db_pool_overflow",
            "Database connections open beyond the pool's size.",
            _figure(pool, "overflow"),
        ),
    ]


class _Scrape:
    """The scrape-time collectors of one app, as one collector of the client library."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self.metrics.collect()


# -- the endpoint ----------------------------------------------------------------------


@bp.route("/-/metrics")
@public  # guarded inside: the metrics token or a platform operator; anyone else 404
def scrape() -> Response:
    if not _may_read():
        abort(404)
    response = Response(current_app.extensions[EXTENSION].exposition())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response


def _may_read() -> bool:
    """``Authorization: Bearer <METRICS_TOKEN>``, or a platform operator's login."""
    token = current_app.config.get("METRICS_TOKEN")
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    if (
        token
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), str(token).encode())
    ):
        return True
    return _operator_logged_in()


def _operator_logged_in() -> bool:
    """A platform operator's login session on this host's region.

    The route needs no region (a scraper may call it on any host), so the region is
    looked up here, only for this question: login sessions belong to a region.
    """
    from balai.tenancy import registry

    tenant = registry().for_host(request.host)
    if tenant is None:
        abort(404, description="unknown-host")  # as any route on a host of no region
    g.tenant = tenant
    return bool(current_user.is_authenticated and current_user.is_operator)


def init_app(app: Flask) -> None:
    metrics = Metrics(app)
    app.extensions[EXTENSION] = metrics
    app.before_request_funcs.setdefault(None, []).insert(0, metrics.start)
    app.after_request(metrics.record)
    app.register_blueprint(bp)
