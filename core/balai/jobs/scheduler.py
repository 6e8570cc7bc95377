"""``balai scheduler``: every few seconds, claim the due slots and enqueue them.

Several schedulers may run (one per host, for availability): the claim in
``balai_job_run`` lets only one of them enqueue a slot.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Flask

from balai.db import utcnow
from balai.jobs.runner import claim_due, dispatch

__all__ = ["run_forever", "tick"]

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
    return enqueued


def run_forever(app: Flask, interval: float, stop: Callable[[], bool] = lambda: False) -> None:
    """Tick every ``interval`` seconds until ``stop()`` says so; a failing tick (the
    database away) is logged and the loop goes on."""
    while not stop():
        try:
            tick(app)
        except Exception:
            log.exception("scheduler tick failed")
        time.sleep(interval)
