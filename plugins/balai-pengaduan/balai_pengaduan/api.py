"""The officers' JSON API under ``/api/v1/pengaduan/``.

The same rules as the officers' pages (:mod:`~balai_pengaduan.officer`): an
officer sees only the complaints routed to their department (others answer 404,
as if they did not exist), each move needs the permission the page asks for,
and the reporter's identity shows only where the page shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from balai.api import ApiBlueprint, PageArgs, page_of, sort_field, sorted_by
from balai.auth import current_user
from balai.db import db
from balai.fields import AwareDateTime, Date, Id, Integer, Text
from balai.i18n import N_
from balai.permissions import has_permission, require
from balai.rules import rule_errors
from balai_pengaduan import reporters, runtime, services
from balai_pengaduan.models import Category, Complaint, ComplaintEvent
from balai_pengaduan.officer import identity_shown, move, permission_for, targets_for
from balai_pengaduan.workflow import STATUSES

__all__ = ["blp"]

blp = ApiBlueprint(
    "pengaduan_api",
    __name__,
    description="Complaints (pengaduan) for officers: lists, details and status changes",
)

# Each has an index with the tenant first, except supporters (sort a filtered list by it).
SORTS = {
    "submitted_at": Complaint.submitted_at,
    "updated_at": Complaint.updated_at,
    "supporters": Complaint.supporters,
}

SUMMARY_FIELDS = (
    "id",
    "tracking_code",
    "status",
    "category",
    "department",
    "area",
    "description",
    "address",
    "latitude",
    "longitude",
    "privacy",
    "channel",
    "supporters",
    "submitted_at",
    "updated_at",
    "forward_due",
    "followup_due",
)

# The access decorator sits right under the route, so a request without the
# permission is refused (401/403) before its input is even validated (422).


# -- schemas -----------------------------------------------------------------------


class ComplaintQuery(PageArgs):
    """Filters and order of the list; every filter is optional."""

    sort = sort_field(SORTS, default="-submitted_at")
    category = Text(metadata={"description": "Category code"})
    status = fields.List(
        Text(validate=validate.OneOf(STATUSES)),
        metadata={"description": "Statuses (repeat the parameter for several)"},
    )
    area_id = Id(metadata={"description": "Area (kecamatan) id"})
    department_id = Id(metadata={"description": "Department (OPD) id"})
    submitted_from = AwareDateTime(
        default_timezone=None, metadata={"description": "Submitted at or after (ISO 8601)"}
    )
    submitted_until = AwareDateTime(
        default_timezone=None, metadata={"description": "Submitted before (ISO 8601)"}
    )
    overdue = fields.Boolean(metadata={"description": "Only complaints past a deadline"})


class NamedSchema(Schema):
    id = Id()
    code = Text()
    name = Text()


class ComplaintSchema(Schema):
    """A complaint in a list: what, where, where it stands; never who sent it."""

    id = Id()
    tracking_code = Text()
    status = Text(metadata={"enum": list(STATUSES)})
    category = fields.Nested(NamedSchema)
    department = fields.Nested(NamedSchema, allow_none=True)
    area = fields.Nested(NamedSchema, allow_none=True)
    description = Text()
    address = Text()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    privacy = Text(metadata={"enum": ["public", "confidential", "anonymous"]})
    channel = Text()
    supporters = Integer(min=0)
    duplicate_of = Text(allow_none=True, metadata={"description": "Tracking code"})
    submitted_at = AwareDateTime()
    updated_at = AwareDateTime()
    forward_due = Date()
    followup_due = Date(allow_none=True)
    overdue = fields.Boolean(metadata={"description": "Past its forwarding or follow-up deadline"})


class ReporterSchema(Schema):
    name = Text(allow_none=True)
    email = Text(allow_none=True)
    phone = Text(allow_none=True)


class EventSchema(Schema):
    at = AwareDateTime()
    actor = Text(attribute="actor_label")
    from_status = Text(allow_none=True)
    to_status = Text()
    note = Text()


class ComplaintDetailSchema(ComplaintSchema):
    """A complaint with its timeline and, where the officer may see it, the reporter."""

    reporter = fields.Nested(ReporterSchema, allow_none=True)
    rejection_reason = Text(allow_none=True)
    timeline = fields.List(fields.Nested(EventSchema))
    allowed_moves = fields.List(
        Text(), metadata={"description": "Statuses this user may move it to now"}
    )


class TransitionSchema(Schema):
    """One move of a complaint, as on the officer's page."""

    status = Text(required=True, validate=validate.OneOf(STATUSES))
    note = Text(load_default="", validate=validate.Length(max=5000))
    duplicate_of = Text(
        load_default=None, metadata={"description": "Tracking code (for status duplicate)"}
    )
    department_id = Id(
        load_default=None,
        metadata={"description": "Department to forward to (status forwarded)"},
    )


# -- views -------------------------------------------------------------------------


@blp.route("/complaints")
@require(runtime.VIEW)
@blp.arguments(ComplaintQuery, location="query")
@blp.response(200, page_of(ComplaintSchema))
def list_complaints(query: dict[str, Any]) -> Mapping[str, Any]:
    """Complaints this officer may see, filtered, a page at a time."""
    today = runtime.context().today
    stmt = services.filtered(_filters(query, today), _visible()).order_by(None)
    stmt = sorted_by(stmt, query["sort"], SORTS).order_by(Complaint.id.desc())
    page = services.paginate(db.session, stmt, query["page"], query["per_page"])
    return {**page, "items": [_summary(c, today) for c in page["items"]]}


@blp.route("/complaints/<int:complaint_id>")
@require(runtime.VIEW)
@blp.response(200, ComplaintDetailSchema)
def get_complaint(complaint_id: int) -> dict[str, Any]:
    """One complaint with its timeline; 404 when it is not this officer's to see."""
    return _detail(_visible_or_404(complaint_id))


@blp.route("/complaints/<int:complaint_id>/transitions", methods=["POST"])
@require(runtime.VIEW)
@blp.arguments(TransitionSchema)
@blp.response(200, ComplaintDetailSchema)
def move_complaint(data: dict[str, Any], complaint_id: int) -> dict[str, Any]:
    """Move a complaint one step: verify, forward, work, resolve, close, reject, merge."""
    complaint = _visible_or_404(complaint_id)
    if not has_permission(current_user, permission_for(data["status"])):
        abort(403)
    try:
        event = _move(complaint, data)
    except services.ComplaintError as exc:
        db.session.rollback()
        abort(422, messages={"json": rule_errors(exc)})
    runtime.announce_change(complaint, event)
    db.session.commit()
    return _detail(complaint)


# -- helpers -----------------------------------------------------------------------


def _visible() -> Select[tuple[Complaint]]:
    return select(Complaint).where(runtime.visible_to(current_user))


def _visible_or_404(complaint_id: int) -> Complaint:
    stmt = _visible().where(Complaint.id == complaint_id).options(selectinload(Complaint.events))
    complaint = db.session.scalar(stmt)
    if complaint is None:
        abort(404)
    return complaint


def _filters(query: dict[str, Any], today: date) -> services.Filters:
    filters = services.Filters(
        statuses=tuple(query.get("status") or ()),
        area_id=query.get("area_id"),
        department_id=query.get("department_id"),
        submitted_from=query.get("submitted_from"),
        submitted_until=query.get("submitted_until"),
        overdue_on=today if query.get("overdue") else None,
    )
    code = query.get("category")
    if code:
        found = db.session.scalar(
            select(Category.id).where(func.upper(Category.code) == code.strip().upper())
        )
        if found is None:
            abort(422, messages={"query": {"category": [_("Unknown category.")]}})
        filters.category_ids = (found,)
    return filters


def _summary(complaint: Complaint, today: date) -> dict[str, Any]:
    values = {name: getattr(complaint, name, None) for name in SUMMARY_FIELDS}
    values["duplicate_of"] = _tracking_code(complaint.duplicate_of_id)
    values["overdue"] = services.is_overdue(complaint, today)
    return values


def _tracking_code(complaint_id: int | None) -> str | None:
    if complaint_id is None:
        return None
    return db.session.scalar(select(Complaint.tracking_code).where(Complaint.id == complaint_id))


def _detail(complaint: Complaint) -> dict[str, Any]:
    reporter = None
    if identity_shown(complaint, current_user):  # only then are the contacts opened
        contacts = reporters.contacts(complaint)
        reporter = {
            "name": complaint.reporter_name,
            "email": contacts.email,
            "phone": contacts.phone,
        }
    return {
        **_summary(complaint, runtime.context().today),
        "reporter": reporter,
        "rejection_reason": complaint.rejection_reason,
        "timeline": complaint.events,
        "allowed_moves": targets_for(complaint, current_user),
    }


def _move(complaint: Complaint, data: dict[str, Any]) -> ComplaintEvent:
    """Apply one move; the caller announces it and commits, or rolls back."""
    if data["department_id"] is not None and data["status"] != "forwarded":
        raise services.ComplaintError(
            N_("A department is chosen only when forwarding."), "department_id"
        )
    return move(
        complaint,
        data["status"],
        note=data["note"],
        department_id=data["department_id"],
        duplicate_of=data["duplicate_of"],
    )
