"""The RQ side, used only with ``REDIS_URL``: the queue, enqueueing a run, the worker.

RQ is imported here and only here, when a run is enqueued or a worker starts, so
the web app's start-up does not pay for it. RQ's worker forks a *work horse* per
job: ``job_timeout`` is then a hard limit, a crash takes only the horse down, and
the horse inherits the Balai app built once by ``balai worker``. A forked process
must not share the parent's database connections, so the engine's pool is disposed
of (without closing the parent's connections) in every child.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from flask import Flask

from balai.db import db
from balai.jobs.declaration import Job
from balai.jobs.models import WAITING, JobRun

if TYPE_CHECKING:
    from redis import Redis
    from rq import Queue, Worker

__all__ = [
    "bind",
    "connection",
    "counts",
    "enqueue_run",
    "enqueued",
    "job_id",
    "perform",
    "rq_queue",
    "worker",
]

FAILURE_TTL = 30 * 24 * 3600  # seconds RQ keeps a failed job in its FailedJobRegistry
_bound: dict[str, Flask] = {}

#: Seconds to wait for Redis to accept a connection (a scrape or a probe must not
#: hang on a host that does not answer); a ``socket_connect_timeout`` in the URL wins.
CONNECT_TIMEOUT = 5


def connection(app: Flask) -> Redis:
    """The Redis connection of ``app`` (made once from ``REDIS_URL``)."""
    found = app.extensions.get("balai.jobs.redis")
    if found is None:
        from redis import Redis

        found = app.extensions["balai.jobs.redis"] = Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=CONNECT_TIMEOUT
        )
    return found  # type: ignore[no-any-return]


def rq_queue(app: Flask) -> Queue:
    """The RQ queue the deployment's jobs go to (``JOBS_QUEUE``)."""
    from rq import Queue

    return Queue(app.config["JOBS_QUEUE"], connection=connection(app))


def job_id(app: Flask, run: JobRun) -> str:
    """The RQ job id of ``run``: its queue, id and creation instant.

    RQ's ids are global to the Redis database and a job's stored fields outlive it for
    a while, so the id is not the run's id alone, which a restored database could hand
    out again; and it is fixed per run, so :func:`enqueued` can look for it.
    """
    return f"{app.config['JOBS_QUEUE']}-run-{run.id}-{run.created_at:%Y%m%d%H%M%S%f}"


def enqueue_run(app: Flask, job: Job, run: JobRun) -> None:
    """Put a claimed run on the queue with the job's time limit and retries."""
    from rq import Retry

    retry = Retry(max=job.retries, interval=list(job.backoff) or 0) if job.retries else None
    rq_queue(app).enqueue(
        perform,
        run.id,
        run.tenant_id,
        job_id=job_id(app, run),
        description=f"{job.name} (region {run.tenant_id}, run {run.id})",
        job_timeout=job.time_limit,
        retry=retry,
        failure_ttl=FAILURE_TTL,
        result_ttl=3600,
    )


def enqueued(app: Flask, run: JobRun) -> bool:
    """Whether RQ knows ``run`` (waiting, scheduled for a retry, running or kept)."""
    from rq.job import Job as RqJob

    return bool(RqJob.exists(job_id(app, run), connection=connection(app)))


def bind(app: Flask) -> None:
    """Make ``app`` the one the jobs of this process (and its forks) run in."""
    if not _bound:
        os.register_at_fork(after_in_child=_after_fork)
    _bound["app"] = app


def _after_fork() -> None:
    app = _bound.get("app")
    if app is not None:
        db.engine_for(app).dispose(close=False)


def perform(run_id: int, tenant_id: int) -> str | None:
    """What an RQ worker runs: the claimed run ``run_id`` of region ``tenant_id``."""
    from rq import get_current_job

    from balai.jobs.runner import execute

    app = _bound.get("app")
    if app is None:
        raise RuntimeError("no Balai app in this worker: start workers with 'balai worker'")
    current = get_current_job()
    retry = bool(current is not None and current.retries_left)
    with app.app_context():
        return execute(
            app,
            run_id,
            tenant_id,
            retry=retry,
            from_statuses=(*WAITING, "running"),
            time_limit=False,
            reraise=True,
        )


def worker(app: Flask, **options: Any) -> Worker:
    """An RQ worker on the deployment's queue, running jobs in ``app``."""
    from rq import Worker

    bind(app)
    return Worker([rq_queue(app)], connection=connection(app), **options)


def counts(app: Flask) -> dict[str, int]:
    """Jobs waiting in the queue, failed for good, and scheduled for a retry."""
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry

    queue = rq_queue(app)
    return {
        "queued": len(queue),
        "failed": FailedJobRegistry(queue=queue).count,
        "scheduled": ScheduledJobRegistry(queue=queue).count,
    }
