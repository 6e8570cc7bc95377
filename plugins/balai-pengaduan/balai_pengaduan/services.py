"""Business rules of complaints (*pengaduan*): submitting, routing, deadlines,
transitions, duplicates and the queries behind every list. No Flask here: the
callers pass the session (bound to the tenant), the settings, the calendar and
the time, so every rule can be tested with fixed dates.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from balai.api import PageDict
from balai.api import paginate as balai_paginate
from balai.calendar import WorkingCalendar, local_date
from balai.crypto import Sealer
from balai.db import TenantContextError
from balai.i18n import N_
from balai.rules import Label, RuleError
from balai_pengaduan import geo, reporters
from balai_pengaduan.models import (
    Area,
    AreaRoute,
    Category,
    Complaint,
    ComplaintEvent,
    Support,
)
from balai_pengaduan.workflow import (
    OPEN_STATUSES,
    STATUS_LABELS,
    STATUSES,
    action_for,
    can_transition,
)

__all__ = [
    "ComplaintError",
    "Context",
    "Filters",
    "Submission",
    "due_date",
    "filtered",
    "find_area",
    "is_overdue",
    "nearby_open",
    "new_tracking_code",
    "outside_region",
    "overdue_condition",
    "paginate",
    "rate",
    "region_boundary",
    "reopen",
    "route",
    "submit",
    "support",
    "take_newly_overdue",
    "transition",
]

PRIVACY = ("public", "confidential", "anonymous")
CHANNELS = ("web", "sms", "open311", "api")
# No 0/O, 1/I/L: a code read over the phone survives.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#: Not yet verified by an officer: kept off the public pages with ``verify_before_public``
#: (a duplicate too: it may have been merged before anyone verified it).
UNVERIFIED_STATUSES = frozenset({"received", "duplicate"})
RATED_STATUSES = frozenset({"resolved", "closed"})  # the reporter may rate the result
MAX_RATING_COMMENT = 2000
MAX_DESCRIPTION = 5000


class ComplaintError(RuleError):
    """A rule refused the change; ``field`` names the input at fault. ``str()`` is a msgid."""

    def __init__(self, message: str, field: str | None = None, **values: Any) -> None:
        super().__init__({field or "": message}, params=values)
        self.field = field


@dataclass(frozen=True)
class Context:
    """What every rule needs besides the session: settings, calendar, clock, time zone."""

    settings: Mapping[str, Any]
    calendar: WorkingCalendar
    now: datetime
    timezone: str = "Asia/Jakarta"
    #: The region's key for reporters' contacts (:func:`reporters.reporter_sealer`),
    #: needed to submit a complaint that gives an e-mail address or a phone number.
    reporters: Sealer | None = None
    #: The region's name, for messages such as "outside Kota Tangerang".
    region: str = ""

    @property
    def today(self) -> date:
        return local_date(self.now, self.timezone)


@dataclass
class Submission:
    """A new complaint as the reporter sent it (already type-checked at the edge)."""

    category_code: str
    description: str
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    privacy: str = "public"
    channel: str = "web"
    reporter_id: int | None = None
    reporter_name: str | None = None
    reporter_email: str | None = None
    reporter_phone: str | None = None
    api_client_id: int | None = None
    #: SHA-256 of the web form's one-time token: one complaint per form.
    submit_token: str | None = None


def new_tracking_code() -> str:
    """An unguessable code to follow a complaint without an account (~50 bits)."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    return f"ADU-{chars[:5]}-{chars[5:]}"


# -- routing --------------------------------------------------------------------------


def find_area(session: Session, latitude: float, longitude: float) -> Area | None:
    """The area containing the point: boxes first in SQL, then the exact polygon test."""
    candidates = session.scalars(
        select(Area)
        .where(
            Area.min_lat <= latitude,
            Area.max_lat >= latitude,
            Area.min_lon <= longitude,
            Area.max_lon >= longitude,
        )
        .order_by(Area.id)
    )
    return next((a for a in candidates if geo.contains(a.geometry, latitude, longitude)), None)


def route(session: Session, category: Category, area: Area | None) -> int | None:
    """The department responsible: the area's own route for the category, else the category's."""
    if area is not None:
        department_id = session.scalar(
            select(AreaRoute.department_id).where(
                AreaRoute.category_id == category.id, AreaRoute.area_id == area.id
            )
        )
        if department_id is not None:
            return department_id
    return category.department_id


# -- submitting -----------------------------------------------------------------------


def region_boundary(session: Session, settings: Mapping[str, Any]) -> geo.Boundary | None:
    """The region's boundary, if it is known: the setting ``boundary``, else (with
    ``boundary_from_areas``) the union of the complaint areas; ``None``: unknown."""
    text = str(settings.get("boundary") or "")
    if text.strip():
        try:
            return geo.parse_boundary(text)
        except geo.GeometryError:  # the settings page refuses it; a deployment value may not
            return None
    if settings.get("boundary_from_areas"):
        areas = tuple(session.scalars(select(Area.geometry).order_by(Area.id)))
        return geo.Boundary(areas) if areas else None
    return None


def outside_region(
    session: Session, ctx: Context, latitude: float, longitude: float
) -> ComplaintError | None:
    """The refusal of a point outside the region's known boundary, or ``None``."""
    boundary = region_boundary(session, ctx.settings)
    if boundary is None or boundary.contains(latitude, longitude):
        return None
    if ctx.region:
        return ComplaintError(
            N_("This point is outside %(region)s. Choose a place in the region."),
            "latitude",
            region=ctx.region,
        )
    return ComplaintError(N_("This point is outside the region. Choose a place in it."), "latitude")


def _check(submission: Submission, session: Session, ctx: Context) -> Category:
    text = submission.description.strip()
    if not text:
        raise ComplaintError(N_("Describe the problem."), "description")
    if len(text) > MAX_DESCRIPTION:
        raise ComplaintError(
            N_("The description is too long (at most %(n)d characters)."),
            "description",
            n=MAX_DESCRIPTION,
        )
    if submission.privacy not in PRIVACY:
        raise ComplaintError(N_("Choose how your identity is handled."), "privacy")
    if submission.channel not in CHANNELS:
        raise ComplaintError(N_("Unknown channel."), "channel")
    has_lat, has_lon = submission.latitude is not None, submission.longitude is not None
    if has_lat != has_lon:
        raise ComplaintError(N_("Give both latitude and longitude, or neither."), "latitude")
    if has_lat:
        try:
            geo.validate_point(submission.latitude, submission.longitude)  # type: ignore[arg-type]
        except geo.GeometryError as exc:
            raise ComplaintError(N_("The location is not on the globe."), "latitude") from exc
        outside = outside_region(session, ctx, submission.latitude, submission.longitude)  # type: ignore[arg-type]
        if outside is not None:
            raise outside
    # An SMS has one text: where the problem is is written in it.
    if not has_lat and not submission.address.strip() and submission.channel != "sms":
        raise ComplaintError(N_("Give the location: a point on the map or an address."), "address")
    category = session.scalar(
        select(Category).where(
            func.upper(Category.code) == submission.category_code.strip().upper(),
            Category.active.is_(True),
        )
    )
    if category is None:
        raise ComplaintError(N_("Unknown category."), "category")
    return category


def submit(session: Session, submission: Submission, ctx: Context) -> Complaint:
    """Record a new complaint, routed and with its deadline; the caller commits.

    An anonymous complaint keeps no identity at all, whatever was sent. The reporter's
    e-mail address and phone number are sealed with ``ctx.reporters``.
    """
    category = _check(submission, session, ctx)
    anonymous = submission.privacy == "anonymous"
    email = None if anonymous else _clean(submission.reporter_email, 254)
    phone = None if anonymous else _clean(submission.reporter_phone, 30)
    keys = _reporter_keys(session, ctx) if email or phone else None
    area = None
    if submission.latitude is not None and submission.longitude is not None:
        area = find_area(session, submission.latitude, submission.longitude)
    complaint = Complaint(
        tracking_code=new_tracking_code(),
        category_id=category.id,
        department_id=route(session, category, area),
        area_id=area.id if area else None,
        description=submission.description.strip(),
        address=submission.address.strip()[:300],
        latitude=submission.latitude,
        longitude=submission.longitude,
        status="received",
        privacy=submission.privacy,
        channel=submission.channel,
        reporter_id=None if anonymous else submission.reporter_id,
        reporter_name=None if anonymous else _clean(submission.reporter_name, 200),
        reporter_email_sealed=reporters.seal(keys, email) if keys else None,
        reporter_phone_sealed=reporters.seal(keys, phone) if keys else None,
        submitted_at=ctx.now,
        updated_at=ctx.now,
        forward_due=ctx.calendar.add_working_days(ctx.today, int(ctx.settings["forward_days"])),
        api_client_id=submission.api_client_id,
        submit_token=submission.submit_token,
    )
    complaint.events.append(
        ComplaintEvent(
            at=ctx.now, to_status="received", actor_label=submission.channel, action="submit"
        )
    )
    session.add(complaint)
    session.flush()
    return complaint


def _reporter_keys(session: Session, ctx: Context) -> Sealer:
    """The key of the session's region that seals its reporters' contacts."""
    keys = ctx.reporters
    if keys is None or keys.tenant_id != session.info.get("tenant_id"):
        raise TenantContextError(
            "a reporter's contacts are sealed with their region's key: give it in ctx.reporters"
        )
    return keys


def _clean(value: str | None, length: int) -> str | None:
    value = (value or "").strip()
    return value[:length] or None


# -- transitions ------------------------------------------------------------------------


def transition(
    session: Session,
    complaint: Complaint,
    target: str,
    ctx: Context,
    *,
    actor_id: int | None,
    actor_label: str,
    note: str = "",
    duplicate_of: Complaint | None = None,
    department_id: int | None = None,
    actor_department_id: int | None = None,
) -> ComplaintEvent:
    """Move a complaint one step, record who, when and why; the caller commits.

    ``department_id`` is where a forwarded complaint goes (default: where it is
    routed); ``actor_department_id`` the acting officer's department. A verified
    complaint goes straight to work only in the department it is routed to, and that
    department does not forward it to itself. Resolving needs a note of what was
    done, rejecting the reason (both public).
    """
    if target not in STATUSES:
        raise ComplaintError(N_("Unknown status."), "status")
    if not can_transition(complaint.status, target):
        raise ComplaintError(
            N_("A complaint that is %(current)s cannot become %(target)s."),
            "status",
            current=Label(STATUS_LABELS[complaint.status]),
            target=Label(STATUS_LABELS[target]),
        )
    note = note.strip()
    routed_to_actor = (
        actor_department_id is not None and complaint.department_id == actor_department_id
    )
    if complaint.status == "verified" and target == "in_progress" and not routed_to_actor:
        raise ComplaintError(
            N_(
                "Forward the complaint first: only the department it is routed to starts work"
                " on it without forwarding."
            ),
            "status",
        )
    if target == "forwarded":
        department_id = department_id if department_id is not None else complaint.department_id
        if department_id is None:
            raise ComplaintError(N_("Choose a department from the list."), "department_id")
        if routed_to_actor and department_id == actor_department_id:
            raise ComplaintError(
                N_("The complaint is already your department's: start work on it instead."),
                "department_id",
            )
    if target == "rejected" and not note:
        raise ComplaintError(N_("Say why the complaint is rejected."), "note")
    if target == "resolved" and not note:
        raise ComplaintError(N_("Say what was done to resolve the complaint."), "note")
    if target == "duplicate":
        _check_duplicate(complaint, duplicate_of)
    return _apply(
        session,
        complaint,
        target,
        ctx,
        actor_id,
        actor_label,
        note,
        duplicate_of,
        action=action_for(target),
        department_id=department_id if target == "forwarded" else None,
    )


def _check_duplicate(complaint: Complaint, original: Complaint | None) -> None:
    if original is None or original.id == complaint.id:
        raise ComplaintError(N_("Choose the complaint this one repeats."), "duplicate_of")
    if original.status not in OPEN_STATUSES | {"resolved"}:
        raise ComplaintError(N_("A complaint can only be merged into an open one."), "duplicate_of")
    if original.duplicate_of_id is not None:
        raise ComplaintError(N_("That complaint is itself a duplicate."), "duplicate_of")


def _apply(
    session: Session,
    complaint: Complaint,
    target: str,
    ctx: Context,
    actor_id: int | None,
    actor_label: str,
    note: str,
    duplicate_of: Complaint | None,
    *,
    action: str,
    department_id: int | None = None,
) -> ComplaintEvent:
    event = ComplaintEvent(
        at=ctx.now,
        actor_id=actor_id,
        actor_label=actor_label[:200],
        from_status=complaint.status,
        to_status=target,
        note=note,
        action=action,
        department_id=department_id,
    )
    complaint.status = target
    complaint.updated_at = ctx.now
    if target == "forwarded":
        complaint.department_id = department_id
        complaint.forwarded_at = ctx.now
        days = int(ctx.settings["followup_days"])
        complaint.followup_due = ctx.calendar.add_working_days(ctx.today, days)
        complaint.overdue_announced = False  # a new deadline, announced once more if missed
    elif target == "in_progress":  # work starts, or starts again after reopening
        days = int(ctx.settings["work_days"])
        complaint.work_due = ctx.calendar.add_working_days(ctx.today, days)
        complaint.overdue_announced = False
    elif target == "resolved":
        complaint.resolved_at = ctx.now
    elif target == "closed":
        complaint.closed_at = ctx.now
    elif target == "rejected":
        complaint.rejection_reason = note
    elif target == "duplicate" and duplicate_of is not None:
        complaint.duplicate_of_id = duplicate_of.id
        duplicate_of.supporters += 1 + complaint.supporters
    complaint.events.append(event)
    session.flush()
    return event


def reopen(session: Session, complaint: Complaint, ctx: Context, *, note: str) -> ComplaintEvent:
    """The reporter says a resolved complaint is not fixed, within the reopening window."""
    if complaint.status != "resolved" or complaint.resolved_at is None:
        raise ComplaintError(N_("Only a resolved complaint can be reopened."), "status")
    window = timedelta(days=int(ctx.settings["reopen_days"]))
    if ctx.now - complaint.resolved_at > window:
        raise ComplaintError(
            N_("A complaint can be reopened within %(n)d days of being resolved."),
            "status",
            n=window.days,
        )
    if not note.strip():
        raise ComplaintError(N_("Say what is still wrong."), "note")
    return _apply(
        session,
        complaint,
        "in_progress",
        ctx,
        None,
        "reporter",
        note.strip(),
        None,
        action="reopen",
    )


def rate(
    session: Session, complaint: Complaint, ctx: Context, *, rating: int, comment: str = ""
) -> None:
    """The reporter's satisfaction with the result, 1 to 5, once; the caller commits.

    The check and the write are one conditional ``UPDATE``: of two ratings sent at
    the same moment, one is kept and the other refused.
    """
    if complaint.status not in RATED_STATUSES:
        raise ComplaintError(N_("Only a resolved complaint can be rated."), "status")
    if not 1 <= rating <= 5:
        raise ComplaintError(N_("Choose from 1 to 5 stars."), "rating")
    comment = comment.strip()
    if len(comment) > MAX_RATING_COMMENT:
        raise ComplaintError(
            N_("At most %(n)d characters."), "rating_comment", n=MAX_RATING_COMMENT
        )
    done = session.execute(
        update(Complaint)
        .where(
            Complaint.id == complaint.id,
            Complaint.rated_at.is_(None),
            Complaint.status.in_(sorted(RATED_STATUSES)),
        )
        .values(rating=rating, rating_comment=comment or None, rated_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise ComplaintError(N_("This complaint has already been rated."), "status")
    session.refresh(complaint)


# -- deadlines ---------------------------------------------------------------------------


def overdue_condition(today: date) -> ColumnElement[bool]:
    """SQL: not forwarded in time, not followed up in time, or the work not done in time."""
    return or_(
        and_(Complaint.status.in_(("received", "verified")), Complaint.forward_due < today),
        and_(Complaint.status == "forwarded", Complaint.followup_due < today),
        and_(Complaint.status == "in_progress", Complaint.work_due < today),
    )


def due_date(complaint: Complaint) -> date | None:
    """The deadline the complaint's status is counted against now, if any: forwarding
    (received, verified), following up (forwarded) or finishing the work (in progress;
    none for work started before the deadline existed)."""
    if complaint.status in ("received", "verified"):
        return complaint.forward_due
    if complaint.status == "forwarded":
        return complaint.followup_due
    if complaint.status == "in_progress":
        return complaint.work_due
    return None


def is_overdue(complaint: Complaint, today: date) -> bool:
    """The same rule as :func:`overdue_condition`, for one complaint in memory."""
    due = due_date(complaint)
    return due is not None and due < today


def take_newly_overdue(session: Session, today: date, limit: int = 500) -> list[Complaint]:
    """Overdue complaints not yet announced; marks them announced (the caller commits)."""
    found = list(
        session.scalars(
            select(Complaint)
            .where(overdue_condition(today), Complaint.overdue_announced.is_(False))
            .order_by(Complaint.id)
            .limit(limit)
        )
    )
    for complaint in found:
        complaint.overdue_announced = True
    return found


# -- duplicates and support ---------------------------------------------------------------


def nearby_open(
    session: Session,
    category_id: int,
    latitude: float,
    longitude: float,
    ctx: Context,
    limit: int = 5,
) -> list[tuple[Complaint, float]]:
    """Open complaints of the category within the duplicate radius, nearest first.

    With ``verify_before_public`` only verified ones: the others are not public yet.
    """
    statuses = set(OPEN_STATUSES)
    if ctx.settings.get("verify_before_public"):
        statuses -= UNVERIFIED_STATUSES
    radius = float(ctx.settings["duplicate_radius_m"])
    since = ctx.now - timedelta(days=int(ctx.settings["duplicate_days"]))
    min_lat, max_lat, min_lon, max_lon = geo.box_around(latitude, longitude, radius)
    candidates = session.scalars(
        select(Complaint).where(
            Complaint.category_id == category_id,
            Complaint.status.in_(sorted(statuses)),
            Complaint.duplicate_of_id.is_(None),
            Complaint.submitted_at >= since,
            Complaint.latitude.between(min_lat, max_lat),
            Complaint.longitude.between(min_lon, max_lon),
        )
    )
    scored = [
        (c, geo.distance_m(latitude, longitude, c.latitude, c.longitude))  # type: ignore[arg-type]
        for c in candidates
    ]
    return sorted((p for p in scored if p[1] <= radius), key=lambda p: p[1])[:limit]


def support(session: Session, complaint: Complaint, supporter: str) -> bool:
    """Count one citizen's support once; False if they already supported it."""
    if complaint.status not in OPEN_STATUSES:
        raise ComplaintError(N_("Only open complaints can be supported."), "status")
    exists = session.scalar(
        select(Support.id).where(
            Support.complaint_id == complaint.id, Support.supporter == supporter[:64]
        )
    )
    if exists is not None:
        return False
    session.add(Support(complaint_id=complaint.id, supporter=supporter[:64]))
    complaint.supporters += 1
    session.flush()
    return True


# -- lists ------------------------------------------------------------------------------


@dataclass
class Filters:
    """Filters of the public list, the officers' list and the APIs (all optional)."""

    category_ids: Sequence[int] = field(default_factory=tuple)
    statuses: Sequence[str] = field(default_factory=tuple)
    area_id: int | None = None
    department_id: int | None = None
    submitted_from: datetime | None = None
    submitted_until: datetime | None = None
    overdue_on: date | None = None
    query: str = ""


def filtered(filters: Filters, statement: Select[Any] | None = None) -> Select[Any]:
    """``SELECT`` complaints matching ``filters``, newest first (id breaks ties)."""
    stmt = statement if statement is not None else select(Complaint)
    if filters.category_ids:
        stmt = stmt.where(Complaint.category_id.in_(filters.category_ids))
    if filters.statuses:
        stmt = stmt.where(Complaint.status.in_(filters.statuses))
    if filters.area_id is not None:
        stmt = stmt.where(Complaint.area_id == filters.area_id)
    if filters.department_id is not None:
        stmt = stmt.where(Complaint.department_id == filters.department_id)
    if filters.submitted_from is not None:
        stmt = stmt.where(Complaint.submitted_at >= filters.submitted_from)
    if filters.submitted_until is not None:
        stmt = stmt.where(Complaint.submitted_at < filters.submitted_until)
    if filters.overdue_on is not None:
        stmt = stmt.where(overdue_condition(filters.overdue_on))
    if filters.query.strip():
        words = filters.query.strip()[:100].replace("%", r"\%").replace("_", r"\_")
        stmt = stmt.where(
            or_(
                Complaint.description.ilike(f"%{words}%", escape="\\"),
                Complaint.tracking_code == filters.query.strip().upper(),
            )
        )
    return stmt.order_by(Complaint.submitted_at.desc(), Complaint.id.desc())


def paginate(session: Session, statement: Select[Any], page: int, per_page: int) -> PageDict:
    """One page of ``statement`` (a :func:`filtered` select, in its order) and the exact total.

    The page's ids come first, then their rows ("late row lookup"): with the list
    indexes (``models.Complaint``) both the ids and the count are read from an index
    alone, so a deep page does not fetch every skipped row from the table.
    Give ``statement`` a total order (end with the id) so pages do not overlap.
    """
    ids_only = statement.with_only_columns(Complaint.id)
    found = balai_paginate(ids_only, page, per_page, session=session)
    ids = found["items"]
    rows = session.scalars(select(Complaint).where(Complaint.id.in_(ids))) if ids else []
    by_id = {complaint.id: complaint for complaint in rows}
    return {**found, "items": [by_id[i] for i in ids if i in by_id]}
