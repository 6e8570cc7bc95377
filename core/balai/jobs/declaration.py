"""What a job is: the :class:`Job` declaration and the jobs an app has.

Plugins declare jobs through the ``register_jobs`` start-up hook; the core declares
its own in :mod:`balai.builtins`. A plugin whose declaration is wrong (a bad name or
schedule, a name another plugin took) is marked broken; the rest of the platform runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from croniter import croniter
from flask import Flask, current_app

from balai.plugins import Plugins

__all__ = ["CORE", "Job", "JobDeclarationError", "declared", "init_app", "job_named"]

#: The plugin-name part of the core's own jobs (``core.deliver-outbox``).
CORE = "core"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9-]{0,60}$")


class JobDeclarationError(ValueError):
    """A :class:`Job` declared wrongly; the message names the field."""


@dataclass(frozen=True)
class Job:
    """A piece of background work, run once per region.

    :param name: ``<plugin>.<verb>``, e.g. ``pengaduan.check-deadlines``; the core's own
        jobs are ``core.<verb>``.
    :param func: called as ``func(tenant, **kwargs)`` inside an app context whose current
        tenant (``g.tenant``) is ``tenant``, so ``db.session`` and plugin settings belong
        to that region. ``db.session`` is committed when it returns and rolled back when
        it raises. What it returns is recorded as the run's result (shortened text).
    :param schedule: a cron line (``"15 0 * * *"``) read in each region's time zone, or
        ``None`` for a job that runs only when enqueued (:func:`balai.jobs.enqueue`).
    :param retries: how many times a failed run is tried again.
    :param backoff: seconds to wait before each retry; the last one repeats.
    :param time_limit: seconds a run may take before it is stopped and failed.
    :param error_messages: record the exception's message with a failure; ``False``
        keeps only its type and where it was raised, for work whose errors may quote
        personal data (a database error quotes its parameters).
    """

    name: str
    func: Callable[..., Any] = field(repr=False)
    schedule: str | None = None
    retries: int = 3
    backoff: tuple[int, ...] | list[int] = (10, 60, 300)
    time_limit: int = 300
    error_messages: bool = True

    @property
    def plugin(self) -> str:
        """The plugin that declares it (``core`` for the core's own)."""
        return self.name.split(".", 1)[0]

    def delay(self, attempt: int) -> int:
        """Seconds to wait after failed attempt number ``attempt`` (1 for the first)."""
        if not self.backoff:
            return 0
        return int(self.backoff[min(attempt, len(self.backoff)) - 1])

    def check(self, owner: str) -> None:
        """Refuse a declaration that is not sound, naming the field."""
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            raise JobDeclarationError(f"name: {self.name!r} is not '<plugin>.<verb>'")
        if self.plugin != owner:
            raise JobDeclarationError(f"name: {self.name!r} must start with '{owner}.'")
        if not callable(self.func):
            raise JobDeclarationError(f"func: {self.name} has no callable func")
        if self.schedule is not None and not (
            isinstance(self.schedule, str) and croniter.is_valid(self.schedule)
        ):
            raise JobDeclarationError(f"schedule: {self.schedule!r} is not a cron line")
        if not isinstance(self.retries, int) or not 0 <= self.retries <= 20:
            raise JobDeclarationError(f"retries: {self.retries!r} is not 0 to 20")
        if any(not isinstance(s, int) or s < 0 for s in self.backoff):
            raise JobDeclarationError(f"backoff: {self.backoff!r} is not seconds (>= 0)")
        if not isinstance(self.time_limit, int) or self.time_limit < 1:
            raise JobDeclarationError(f"time_limit: {self.time_limit!r} is not seconds (>= 1)")


def init_app(app: Flask, manager: Plugins) -> None:
    """Collect every plugin's jobs (``register_jobs``) into ``app.extensions``."""
    jobs: dict[str, Job] = {}
    for plugin, result in manager.call_each("register_jobs", startup=True, app=app):
        owner = CORE if plugin == "balai" else plugin
        try:
            found = _checked(owner, result, jobs)
        except JobDeclarationError as exc:
            manager.mark_broken(plugin, f"register_jobs: {exc}")
            continue
        jobs.update(found)
    app.extensions["balai.jobs"] = dict(sorted(jobs.items()))


def _checked(owner: str, result: Iterable[Job] | Job, taken: dict[str, Job]) -> dict[str, Job]:
    found: dict[str, Job] = {}
    for job in result if isinstance(result, list | tuple) else [result]:
        if not isinstance(job, Job):
            raise JobDeclarationError(f"{job!r} is not a balai.jobs.Job")
        job.check(owner)
        if job.name in taken or job.name in found:
            raise JobDeclarationError(f"name: {job.name!r} is declared twice")
        found[job.name] = job
    return found


def declared(app: Flask | None = None) -> dict[str, Job]:
    """Every job of ``app`` (default: the current app) by name, sorted."""
    jobs: dict[str, Job] = (app or current_app).extensions["balai.jobs"]
    return jobs


def job_named(name: str, app: Flask | None = None) -> Job:
    """The job called ``name``; :class:`LookupError` naming it if there is none."""
    job = declared(app).get(name)
    if job is None:
        raise LookupError(f"unknown job {name!r} (see 'balai jobs list')")
    return job
