"""Region admin pages (*kelola puskesmas*): puskesmas, their clinics, officers' duties,
and the audit trail of health records.

Rules live in :mod:`balai_puskesmas.facilities`; these views parse the forms, call
them, and commit only after a rule succeeded. A duty opens patients' records, so it
is given, changed or removed only by someone who may give the permission it works
with (:func:`balai.permissions.give_refusal`: those are ``admin_only``, so a region
admin), and never by an officer to themselves. Reading the audit trail is itself not
audited: it holds no personal data, only who touched which record id.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from babel.dates import get_day_names
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale, to_user_timezone, to_utc
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from balai.auth import current_user
from balai.db import db, utcnow
from balai.fields import Date, Id, PageNumber, Text, int_arg
from balai.forms import FormSchema, validate_form
from balai.permissions import give_refusal, is_admin, require
from balai.rules import rule_errors
from balai.tenancy import current_tenant
from balai_puskesmas import facilities, runtime
from balai_puskesmas.audit_text import channel_text, detail_text
from balai_puskesmas.models import DUTIES, PROFESSIONS, AuditEntry, Clinic, Facility, Staff
from balai_puskesmas.runtime import MANAGE, READ, RECORD, REGISTER, VIEW_AUDIT
from balai_puskesmas.services import PuskesmasError

__all__ = [
    "ACTIONS",
    "AUDIT_PAGE_SIZE",
    "FACILITY_PAGE_SIZE",
    "AuditFilters",
    "Choice",
    "ClinicForm",
    "FacilityForm",
    "StaffForm",
    "audit_statement",
    "bp",
]

bp = Blueprint(
    "puskesmas_kelola", __name__, url_prefix="/puskesmas/kelola", template_folder="templates"
)

FACILITY_PAGE_SIZE = 25
AUDIT_PAGE_SIZE = 50
Errors = dict[str, list[str]]

#: The actions written to the audit trail, with how the search page names them.
#: Each is written by the module named: patients (patient.*, ticket.attach), visits
#: (visit.create, visit.read_own; a patient's record with its visits is one
#: patient.read), records (ticket.read_nik), notify (ticket.notify), exports
#: (visit.export: an officer downloads a visit's bundle), export (export.*: the NIK is
#: opened to build or send a bundle), facilities (staff.*) and synonyms (icd10.*: the
#: region's ICD-10 synonyms) and moving (region.export: ``balai tenants export``).
ACTIONS = {
    "patient.create": _l("Patient registered"),
    "patient.update": _l("Patient data changed"),
    "patient.read": _l("Patient data read"),
    "patient.lookup": _l("Patient looked up by NIK"),
    "patient.search": _l("Patients searched by name"),
    "patient.flagged": _l("Patients with data that differ from the NIK listed"),
    "patient.review": _l("Patient with data that differ from the NIK reviewed"),
    "visit.create": _l("Visit recorded"),
    "visit.read": _l("Visits read (a visit or a patient's list)"),
    "visit.read_own": _l("Own visits read by the patient"),
    "visit.export": _l("Visit's FHIR bundle downloaded"),
    "ticket.attach": _l("Queue number linked to a patient"),
    "ticket.read_nik": _l("NIK given with a queue number shown, to register its holder"),
    "ticket.notify": _l("Phone of a queue number opened to send the call by SMS"),
    "export.lookup": _l("Patient looked up in SATUSEHAT by NIK, to send a visit"),
    "export.queue": _l("Visit's FHIR bundle built for SATUSEHAT"),
    "export.rebuild": _l("Visit's FHIR bundle built again to send"),
    "export.send": _l("Visit's FHIR bundle opened to send to SATUSEHAT"),
    "staff.assign": _l("Duty given or changed"),
    "staff.remove": _l("Duty removed"),
    "icd10.synonym_save": _l("ICD-10 synonym saved"),
    "icd10.synonym_remove": _l("ICD-10 synonym removed"),
    "region.export": _l("Every record opened to move the region to another server"),
}
#: The permission each duty works with: giving the duty gives that permission's reach.
DUTY_PERMISSIONS = {"registration": REGISTER, "clinician": RECORD, "viewer": READ}
DUTY_LABELS = {
    "registration": _l("Registration desk"),
    "clinician": _l("Clinician"),
    "viewer": _l("Viewer"),
}
PROFESSION_LABELS = {
    "doctor": _l("Doctor"),
    "nurse": _l("Nurse"),
    "midwife": _l("Midwife"),
    "dentist": _l("Dentist"),
}
CSV_COLUMNS = (
    "at",
    "user_id",
    "actor",
    "action",
    "patient_id",
    "facility_code",
    "facility_name",
    "detail",
    "address",
    "channel",
)


# -- forms ---------------------------------------------------------------------------
# Text stays text here: facilities.py checks every rule (and reads "-6,17" too), so
# the pages, the API and commands give the same messages.


def _text_field() -> Text:
    return Text(load_default="")


class Choice(Text):
    """One of a list of values, read without the spaces around it: the value checked
    (and authorised) is the value used."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


CHOOSE_DUTY = _l("Choose a duty: registration desk, clinician or viewer.")


FacilityForm = FormSchema.from_dict(
    {
        "code": _text_field(),
        "name": _text_field(),
        "address": _text_field(),
        "phone": _text_field(),
        "latitude": _text_field(),
        "longitude": _text_field(),
        "satusehat_org_id": _text_field(),
        "active": fields.Boolean(load_default=False),
        **{f"{edge}_{day}": _text_field() for day in facilities.DAYS for edge in ("open", "close")},
    },
    name="FacilityForm",
)
ClinicForm = FormSchema.from_dict(
    {
        "code": _text_field(),
        "name": _text_field(),
        "minutes_per_patient": _text_field(),
        "daily_quota": _text_field(),
        "position": _text_field(),
        "satusehat_location_id": _text_field(),
        "active": fields.Boolean(load_default=False),
    },
    name="ClinicForm",
)
StaffForm = FormSchema.from_dict(
    {
        "email": _text_field(),
        # Checked here, before anyone decides who may give it: " viewer" is "viewer".
        "duty": Choice(
            required=True,
            validate=validate.OneOf(DUTIES, error=CHOOSE_DUTY),
            error_messages={"required": CHOOSE_DUTY},
        ),
        "profession": _text_field(),
        "nakes_id": _text_field(),
    },
    name="StaffForm",
)
INVALID_DATE = _l("Enter a date, e.g. 2025-08-17.")


class AuditFilters(FormSchema):
    """The audit trail search (query string); dates are days in the region's time zone."""

    date_from = Date(load_default=None, error_messages={"invalid": INVALID_DATE})
    date_to = Date(load_default=None, error_messages={"invalid": INVALID_DATE})
    officer = Text(
        load_default="", validate=validate.Length(max=200, error=_l("At most 200 characters."))
    )
    patient = Id(
        load_default=None,
        error_messages={"invalid": _l("A patient id is a positive whole number.")},
    )
    action = Text(
        load_default=None,
        validate=validate.OneOf(list(ACTIONS), error=_l("Choose an action from the list.")),
    )
    facility = Id(
        load_default=None, error_messages={"invalid": _l("Choose a puskesmas from the list.")}
    )
    page = PageNumber(error_messages={"invalid": _l("Page?")})

    @validates_schema
    def _dates_in_order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ValidationError(_("The end date is before the start date."), "date_to")


# -- helpers -------------------------------------------------------------------------


def _get_or_404(model: type[Any], row_id: int) -> Any:
    row = db.session.get(model, row_id)
    if row is None:
        abort(404)
    return row


def _page_number() -> int:
    return int_arg(request.args, "page") or 1


def _day_names() -> list[tuple[str, str]]:
    """``("1", "Monday")`` … ``("7", "Sunday")`` in the visitor's language."""
    names = get_day_names("wide", locale=get_locale())
    return [(day, names[int(day) - 1]) for day in facilities.DAYS]


# -- puskesmas -----------------------------------------------------------------------


@bp.get("/")
@require(MANAGE)
def index() -> str:
    """The region's puskesmas with their numbers of clinics and officers."""
    clinics = (
        select(func.count(Clinic.id)).where(Clinic.facility_id == Facility.id).scalar_subquery()
    )
    staff = select(func.count(Staff.id)).where(Staff.facility_id == Facility.id).scalar_subquery()
    total = db.session.scalar(select(func.count(Facility.id))) or 0
    pages = math.ceil(total / FACILITY_PAGE_SIZE)
    page = _page_number()
    if page > max(pages, 1):
        abort(404)
    rows = db.session.execute(
        select(Facility, clinics.label("clinics"), staff.label("staff"))
        .order_by(Facility.name, Facility.id)
        .limit(FACILITY_PAGE_SIZE)
        .offset((page - 1) * FACILITY_PAGE_SIZE)
    ).all()
    return render_template(
        "puskesmas/manage/index.html", rows=rows, page=page, pages=pages, total=total
    )


@bp.route("/baru", methods=["GET", "POST"])
@require(MANAGE)
def new_facility() -> Any:
    """Add a puskesmas: code, name, address, location and opening hours."""
    return _facility_form(None)


@bp.route("/<int:facility_id>", methods=["GET", "POST"])
@require(MANAGE)
def edit_facility(facility_id: int) -> Any:
    """Change a puskesmas; its clinics are listed below the form."""
    return _facility_form(_get_or_404(Facility, facility_id))


def _facility_form(facility: Facility | None) -> Any:
    values = _facility_values(facility)
    errors: Errors = {}
    if request.method == "POST":
        values = request.form.to_dict()
        data, errors = validate_form(FacilityForm(), request.form)
        if data is not None:
            try:
                facility = _save_facility(facility, data)
            except PuskesmasError as exc:
                db.session.rollback()
                errors = rule_errors(exc)
            else:
                db.session.commit()
                flash(_("%(name)s was saved.", name=facility.name), "ok")
                return redirect(url_for(".edit_facility", facility_id=facility.id))
    clinics = list(facility.clinics) if facility is not None else []
    html = render_template(
        "puskesmas/manage/facility.html",
        facility=facility,
        clinics=clinics,
        values=values,
        errors=errors,
        days=_day_names(),
    )
    return html, 400 if errors else 200


def _save_facility(facility: Facility | None, data: dict[str, Any]) -> Facility:
    hours = {day: [data[f"open_{day}"], data[f"close_{day}"]] for day in facilities.DAYS}
    draft = {
        "code": data["code"],
        "name": data["name"],
        "address": data["address"],
        "phone": data["phone"],
        "latitude": data["latitude"] or None,
        "longitude": data["longitude"] or None,
        "hours": hours,
        "satusehat_org_id": data["satusehat_org_id"],
        "active": data["active"],
    }
    if facility is None:
        return facilities.create_facility(db.session, draft)
    return facilities.update_facility(db.session, facility, draft)


def _facility_values(facility: Facility | None) -> dict[str, Any]:
    if facility is None:
        weekdays = {d: ["07:30", "14:00"] for d in facilities.DAYS[:5]}
        values: dict[str, Any] = {"active": "y", "open_6": "07:30", "close_6": "12:00"}
        hours: dict[str, Any] = weekdays
    else:
        names = ("code", "name", "address", "phone", "latitude", "longitude", "satusehat_org_id")
        values = {n: "" if getattr(facility, n) is None else getattr(facility, n) for n in names}
        values["active"] = "y" if facility.active else ""
        hours = facility.hours or {}
    for day, (opens, closes) in hours.items():
        values[f"open_{day}"], values[f"close_{day}"] = opens, closes
    return values


# -- clinics -------------------------------------------------------------------------


@bp.route("/<int:facility_id>/poli/baru", methods=["GET", "POST"])
@require(MANAGE)
def new_clinic(facility_id: int) -> Any:
    """Add a clinic (*poli*) to a puskesmas."""
    return _clinic_form(_get_or_404(Facility, facility_id), None)


@bp.route("/poli/<int:clinic_id>", methods=["GET", "POST"])
@require(MANAGE)
def edit_clinic(clinic_id: int) -> Any:
    """Change a clinic: its code, pace, daily quota, order and whether it is open."""
    clinic = _get_or_404(Clinic, clinic_id)
    return _clinic_form(clinic.facility, clinic)


def _clinic_form(facility: Facility, clinic: Clinic | None) -> Any:
    values = _clinic_values(clinic)
    errors: Errors = {}
    if request.method == "POST":
        values = request.form.to_dict()
        data, errors = validate_form(ClinicForm(), request.form)
        if data is not None:
            try:
                if clinic is None:
                    saved = facilities.create_clinic(db.session, facility, data)
                else:
                    saved = facilities.update_clinic(db.session, clinic, data)
            except PuskesmasError as exc:
                db.session.rollback()
                errors = rule_errors(exc)
            else:
                db.session.commit()
                flash(_("%(name)s was saved.", name=saved.name), "ok")
                return redirect(url_for(".edit_facility", facility_id=facility.id))
    html = render_template(
        "puskesmas/manage/clinic.html",
        facility=facility,
        clinic=clinic,
        values=values,
        errors=errors,
    )
    return html, 400 if errors else 200


def _clinic_values(clinic: Clinic | None) -> dict[str, Any]:
    if clinic is None:
        return {"active": "y", "minutes_per_patient": 10}
    names = ("code", "name", "minutes_per_patient", "daily_quota", "position")
    values: dict[str, Any] = {n: getattr(clinic, n) for n in names}
    values["daily_quota"] = "" if clinic.daily_quota is None else clinic.daily_quota
    values["satusehat_location_id"] = clinic.satusehat_location_id
    values["active"] = "y" if clinic.active else ""
    return values


# -- staff ---------------------------------------------------------------------------


def _duty_refusal(duty: str, email: str | None = None, user_id: int | None = None) -> str | None:
    """Why the current user may not give (or change, or remove) ``duty`` for an account.

    ``duty`` is the value that will be saved (the form's, as :data:`StaffForm` read
    it); a value that is no duty is refused, never waved through.
    """
    permission = DUTY_PERMISSIONS.get(duty)
    if permission is None:
        return str(CHOOSE_DUTY)
    if is_admin(current_user):
        return None
    own = user_id == current_user.id or (
        email is not None and email.strip().lower() == current_user.email.lower()
    )
    if own:
        return _("You cannot give yourself a duty, or change or remove your own.")
    return give_refusal(current_user, permission)


def _duties_locked() -> str | None:
    """Why the current user can give no duty at all, or ``None``."""
    reasons = [_duty_refusal(duty) for duty in DUTIES]
    if all(reasons):
        return _(
            "Only a region admin can give, change or remove duties: a duty opens patients' records."
        )
    return None


@bp.route("/<int:facility_id>/petugas", methods=["GET", "POST"])
@require(MANAGE)
def staff(facility_id: int) -> Any:
    """The officers of a puskesmas and their duties; the form gives one a duty."""
    facility = _get_or_404(Facility, facility_id)
    values: dict[str, Any] = {}
    errors: Errors = {}
    status = 200
    if request.method == "POST":
        values = request.form.to_dict()
        data, errors = validate_form(StaffForm(), request.form)
        status = 400
        refusal = _duty_refusal(data["duty"], email=data["email"]) if data else None
        if refusal:
            errors, status = {"_form": [refusal]}, 403
        elif data is not None:
            try:
                assigned = facilities.assign_staff(
                    db.session,
                    runtime.actor(),
                    facility,
                    email=data["email"],
                    duty=data["duty"],
                    profession=data["profession"] or None,
                    nakes_id=data["nakes_id"],
                    now=utcnow(),
                )
            except PuskesmasError as exc:
                db.session.rollback()
                errors = rule_errors(exc)
            else:
                db.session.commit()
                flash(
                    _(
                        "%(name)s now has the duty %(duty)s here.",
                        name=assigned.user.name,
                        duty=DUTY_LABELS[assigned.duty],
                    ),
                    "ok",
                )
                return redirect(url_for(".staff", facility_id=facility.id))
    return _staff_page(facility, values, errors, status)


def _staff_page(facility: Facility, values: dict[str, Any], errors: Errors, status: int) -> Any:
    members = db.session.scalars(
        select(Staff).where(Staff.facility_id == facility.id).order_by(Staff.duty, Staff.id)
    ).all()
    html = render_template(
        "puskesmas/manage/staff.html",
        facility=facility,
        members=sorted(members, key=lambda s: (DUTIES.index(s.duty), s.user.name.lower())),
        values=values,
        errors=errors,
        locked=_duties_locked(),
        duties=[(d, DUTY_LABELS[d]) for d in DUTIES],
        professions=[(p, PROFESSION_LABELS[p]) for p in PROFESSIONS],
        duty_labels=DUTY_LABELS,
        profession_labels=PROFESSION_LABELS,
    )
    return html, status


@bp.post("/petugas/<int:staff_id>/hapus")
@require(MANAGE)
def remove_staff(staff_id: int) -> Any:
    """End an officer's duty at a puskesmas; from then on they no longer see its records."""
    member = _get_or_404(Staff, staff_id)
    refusal = _duty_refusal(member.duty, user_id=member.user_id)
    if refusal:
        return _staff_page(member.facility, {}, {"_form": [refusal]}, 403)
    facility_id, name = member.facility_id, member.user.name
    facilities.remove_staff(db.session, runtime.actor(), member, utcnow())
    db.session.commit()
    flash(_("%(name)s no longer has a duty here.", name=name), "ok")
    return redirect(url_for(".staff", facility_id=facility_id))


# -- the audit trail -----------------------------------------------------------------


def audit_statement(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    officer: str = "",
    patient_id: int | None = None,
    action: str | None = None,
    facility_id: int | None = None,
) -> Select[Any]:
    """Entries of the trail with their puskesmas, newest first.

    ``since`` is inclusive and ``until`` exclusive (aware times); ``officer`` is part of
    the name or e-mail address recorded with the entry.
    """
    statement = select(AuditEntry, Facility).outerjoin(
        Facility, AuditEntry.facility_id == Facility.id
    )
    if since is not None:
        statement = statement.where(AuditEntry.at >= since)
    if until is not None:
        statement = statement.where(AuditEntry.at < until)
    if officer:
        pattern = "%" + officer.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(AuditEntry.actor.ilike(pattern, escape="\\"))
    if patient_id is not None:
        statement = statement.where(AuditEntry.patient_id == patient_id)
    if action:
        statement = statement.where(AuditEntry.action == action)
    if facility_id is not None:
        statement = statement.where(AuditEntry.facility_id == facility_id)
    return statement.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def _start_of(day: date) -> datetime:
    """Midnight of ``day`` in the region's time zone, as an aware UTC time."""
    return to_utc(datetime.combine(day, time.min)).replace(tzinfo=UTC)


def _audit_search() -> tuple[Select[Any] | None, dict[str, Any], Errors]:
    data, errors = validate_form(AuditFilters(), request.args)
    if data is None:
        return None, {}, errors
    statement = audit_statement(
        since=_start_of(data["date_from"]) if data["date_from"] else None,
        until=_start_of(data["date_to"] + timedelta(days=1)) if data["date_to"] else None,
        officer=data["officer"].strip(),
        patient_id=data["patient"],
        action=data["action"],
        facility_id=data["facility"],
    )
    return statement, data, {}


def _local(moment: datetime) -> str:
    return to_user_timezone(moment).strftime("%Y-%m-%d %H:%M:%S")


@bp.get("/audit")
@require(VIEW_AUDIT)
def audit() -> tuple[str, int]:
    """Search who read or changed which patient's record, when, and from where."""
    statement, data, errors = _audit_search()
    rows: list[Any] = []
    total = pages = 0
    page = data.get("page", 1)
    if statement is not None:
        total = (
            db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
            or 0
        )
        pages = math.ceil(total / AUDIT_PAGE_SIZE)
        if page > max(pages, 1):
            abort(404)
        rows = db.session.execute(
            statement.limit(AUDIT_PAGE_SIZE).offset((page - 1) * AUDIT_PAGE_SIZE)
        ).all()
    args = {k: v for k, v in request.args.items() if k != "page" and v.strip()}
    html = render_template(
        "puskesmas/manage/audit.html",
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        args=args,
        errors=errors,
        values=request.args.to_dict(),
        actions=ACTIONS,
        facilities=db.session.scalars(select(Facility).order_by(Facility.name, Facility.id)),
        local=_local,
        detail_text=detail_text,
        channel_text=channel_text,
    )
    return html, 400 if errors else 200


@bp.get("/audit.csv")
@require(VIEW_AUDIT)
def audit_csv() -> Response:
    """The entries the same filters find, all of them, as CSV (times with their offset).

    The filters are checked and the first batch of entries is read before the first
    byte is sent: a bad filter is a 400 and a database that does not answer an error
    page, never an empty file. The rest is read a batch at a time, each in a session
    of its own (:func:`_audit_batches`): a WSGI server sends the body after the
    request has ended and closed its session.
    """
    statement, _data, errors = _audit_search()
    if statement is None:
        message = "; ".join(f"{name}: {' '.join(m)}" for name, m in errors.items())
        return Response(message + "\n", status=400, mimetype="text/plain")
    tenant = current_tenant()
    assert tenant is not None  # the blueprint is served on a region's host only
    today = to_user_timezone(utcnow()).date().isoformat()
    name = f"audit-{tenant.slug}-{today}.csv"
    first = _audit_batch(db.session, statement, None)
    return Response(
        stream_with_context(_csv_lines(_audit_batches(statement, tenant.id, first))),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


#: Entries read at once for the CSV download.
CSV_BATCH = 500
AuditRow = tuple[AuditEntry, Facility | None]


def _audit_batch(
    session: Session, statement: Select[Any], after: tuple[datetime, int] | None
) -> list[AuditRow]:
    """The next :data:`CSV_BATCH` entries of ``statement`` (newest first) after the
    entry at ``after`` (its time and id), read completely."""
    if after is not None:
        at, entry_id = after
        statement = statement.where(
            or_(AuditEntry.at < at, and_(AuditEntry.at == at, AuditEntry.id < entry_id))
        )
    return [(entry, facility) for entry, facility in session.execute(statement.limit(CSV_BATCH))]


def _audit_batches(
    statement: Select[Any], tenant_id: int, first: list[AuditRow]
) -> Iterator[AuditRow]:
    """Every entry of ``statement``: ``first``, then a batch at a time, each read in a
    short session of the region's own, so no connection waits on a slow download."""
    batch = first
    while batch:
        yield from batch
        if len(batch) < CSV_BATCH:
            return
        last = batch[-1][0]
        with db.new_session(tenant_id) as session:
            batch = _audit_batch(session, statement, (last.at, last.id))


def _csv_lines(rows: Iterable[AuditRow]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for entry, facility in rows:
        writer.writerow(
            [
                to_user_timezone(entry.at).isoformat(timespec="seconds"),
                "" if entry.user_id is None else entry.user_id,
                _cell(entry.actor),
                entry.action,
                "" if entry.patient_id is None else entry.patient_id,
                facility.code if facility is not None else "",
                _cell(facility.name) if facility is not None else "",
                _cell(entry.detail),
                _cell(entry.address),
                entry.channel,
            ]
        )
        yield flush()


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
