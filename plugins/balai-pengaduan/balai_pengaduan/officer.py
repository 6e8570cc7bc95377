"""Officers' pages (*petugas*): their department's inbox and a complaint's workflow.

An officer sees only complaints routed to their department (``runtime.visible_to``);
any other answers 404, as if it did not exist. The reporter's identity shows only
for public complaints; region admins also see that of confidential ones. The
reporter's sealed contact details are opened only when they are shown.

On a complaint's page the officer acts with verbs (``workflow.ACTIONS``), each a small
form of its own posted to its own address: *Verifikasi*, *Kerjakan*, *Teruskan ke*,
*Selesaikan* (with what was done, and photos of the work), *Tutup*, *Tolak* (with the
reason the reporter reads), *Gabungkan*. Only the actions the complaint's status and
the officer's permissions allow are shown, and only they are accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import validate
from sqlalchemy import select

from balai.api import PageDict, past_the_end
from balai.auth import Department, current_user
from balai.db import db
from balai.fields import Id, Text
from balai.forms import FormSchema, validate_form
from balai.i18n import N_
from balai.permissions import has_permission, require
from balai.rules import rule_errors
from balai.storage import TenantFiles
from balai_pengaduan import after_photos, photos, reporters, runtime, services
from balai_pengaduan.forms import OfficerFilters, TransitionForm
from balai_pengaduan.models import Area, Category, Complaint, ComplaintEvent
from balai_pengaduan.views import PAGE_SIZE, normalise_code
from balai_pengaduan.workflow import (
    ACTION_LABELS,
    ACTIONS,
    STATUS_LABELS,
    STATUSES,
    TRANSITIONS,
    Action,
)

__all__ = [
    "actions_for",
    "bp",
    "forward_choices",
    "identity_shown",
    "move",
    "permission_for",
    "targets_for",
]

bp = Blueprint("pengaduan_petugas", __name__, url_prefix="/pengaduan/petugas")
# Which permission each move needs: verifiers triage, departments do the work.
HANDLED_BY_DEPARTMENT = frozenset({"in_progress", "resolved"})
Errors = dict[str, list[str]]


class ActionForm(FormSchema):
    """One officer's action: a note (what was done, the reason), and what the verb needs."""

    note = Text(
        load_default="", validate=validate.Length(max=2000, error=_l("At most 2000 characters."))
    )
    department_id = Id(
        load_default=None, error_messages={"invalid": _l("Choose a department from the list.")}
    )
    duplicate_of = Text(load_default=None, validate=validate.Length(max=20))


def permission_for(target: str) -> str:
    """The permission a move to ``target`` needs."""
    return runtime.HANDLE if target in HANDLED_BY_DEPARTMENT else runtime.VERIFY


def _department_of(user: Any) -> int | None:
    return getattr(user, "department_id", None)


def _routed_to(complaint: Complaint, user: Any) -> bool:
    """Whether the complaint is routed to the user's own department."""
    mine = _department_of(user)
    return mine is not None and complaint.department_id == mine


def forward_choices(complaint: Complaint, user: Any) -> list[Department]:
    """Where ``user`` may forward the complaint: every department but their own when
    it is routed to them (they start work on it instead)."""
    skip = complaint.department_id if _routed_to(complaint, user) else None
    return [d for d in _departments() if d.id != skip]


def targets_for(complaint: Complaint, user: Any) -> list[str]:
    """The moves this user may make now, in workflow order."""
    allowed = TRANSITIONS.get(complaint.status, frozenset())
    found = []
    for target in STATUSES:
        if target not in allowed or not has_permission(user, permission_for(target)):
            continue
        unforwarded = complaint.status == "verified" and target == "in_progress"
        if unforwarded and not _routed_to(complaint, user):
            continue  # another department's: it is forwarded there first
        if target == "forwarded" and not forward_choices(complaint, user):
            continue
        found.append(target)
    return found


def actions_for(complaint: Complaint, user: Any) -> list[Action]:
    """The actions (verbs) this user may take now, in the order the page shows them."""
    targets = set(targets_for(complaint, user))
    return [action for action in ACTIONS.values() if action.target in targets]


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
    found: PageDict = {"items": [], "page": 1, "per_page": PAGE_SIZE, "total": 0, "pages": 0}
    if data is not None:
        statement = services.filtered(
            _filters(data), select(Complaint).where(runtime.visible_to(current_user))
        )
        found = services.paginate(db.session, statement, data["page"], PAGE_SIZE)
        if past_the_end(found):
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
        due_date=services.due_date,
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
    """A complaint with its full timeline, photos and the actions the officer may take."""
    return _detail_page(_visible_or_404(complaint_id), {})


def _detail_page(
    complaint: Complaint,
    errors: Errors,
    values: dict[str, Any] | None = None,
    failed: str | None = None,
) -> tuple[str, int]:
    """The page; ``failed`` names the form whose ``errors`` and ``values`` are shown."""
    show_identity = identity_shown(complaint, current_user)
    today = runtime.context().today
    html = render_template(
        "pengaduan/officer/detail.html",
        complaint=complaint,
        errors=errors,
        values=values or {},
        failed=failed,
        actions=actions_for(complaint, current_user),
        may_add_photos=_may_add_photos(complaint),
        max_after_photos=int(runtime.settings()["max_after_photos"]),
        work_days=int(runtime.settings()["work_days"]),
        followup_days=int(runtime.settings()["followup_days"]),
        show_identity=show_identity,
        # Opened only for an officer who may see them.
        contacts=reporters.contacts(complaint) if show_identity else None,
        departments=forward_choices(complaint, current_user),
        routed_here=_routed_to(complaint, current_user),
        today=today,
        overdue=services.is_overdue(complaint, today),
        labels=STATUS_LABELS,
        action_labels=ACTION_LABELS,
    )
    return html, 422 if errors else 200


def _may_add_photos(complaint: Complaint) -> bool:
    """Photos of the work are added while it is under way (and when resolving)."""
    return complaint.status == "in_progress" and has_permission(current_user, runtime.HANDLE)


# -- the actions: one address each, so each form stands alone ----------------------------


@bp.post("/<int:complaint_id>/verifikasi")
@require(runtime.VIEW)
def verify(complaint_id: int) -> Any:
    """*Verifikasi*: the complaint is genuine and complete."""
    return _act(complaint_id, ACTIONS["verify"])


@bp.post("/<int:complaint_id>/kerjakan")
@require(runtime.VIEW)
def start(complaint_id: int) -> Any:
    """*Kerjakan*: the department starts work (from verified only where it is routed)."""
    return _act(complaint_id, ACTIONS["start"])


@bp.post("/<int:complaint_id>/teruskan")
@require(runtime.VIEW)
def forward(complaint_id: int) -> Any:
    """*Teruskan ke ...*: hand the complaint to another department."""
    return _act(complaint_id, ACTIONS["forward"])


@bp.post("/<int:complaint_id>/selesaikan")
@require(runtime.VIEW)
def resolve(complaint_id: int) -> Any:
    """*Selesaikan*: the work is done; what was done is required, photos of it optional."""
    return _act(complaint_id, ACTIONS["resolve"])


@bp.post("/<int:complaint_id>/tutup")
@require(runtime.VIEW)
def close(complaint_id: int) -> Any:
    """*Tutup*: close a resolved complaint."""
    return _act(complaint_id, ACTIONS["close"])


@bp.post("/<int:complaint_id>/tolak")
@require(runtime.VIEW)
def reject(complaint_id: int) -> Any:
    """*Tolak*: refuse the complaint, with the reason its reporter reads."""
    return _act(complaint_id, ACTIONS["reject"])


@bp.post("/<int:complaint_id>/gabungkan")
@require(runtime.VIEW)
def merge(complaint_id: int) -> Any:
    """*Gabungkan*: the complaint repeats another one, named by its tracking code."""
    return _act(complaint_id, ACTIONS["merge"])


def _act(complaint_id: int, action: Action) -> Any:
    complaint = _visible_or_404(complaint_id)
    if not has_permission(current_user, permission_for(action.target)):
        abort(403)
    values = request.form.to_dict()
    data, errors = validate_form(ActionForm(), request.form)
    if data is not None and action.name == "forward" and data["department_id"] is None:
        data, errors = None, {"department_id": [_("Choose the department to forward to.")]}
    if data is None:
        return _detail_page(complaint, errors, values, action.name)
    if action not in actions_for(complaint, current_user):
        errors = {"_form": [_("This action is not possible for this complaint now.")]}
        return _detail_page(complaint, errors, values, action.name)
    uploads = request.files.getlist("photos") if action.name == "resolve" else []

    def change(directory: TenantFiles, written: list[str]) -> None:
        event = move(
            complaint,
            action.target,
            note=data["note"],
            department_id=data["department_id"] if action.name == "forward" else None,
            duplicate_of=data["duplicate_of"] if action.name == "merge" else None,
        )
        written.extend(_attach(complaint, uploads, directory))
        runtime.announce_change(complaint, event)

    failed = _commit(change)
    if failed is not None:
        return _detail_page(_visible_or_404(complaint_id), failed, values, action.name)
    status = _(STATUS_LABELS[action.target])
    return _next_page(complaint, _("The complaint is now: %(status)s.", status=status))


@bp.post("/<int:complaint_id>/foto-sesudah")
@require(runtime.VIEW)
def add_photos(complaint_id: int) -> Any:
    """Attach photos of the work under way (*foto sesudah*) to a complaint in progress."""
    complaint = _visible_or_404(complaint_id)
    if not has_permission(current_user, runtime.HANDLE):
        abort(403)
    uploads = request.files.getlist("photos")
    if complaint.status != "in_progress":
        errors = {"_form": [_("Photos of the work are added while it is in progress.")]}
        return _detail_page(complaint, errors, {}, "photos")
    if not any(upload and upload.filename for upload in uploads):
        return _detail_page(complaint, {"photos": [_("Choose at least one photo.")]}, {}, "photos")
    failed = _commit(
        lambda directory, written: written.extend(_attach(complaint, uploads, directory))
    )
    if failed is not None:
        return _detail_page(_visible_or_404(complaint_id), failed, {}, "photos")
    return _next_page(complaint, _("The photos were added."))


def _attach(complaint: Complaint, uploads: list[Any], directory: TenantFiles) -> list[str]:
    """Check and store the officer's photos of the work (none chosen: nothing); returns
    the names of the files written."""
    prepared = after_photos.prepare(uploads, complaint, runtime.settings())
    if not prepared:
        return []
    return after_photos.store(
        db.session,
        complaint,
        prepared,
        directory,
        added_by_id=current_user.id,
        now=runtime.context().now,
    )


def _commit(change: Callable[[TenantFiles, list[str]], Any]) -> Errors | None:
    """Make ``change`` (which lists the photo files it writes in its second argument)
    and commit it; on a refusal roll back and return the errors. The files of a change
    that does not commit are removed."""
    directory = photos.files()
    written: list[str] = []
    try:
        change(directory, written)
        db.session.commit()
        return None
    except services.ComplaintError as exc:
        errors = rule_errors(exc)
    except photos.PhotoError as exc:
        errors = rule_errors(exc)
    except BaseException:
        db.session.rollback()
        photos.remove(directory, written)
        raise
    db.session.rollback()
    photos.remove(directory, written)
    return errors


def _next_page(complaint: Complaint, message: str) -> Any:
    flash(message, "ok")
    if _visible(complaint.id) is None:  # forwarded to another department: no longer theirs
        return redirect(url_for(".inbox"))
    return redirect(url_for(".detail", complaint_id=complaint.id))


@bp.post("/<int:complaint_id>/status")
@require(runtime.VIEW)
def change_status(complaint_id: int) -> Any:
    """Move a complaint to a status by name, as the API does (``target``, ``note``,
    ``department_id``, ``duplicate_of``): for scripts; the page posts the actions."""
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
        db.session.commit()
    except services.ComplaintError as exc:
        db.session.rollback()
        return _detail_page(_visible_or_404(complaint_id), rule_errors(exc), values)
    status = _(STATUS_LABELS[data["target"]])
    return _next_page(complaint, _("The complaint is now: %(status)s.", status=status))


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
    if target == "forwarded" and department_id is not None:
        _check_department(department_id)
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
        department_id=department_id if target == "forwarded" else None,
        actor_department_id=_department_of(current_user),
    )


def _check_department(department_id: int) -> None:
    """The department chosen to forward to is one of the region's."""
    if db.session.scalar(select(Department.id).where(Department.id == department_id)) is None:
        raise services.ComplaintError(N_("Choose a department from the list."), "department_id")


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
