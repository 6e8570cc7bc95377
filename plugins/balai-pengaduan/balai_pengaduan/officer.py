"""Officers' pages (*petugas*): their department's inbox and a complaint's workflow.

An officer sees only complaints routed to their department (``runtime.visible_to``);
any other answers 404, as if it did not exist. The reporter's identity shows only
for public complaints; region admins also see that of confidential ones. The
reporter's sealed contact details are opened only when they are shown.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from balai.auth import Department, current_user
from balai.db import db
from balai.forms import validate_form
from balai.i18n import N_
from balai.permissions import has_permission, require
from balai_pengaduan import reporters, runtime, services
from balai_pengaduan.forms import OfficerFilters, TransitionForm, rule_errors
from balai_pengaduan.models import Area, Category, Complaint, ComplaintEvent
from balai_pengaduan.views import PAGE_SIZE, normalise_code
from balai_pengaduan.workflow import STATUS_LABELS, STATUSES, TRANSITIONS

__all__ = ["bp", "identity_shown", "permission_for", "targets_for"]

bp = Blueprint("pengaduan_petugas", __name__, url_prefix="/pengaduan/petugas")
# Which permission each move needs: verifiers triage, departments do the work.
HANDLED_BY_DEPARTMENT = frozenset({"in_progress", "resolved"})
Errors = dict[str, list[str]]


def permission_for(target: str) -> str:
    """The permission a move to ``target`` needs."""
    return runtime.HANDLE if target in HANDLED_BY_DEPARTMENT else runtime.VERIFY


def targets_for(complaint: Complaint, user: Any) -> list[str]:
    """The moves this user may make now, in workflow order."""
    allowed = TRANSITIONS.get(complaint.status, frozenset())
    return [t for t in STATUSES if t in allowed and has_permission(user, permission_for(t))]


def identity_shown(complaint: Complaint, user: Any) -> bool:
    """Whether the reporter's name and contact may be shown to ``user``."""
    if complaint.privacy == "public":
        return True
    return complaint.privacy == "confidential" and user.role in ("admin", "operator")


def _visible(complaint_id: int) -> Complaint | None:
    return db.session.scalar(
        select(Complaint).where(Complaint.id == complaint_id, runtime.visible_to(current_user))
    )


def _visible_or_404(complaint_id: int) -> Complaint:
    complaint = _visible(complaint_id)
    if complaint is None:
        abort(404)
    return complaint


# -- the inbox ---------------------------------------------------------------------


@bp.get("/")
@require(runtime.VIEW)
def inbox() -> tuple[str, int]:
    """Complaints routed to the officer's department (all of them for a region admin)."""
    data, errors = validate_form(OfficerFilters(), request.args)
    found: services.Page = {"items": [], "page": 1, "per_page": PAGE_SIZE, "total": 0, "pages": 0}
    if data is not None:
        statement = services.filtered(
            _filters(data), select(Complaint).where(runtime.visible_to(current_user))
        )
        found = services.paginate(db.session, statement, data["page"], PAGE_SIZE)
        if data["page"] > max(found["pages"], 1):
            abort(404)
    html = render_template(
        "pengaduan/officer/inbox.html",
        found=found,
        errors=errors,
        args={k: v for k, v in request.args.items() if k != "page" and v},
        today=runtime.context().today,
        categories=db.session.scalars(select(Category).order_by(Category.name)).all(),
        areas=db.session.scalars(select(Area).order_by(Area.name)).all(),
        departments=_departments() if has_permission(current_user, runtime.VIEW_ALL) else [],
        statuses=STATUSES,
        labels=STATUS_LABELS,
        is_overdue=services.is_overdue,
    )
    return html, 400 if errors else 200


def _filters(data: dict[str, Any]) -> services.Filters:
    category = None
    if data["category"]:
        category = db.session.scalar(
            select(Category.id).where(Category.code == data["category"].upper())
        )
    return services.Filters(
        category_ids=(category if category is not None else -1,) if data["category"] else (),
        statuses=(data["status"],) if data["status"] else (),
        area_id=data["area"],
        department_id=data["department"],
        overdue_on=runtime.context().today if data["overdue"] else None,
        query=data["q"],
    )


def _departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.name)))


# -- one complaint -----------------------------------------------------------------


@bp.get("/<int:complaint_id>")
@require(runtime.VIEW)
def detail(complaint_id: int) -> tuple[str, int]:
    """A complaint with its full timeline, photos and the moves the officer may make."""
    return _detail_page(_visible_or_404(complaint_id), {})


def _detail_page(
    complaint: Complaint, errors: Errors, values: dict[str, Any] | None = None
) -> tuple[str, int]:
    show_identity = identity_shown(complaint, current_user)
    html = render_template(
        "pengaduan/officer/detail.html",
        complaint=complaint,
        errors=errors,
        values=values or {},
        targets=targets_for(complaint, current_user),
        show_identity=show_identity,
        # Opened only for an officer who may see them.
        contacts=reporters.contacts(complaint) if show_identity else None,
        departments=_departments(),
        today=runtime.context().today,
        overdue=services.is_overdue(complaint, runtime.context().today),
        labels=STATUS_LABELS,
    )
    return html, 422 if errors else 200


@bp.post("/<int:complaint_id>/status")
@require(runtime.VIEW)
def change_status(complaint_id: int) -> Any:
    """Move a complaint one step (verify, forward, work, resolve, close, reject, merge)."""
    complaint = _visible_or_404(complaint_id)
    values = request.form.to_dict()
    data, errors = validate_form(TransitionForm(), request.form)
    if data is None:
        return _detail_page(complaint, errors, values)
    if not has_permission(current_user, permission_for(data["target"])):
        abort(403)
    try:
        event = move(
            complaint,
            data["target"],
            note=data["note"],
            department_id=data["department_id"],
            duplicate_of=data["duplicate_of"],
        )
        runtime.announce_change(complaint, event)
    except services.ComplaintError as exc:
        db.session.rollback()
        return _detail_page(_visible_or_404(complaint_id), rule_errors(exc), values)
    db.session.commit()
    flash(_("The complaint is now: %(status)s.", status=_(STATUS_LABELS[data["target"]])), "ok")
    if _visible(complaint.id) is None:  # forwarded to another department: no longer theirs
        return redirect(url_for(".inbox"))
    return redirect(url_for(".detail", complaint_id=complaint.id))


def move(
    complaint: Complaint,
    target: str,
    *,
    note: str,
    department_id: int | None = None,
    duplicate_of: str | None = None,
) -> ComplaintEvent:
    """One officer's move, for the pages and the API alike; the caller announces it and
    commits, or rolls back on :class:`~balai_pengaduan.services.ComplaintError`."""
    original = None
    if target == "forwarded":
        complaint.department_id = _department_id(department_id, complaint)
    if target == "duplicate":
        original = _original(duplicate_of)
    return services.transition(
        db.session,
        complaint,
        target,
        runtime.context(),
        actor_id=current_user.id,
        actor_label=current_user.name,
        note=note,
        duplicate_of=original,
    )


def _department_id(chosen: int | None, complaint: Complaint) -> int:
    """The department to forward to: the verifier's choice, or the routed one."""
    department_id = chosen if chosen is not None else complaint.department_id
    if (
        department_id is None
        or db.session.scalar(select(Department.id).where(Department.id == department_id)) is None
    ):
        raise services.ComplaintError(N_("Choose a department from the list."), "department_id")
    return department_id


def _original(code: str | None) -> Complaint:
    """The complaint a duplicate merges into, found by its tracking code."""
    original = None
    if code:
        original = db.session.scalar(
            select(Complaint).where(
                Complaint.tracking_code == normalise_code(code), runtime.visible_to(current_user)
            )
        )
    if original is None:
        raise services.ComplaintError(N_("No complaint has this tracking code."), "duplicate_of")
    return original
