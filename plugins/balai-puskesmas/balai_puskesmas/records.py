"""Pages of health records (*rekam medis*): patients, visits, the ICD-10 lookup (a page,
a JSON endpoint for the visit form's autocomplete, the region's synonyms), and a
citizen's own visits.

Officers reach records only through a duty at a puskesmas (see
:mod:`balai_puskesmas.services`): an officer with the permission but no assignment
gets a 403 page that says so. Every page that shows a patient's data writes exactly
one entry to the audit trail, committed with the page; a refused form writes
nothing. Pages get patients only as :class:`~balai_puskesmas.patients.ShownPatient`
(read through an audited function): :func:`_render` refuses a bare patient row.
Identifiers (NIK, phone) travel in form bodies, not in addresses, so they stay out
of access logs.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from balai.admin import refused
from balai.api import past_the_end
from balai.auth import User, current_user
from balai.calendar import local_date
from balai.db import db, utcnow
from balai.fields import Id, Integer, PageNumber, Text
from balai.forms import FormSchema, validate_form
from balai.i18n import N_
from balai.permissions import has_permission, is_admin, require
from balai.plugins import hooks
from balai.rules import rule_errors, rule_message
from balai_puskesmas import export, icd10, patients, runtime, synonyms, visits
from balai_puskesmas.models import Clinic, Facility, Patient, Staff, Ticket
from balai_puskesmas.nik import NikError, birth_date_of, check_nik, sex_of
from balai_puskesmas.runtime import MANAGE, READ, RECORD, REGISTER
from balai_puskesmas.services import Actor, AuditRequired, PuskesmasError, audit, facilities_with

__all__ = ["bp"]

bp = Blueprint("puskesmas_rekam", __name__, url_prefix="/puskesmas", template_folder="templates")

PAGE_SIZE = 20
DIAGNOSIS_INPUTS = 5
PRESCRIPTION_LINES = 5
ICD10_RESULTS = 50
#: Codes the visit form's inline search and autocomplete show.
ICD10_SUGGESTIONS = 10
SYNONYM_PAGE_SIZE = 50
#: Queue numbers still in the queue, which the desk may link to a patient.
OPEN = ("waiting", "called")
Errors = dict[str, list[str]]

SEX_LABELS = {"male": _l("Male"), "female": _l("Female")}
IDENTITY_LABELS = {"ktp": _l("Identity card (KTP)"), "kk": _l("Family card (KK)")}
PROFESSION_LABELS = {
    "doctor": _l("Doctor"),
    "nurse": _l("Nurse"),
    "midwife": _l("Midwife"),
    "dentist": _l("Dentist"),
}
VITAL_LABELS = {
    "systolic": (_l("Systolic pressure"), "mmHg"),
    "diastolic": (_l("Diastolic pressure"), "mmHg"),
    "heart_rate": (_l("Heart rate"), "/min"),
    "respiratory_rate": (_l("Respiratory rate"), "/min"),
    "temperature": (_l("Temperature"), "°C"),
    "weight": (_l("Weight"), "kg"),
    "height": (_l("Height"), "cm"),
    "oxygen_saturation": (_l("Oxygen saturation (SpO2)"), "%"),
}

DOSE_UNIT_LABELS = {
    "tablet": _l("tablet"),
    "capsule": _l("capsule"),
    "ml": _l("mL"),
    "mg": _l("mg"),
    "drop": _l("drop"),
    "sachet": _l("sachet"),
    "puff": _l("puff"),
    "application": _l("application (cream, ointment)"),
}
ROUTE_LABELS = {
    "oral": _l("By mouth (oral)"),
    "sublingual": _l("Under the tongue (sublingual)"),
    "topical": _l("On the skin (topical)"),
    "eye": _l("In the eye"),
    "ear": _l("In the ear"),
    "nasal": _l("In the nose (nasal)"),
    "inhalation": _l("Inhaled"),
    "rectal": _l("Rectal"),
    "vaginal": _l("Vaginal"),
    "intramuscular": _l("Injection into a muscle (IM)"),
    "intravenous": _l("Injection into a vein (IV)"),
    "subcutaneous": _l("Injection under the skin (SC)"),
}
URGENCY_LABELS = {
    "routine": _l("Routine"),
    "urgent": _l("Urgent"),
    "asap": _l("As soon as possible"),
    "stat": _l("Emergency"),
}

INVALID_NUMBER = _l("Enter a number.")
INVALID_WHOLE = _l("Enter a whole number.")
INVALID_PAGE = _l("Enter a number from 1.")


# -- forms ---------------------------------------------------------------------------


def _page() -> PageNumber:
    return PageNumber(error=INVALID_PAGE, error_messages={"invalid": INVALID_PAGE})


class SearchForm(FormSchema):
    """The patient search: an exact NIK, or words of the name."""

    nik = Text(load_default=None)
    q = Text(load_default=None, validate=validate.Length(max=100))
    page = _page()
    tiket = Id(load_default=None, error_messages={"invalid": _l("Unknown number.")})
    identitas = Text(load_default=None)


class PatientForm(FormSchema):
    """A patient as typed at the desk; the rules are in :func:`patients.check`.

    Nothing is trimmed here: a NIK with a trailing newline must be refused, not fixed.
    """

    nik = Text(load_default="")
    name = Text(load_default="")
    birth_date = Text(load_default=None)
    sex = Text(load_default="")
    address = Text(load_default="")
    phone = Text(load_default=None)
    bpjs = Text(load_default=None)
    citizen_email = Text(load_default=None)
    tiket = Id(load_default=None, error_messages={"invalid": _l("Unknown number.")})
    identitas = Text(load_default=None)
    nik_mismatch = Text(load_default=None)
    mismatch_reason = Text(load_default="")


class DecimalCommaFloat(fields.Float):
    """A number typed the Indonesian way (``36,5``) or the English way (``36.5``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and value.count(",") == 1 and "." not in value:
            value = value.replace(",", ".")
        return super()._deserialize(value, attr, data, **kwargs)


def _whole() -> Integer:
    return Integer(load_default=None, error_messages={"invalid": INVALID_WHOLE})


def _decimal() -> DecimalCommaFloat:
    return DecimalCommaFloat(
        load_default=None,
        allow_nan=False,
        error_messages={"invalid": INVALID_NUMBER, "special": INVALID_NUMBER},
    )


class _VisitFields(FormSchema):
    """The clinician's visit form; ranges and codes are checked by :func:`visits.check`.

    ``rx_<n>_<field>`` are the prescription's lines (:data:`PRESCRIPTION_LINES`),
    ``referral_*`` the referral; ``icd_q`` is the inline ICD-10 search's query.
    """

    complaint = Text(load_default="")
    systolic = _whole()
    diastolic = _whole()
    heart_rate = _whole()
    respiratory_rate = _whole()
    temperature = _decimal()
    weight = _decimal()
    height = _decimal()
    oxygen_saturation = _whole()
    notes = Text(load_default="")
    tiket = Id(load_default=None, error_messages={"invalid": _l("Unknown number.")})
    pasien = Id(load_default=None, error_messages={"invalid": _l("Unknown patient.")})
    poli = Id(load_default=None, error_messages={"invalid": _l("Unknown clinic.")})
    diagnosis_1 = Text(load_default="")
    diagnosis_2 = Text(load_default="")
    diagnosis_3 = Text(load_default="")
    diagnosis_4 = Text(load_default="")
    diagnosis_5 = Text(load_default="")
    referral_destination = Text(load_default="")
    referral_reason = Text(load_default="")
    referral_urgency = Text(load_default="routine")
    icd_q = Text(load_default="", validate=validate.Length(max=100))


def _prescription_fields() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for n in range(1, PRESCRIPTION_LINES + 1):
        found |= {
            f"rx_{n}_drug": Text(load_default=""),
            f"rx_{n}_kfa_code": Text(load_default=""),
            f"rx_{n}_dose": _decimal(),
            f"rx_{n}_unit": Text(load_default=""),
            f"rx_{n}_frequency": _whole(),
            f"rx_{n}_days": _whole(),
            f"rx_{n}_route": Text(load_default=""),
            f"rx_{n}_notes": Text(load_default=""),
        }
    return found


VisitForm = type("VisitForm", (_VisitFields,), _prescription_fields())
#: A prescription line's inputs that mean it is used (the unit and the route are
#: preselected, so they do not).
RX_TYPED = ("drug", "kfa_code", "dose", "frequency", "days", "notes")


class Icd10Form(FormSchema):
    """The ICD-10 lookup's query."""

    q = Text(load_default="", validate=validate.Length(max=100))


class SynonymForm(FormSchema):
    """A term of the region's ICD-10 synonyms and its codes (checked by
    :func:`synonyms.save`)."""

    term = Text(load_default="")
    codes = Text(load_default="")
    page = _page()


# -- helpers -------------------------------------------------------------------------


def _today(now: Any) -> date:
    return local_date(now, str(get_timezone()))


def age_on(born: date, today: date) -> int:
    """Full years from ``born`` to ``today``."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _no_duty() -> tuple[str, int]:
    """The 403 page of an officer with the permission but no assignment.

    A region admin holds every permission but, like anyone, reads health records only
    through a duty: their page says so and links to where duties are given.
    """
    if is_admin(current_user):
        return refused(
            _(
                "You have no duty at a puskesmas. Health records are specific personal "
                "data: they open only to someone with a duty at a puskesmas (registration "
                "desk, clinician or viewer), region admins included. Your account holds "
                "every permission, but no duty."
            ),
            url_for("puskesmas_kelola.index"),
            _("Puskesmas and clinics"),
            advice=_(
                "To give yourself or someone else a duty, open the puskesmas under "
                "Puskesmas and clinics, then Officers and duties. The Roles page says the "
                "same under each permission that needs a duty."
            ),
            page=request.path,
        )
    return render_template("puskesmas/records/no_duty.html"), 403


def _refuse(exc: PuskesmasError, actor: Actor) -> Any:
    """Roll back, then answer a refusal (403/404) as the error page."""
    db.session.rollback()
    if exc.status == 403 and not actor.duties:
        return _no_duty()
    runtime.abort_for(exc)
    return None  # pragma: no cover - abort_for raises


def _unaudited(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` holds a bare patient row (not read through an audited function)."""
    if isinstance(value, Patient):
        return True
    if depth >= 3:
        return False
    if isinstance(value, dict):
        return any(_unaudited(v, depth + 1) for v in value.values())
    if isinstance(value, list | tuple | set):
        return any(_unaudited(v, depth + 1) for v in value)
    return False


def _render(template: str, errors: Errors | None = None, **context: Any) -> tuple[str, int]:
    """A record page; with a form's ``errors`` it answers 400.

    :raises AuditRequired: the context holds a bare :class:`Patient`: show patients
        only as read by :mod:`~balai_puskesmas.patients` (audited).
    """
    if _unaudited(context):
        raise AuditRequired("a patient is shown only as read through an audited function")
    ticket = context.get("ticket")
    context.setdefault("number", _number(ticket) if ticket is not None else "")
    context.setdefault("ticket", None)
    html = render_template(
        f"puskesmas/records/{template}",
        errors=errors or {},
        sex_labels=SEX_LABELS,
        documents=IDENTITY_LABELS,
        profession_labels=PROFESSION_LABELS,
        vital_labels=VITAL_LABELS,
        dose_units=DOSE_UNIT_LABELS,
        routes=ROUTE_LABELS,
        urgencies=URGENCY_LABELS,
        **context,
    )
    return html, 400 if errors else 200


def _desk_ticket(actor: Actor, ticket_id: int | None) -> Ticket | None:
    """A queue number of one of the officer's puskesmas (registration or clinician duty)."""
    if ticket_id is None:
        return None
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        abort(404)
    if ticket.facility_id not in facilities_with(actor, "registration", "clinician"):
        abort(403)
    return ticket


def _number(ticket: Ticket) -> str:
    return f"{ticket.clinic.code}-{ticket.number:03d}"


def _nik_facts(nik: str, today: date) -> dict[str, str]:
    """Birth date and sex a plausible NIK encodes, to prefill the form."""
    try:
        check_nik(nik, today=today)
    except NikError:
        return {}
    born = birth_date_of(nik, today=today)
    return {"birth_date": born.isoformat() if born else "", "sex": sex_of(nik)}


# -- patients ------------------------------------------------------------------------


@bp.route("/pasien/", methods=["GET", "POST"], endpoint="patients")
@require(READ)
def patients_page() -> Any:
    """Find a patient by exact NIK or by name; with ``tiket``, to link a queue number.

    The form posts, so a NIK never appears in an address (which servers and proxies
    write to their logs); a NIK in the query string is refused. Name searches and
    ``tiket`` are read from the query string too, for links and pages.
    """
    actor = runtime.actor()
    if not actor.duties:
        return _no_duty()
    source = request.form if request.method == "POST" else request.args
    values = {k: v for k, v in source.items() if k not in ("csrf_token", "nik")}
    if request.method == "GET" and request.args.get("nik"):
        source = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k != "nik"])
        data, errors = validate_form(SearchForm(), source)
        errors = {**(errors or {}), "nik": [_NIK_IN_ADDRESS]}
        return _render(
            "patients.html",
            errors,
            values=values,
            found=None,
            mode=None,
            ticket=_ticket_to_link(actor, data["tiket"]) if data else None,
            today=_today(utcnow()),
            age_on=age_on,
            can_register=_can_register(actor),
        )
    values = {k: v for k, v in source.items() if k != "csrf_token"}
    data, errors = validate_form(SearchForm(), source)
    ticket = _ticket_to_link(actor, data["tiket"]) if data else None
    found: dict[str, Any] | None = None
    mode = None
    if data is not None and (data["nik"] or data["q"]):
        now = utcnow()
        try:
            if data["nik"]:
                mode = "nik"
                patient = patients.find_by_nik(
                    db.session, runtime.vault(), actor, data["nik"], now, today=_today(now)
                )
                items = [patient] if patient is not None else []
                found = {"items": items, "page": 1, "per_page": 1, "total": len(items), "pages": 1}
            else:
                mode = "name"
                found = patients.search(
                    db.session,
                    runtime.vault(),
                    actor,
                    data["q"],
                    now,
                    page=data["page"],
                    per_page=PAGE_SIZE,
                )
        except PuskesmasError as exc:
            if exc.status != 422:
                return _refuse(exc, actor)
            db.session.rollback()
            errors = rule_errors(exc)
            found = None
        else:
            db.session.commit()
    suggestion = None
    if found is None and _to_confirm(ticket):
        suggestion = _suggestion(actor, ticket)
    return _render(
        "patients.html",
        errors,
        values=values,
        found=found,
        mode=mode,
        ticket=ticket,
        suggestion=suggestion,
        today=_today(utcnow()),
        age_on=age_on,
        can_register=_can_register(actor),
    )


def _ticket_to_link(actor: Actor, ticket_id: int | None) -> Ticket | None:
    """The queue number the search is for (``tiket``), if this officer may link it to
    a patient: the registration duty at its puskesmas and the permission to register.

    Anyone else on duty there (a clinician) searches as without a number: no
    suggested patient is read, and no button links or confirms (the link itself is
    refused, :func:`attach_ticket`). 404 and 403 as :func:`_desk_ticket`.
    """
    ticket = _desk_ticket(actor, ticket_id)
    if ticket is None or not _can_link(actor, ticket):
        return None
    return ticket


def _can_link(actor: Actor, ticket: Ticket) -> bool:
    """Whether the officer may confirm who holds ``ticket`` and link it to a patient."""
    return ticket.facility_id in facilities_with(actor, "registration") and has_permission(
        current_user, REGISTER
    )


def _to_confirm(ticket: Ticket | None) -> bool:
    """Whether ``ticket`` waits for the desk to confirm the patient its NIK suggests."""
    return (
        ticket is not None
        and ticket.patient_id is None
        and ticket.suggested_patient_id is not None
        and ticket.status in OPEN
    )


def _suggestion(actor: Actor, ticket: Ticket) -> patients.ShownPatient | None:
    """The patient whose NIK was given with ``ticket``, read (audited) for the desk to
    compare with the holder's KTP or KK."""
    assert ticket.suggested_patient_id is not None
    try:
        shown = patients.get(
            db.session,
            runtime.vault(),
            actor,
            ticket.suggested_patient_id,
            utcnow(),
            detail=f"suggested by the NIK given with ticket {ticket.id}: identity to check",
        )
    except PuskesmasError:
        db.session.rollback()
        return None
    db.session.commit()
    return shown


_NIK_IN_ADDRESS = _l(
    "Type the NIK in the search form: a NIK in the page address is not accepted, "
    "because addresses are written to server logs."
)


def _can_register(actor: Any) -> bool:
    return bool(facilities_with(actor, "registration")) and has_permission(current_user, REGISTER)


@bp.route("/pasien/baru", methods=["GET", "POST"])
@require(REGISTER)
def new_patient() -> Any:
    """Register a patient; shown first with ``?tiket=`` (or a posted ``nik`` with
    ``prefill``) it is prefilled. A NIK in the query string is ignored: addresses are
    logged. Registered from a queue number, the number is linked to the new patient
    once the officer says which identity document (``identitas``: KTP or KK) they
    checked."""
    actor = runtime.actor()
    if not facilities_with(actor, "registration"):
        return _refuse(PuskesmasError(patients.NOT_REGISTRAR, status=403), actor)
    now = utcnow()
    today = _today(now)
    first_view = request.method == "GET" or request.form.get("prefill")
    source = request.args if request.method == "GET" else request.form
    if first_view:
        if request.method == "GET":
            source = MultiDict([(k, v) for k, v in source.items(multi=True) if k != "nik"])
        data, _errors = validate_form(SearchForm(), source)
        ticket = _desk_ticket(actor, data["tiket"]) if data else None
        nik = (data or {}).get("nik") or ""
        if not nik and ticket is not None and ticket.nik_cipher is not None:
            # The NIK given with the number, shown to register its holder: audited.
            audited = audit(
                db.session,
                actor,
                "ticket.read_nik",
                now,
                facility_id=ticket.facility_id,
                detail=f"ticket {ticket.id}: the NIK given with the number, to register",
            )
            nik = runtime.vault().open(ticket.nik_cipher, audited) or ""
            db.session.commit()
        values: dict[str, Any] = {"nik": nik, "tiket": ticket.id if ticket else ""}
        values.update(_nik_facts(nik, today))
        return _render("patient_form.html", values=values, editing=False, ticket=ticket)

    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    data, errors = validate_form(PatientForm(), request.form)
    ticket = _desk_ticket(actor, data["tiket"]) if data else None
    if data is None:
        return _render("patient_form.html", errors, values=values, editing=False, ticket=ticket)
    try:
        patient = patients.register(
            db.session, runtime.vault(), actor, _draft(data), now, today=today
        )
        if ticket is not None and ticket.patient_id is None and ticket.status in OPEN:
            patients.attach_ticket(
                db.session, actor, ticket.id, patient.id, now, document=data["identitas"]
            )
    except PuskesmasError as exc:
        if exc.status != 422:
            return _refuse(exc, actor)
        db.session.rollback()
        return _render(
            "patient_form.html", rule_errors(exc), values=values, editing=False, ticket=ticket
        )
    db.session.commit()
    flash(_("The patient is registered."), "ok")
    if ticket is not None and ticket.patient_id == patient.id:
        flash(_("Queue number %(number)s is linked to this patient.", number=_number(ticket)), "ok")
    return redirect(url_for(".patient", patient_id=patient.id))


def _draft(data: dict[str, Any]) -> patients.PatientDraft:
    return patients.PatientDraft(
        nik=data["nik"],
        name=data["name"],
        birth_date=data["birth_date"],
        sex=data["sex"],
        address=data["address"],
        phone=data["phone"],
        bpjs=data["bpjs"],
        citizen_email=data["citizen_email"],
        mismatch_confirmed=bool(data["nik_mismatch"]),
        mismatch_reason=data["mismatch_reason"],
    )


@bp.get("/pasien/<int:patient_id>")
@require(READ)
def patient(patient_id: int) -> Any:
    """A patient's record and the visits this officer's duty lets them read."""
    actor = runtime.actor()
    data, _errors = validate_form(SearchForm(only=("page",)), request.args)
    if data is None:
        abort(404)
    now = utcnow()
    try:
        found_patient, shown = visits.patient_record(
            db.session,
            runtime.vault(),
            actor,
            patient_id,
            now,
            page=data["page"],
            per_page=PAGE_SIZE,
        )
        hidden = visits.hidden_visits(db.session, actor, patient_id)
    except PuskesmasError as exc:
        return _refuse(exc, actor)
    if past_the_end(shown):
        db.session.rollback()
        abort(404)
    ids = patients.identifiers(runtime.vault(), found_patient)
    account = db.session.get(User, found_patient.user_id) if found_patient.user_id else None
    record_at = _clinics_for(actor, "clinician") if has_permission(current_user, RECORD) else []
    satusehat_hold = export.patient_hold(db.session, patient_id)
    db.session.commit()
    return _render(
        "patient.html",
        satusehat_hold=satusehat_hold,
        patient=found_patient,
        ids=ids,
        account=account,
        visits=shown,
        hidden=hidden,
        today=_today(now),
        age_on=age_on,
        record_at=record_at,
        can_edit=bool(facilities_with(actor, "registration"))
        and has_permission(current_user, REGISTER),
    )


def _clinics_for(actor: Actor, duty: str) -> list[Clinic]:
    facility_ids = sorted(facilities_with(actor, duty))
    if not facility_ids:
        return []
    return list(
        db.session.scalars(
            select(Clinic)
            .join(Facility, Facility.id == Clinic.facility_id)
            .where(Clinic.facility_id.in_(facility_ids), Clinic.active.is_(True))
            .order_by(Facility.name, Clinic.position, Clinic.id)
        )
    )


@bp.route("/pasien/<int:patient_id>/ubah", methods=["GET", "POST"])
@require(REGISTER)
def edit_patient(patient_id: int) -> Any:
    """Correct a patient's data; the fields that changed are audited, not their values."""
    actor = runtime.actor()
    if not facilities_with(actor, "registration"):
        return _refuse(PuskesmasError(patients.NOT_REGISTRAR, status=403), actor)
    now = utcnow()
    if request.method == "GET":
        try:
            found = patients.get(db.session, runtime.vault(), actor, patient_id, now)
        except PuskesmasError as exc:
            return _refuse(exc, actor)
        ids = patients.identifiers(runtime.vault(), found)
        account = db.session.get(User, found.user_id) if found.user_id else None
        values = {
            "nik": ids["nik"],
            "name": found.name,
            "birth_date": found.birth_date.isoformat(),
            "sex": found.sex,
            "address": found.address,
            "phone": ids["phone"] or "",
            "bpjs": ids["bpjs"] or "",
            "citizen_email": (account.email or account.phone or "") if account else "",
        }
        db.session.commit()
        return _render("patient_form.html", values=values, editing=True, patient_id=patient_id)

    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    data, errors = validate_form(PatientForm(), request.form)
    if data is None:
        return _render(
            "patient_form.html", errors, values=values, editing=True, patient_id=patient_id
        )
    try:
        changed = patients.update(
            db.session, runtime.vault(), actor, patient_id, _draft(data), now, today=_today(now)
        )
    except PuskesmasError as exc:
        if exc.status != 422:
            return _refuse(exc, actor)
        db.session.rollback()
        return _render(
            "patient_form.html",
            rule_errors(exc),
            values=values,
            editing=True,
            patient_id=patient_id,
        )
    db.session.commit()
    flash(_("The patient's data is saved.") if changed else _("Nothing was changed."), "ok")
    return redirect(url_for(".patient", patient_id=patient_id))


@bp.post("/pasien/<int:patient_id>/tiket")
@require(REGISTER)
def attach_ticket(patient_id: int) -> Any:
    """Link a queue number (form field ``tiket``) to this patient, at the desk: the
    registration desk's confirmation of who holds the number (registration duty at
    its puskesmas; anyone else 403)."""
    actor = runtime.actor()
    if not actor.duties:
        return _no_duty()
    data, _errors = validate_form(SearchForm(only=("tiket", "identitas")), request.form)
    if data is None or data["tiket"] is None:
        abort(404)
    try:
        ticket = patients.attach_ticket(
            db.session, actor, data["tiket"], patient_id, utcnow(), document=data["identitas"]
        )
    except PuskesmasError as exc:
        if exc.status != 422:
            return _refuse(exc, actor)
        db.session.rollback()
        for messages in rule_errors(exc).values():
            for message in messages:
                flash(message, "error")
        return redirect(url_for(".patients", tiket=data["tiket"]))
    db.session.commit()
    flash(_("Queue number %(number)s is linked to this patient.", number=_number(ticket)), "ok")
    return redirect(url_for(".patient", patient_id=patient_id))


# -- visits --------------------------------------------------------------------------


@bp.route("/kunjungan/baru", methods=["GET", "POST"])
@require(RECORD)
def new_visit() -> Any:
    """The clinician's form for a called number (``tiket``) or a patient at a clinic
    (``pasien`` and ``poli``). A number whose visit is recorded already does not open
    it again: the page links to that visit. Posted with the ``icd10_search`` button it
    searches ICD-10 codes (``icd_q``), or with ``add_code`` it puts a code found in
    the first free diagnosis, and shows the form again as typed: the search works
    without JavaScript, and nothing is saved."""
    actor = runtime.actor()
    if not actor.duties:
        return _no_duty()
    source = request.args if request.method == "GET" else request.form
    context = _visit_context(actor, source)
    if context is None:
        return _visit_start(actor, source)
    if context["ticket"] is not None:
        done = visits.recorded_visit(db.session, context["ticket"].id)
        if done is not None:
            return _visit_recorded(context, done)
    if request.method == "GET":
        return _visit_form_page(actor, context, {}, {})

    values = {k: v for k, v in request.form.items() if k not in ("csrf_token", "add_code")}
    if "icd10_search" in request.form or "add_code" in request.form:
        return _visit_form_search(actor, context, values)
    if context["patient_id"] is None:
        message = (
            _(visits.IDENTITY_NOT_CONFIRMED)
            if context["unconfirmed"]
            else _("Link this queue number to a patient first.")
        )
        return _visit_form_page(actor, context, values, {"_form": [message]})
    region_terms = _synonyms()
    draft, errors = _visit_draft(request.form, context, region_terms)
    if errors:
        return _visit_form_page(actor, context, values, errors)
    now = utcnow()
    try:
        visit = visits.record(db.session, actor, draft, now, region_terms)
        hooks().visit_recorded(tenant=g.tenant, visit=visit, session=db.session)
    except PuskesmasError as exc:
        if exc.status == 409:  # the same form sent twice: the first one counts
            db.session.rollback()
            flash(rule_message(exc), "info")
            return redirect(url_for(".patient", patient_id=draft.patient_id))
        if exc.status != 422:
            return _refuse(exc, actor)
        db.session.rollback()
        return _visit_form_page(actor, context, values, rule_errors(exc))
    db.session.commit()
    flash(_("The visit is recorded."), "ok")
    return redirect(url_for(".visit", visit_id=visit.id))


def _synonyms() -> dict[str, tuple[str, ...]]:
    """The shipped ICD-10 synonyms with the region's own."""
    return icd10.merged(synonyms.region(db.session))


def _visit_recorded(context: dict[str, Any], done: Any) -> tuple[str, int]:
    """The form refused for a number whose visit is recorded: 409, with a link to it.
    Nothing of the patient is shown (the visit's page reads it, audited)."""
    db.session.rollback()
    html = render_template(
        "puskesmas/records/visit_recorded.html",
        ticket=context["ticket"],
        number=_number(context["ticket"]),
        clinic=context["clinic"],
        visit_id=done.id,
    )
    return html, 409


def _visit_form_search(actor: Actor, context: dict[str, Any], values: dict[str, Any]) -> Any:
    """The inline ICD-10 search of the visit form, without JavaScript: the results of
    ``icd_q``, or the code of ``add_code`` put in the first free diagnosis."""
    errors: Errors = {}
    code = icd10.normalise(request.form.get("add_code", ""))
    if "add_code" in request.form:
        slots = [f"diagnosis_{n}" for n in range(1, DIAGNOSIS_INPUTS + 1)]
        taken = [icd10.normalise(values.get(slot, "")) for slot in slots]
        free = [slot for slot in slots if not values.get(slot, "").strip()]
        if not icd10.is_leaf(code):
            errors["icd_q"] = [_("Choose one of the codes found.")]
        elif code in taken:
            flash(_("%(code)s is among the diagnoses already.", code=code), "info")
        elif not free:
            errors["icd_q"] = [
                _("Every diagnosis is filled in: empty one before adding %(code)s.", code=code)
            ]
        else:
            values[free[0]] = code
            flash(_("%(code)s is added to the diagnoses.", code=code), "ok")
    query = " ".join((values.get("icd_q") or "").split())
    results: list[icd10.Code] = []
    if len(query) > 100:
        errors["icd_q"] = [_("The search can have at most 100 characters.")]
    elif query:
        results = icd10.search(query, limit=ICD10_SUGGESTIONS, synonyms=_synonyms())
    return _visit_form_page(
        actor, context, values, errors, search={"query": query, "results": results}
    )


def _visit_context(actor: Actor, source: MultiDict[str, str] | Any) -> dict[str, Any] | None:
    """The clinic, the ticket and the patient id a visit form is for; 404 when unknown,
    403 (as a page) without the clinician duty at the clinic's puskesmas; ``None``
    when the form is for nothing yet (no ``tiket``, nor ``pasien`` with ``poli``)."""
    data, _errors = validate_form(VisitForm(only=("tiket", "pasien", "poli")), source)
    if data is None:
        abort(404)
    if data["tiket"] is None and (data["pasien"] is None or data["poli"] is None):
        return None
    ticket = None
    if data["tiket"] is not None:
        ticket = db.session.get(Ticket, data["tiket"])
        if ticket is None:
            abort(404)
        clinic = ticket.clinic
        # Only the patient the desk linked after checking the KTP or KK: not the one
        # the NIK given with the number suggests, nor one named in the form.
        patient_id = ticket.patient_id
    else:
        clinic = db.session.get(Clinic, data["poli"])
        patient_id = data["pasien"]
        if clinic is None:
            abort(404)
    if clinic.facility_id not in facilities_with(actor, "clinician"):
        runtime.abort_for(
            PuskesmasError(
                N_("Only a clinician on duty at this puskesmas can record its visits."),
                status=403,
            )
        )
    return {
        "ticket": ticket,
        "clinic": clinic,
        "patient_id": patient_id,
        "unconfirmed": _to_confirm(ticket),
    }


def _visit_start(actor: Actor, source: MultiDict[str, str] | Any) -> tuple[str, int]:
    """Where a visit starts, for the form opened for nothing (a bookmark, the address
    typed): from a called number on the clinic's queue, or from a patient's record.
    A patient without the clinic, a clinic without the patient, or a form sent for
    nothing is a 400 that names what is missing."""
    errors: Errors = {}
    if source.get("pasien") and not source.get("poli"):
        errors["_form"] = [_("Choose the clinic (poli) of the patient's visit as well.")]
    elif source.get("poli") and not source.get("pasien"):
        errors["_form"] = [_("Choose the patient (pasien) of the visit as well.")]
    elif request.method == "POST":
        errors["_form"] = [
            _(
                "Nothing was saved: the form names no queue number (tiket), nor a "
                "patient and clinic (pasien, poli)."
            )
        ]
    return _render("visit_start.html", errors, clinics=_clinics_for(actor, "clinician"))


def _visit_draft(
    form: MultiDict[str, str],
    context: dict[str, Any],
    region_terms: dict[str, tuple[str, ...]] | None = None,
) -> tuple[visits.VisitDraft, Errors]:
    """The draft from the form, with the problems of every field (type and rules)."""
    data, errors = validate_form(VisitForm(), form)
    if data is None:
        # Load what is well formed, so the rules report the other fields too.
        good = MultiDict([(k, v) for k, v in form.items(multi=True) if k not in errors])
        data, _more = validate_form(VisitForm(), good)
        data = data or VisitForm().load({})
    draft = visits.VisitDraft(
        patient_id=context["patient_id"],
        clinic_id=context["clinic"].id,
        ticket_id=context["ticket"].id if context["ticket"] is not None else None,
        complaint=data["complaint"],
        notes=data["notes"],
        diagnoses=[
            data[f"diagnosis_{n}"]
            for n in range(1, DIAGNOSIS_INPUTS + 1)
            if data[f"diagnosis_{n}"].strip()
        ],
        prescriptions=[
            visits.PrescriptionLine(
                drug=data[f"rx_{n}_drug"],
                kfa_code=data[f"rx_{n}_kfa_code"],
                dose=data[f"rx_{n}_dose"],
                unit=data[f"rx_{n}_unit"],
                frequency=data[f"rx_{n}_frequency"],
                days=data[f"rx_{n}_days"],
                route=data[f"rx_{n}_route"],
                notes=data[f"rx_{n}_notes"],
                line=n,
            )
            for n in range(1, PRESCRIPTION_LINES + 1)
            if any((form.get(f"rx_{n}_{name}") or "").strip() for name in RX_TYPED)
        ],
        referral=(
            visits.ReferralDraft(
                destination=data["referral_destination"],
                reason=data["referral_reason"],
                urgency=data["referral_urgency"],
            )
            if data["referral_destination"].strip() or data["referral_reason"].strip()
            else None
        ),
        **{name: data[name] for name in visits.VITALS},
    )
    problems, params = visits.check(draft, region_terms)
    for name, messages in problems.items():
        if name not in errors:
            errors[name] = [_(m, **params) for m in messages]
    return draft, errors


def _visit_form_page(
    actor: Actor,
    context: dict[str, Any],
    values: dict[str, Any],
    errors: Errors,
    search: dict[str, Any] | None = None,
) -> Any:
    """The form, with the patient's record read (audited) and committed; ``search``
    holds the inline ICD-10 search's query and results."""
    ticket, clinic, patient_id = context["ticket"], context["clinic"], context["patient_id"]
    found = None
    if patient_id is not None:
        # Shown again after a refused form too: every showing is a read, audited.
        try:
            found = patients.get(db.session, runtime.vault(), actor, patient_id, utcnow())
        except PuskesmasError as exc:
            return _refuse(exc, actor)
        db.session.commit()
    return _render(
        "visit_form.html",
        errors,
        values=values,
        ticket=ticket,
        clinic=clinic,
        patient=found,
        today=_today(utcnow()),
        age_on=age_on,
        inputs=DIAGNOSIS_INPUTS,
        rx_lines=PRESCRIPTION_LINES,
        rx_used=[
            n
            for n in range(1, PRESCRIPTION_LINES + 1)
            if any(str(values.get(f"rx_{n}_{name}") or "").strip() for name in RX_TYPED)
        ],
        search=search,
        scripts=["visit_form.js"],
        vitals=visits.VITALS,
    )


@bp.get("/kunjungan/<int:visit_id>")
@require(READ)
def visit(visit_id: int) -> Any:
    """One visit, as the officer's duty allows."""
    actor = runtime.actor()
    try:
        found = visits.get_visit(db.session, actor, visit_id, utcnow())
    except PuskesmasError as exc:
        return _refuse(exc, actor)
    staff = None
    if found.clinician_id is not None:
        staff = db.session.scalar(
            select(Staff).where(
                Staff.user_id == found.clinician_id, Staff.facility_id == found.facility_id
            )
        )
    facility = db.session.get(Facility, found.facility_id)
    db.session.commit()
    return _render(
        "visit.html",
        visit=found,
        facility=facility,
        profession=staff.profession if staff is not None else None,
        vitals=visits.VITALS,
    )


@bp.get("/icd10", endpoint="icd10")
@require(RECORD)
def icd10_lookup() -> Any:
    """Find an ICD-10 code by its start, by an Indonesian term (the shipped synonyms
    and the region's), or by words of its English description."""
    data, errors = validate_form(Icd10Form(), request.args)
    query = (data or {}).get("q", "").strip()
    results = icd10.search(query, limit=ICD10_RESULTS, synonyms=_synonyms()) if query else []
    return _render(
        "icd10.html",
        errors,
        query=query,
        results=results,
        limit=ICD10_RESULTS,
        can_manage=has_permission(current_user, MANAGE),
    )


@bp.get("/icd10.json", endpoint="icd10_json")
@require(RECORD)
def icd10_json() -> Any:
    """The visit form's autocomplete: ``{"query", "results": [{"code", "description",
    "term"}]}`` for ``q``, at most :data:`ICD10_SUGGESTIONS`. Guarded as the form: a
    clinician on duty at a puskesmas (403 otherwise), queries of at most 100
    characters (400)."""
    actor = runtime.actor()
    if not facilities_with(actor, "clinician"):
        message = _("Only a clinician on duty at a puskesmas records visits.")
        return jsonify(error={"code": "forbidden", "message": message, "fields": {}}), 403
    data, errors = validate_form(Icd10Form(), request.args)
    if data is None:
        message = " ".join(m for ms in errors.values() for m in ms)
        return jsonify(error={"code": "invalid", "message": message, "fields": errors}), 400
    query = " ".join(data["q"].split())
    found = icd10.search(query, limit=ICD10_SUGGESTIONS, synonyms=_synonyms()) if query else []
    response = jsonify(
        query=query,
        results=[{"code": c.code, "description": c.description, "term": c.term} for c in found],
    )
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.route("/icd10/sinonim", methods=["GET", "POST"], endpoint="synonyms")
@require(MANAGE)
def synonyms_page() -> Any:
    """The region's ICD-10 synonyms: its own terms (paged), a form to add a term or
    give one other codes, and the list shipped with the plugin."""
    values: dict[str, Any] = {}
    errors: Errors = {}
    if request.method == "POST":
        values = {k: v for k, v in request.form.items() if k != "csrf_token"}
        data, errors = validate_form(SynonymForm(), request.form)
        if data is not None:
            try:
                saved = synonyms.save(
                    db.session, runtime.actor(), data["term"], data["codes"], utcnow()
                )
            except PuskesmasError as exc:
                db.session.rollback()
                errors = rule_errors(exc)
            else:
                db.session.commit()
                flash(_("The term %(term)s is saved.", term=saved.term), "ok")
                return redirect(url_for(".synonyms"))
    page_data, _errors = validate_form(SynonymForm(only=("page",)), request.args)
    if page_data is None:
        abort(404)
    found = synonyms.listing(db.session, page_data["page"], SYNONYM_PAGE_SIZE)
    if past_the_end(found):
        abort(404)
    html = render_template(
        "puskesmas/records/synonyms.html",
        errors=errors,
        values=values,
        found=found,
        shipped=sorted(icd10.SYNONYMS.items()),
        describe=icd10.lookup,
    )
    return html, 400 if errors else 200


@bp.post("/icd10/sinonim/<int:synonym_id>/hapus", endpoint="remove_synonym")
@require(MANAGE)
def remove_synonym(synonym_id: int) -> Any:
    """Remove one of the region's terms (a shipped term of that name comes back)."""
    try:
        removed = synonyms.remove(db.session, runtime.actor(), synonym_id, utcnow())
    except PuskesmasError as exc:
        db.session.rollback()
        runtime.abort_for(exc)
    db.session.commit()
    flash(_("The term %(term)s is removed.", term=removed.term), "ok")
    return redirect(url_for(".synonyms"))


@bp.get("/kunjungan-saya")
@require()
def my_visits() -> Any:
    """The visits of the patients linked to the citizen's account."""
    data, _errors = validate_form(SearchForm(only=("page",)), request.args)
    if data is None:
        abort(404)
    actor = runtime.actor()
    now = utcnow()
    try:
        found = visits.own_visits(
            db.session, actor, current_user.id, now, page=data["page"], per_page=PAGE_SIZE
        )
    except PuskesmasError as exc:
        return _refuse(exc, actor)
    if past_the_end(found):
        db.session.rollback()
        abort(404)
    facility_ids = {v.facility_id for v in found["items"]}
    facilities = (
        {f.id: f for f in db.session.scalars(select(Facility).where(Facility.id.in_(facility_ids)))}
        if facility_ids
        else {}
    )
    db.session.commit()
    return _render("my_visits.html", visits=found, facilities=facilities, vitals=visits.VITALS)
