"""The JSON API under ``/api/v1/puskesmas/``: queue numbers and patient lookup.

Taking and following a number is public, as on the web pages. The desk's calls and
patient lookups need the same permission *and* duty at a puskesmas as the pages,
and each patient read is written to the audit trail with the channel ``api``.
Responses never carry a ticket holder's NIK or phone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, NoReturn

from flask import g, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from balai import ratelimit
from balai.api import ApiBlueprint, PageArgs, page_of, paginate
from balai.auth import current_user
from balai.db import db, utcnow
from balai.fields import AwareDateTime, Date, Id, Integer, Text
from balai.permissions import public, require
from balai.plugins import hooks
from balai.rules import rule_errors, rule_message
from balai_puskesmas import limiting, patients, queue, runtime, visits
from balai_puskesmas.models import SEXES, TICKET_STATUSES, Clinic, Facility, Ticket
from balai_puskesmas.services import PuskesmasError

__all__ = ["blp"]

blp = ApiBlueprint(
    "puskesmas_api",
    __name__,
    description="e-Puskesmas: take and follow queue numbers, the desk's calls, patient lookup",
)

# The access decorator sits right under the route, so a request without the
# permission is refused (401/403) before its input is even validated (422).


# -- schemas -----------------------------------------------------------------------


class NamedSchema(Schema):
    id = Id()
    code = Text()
    name = Text()


class ClinicSchema(NamedSchema):
    minutes_per_patient = Integer(min=0)
    daily_quota = Integer(min=0, allow_none=True)
    waiting = Integer(min=0, metadata={"description": "Numbers waiting today"})


class FacilitySchema(NamedSchema):
    address = Text()
    phone = Text()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    hours = fields.Dict(
        keys=Text(),
        values=fields.List(Text()),
        metadata={"description": 'ISO weekday ("1" = Monday) → ["07:30", "14:00"]; absent: closed'},
    )
    clinics = fields.List(fields.Nested(ClinicSchema))


class FacilityQuery(PageArgs):
    """The region's active puskesmas."""


class TicketSchema(Schema):
    """A queue number as its holder sees it: no NIK, no phone."""

    code = Text(metadata={"description": "Token of the ticket's follow page"})
    number = Integer(min=0)
    display = Text(metadata={"description": 'As called, e.g. "UMUM-012"'})
    status = Text(metadata={"enum": list(TICKET_STATUSES)})
    day = Date()
    clinic = fields.Nested(NamedSchema)
    facility = fields.Nested(NamedSchema)
    channel = Text()
    ahead = Integer(min=0, metadata={"description": "Numbers waiting before this one"})
    estimated_minutes = Integer(min=0, metadata={"description": "Estimated wait"})
    created_at = AwareDateTime()
    called_at = AwareDateTime(allow_none=True)
    url = Text(metadata={"description": "The follow page"})


class TakeSchema(Schema):
    """Take a number at a clinic; the day defaults to today in the region."""

    clinic_id = Id(required=True)
    day = Date(load_default=None)
    nik = Text(load_default=None, metadata={"description": "16 digits, optional"})
    phone = Text(load_default=None, metadata={"description": "For an SMS when called, optional"})


class BoardClinicSchema(Schema):
    clinic = fields.Nested(NamedSchema)
    current = Text(allow_none=True, metadata={"description": "Number being served"})
    waiting = Integer(min=0)
    recent = fields.List(Text(), metadata={"description": "Last numbers called"})


class BoardSchema(Schema):
    facility = fields.Nested(NamedSchema)
    day = Date()
    clinics = fields.List(fields.Nested(BoardClinicSchema))


class QueueQuery(Schema):
    day = Date(load_default=None, metadata={"description": "Default: today"})
    status = Text(load_default=None, validate=validate.OneOf(TICKET_STATUSES))


class DeskTicketSchema(TicketSchema):
    patient_id = Id(allow_none=True)


class DiagnosisSchema(Schema):
    code = Text(metadata={"description": "ICD-10 (WHO)"})
    display = Text()


class VisitSchema(Schema):
    id = Id()
    started_at = AwareDateTime()
    facility_id = Id()
    clinic = fields.Nested(NamedSchema)
    clinician_name = Text()
    complaint = Text()
    systolic = Integer(allow_none=True)
    diastolic = Integer(allow_none=True)
    heart_rate = Integer(allow_none=True)
    respiratory_rate = Integer(allow_none=True)
    temperature = fields.Float(allow_none=True)
    weight = fields.Float(allow_none=True)
    height = fields.Float(allow_none=True)
    oxygen_saturation = Integer(allow_none=True)
    diagnoses = fields.List(fields.Nested(DiagnosisSchema))


class PatientSchema(Schema):
    id = Id()
    nik = Text()
    name = Text()
    birth_date = Date()
    sex = Text(metadata={"enum": list(SEXES)})
    address = Text()
    phone = Text(allow_none=True)
    bpjs = Text(allow_none=True)


class PatientDetailSchema(PatientSchema):
    visits = fields.List(
        fields.Nested(VisitSchema),
        metadata={"description": "The latest visits this officer's duty allows them to read"},
    )


class LookupSchema(Schema):
    """A NIK travels in the body, never in the address (addresses are logged)."""

    nik = Text(required=True, metadata={"description": "16 digits"})


# -- queue -------------------------------------------------------------------------


@blp.route("/facilities")
@public
@blp.arguments(FacilityQuery, location="query")
@blp.response(200, page_of(FacilitySchema))
def list_facilities(query: dict[str, Any]) -> Mapping[str, Any]:
    """The region's active puskesmas with their clinics and today's waiting numbers."""
    stmt = select(Facility).where(Facility.active.is_(True)).order_by(Facility.name, Facility.id)
    page = paginate(stmt, query["page"], query["per_page"])
    clinic_ids = [c.id for f in page["items"] for c in f.clinics]
    waiting = queue.waiting_counts(db.session, _today(), clinic_ids)
    return {**page, "items": [_facility(f, waiting) for f in page["items"]]}


@blp.route("/facilities/<int:facility_id>/board")
@public
@blp.response(200, BoardSchema)
def get_board(facility_id: int) -> dict[str, Any]:
    """What the display board shows: the number being served at each clinic."""
    facility = db.session.get(Facility, facility_id)
    if facility is None or not facility.active:
        abort(404)
    day = _today()
    rows = queue.board(db.session, facility.id, day)
    return {
        "facility": facility,
        "day": day,
        "clinics": [
            {
                "clinic": row.clinic,
                "current": queue.display_number(row.current) if row.current else None,
                "waiting": row.waiting,
                "recent": [queue.display_number(t) for t in row.recent],
            }
            for row in rows
        ],
    }


@blp.route("/tickets", methods=["POST"])
@public
@blp.arguments(TakeSchema)
@blp.response(201, TicketSchema)
@blp.alt_response(429, schema=None, description="Too many numbers for this address or phone")
def take_ticket(data: dict[str, Any]) -> dict[str, Any]:
    """Take the next number at a clinic (the same rules and limits as the web form)."""
    settings = runtime.settings()
    reservation = limiting.reserve(phone=data["phone"])
    if not reservation.allowed:
        outcome = reservation.outcome
        raise ratelimit.TooManyRequests(outcome, limiting.refusal_message(outcome))
    try:
        ticket = queue.take_number(
            db.session,
            runtime.vault(),
            data["clinic_id"],
            data["day"] or _today(),
            utcnow(),
            channel="api",
            days_ahead=settings["days_ahead"],
            closed_on_holidays=settings["closed_on_holidays"],
            timezone=str(get_timezone()),
            nik=data["nik"],
            phone=data["phone"],
            user_id=current_user.id if current_user.is_authenticated else None,
            one_per_person=bool(settings["one_number_per_person"]),
            desk_share_percent=int(settings["desk_share_percent"]),
        )
    except PuskesmasError as exc:
        db.session.rollback()
        reservation.refused(exc)
        _refuse(exc, rename={"clinic": "clinic_id"})
    # The numbers ahead are counted before the commit, in the take's transaction: one
    # transaction (and one row-security round trip) less than counting after it.
    shown = _ticket(ticket)
    db.session.commit()
    return shown


@blp.route("/tickets/<code>")
@public
@blp.response(200, TicketSchema)
def get_ticket(code: str) -> dict[str, Any]:
    """A number by its code: status, numbers ahead, estimated wait."""
    ticket = queue.ticket_by_code(db.session, code)
    if ticket is None:
        abort(404)
    return _ticket(ticket)


@blp.route("/clinics/<int:clinic_id>/queue")
@require(runtime.SERVE)
@blp.arguments(QueueQuery, location="query")
@blp.response(200, DeskTicketSchema(many=True))
def clinic_queue(query: dict[str, Any], clinic_id: int) -> list[dict[str, Any]]:
    """A clinic's numbers of a day, in order (registration or clinician duty there)."""
    clinic = _clinic_on_duty(clinic_id)
    stmt = select(Ticket).where(
        Ticket.clinic_id == clinic.id, Ticket.day == (query["day"] or _today())
    )
    if query["status"]:
        stmt = stmt.where(Ticket.status == query["status"])
    tickets = db.session.scalars(stmt.order_by(Ticket.number)).all()
    return [{**_ticket(t), "patient_id": t.patient_id} for t in tickets]


@blp.route("/clinics/<int:clinic_id>/call", methods=["POST"])
@require(runtime.SERVE)
@blp.response(200, DeskTicketSchema)
@blp.alt_response(409, schema=None, description="No number is waiting")
def call_next(clinic_id: int) -> dict[str, Any]:
    """Call the next waiting number of the clinic today."""
    clinic = _clinic_on_duty(clinic_id)
    try:
        ticket = queue.call_next(db.session, runtime.actor("api"), clinic.id, _today(), utcnow())
    except PuskesmasError as exc:
        db.session.rollback()
        _refuse(exc)
    if ticket is None:
        abort(409, message=_("No number is waiting."))
    hooks().ticket_called(tenant=g.tenant, ticket=ticket, session=db.session)
    db.session.commit()
    return {**_ticket(ticket), "patient_id": ticket.patient_id}


# -- patients ----------------------------------------------------------------------


@blp.route("/patients/lookup", methods=["POST"])
@require(runtime.READ)
@blp.arguments(LookupSchema)
@blp.response(200, PatientSchema)
def find_patient(data: dict[str, Any]) -> dict[str, Any]:
    """The patient with this NIK (exact), or 404. The lookup is audited, found or not.

    A POST, so that the NIK stays out of the address, which servers and proxies log.
    """
    vault, actor = runtime.vault(), runtime.actor("api")
    try:
        patient = patients.find_by_nik(
            db.session, vault, actor, data["nik"], utcnow(), today=_today()
        )
    except PuskesmasError as exc:
        db.session.rollback()
        _refuse(exc)
    db.session.commit()  # the audit entry stays, found or not
    if patient is None:
        abort(404, message=_("No patient with this NIK."))
    return _patient(patient)


@blp.route("/patients/<int:patient_id>")
@require(runtime.READ)
@blp.response(200, PatientDetailSchema)
def get_patient(patient_id: int) -> dict[str, Any]:
    """A patient with the latest visits the officer's duty allows. Audited."""
    vault, actor, now = runtime.vault(), runtime.actor("api"), utcnow()
    try:
        patient, page = visits.patient_record(
            db.session, vault, actor, patient_id, now, page=1, per_page=20
        )
    except PuskesmasError as exc:
        db.session.rollback()
        _refuse(exc)
    db.session.commit()
    return {**_patient(patient), "visits": page["items"]}


# -- helpers -----------------------------------------------------------------------


def _today() -> date:
    return queue.region_today(utcnow(), str(get_timezone()))


def _refuse(
    exc: PuskesmasError, location: str = "json", rename: Mapping[str, str] | None = None
) -> NoReturn:
    """A rule's refusal as the API's error shape: 422 by input field, or 403/404/409."""
    if exc.status == 422:
        names = rename or {}
        messages = rule_errors(exc, whole="_schema")
        abort(422, messages={location: {names.get(k, k): v for k, v in messages.items()}})
    abort(exc.status, message=rule_message(exc))


def _clinic_on_duty(clinic_id: int) -> Clinic:
    """The clinic, if this officer has a desk duty at its puskesmas (else 404/403)."""
    try:
        return queue.desk_clinic(db.session, runtime.actor("api"), clinic_id)
    except PuskesmasError as exc:
        _refuse(exc)


def _facility(facility: Facility, waiting: Mapping[int, int]) -> dict[str, Any]:
    return {
        "id": facility.id,
        "code": facility.code,
        "name": facility.name,
        "address": facility.address,
        "phone": facility.phone,
        "latitude": facility.latitude,
        "longitude": facility.longitude,
        "hours": facility.hours or {},
        "clinics": [
            {
                "id": c.id,
                "code": c.code,
                "name": c.name,
                "minutes_per_patient": c.minutes_per_patient,
                "daily_quota": c.daily_quota,
                "waiting": waiting.get(c.id, 0),
            }
            for c in facility.clinics
            if c.active
        ],
    }


def _ticket(ticket: Ticket) -> dict[str, Any]:
    ahead, minutes = queue.estimate(db.session, ticket)
    return {
        "code": ticket.code,
        "number": ticket.number,
        "display": queue.display_number(ticket),
        "status": ticket.status,
        "day": ticket.day,
        "clinic": ticket.clinic,
        "facility": ticket.clinic.facility,
        "channel": ticket.channel,
        "ahead": ahead,
        "estimated_minutes": minutes,
        "created_at": ticket.created_at,
        "called_at": ticket.called_at,
        "url": url_for("puskesmas.ticket", code=ticket.code, _external=True),
    }


def _patient(patient: patients.ShownPatient) -> dict[str, Any]:
    identifiers = patients.identifiers(runtime.vault(), patient)
    return {
        "id": patient.id,
        "name": patient.name,
        "birth_date": patient.birth_date,
        "sex": patient.sex,
        "address": patient.address,
        **identifiers,
    }
