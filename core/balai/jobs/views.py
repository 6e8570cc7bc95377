"""``/admin/tugas``: a region's background jobs and their recent runs; and
``/admin/tugas/semua``: every region's runs with the queue's depth, for the platform
operator only."""

from __future__ import annotations

from math import ceil
from typing import Any

from flask import abort, current_app, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from balai.admin import bp
from balai.db import db
from balai.fields import int_arg
from balai.jobs.declaration import declared
from balai.jobs.models import STATUSES, WAITING, JobRun
from balai.jobs.runner import runs_for
from balai.permissions import require
from balai.tenancy import registry

__all__ = ["all_jobs", "jobs"]

PAGE_SIZE = 25
STATUS_LABELS = {
    "queued": _l("queued"),
    "running": _l("running"),
    "done": _l("done"),
    "retrying": _l("will retry"),
    "failed": _l("failed"),
}


def _status_filter() -> str | None:
    status = request.args.get("status", "")
    return status if status in STATUSES else None


def _runs(session: Session, conditions: list[ColumnElement[bool]]) -> dict[str, Any]:
    """One page of runs, newest first, with what the template needs to page them."""
    status = _status_filter()
    if status is not None:
        conditions = [*conditions, JobRun.status == status]
    total = session.scalar(select(func.count(JobRun.id)).where(*conditions)) or 0
    pages = max(1, ceil(total / PAGE_SIZE))
    page = min(max(int_arg(request.args, "page") or 1, 1), pages)
    runs = session.scalars(
        select(JobRun)
        .where(*conditions)
        .order_by(JobRun.created_at.desc(), JobRun.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    filters = {"status": status} if status else {}
    return {"runs": runs, "total": total, "page": page, "pages": pages, "filters": filters}


@bp.route("/tugas")
@require("balai.manage_plugins")
def jobs() -> str:
    """The region's jobs with their schedule and last run, and its recent runs."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    mine = [job for job in declared(app).values() if runs_for(job, g.tenant)]
    session = db.session
    newest = (
        select(func.max(JobRun.id))
        .where(JobRun.tenant_id == g.tenant.id)
        .group_by(JobRun.job)
        .scalar_subquery()
    )
    last = {run.job: run for run in session.scalars(select(JobRun).where(JobRun.id.in_(newest)))}
    return render_template(
        "balai/admin/jobs.html",
        jobs=mine,
        last=last,
        statuses=STATUSES,
        status_labels=STATUS_LABELS,
        operator=current_user.is_operator,
        **_runs(session, [JobRun.tenant_id == g.tenant.id]),
    )


@bp.route("/tugas/semua")
@require()
def all_jobs() -> str:
    """Every region's runs, the queue's depth and the failures: the operator's view."""
    if not current_user.is_operator:
        abort(403)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with db.all_tenants() as session:
        counted: dict[str, int] = {
            status: number
            for status, number in session.execute(
                select(JobRun.status, func.count(JobRun.id)).group_by(JobRun.status)
            )
        }
        page = _runs(session, [])
    queue = _queue_counts(app)
    return render_template(
        "balai/admin/jobs_all.html",
        waiting=sum(counted.get(s, 0) for s in WAITING),
        failed=counted.get("failed", 0),
        queue=queue,
        regions={t.id: t for t in registry(app).all()},
        statuses=STATUSES,
        status_labels=STATUS_LABELS,
        **page,
    )


def _queue_counts(app: Any) -> dict[str, int] | None:
    """The RQ queue's counts, or ``None`` without Redis or while it cannot be reached."""
    if not app.config.get("REDIS_URL"):
        return None
    from balai.jobs import queue

    try:
        return queue.counts(app)
    except Exception:  # Redis away: the page still shows the database's view
        app.logger.exception("could not read the job queue")
        return None
