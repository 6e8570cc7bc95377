"""The job queue's figures for ``/-/metrics`` and its broker for ``/-/health/ready``.

Read at scrape time from what every worker shares: the runs recorded in the database
(over every region) and, with ``REDIS_URL``, the RQ queue itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from flask import Flask
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from balai import metrics
from balai.db import db, utcnow
from balai.jobs.models import STATUSES, JobRun

__all__ = ["FAILED_WINDOW", "init_app"]

#: Failed runs are counted over this window (a run failed last month is history).
FAILED_WINDOW = timedelta(days=1)


def _runs(app: Flask) -> Iterable[Metric]:
    since = utcnow() - FAILED_WINDOW
    with db.all_tenants() as session:
        rows = dict(
            session.execute(
                select(JobRun.status, func.count())
                .where(JobRun.status.in_(("queued", "running", "retrying")))
                .group_by(JobRun.status)
            ).all()
        )
        failed = session.scalar(
            select(func.count())
            .select_from(JobRun)
            .where(JobRun.status == "failed", JobRun.finished_at >= since)
        )
    runs = GaugeMetricFamily(
        "balai_job_runs", "Background job runs waiting or under way, by status.", labels=["status"]
    )
    for status in STATUSES:
        if status in ("queued", "running", "retrying"):
            runs.add_metric([status], rows.get(status, 0))
    yield runs
    yield GaugeMetricFamily(
        "balai_job_runs_failed_last_day",
        "Background job runs that failed for good in the last 24 hours.",
        value=failed or 0,
    )


def _queue(app: Flask) -> Iterable[Metric]:
    from redis.exceptions import RedisError

    from balai.jobs.queue import counts

    try:
        figures = counts(app)
    except (RedisError, OSError) as exc:
        app.logger.warning("job queue unreachable: %s", exc.__class__.__name__)
        figures = None
    yield GaugeMetricFamily(
        "balai_job_queue_up",
        "1 when the job queue's Redis answered this scrape, 0 when it did not.",
        value=0 if figures is None else 1,
    )
    if figures is None:
        return  # no figures rather than made-up zeros
    yield GaugeMetricFamily(
        "balai_job_queue_depth", "Jobs waiting in the RQ queue.", value=figures["queued"]
    )
    yield GaugeMetricFamily(
        "balai_job_queue_failed", "Jobs in RQ's failed registry.", value=figures["failed"]
    )
    yield GaugeMetricFamily(
        "balai_job_queue_scheduled",
        "Jobs RQ holds for a retry after their back-off.",
        value=figures["scheduled"],
    )


def init_app(app: Flask) -> None:
    """Serve the figures with the app's metrics (and the queue's, with ``REDIS_URL``)."""
    metrics.add_collector(app, lambda: _runs(app))
    if app.config.get("REDIS_URL"):
        metrics.add_collector(app, lambda: _queue(app))
