"""Claiming slots and running jobs: the part shared by cron, the scheduler and workers.

A run is claimed by inserting its :class:`JobRun` row; the unique
``(tenant, job, slot)`` turns a second claim into a no-op. Without ``REDIS_URL``
claimed runs wait in the table for ``balai jobs run-due``, which runs them in its
own process; with it they go to the RQ queue (:mod:`balai.jobs.queue`) at once.
Either way :func:`execute` runs one: it marks the row running, calls the job's
function in the region's context and records the outcome.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, g
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from balai.db import db, utcnow
from balai.jobs.declaration import CORE, Job, declared, job_named
from balai.jobs.models import MAX_ERROR, MAX_RESULT, WAITING, JobRun
from balai.jobs.slots import latest_slot, region_zone, slot_key
from balai.logs import bind_request_id
from balai.tenancy import TenantInfo, registry

__all__ = [
    "Outcome",
    "claim",
    "claim_due",
    "dispatch",
    "enqueue",
    "execute",
    "regions_for",
    "run_due",
    "run_now",
    "runs_for",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """How one run went, for the command line."""

    job: str
    tenant: str
    slot: str
    status: str
    detail: str = ""


def runs_for(job: Job, tenant: TenantInfo) -> bool:
    """Whether ``job`` runs for ``tenant``: the core's jobs for every region, a
    plugin's for the regions that have it enabled."""
    return job.plugin == CORE or job.plugin in tenant.plugins


def regions_for(app: Flask, job: Job) -> list[TenantInfo]:
    """The regions ``job`` runs for (:func:`runs_for`)."""
    return [t for t in registry(app).all() if runs_for(job, t)]


# -- claiming --------------------------------------------------------------------


def claim(
    job: Job,
    tenant: TenantInfo,
    slot: str,
    due_at: datetime,
    arguments: Mapping[str, Any] | None = None,
) -> int | None:
    """Insert the run of ``job`` for ``tenant`` and ``slot``; its id, or ``None`` when
    that slot is already claimed (by another scheduler, an earlier run, ...)."""
    try:
        with db.tenant_session(tenant.id) as session:
            run = JobRun(job=job.name, slot=slot, due_at=due_at, arguments=dict(arguments or {}))
            session.add(run)
            session.flush()
            return run.id
    except IntegrityError:
        return None


def claim_due(app: Flask, now: datetime) -> list[tuple[Job, int, TenantInfo]]:
    """Claim the latest due slot of every scheduled job in every region it runs for.

    Only the latest slot counts: slots missed while nothing ran are not made up, and
    the latest one runs once, late.
    """
    claimed = []
    for job in declared(app).values():
        if job.schedule is None:
            continue
        for tenant in regions_for(app, job):
            instant = latest_slot(job.schedule, now, region_zone(app, tenant))
            run_id = claim(job, tenant, slot_key(instant), instant)
            if run_id is not None:
                claimed.append((job, run_id, tenant))
    return claimed


def dispatch(app: Flask, job: Job, run_id: int, tenant: TenantInfo) -> None:
    """Hand a claimed run to the RQ queue when ``REDIS_URL`` is set; otherwise it waits
    for ``balai jobs run-due``. A run the queue refused is unclaimed again, and the
    error raised."""
    if not app.config.get("REDIS_URL"):
        return
    from balai.jobs import queue

    try:
        with db.tenant_session(tenant.id) as session:
            run = session.get(JobRun, run_id)
        if run is not None:
            queue.enqueue_run(app, job, run)
    except Exception:
        with db.tenant_session(tenant.id) as session:
            run = session.get(JobRun, run_id)
            if run is not None:
                session.delete(run)
        raise


def enqueue(
    name: str, *, tenant: TenantInfo | str, key: str | None = None, **kwargs: Any
) -> int | None:
    """Run the job ``name`` for ``tenant`` (or its slug) soon, with ``kwargs``.

    ``key`` makes it idempotent: a second call with the same key does nothing and
    returns ``None``. Call it after committing what the job will read. Needs an app
    context; the arguments must be JSON (numbers, text, lists, mappings).

    :returns: the run's id, or ``None`` if ``key`` was enqueued before.
    """
    from flask import current_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    job = job_named(name, app)
    region = registry(app).by_slug(tenant) if isinstance(tenant, str) else tenant
    if region is None:
        raise ValueError(f"tenant: unknown region {tenant!r}")
    if not runs_for(job, region):
        raise ValueError(f"tenant: {region.slug} has not enabled the {job.plugin} plugin")
    for argument, value in kwargs.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{argument}: not JSON ({exc})") from exc
    slot = f"key:{key}" if key is not None else f"once:{uuid.uuid4().hex}"
    if len(slot) > 100:
        raise ValueError("key: longer than 96 characters")
    run_id = claim(job, region, slot, utcnow(), kwargs)
    if run_id is not None:
        dispatch(app, job, run_id, region)
    return run_id


# -- running ---------------------------------------------------------------------


def execute(app: Flask, run_id: int, tenant_id: int, **options: Any) -> str | None:
    """Run the claimed run ``run_id`` and record how it went (see :func:`_execute`); its
    log lines carry the request id ``job-<run id>``, as a web request's carry its own."""
    with bind_request_id(f"job-{run_id}"):
        return _execute(app, run_id, tenant_id, **options)


def _execute(
    app: Flask,
    run_id: int,
    tenant_id: int,
    *,
    retry: bool | None = None,
    from_statuses: tuple[str, ...] = WAITING,
    time_limit: bool = True,
    reraise: bool = False,
) -> str | None:
    """Run the claimed run ``run_id`` and record how it went; returns its new status,
    or ``None`` if it was not waiting (another process took it, or it is finished).

    :param retry: whether a failure is tried again; ``None``: while the job has retries
        left, after its back-off.
    :param from_statuses: the statuses it may start from (a worker retrying a run
        whose horse was killed finds it ``running``).
    :param time_limit: enforce the job's time limit here (an RQ worker does it itself).
    :param reraise: raise the job's exception after recording it (for RQ).
    """
    tenant = registry(app).by_id(tenant_id)
    with db.tenant_session(tenant_id) as session:
        taken = session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, JobRun.status.in_(from_statuses))
            .values(status="running", attempts=JobRun.attempts + 1, started_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        run = session.get(JobRun, run_id) if taken else None
        if run is None:
            return None
        name, arguments, attempts = run.job, dict(run.arguments or {}), run.attempts
    job = declared(app).get(name)
    if job is not None and tenant is not None and not runs_for(job, tenant):
        retry = False  # switched off since it was queued: not run in that region
    try:
        if job is None or tenant is None:
            raise LookupError(f"unknown job {name!r} (no plugin declares it now)")
        if not runs_for(job, tenant):
            raise LookupError(f"{tenant.slug} has switched the {job.plugin} plugin off")
        with _limited(job) if time_limit else nullcontext():
            result = _call(app, job, tenant, arguments)
    except BaseException as exc:
        again = (job is not None and attempts <= job.retries) if retry is None else retry
        _record_failure(run_id, tenant_id, job, exc, attempts, again)
        if reraise or not isinstance(exc, Exception):
            raise
        return "retrying" if again else "failed"
    with db.tenant_session(tenant_id) as session:
        run = session.get(JobRun, run_id)
        if run is not None:
            run.status, run.finished_at, run.error = "done", utcnow(), None
            run.result = None if result is None else str(result)[:MAX_RESULT]
    return "done"


def _call(app: Flask, job: Job, tenant: TenantInfo, arguments: dict[str, Any]) -> Any:
    """``job.func(tenant, **arguments)`` in an app context of the region."""
    with app.app_context():
        g.tenant = tenant
        try:
            result = job.func(tenant, **arguments)
        except BaseException:
            db.end_request_transaction()
            raise
        session = g.get("_balai_session")
        if session is not None:
            session.commit()
        return result


def _record_failure(
    run_id: int, tenant_id: int, job: Job | None, exc: BaseException, attempts: int, again: bool
) -> None:
    error = describe(exc, job.error_messages if job else True, job.time_limit if job else 0)
    log.warning("job run %s (%s) failed: %s", run_id, job.name if job else "?", error)
    now = utcnow()
    with db.tenant_session(tenant_id) as session:
        run = session.get(JobRun, run_id)
        if run is None:
            return
        run.error = error[:MAX_ERROR]
        if again and job is not None:
            run.status, run.due_at = "retrying", now + timedelta(seconds=job.delay(attempts))
        else:
            run.status, run.finished_at = "failed", now


def describe(exc: BaseException, messages: bool = True, limit: int = 0) -> str:
    """The error recorded for a failed run: type and message, or for a database error
    (which quotes its parameters) or when ``messages`` is off, type and place."""
    from rq.timeouts import JobTimeoutException

    if isinstance(exc, JobTimeoutException):
        return f"TimeLimitExceeded: stopped after {limit} s"
    if messages and not isinstance(exc, SQLAlchemyError):
        return f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"


_unlimited: list[str] = []  # the first job whose time limit this process could not keep


@contextmanager
def _limited(job: Job) -> Iterator[None]:
    """Stop the run after ``job.time_limit`` seconds (RQ's death penalty: SIGALRM,
    so only in the main thread; elsewhere the limit is logged as not enforced)."""
    if threading.current_thread() is not threading.main_thread():
        if not _unlimited:  # said once per process, not for every job and run
            _unlimited.append(job.name)
            log.warning(
                "job time limits are not enforced outside the main thread (first: %s)", job.name
            )
        yield
        return
    from rq.timeouts import JobTimeoutException, UnixSignalDeathPenalty

    with UnixSignalDeathPenalty(job.time_limit, JobTimeoutException, job_id=job.name):
        yield


def waiting_runs(now: datetime) -> list[tuple[int, int]]:
    """``(run id, tenant id)`` of every run waiting to be run at ``now``, oldest first."""
    with db.all_tenants() as session:
        rows = session.execute(
            select(JobRun.id, JobRun.tenant_id)
            .where(JobRun.status.in_(WAITING), JobRun.due_at <= now)
            .order_by(JobRun.due_at, JobRun.id)
        ).all()
    return [(row.id, row.tenant_id) for row in rows]


def run_due(app: Flask, now: datetime, *, here: bool = False) -> list[Outcome]:
    """Claim every due slot; without ``REDIS_URL`` (or with ``here``: the demo, which
    has no worker) also run every waiting run in this process (due slots, enqueued
    runs, retries whose back-off has passed), with it enqueue the claimed ones.
    Returns what happened to each, in order."""
    claimed = claim_due(app, now)
    if app.config.get("REDIS_URL") and not here:
        outcomes = []
        for job, run_id, tenant in claimed:
            dispatch(app, job, run_id, tenant)
            outcomes.append(Outcome(job.name, tenant.slug, f"run {run_id}", "queued"))
        return outcomes
    return [_run_here(app, run_id, tenant_id) for run_id, tenant_id in waiting_runs(now)]


def _run_here(app: Flask, run_id: int, tenant_id: int, retry: bool | None = None) -> Outcome:
    status = execute(app, run_id, tenant_id, retry=retry)
    with db.tenant_session(tenant_id) as session:
        run = session.get(JobRun, run_id)
        tenant = registry(app).by_id(tenant_id)
        slug = tenant.slug if tenant else str(tenant_id)
        if run is None:
            return Outcome("?", slug, "?", "gone")
        detail = (run.error if status in ("failed", "retrying") else run.result) or ""
        return Outcome(run.job, slug, run.slot, status or f"{run.status} elsewhere", detail)


def run_now(app: Flask, name: str, tenant: TenantInfo) -> Outcome:
    """Run ``name`` for ``tenant`` now, in this process, once (no retry)."""
    job = job_named(name, app)
    if not runs_for(job, tenant):
        raise ValueError(f"{tenant.slug} has not enabled the {job.plugin} plugin")
    run_id = claim(job, tenant, f"now:{uuid.uuid4().hex}", utcnow())
    assert run_id is not None  # a fresh slot
    return _run_here(app, run_id, tenant.id, retry=False)
