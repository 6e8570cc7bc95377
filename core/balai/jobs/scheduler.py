"""``balai scheduler``: every few seconds, claim the due slots and enqueue them.

Several schedulers may run (one per host, for availability): the claim in
``balai_job_run`` lets only one of them enqueue a slot. A run claimed but never
enqueued (its scheduler was killed in between) is found by the next ticks once it has
waited :data:`LOST_AFTER` and RQ does not know it, and enqueued then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select

from balai.db import db, utcnow
from balai.jobs.declaration import declared
from balai.jobs.models import JobRun
from balai.jobs.runner import claim_due, dispatch

__all__ = ["LOST_AFTER", "enqueue_lost", "run_forever", "tick"]

#: How long a claimed run may wait unknown to RQ before it is taken as lost.
LOST_AFTER = timedelta(minutes=5)

log = logging.getLogger(__name__)


def tick(app: Flask) -> int:
    """Claim and enqueue every slot due now; returns how many were enqueued."""
    enqueued = 0
    with app.app_context():
        for job, run_id, tenant in claim_due(app, utcnow()):
            try:
                dispatch(app, job, run_id, tenant)
            except Exception:  # Redis away: the slot is unclaimed, the next tick tries again
                log.exception("could not enqueue %s for %s", job.name, tenant.slug)
                continue
            enqueued += 1
        enqueued += enqueue_lost(app, utcnow())
    return enqueued


def enqueue_lost(app: Flask, now: datetime) -> int:
    """Enqueue the runs queued before ``now - LOST_AFTER`` that RQ does not know."""
    from balai.jobs import queue

    with db.all_tenants() as session:
        waiting = session.scalars(
            select(JobRun).where(JobRun.status == "queued", JobRun.created_at <= now - LOST_AFTER)
        ).all()
    found = 0
    for run in waiting:
        job = declared(app).get(run.job)
        if job is not None and not queue.enqueued(app, run):
            log.warning(
                "run %s (%s) was claimed but never enqueued: enqueuing it", run.id, job.name
            )
            queue.enqueue_run(app, job, run)
            found += 1
    return found


def run_forever(app: Flask, interval: float, stop: Callable[[], bool] = lambda: False) -> None:
    """Tick every ``interval`` seconds until ``stop()`` says so; a failing tick (the
    database away) is logged and the loop goes on."""
    while not stop():
        try:
            tick(app)
        except Exception:
            log.exception("scheduler tick failed")
        time.sleep(interval)
