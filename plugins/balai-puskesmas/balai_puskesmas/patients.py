"""The region's patient register (*data pasien*): registering, updating, finding.

No Flask here: each function takes the session (bound to the region), the region's
:class:`~balai_puskesmas.vault.Vault`, the acting :class:`~balai_puskesmas.services.Actor`
and the time. Every read or change is written to the audit trail in the caller's
transaction; the caller commits after the function returned, or rolls back when it
raised :class:`~balai_puskesmas.services.PuskesmasError` (nothing is then written).

The NIK, the BPJS number and the phone number are stored sealed by the vault with a
keyed hash for exact lookup; they never reach an audit entry, a log or an error
message. Registering and updating need the ``registration`` duty at some puskesmas;
reading needs any duty (patients visit every puskesmas of the region).

The reads (:func:`get`, :func:`find_by_nik`, :func:`search`) return
:class:`ShownPatient`: the patient with the audit context of the entry just written.
Pages show only those, and :func:`identifiers` opens the NIK, BPJS and phone only
with the context of an entry that names this patient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from balai.api import paginate
from balai.auth import User, parse_login
from balai.i18n import N_
from balai.permissions import OPERATOR
from balai_puskesmas.models import SEXES, Patient, Ticket
from balai_puskesmas.nik import NikError, check_nik, mismatches, normalise_nik
from balai_puskesmas.services import (
    Actor,
    AuditContext,
    AuditRequired,
    PuskesmasError,
    audit,
    check_audited,
    facilities_with,
    mobile_number,
    require_duty,
)
from balai_puskesmas.vault import Vault

__all__ = [
    "EARLIEST_BIRTH",
    "IDENTITY_DOCUMENTS",
    "PatientDraft",
    "ShownPatient",
    "attach_ticket",
    "check",
    "find_by_nik",
    "flagged",
    "get",
    "identifiers",
    "normalise_phone",
    "paginate",
    "readable",
    "register",
    "review",
    "search",
    "update",
]


#: No patient is born before this day.
EARLIEST_BIRTH = date(1900, 1, 1)
NAME_MAX = 200
ADDRESS_MAX = 300
REASON_MAX = 300
SEARCH_MIN = 2

_BPJS = re.compile(r"[0-9]{13}")
_SPACES = re.compile(r"\s+")

NOT_ASSIGNED = N_("You are not assigned to any puskesmas, so you cannot open health records.")
NOT_REGISTRAR = N_("Only officers on registration duty at a puskesmas can register patients.")
NO_PATIENT = N_("There is no such patient.")
NIK_TAKEN = N_("A patient with this NIK is already registered.")
MISMATCH_HELP = N_(
    "If the KTP or KK shows these data (a correction by Dukcapil keeps the old NIK), "
    "tick the confirmation and give the reason: the patient is registered and flagged "
    "for review."
)
NOT_FLAGGED = N_("This patient is not waiting for a review.")

#: The fields a draft can change, in the order they are reported.
FIELDS = ("nik", "name", "birth_date", "sex", "address", "phone", "bpjs", "citizen_email")


@dataclass
class PatientDraft:
    """A patient's data as typed at the registration desk.

    ``birth_date`` is a date, or text in ISO form (``1985-03-15``) as a form sends it.
    ``phone`` is an Indonesian mobile number in any usual writing (``0812-3456-7890``,
    ``+62 812 3456 7890``); ``citizen_email`` names the account of the region that may
    see this patient's visits, by its e-mail address or its mobile number (a citizen
    may have registered with a phone number only). Identifiers are left out of the ``repr``.

    A date of birth or sex that differs from what the NIK encodes is refused unless
    ``mismatch_confirmed`` (the desk saw these data on the KTP or KK: a correction by
    the civil registry keeps the old NIK) with a ``mismatch_reason``; the patient is
    then flagged for review.
    """

    nik: str = field(default="", repr=False)
    name: str = ""
    birth_date: date | str | None = None
    sex: str = ""
    address: str = ""
    phone: str | None = field(default=None, repr=False)
    bpjs: str | None = field(default=None, repr=False)
    citizen_email: str | None = field(default=None, repr=False)
    mismatch_confirmed: bool = False
    mismatch_reason: str = ""


@dataclass(frozen=True)
class ShownPatient:
    """A patient as an officer may see them, with the audit context of the read.

    Made by the reads of this module after they wrote their entry; attributes of the
    patient (``id``, ``name``, ``birth_date``, ...) read through. Templates get these,
    never a bare :class:`Patient`.
    """

    patient: Patient
    audited: AuditContext = field(repr=False)

    def __post_init__(self) -> None:
        check_audited(self.audited, self.patient.tenant_id)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.patient, name)


@dataclass(frozen=True)
class _Clean:
    nik: str
    name: str
    birth_date: date
    sex: str
    address: str
    phone: str | None
    bpjs: str | None
    user_id: int | None
    #: What differs from the NIK (accepted with ``reason``), comma-separated, or "".
    mismatch: str = ""
    reason: str = ""


# -- validation ----------------------------------------------------------------------


def normalise_phone(value: str) -> str | None:
    """An Indonesian mobile number as ``+628…``, or ``None`` if it is not one."""
    return mobile_number(value)


def _birth_date(value: date | str | None) -> date | str:
    """The date, or the message id of what is wrong with it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return N_("Enter the date of birth.")
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            return N_("Enter a date, e.g. 1985-03-15.")
    if isinstance(value, datetime):
        value = value.date()
    return value


def check(
    session: Session,
    vault: Vault,
    draft: PatientDraft,
    today: date,
    *,
    patient_id: int | None = None,
) -> dict[str, list[str]]:
    """Every problem of ``draft``, by field (empty if it can be saved).

    ``patient_id`` is the patient being updated, whose own NIK is not a duplicate.
    """
    patient = session.get(Patient, patient_id) if patient_id is not None else None
    errors, _clean = _validate(session, vault, draft, today, patient)
    return errors


def _validate(
    session: Session,
    vault: Vault,
    draft: PatientDraft,
    today: date,
    patient: Patient | None,
) -> tuple[dict[str, list[str]], _Clean | None]:
    """``patient``: the patient being updated (its own NIK is no duplicate, and a
    difference from the NIK it was accepted with needs no new confirmation)."""
    errors: dict[str, list[str]] = {}
    patient_id = patient.id if patient is not None else None

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    nik = normalise_nik(draft.nik) if isinstance(draft.nik, str) else ""
    assert isinstance(nik, str)
    if not nik.strip():
        fail("nik", N_("Enter the NIK."))
    else:
        try:
            check_nik(nik, today=today)
        except NikError as exc:
            fail("nik", exc.message)
        else:
            if _nik_taken(session, vault.hash(nik), patient_id):
                fail("nik", NIK_TAKEN)

    name = _SPACES.sub(" ", draft.name or "").strip()
    if not name:
        fail("name", N_("Enter the patient's name."))
    elif len(name) > NAME_MAX:
        fail("name", N_("The name can have at most 200 characters."))

    born = _birth_date(draft.birth_date)
    if isinstance(born, str):
        fail("birth_date", born)
    elif born > today:
        fail("birth_date", N_("The date of birth cannot be in the future."))
    elif born < EARLIEST_BIRTH:
        fail("birth_date", N_("The date of birth cannot be before 1900."))

    if draft.sex not in SEXES:
        fail("sex", N_("Choose the sex: male or female."))

    mismatch: list[str] = []
    reason = _SPACES.sub(" ", draft.mismatch_reason or "").strip()
    if (
        "nik" not in errors
        and not isinstance(born, str)
        and "birth_date" not in errors
        and draft.sex in SEXES
    ):
        # The NIK encodes the date of birth (and, by day + 40, the sex): a difference
        # is nearly always a typing mistake in one of them, but not always (the civil
        # registry corrects a date of birth and keeps the NIK): the desk may confirm
        # what the KTP or KK shows, with the reason, and the patient is flagged.
        mismatch = mismatches(nik, born, draft.sex, today=today)
        accepted = (
            patient is not None
            and patient.nik_mismatch == ",".join(mismatch)
            and patient.nik_hash == vault.hash(nik)
            and patient.birth_date == born
            and patient.sex == draft.sex
        )
        if mismatch and accepted:
            reason = patient.mismatch_reason if patient is not None else reason
        elif mismatch and not draft.mismatch_confirmed:
            if "birth_date" in mismatch:
                fail("birth_date", N_("The date of birth does not match the NIK (digits 7-12)."))
            if "sex" in mismatch:
                fail("sex", N_("The sex does not match the NIK (women's day of birth + 40)."))
            fail("nik_mismatch", MISMATCH_HELP)
        elif mismatch and not reason:
            fail("mismatch_reason", N_("Give the reason the data differ from the NIK."))
    if len(reason) > REASON_MAX:
        fail("mismatch_reason", N_("The reason can have at most 300 characters."))

    address = _SPACES.sub(" ", draft.address or "").strip()
    if len(address) > ADDRESS_MAX:
        fail("address", N_("The address can have at most 300 characters."))

    phone = None
    if draft.phone and draft.phone.strip():
        phone = normalise_phone(draft.phone)
        if phone is None:
            fail("phone", N_("Enter an Indonesian mobile number, e.g. 0812 3456 7890."))

    bpjs = None
    if draft.bpjs and draft.bpjs.strip():
        bpjs = draft.bpjs.strip()
        if not _BPJS.fullmatch(bpjs):
            fail("bpjs", N_("A BPJS card number is exactly 13 digits 0-9."))

    user_id = None
    if draft.citizen_email and draft.citizen_email.strip():
        user_id = _citizen(session, draft.citizen_email)
        if user_id is None:
            fail(
                "citizen_email",
                N_("No active account of this region has this e-mail address or mobile number."),
            )

    if errors:
        return errors, None
    assert isinstance(born, date)
    return {}, _Clean(
        nik,
        name,
        born,
        draft.sex,
        address,
        phone,
        bpjs,
        user_id,
        mismatch=",".join(mismatch),
        reason=reason if mismatch else "",
    )


def _nik_taken(session: Session, nik_hash: str, patient_id: int | None) -> bool:
    query = select(Patient.id).where(Patient.nik_hash == nik_hash)
    if patient_id is not None:
        query = query.where(Patient.id != patient_id)
    return session.scalar(query.limit(1)) is not None


def _citizen(session: Session, login: str) -> int | None:
    """The id of the region's active account with this e-mail address or mobile number
    (any usual writing: ``0812…``, ``+62812…``, ``62812…``)."""
    parsed = parse_login(login)
    if parsed is None:
        return None
    kind, value = parsed
    column = User.phone if kind == "phone" else User.email
    return session.scalar(
        select(User.id)
        .where(column == value, User.active.is_(True), User.role != OPERATOR)
        .order_by(User.id)
        .limit(1)
    )


def _refuse(errors: dict[str, list[str]]) -> None:
    if errors:
        raise PuskesmasError(errors, status=422)


def _any_duty(actor: Actor) -> None:
    if not actor.duties:
        raise PuskesmasError(NOT_ASSIGNED, status=403)


def _registrar(actor: Actor) -> int | None:
    """Refuse unless ``actor`` is on registration duty somewhere; their puskesmas if only one."""
    desks = facilities_with(actor, "registration")
    if not desks:
        raise PuskesmasError(NOT_ASSIGNED if not actor.duties else NOT_REGISTRAR, status=403)
    return next(iter(desks)) if len(desks) == 1 else None


def _flush(session: Session) -> None:
    """Flush, turning a race on the one-patient-per-NIK constraint into the field error.

    After an :class:`IntegrityError` the caller must roll back (it does on any
    :class:`PuskesmasError`).
    """
    try:
        session.flush()
    except IntegrityError as exc:
        if "nik_hash" in str(exc.orig):
            raise PuskesmasError({"nik": NIK_TAKEN}) from None
        raise


# -- changes -------------------------------------------------------------------------


def register(
    session: Session,
    vault: Vault,
    actor: Actor,
    draft: PatientDraft,
    now: datetime,
    *,
    today: date | None = None,
) -> Patient:
    """Add a patient; suggest them for their queue numbers of ``today`` and later taken
    with the NIK (the desk links a number after checking its holder's KTP or KK).

    ``today`` is the region's calendar day (default: the day of ``now``).

    :raises PuskesmasError: 403 without a registration duty; 422 with every field at fault.
    """
    facility_id = _registrar(actor)
    today = today or now.date()
    errors, clean = _validate(session, vault, draft, today, None)
    _refuse(errors)
    assert clean is not None
    nik_cipher, nik_hash = vault.seal(clean.nik)
    mismatch = {
        "nik_mismatch": clean.mismatch,
        "mismatch_reason": clean.reason,
        "flagged_at": now if clean.mismatch else None,
    }
    phone_cipher, phone_hash = vault.seal(clean.phone)
    bpjs_cipher, bpjs_hash = vault.seal(clean.bpjs)
    patient = Patient(
        nik_cipher=nik_cipher,
        nik_hash=nik_hash,
        phone_cipher=phone_cipher,
        phone_hash=phone_hash,
        bpjs_cipher=bpjs_cipher,
        bpjs_hash=bpjs_hash,
        name=clean.name,
        birth_date=clean.birth_date,
        sex=clean.sex,
        address=clean.address,
        user_id=clean.user_id,
        created_at=now,
        updated_at=now,
        **mismatch,
    )
    session.add(patient)
    _flush(session)
    tickets = session.scalars(
        select(Ticket).where(
            Ticket.nik_hash == nik_hash, Ticket.patient_id.is_(None), Ticket.day >= today
        )
    ).all()
    for ticket in tickets:  # anyone may have typed this NIK: a suggestion, not a link
        ticket.suggested_patient_id = patient.id
        ticket.nik_cipher = None
    given = [
        name
        for name, value in (
            ("address", clean.address),
            ("phone", clean.phone),
            ("bpjs", clean.bpjs),
            ("account", clean.user_id),
        )
        if value
    ]
    audit(
        session,
        actor,
        "patient.create",
        now,
        patient_id=patient.id,
        facility_id=facility_id,
        detail=f"given: {', '.join(given) or 'none'}; tickets suggested: {len(tickets)}"
        + _mismatch_detail(clean.mismatch),
    )
    return patient


def _mismatch_detail(mismatch: str) -> str:
    """The audit detail's segment for data accepted although they differ from the NIK."""
    if not mismatch:
        return ""
    return f"; differs from nik: {mismatch.replace(',', ', ')}; flagged for review"


def update(
    session: Session,
    vault: Vault,
    actor: Actor,
    patient_id: int,
    draft: PatientDraft,
    now: datetime,
    *,
    today: date | None = None,
) -> list[str]:
    """Replace a patient's data with ``draft``; the names of the fields that changed.

    :raises PuskesmasError: 403 without a registration duty, 404 for an unknown
        patient, 422 with every field at fault.
    """
    facility_id = _registrar(actor)
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise PuskesmasError(NO_PATIENT, status=404)
    today = today or now.date()
    errors, clean = _validate(session, vault, draft, today, patient)
    _refuse(errors)
    assert clean is not None
    changed: list[str] = []
    flagged = ""
    if clean.mismatch != patient.nik_mismatch or (
        clean.mismatch and clean.reason != patient.mismatch_reason
    ):
        # Newly accepted (or accepted again after a change): flagged for a new review;
        # the data match the NIK now: the flag goes.
        patient.nik_mismatch = clean.mismatch
        patient.mismatch_reason = clean.reason
        patient.flagged_at = now if clean.mismatch else None
        patient.reviewed_at = None
        flagged = _mismatch_detail(clean.mismatch) or "; differs from nik: none"
    if vault.hash(clean.nik) != patient.nik_hash:
        patient.nik_cipher, patient.nik_hash = vault.seal(clean.nik)  # type: ignore[assignment]
        changed.append("nik")
    for name in ("name", "birth_date", "sex", "address"):
        if getattr(patient, name) != getattr(clean, name):
            setattr(patient, name, getattr(clean, name))
            changed.append(name)
    for name in ("phone", "bpjs"):
        value = getattr(clean, name)
        if (vault.hash(value) if value else None) != getattr(patient, f"{name}_hash"):
            cipher, hashed = vault.seal(value)
            setattr(patient, f"{name}_cipher", cipher)
            setattr(patient, f"{name}_hash", hashed)
            changed.append(name)
    if clean.user_id != patient.user_id:
        patient.user_id = clean.user_id
        changed.append("account")
    if changed:
        patient.updated_at = now
    _flush(session)
    audit(
        session,
        actor,
        "patient.update",
        now,
        patient_id=patient.id,
        facility_id=facility_id,
        detail=f"changed: {', '.join(changed) or 'none'}{flagged}",
    )
    return changed


def review(session: Session, actor: Actor, patient_id: int, now: datetime) -> Patient:
    """Mark a flagged patient reviewed: someone at a registration desk checked that the
    data accepted although they differ from the NIK are right (on the KTP or KK, or
    with Dukcapil). The flag's reason stays on the record.

    :raises PuskesmasError: 403 without a registration duty, 404 for an unknown
        patient, 409 when the patient waits for no review.
    """
    facility_id = _registrar(actor)
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise PuskesmasError(NO_PATIENT, status=404)
    if not patient.nik_mismatch or patient.flagged_at is None or patient.reviewed_at:
        raise PuskesmasError(NOT_FLAGGED, status=409)
    patient.reviewed_at = now
    session.flush()
    audit(
        session,
        actor,
        "patient.review",
        now,
        patient_id=patient.id,
        facility_id=facility_id,
        detail=f"differs from nik: {patient.nik_mismatch.replace(',', ', ')}; reviewed",
    )
    return patient


def flagged(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    reviewed: bool = False,
    page: int = 1,
    per_page: int = 20,
) -> dict[str, Any]:
    """One page of the patients registered with data that differ from their NIK: those
    waiting for a review (oldest first), or with ``reviewed`` those reviewed (latest
    first). The read is audited (one entry for the page).

    :returns: as :func:`search`, the items :class:`ShownPatient`.
    :raises PuskesmasError: 403 without a registration duty.
    """
    _registrar(actor)
    statement = select(Patient).where(Patient.nik_mismatch != "", Patient.flagged_at.is_not(None))
    if reviewed:
        statement = statement.where(Patient.reviewed_at.is_not(None)).order_by(
            Patient.reviewed_at.desc(), Patient.id.desc()
        )
    else:
        statement = statement.where(Patient.reviewed_at.is_(None)).order_by(
            Patient.flagged_at, Patient.id
        )
    found = paginate(statement, page, per_page, session=session)
    audited = audit(
        session,
        actor,
        "patient.flagged",
        now,
        detail=(
            f"{'reviewed' if reviewed else 'flagged for review'}: "
            f"{found['total']} results, {len(found['items'])} shown"
        ),
    )
    found["items"] = [ShownPatient(patient, audited) for patient in found["items"]]
    return found


#: The identity documents the desk checks before linking a number to a patient.
IDENTITY_DOCUMENTS = ("ktp", "kk")
CHECK_IDENTITY = N_(
    "Check the holder's identity card (KTP) or family card (KK) and say which one you checked."
)


def attach_ticket(
    session: Session,
    actor: Actor,
    ticket_id: int,
    patient_id: int,
    now: datetime,
    *,
    document: str | None,
) -> Ticket:
    """Link a queue number to a registered patient, at the desk of its puskesmas, once
    the officer has checked the holder's identity on ``document`` (``"ktp"`` or
    ``"kk"``). It confirms the patient suggested by the NIK given with the number, or
    links another one; only a linked number can have a visit recorded with it.

    Confirming who holds a number is the registration desk's: the officer needs the
    registration duty at the ticket's puskesmas (a clinician there does not link
    numbers). A number already finished (served, skipped, cancelled) keeps its patient.

    :raises PuskesmasError: 404 for an unknown ticket or patient, 403 without the
        duty, 422 when the number is finished or no identity document is named (field
        ``identitas``).
    """
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise PuskesmasError(N_("There is no such queue number."), status=404)
    require_duty(actor, ticket.facility_id, "registration")
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise PuskesmasError(NO_PATIENT, status=404)
    if ticket.patient_id != patient.id and ticket.status not in ("waiting", "called"):
        raise PuskesmasError(
            N_("This queue number is finished; it can no longer be linked to a patient.")
        )
    if document not in IDENTITY_DOCUMENTS:
        raise PuskesmasError({"identitas": CHECK_IDENTITY})
    if ticket.nik_hash is None:
        nik = "none"
    else:
        nik = "matches" if ticket.nik_hash == patient.nik_hash else "differs"
    previous = "replaced" if ticket.patient_id not in (None, patient.id) else "new"
    if ticket.suggested_patient_id is None:
        suggestion = "none"
    else:
        suggestion = "confirmed" if ticket.suggested_patient_id == patient.id else "set aside"
    ticket.patient_id = patient.id
    ticket.suggested_patient_id = None
    session.flush()
    audit(
        session,
        actor,
        "ticket.attach",
        now,
        patient_id=patient.id,
        facility_id=ticket.facility_id,
        detail=(
            f"ticket {ticket.id}; link: {previous}; identity checked: {document}; "
            f"suggestion: {suggestion}; nik on ticket: {nik}"
        ),
    )
    return ticket


# -- reads ---------------------------------------------------------------------------


def find_by_nik(
    session: Session,
    vault: Vault,
    actor: Actor,
    nik: str,
    now: datetime,
    *,
    today: date | None = None,
) -> ShownPatient | None:
    """The patient with this NIK, or ``None``; either way the lookup is audited.

    ``today`` is the region's calendar day, for the NIK's date of birth (default: the
    day of ``now``).

    :raises PuskesmasError: 403 without any duty; 422 (field ``nik``) for a NIK that
        cannot be right (nothing is then looked up or written).
    """
    _any_duty(actor)
    nik = normalise_nik(nik)  # type: ignore[assignment]
    try:
        check_nik(nik, today=today or now.date())
    except NikError as exc:
        raise PuskesmasError({"nik": exc.message}) from None
    patient = session.scalar(select(Patient).where(Patient.nik_hash == vault.hash(nik)))
    audited = audit(
        session,
        actor,
        "patient.lookup",
        now,
        patient_id=patient.id if patient is not None else None,
        detail="by nik: found" if patient is not None else "by nik: not found",
    )
    return ShownPatient(patient, audited) if patient is not None else None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(
    session: Session,
    vault: Vault,
    actor: Actor,
    query: str,
    now: datetime,
    *,
    page: int = 1,
    per_page: int = 20,
) -> dict[str, Any]:
    """One page of the patients whose name contains ``query`` (any case), by name.

    :returns: ``{"items", "page", "per_page", "total", "pages"}``; the items are
        :class:`ShownPatient` (one entry covers the page).
    :raises PuskesmasError: 403 without any duty; 422 (field ``q``) for a query of
        fewer than two characters.
    """
    _any_duty(actor)
    text = _SPACES.sub(" ", query or "").strip()
    if len(text) < SEARCH_MIN:
        raise PuskesmasError({"q": N_("Enter at least 2 letters of the name.")})
    statement = (
        select(Patient)
        .where(func.lower(Patient.name).like(_like(text.lower()), escape="\\"))
        .order_by(Patient.name, Patient.id)
    )
    found = paginate(statement, page, per_page, session=session)
    audited = audit(
        session,
        actor,
        "patient.search",
        now,
        detail=f"by name: {found['total']} results, {len(found['items'])} shown",
    )
    found["items"] = [ShownPatient(patient, audited) for patient in found["items"]]
    return found


def get(
    session: Session,
    vault: Vault,
    actor: Actor,
    patient_id: int,
    now: datetime,
    *,
    detail: str = "",
) -> ShownPatient:
    """A patient's record, for reading; the read is audited (``detail`` says what else
    the page shows, e.g. how many visits).

    :raises PuskesmasError: 403 without any duty, 404 for an unknown patient.
    """
    patient = readable(session, actor, patient_id)
    audited = audit(session, actor, "patient.read", now, patient_id=patient.id, detail=detail)
    return ShownPatient(patient, audited)


def readable(session: Session, actor: Actor, patient_id: int) -> Patient:
    """The patient, if ``actor`` may read the register; for checks, not for showing
    (nothing is audited: show it only through :func:`get`).

    :raises PuskesmasError: 403 without any duty, 404 for an unknown patient.
    """
    _any_duty(actor)
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise PuskesmasError(NO_PATIENT, status=404)
    return patient


def identifiers(vault: Vault, shown: ShownPatient) -> dict[str, str | None]:
    """The patient's NIK, BPJS and phone numbers in clear, to show them.

    :raises AuditRequired: ``shown`` is not a patient read with an entry naming them
        (a search result, or a bare :class:`Patient`).
    """
    if not isinstance(shown, ShownPatient):
        raise AuditRequired("identifiers are opened for a patient read through get()")
    check_audited(shown.audited, vault.tenant_id, shown.patient.id)
    patient = shown.patient
    return {
        "nik": vault.open(patient.nik_cipher, shown.audited),
        "bpjs": vault.open(patient.bpjs_cipher, shown.audited),
        "phone": vault.open(patient.phone_cipher, shown.audited),
    }
