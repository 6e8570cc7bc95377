"""Background jobs: work that runs outside web requests, once per region.

A plugin declares its jobs with the ``register_jobs`` hook::

    from balai.jobs import Job

    @hookimpl
    def register_jobs(app):
        return [Job("pengaduan.check-deadlines", check_deadlines, schedule="15 0 * * *")]

Scheduled jobs run at their slots (:mod:`balai.jobs.slots`), each slot once per
region (:class:`JobRun` records it); :func:`enqueue` runs a job soon. With
``REDIS_URL`` set the runs go to RQ queues served by ``balai worker`` and
``balai scheduler``; without it ``balai jobs run-due`` (from cron) runs them.
"""

from __future__ import annotations

from flask import Flask

from balai.jobs import declaration, figures
from balai.jobs.declaration import CORE as CORE
from balai.jobs.declaration import Job, declared
from balai.jobs.declaration import JobDeclarationError as JobDeclarationError
from balai.jobs.declaration import job_named as job_named
from balai.jobs.models import STATUSES, JobRun
from balai.jobs.runner import enqueue
from balai.plugins import Plugins

# Only the names of __all__ are public (docs/plugin-authors.md#the-public-surface); those
# imported above as themselves (``x as x``) are re-exported for the core's own modules.
__all__ = ["STATUSES", "Job", "JobRun", "declared", "enqueue"]


def init_app(app: Flask, manager: Plugins) -> None:
    """Collect the plugins' jobs and serve the queue's figures with the app's metrics."""
    declaration.init_app(app, manager)
    figures.init_app(app)
