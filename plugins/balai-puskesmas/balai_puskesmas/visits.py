"""Visits (*kunjungan*): a clinician records an encounter; officers and citizens read them.

No Flask here. A clinician records a visit at a clinic of a puskesmas where they are
on ``clinician`` duty, usually for the queue number they called. Officers read visits
as :func:`~balai_puskesmas.services.readable_visits` allows (their own puskesmas, or
all of the region's when its policy shares records); a citizen reads the visits of the
patients linked to their account. Every read and every new visit is audited in the
caller's transaction; the caller commits, or rolls back on
:class:`~balai_puskesmas.services.PuskesmasError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import not_, select
from sqlalchemy.orm import Session

from balai.api import paginate
from balai.auth import User
from balai.i18n import N_
from balai_puskesmas import icd10, patients
from balai_puskesmas.models import (
    Clinic,
    Diagnosis,
    Patient,
    Prescription,
    Referral,
    Ticket,
    Visit,
)
from balai_puskesmas.patients import NO_PATIENT, NOT_ASSIGNED, ShownPatient
from balai_puskesmas.services import (
    Actor,
    PuskesmasError,
    audit,
    can_read_visits_at,
    readable_visits,
    require_duty,
)
from balai_puskesmas.vault import Vault

__all__ = [
    "DOSE_UNITS",
    "MAX_DIAGNOSES",
    "MAX_PRESCRIPTIONS",
    "RANGES",
    "ROUTES",
    "URGENCIES",
    "PrescriptionLine",
    "ReferralDraft",
    "VisitDraft",
    "check",
    "get_visit",
    "hidden_visits",
    "own_visits",
    "patient_record",
    "record",
    "recorded_visit",
    "visits_of",
]


MAX_DIAGNOSES = 10
COMPLAINT_MAX = 2000
NOTES_MAX = 5000

#: Plausible values of each vital sign: (lowest, highest, message when outside).
RANGES: dict[str, tuple[float, float, str]] = {
    "systolic": (50, 260, N_("The systolic pressure must be from 50 to 260 mmHg.")),
    "diastolic": (30, 160, N_("The diastolic pressure must be from 30 to 160 mmHg.")),
    "heart_rate": (20, 250, N_("The heart rate must be from 20 to 250 beats per minute.")),
    "respiratory_rate": (
        5,
        80,
        N_("The respiratory rate must be from 5 to 80 breaths per minute."),
    ),
    "temperature": (30, 45, N_("The temperature must be from 30 to 45 °C.")),
    "weight": (0.5, 300, N_("The weight must be from 0.5 to 300 kg.")),
    "height": (30, 250, N_("The height must be from 30 to 250 cm.")),
    "oxygen_saturation": (50, 100, N_("The oxygen saturation must be from 50 to 100 percent.")),
}
VITALS = tuple(RANGES)

#: What a dose is counted in.
DOSE_UNITS = ("tablet", "capsule", "ml", "mg", "drop", "sachet", "puff", "application")
#: How a drug is given.
ROUTES = (
    "oral",
    "sublingual",
    "topical",
    "eye",
    "ear",
    "nasal",
    "inhalation",
    "rectal",
    "vaginal",
    "intramuscular",
    "intravenous",
    "subcutaneous",
)
#: How soon a referred patient must be seen (FHIR request priorities).
URGENCIES = ("routine", "urgent", "asap", "stat")
MAX_PRESCRIPTIONS = 10
DRUG_MAX = 200
PRESCRIPTION_NOTES_MAX = 300
DESTINATION_MAX = 200
REASON_MAX = 1000
#: A KFA code (the Ministry's dictionary of drugs and medical devices): digits and
#: letters.
_KFA = re.compile(r"[0-9A-Za-z]{1,20}")

NO_VISIT = N_("There is no such visit.")
IDENTITY_NOT_CONFIRMED = N_(
    "The identity of this number's holder is not confirmed: the registration desk must "
    "check their KTP or KK and link the number to the patient before a visit is recorded."
)


@dataclass
class PrescriptionLine:
    """One drug as typed: ``dose`` ``unit`` taken ``frequency`` times a day for ``days``
    days, by ``route``. ``line`` is its number on the form (errors are reported under
    ``rx_<line>_<field>``); an unused line (nothing but the preselected unit and route)
    is left out by the form."""

    drug: str = ""
    dose: float | None = None
    unit: str = ""
    frequency: int | None = None
    days: int | None = None
    route: str = ""
    notes: str = ""
    kfa_code: str = ""
    line: int = 0


@dataclass
class ReferralDraft:
    """A referral as typed: where to, why, and how urgently (:data:`URGENCIES`)."""

    destination: str = ""
    reason: str = ""
    urgency: str = "routine"


@dataclass
class VisitDraft:
    """A visit as the clinician typed it; vital signs are optional (``None``).

    ``diagnoses`` are ICD-10 codes as typed (``"j069"`` is fine), the primary first;
    each must be a leaf code (:func:`balai_puskesmas.icd10.is_leaf`).
    """

    patient_id: int
    clinic_id: int
    ticket_id: int | None = None
    complaint: str = ""
    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    respiratory_rate: int | None = None
    temperature: float | None = None
    weight: float | None = None
    height: float | None = None
    oxygen_saturation: int | None = None
    diagnoses: list[str] = field(default_factory=list)
    notes: str = ""
    prescriptions: list[PrescriptionLine] = field(default_factory=list)
    referral: ReferralDraft | None = None


# -- recording -----------------------------------------------------------------------


def check(
    draft: VisitDraft, synonyms: Mapping[str, Sequence[str]] | None = None
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The problems of the draft's clinical content by field, and the placeholder values
    of their messages. Who records it, the clinic and the ticket are checked by
    :func:`record`. ``synonyms`` (default: the shipped list) turn a term typed as a
    code (``ispa``) into a hint naming its code.
    """
    errors: dict[str, list[str]] = {}
    params: dict[str, Any] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not (draft.complaint or "").strip():
        fail("complaint", N_("Write the patient's complaint."))
    elif len(draft.complaint.strip()) > COMPLAINT_MAX:
        fail("complaint", N_("The complaint can have at most 2000 characters."))
    if len((draft.notes or "").strip()) > NOTES_MAX:
        fail("notes", N_("The notes can have at most 5000 characters."))

    for name, (low, high, message) in RANGES.items():
        value = getattr(draft, name)
        if value is not None and not low <= value <= high:
            fail(name, message)
    systolic, diastolic = draft.systolic, draft.diastolic
    if (systolic is None) != (diastolic is None):
        missing = "diastolic" if diastolic is None else "systolic"
        fail(missing, N_("Give both the systolic and the diastolic pressure, or neither."))
    elif systolic is not None and diastolic is not None and diastolic >= systolic:
        fail("diastolic", N_("The diastolic pressure must be lower than the systolic."))

    codes = [c for c in (draft.diagnoses or []) if c and c.strip()]
    if not codes:
        fail("diagnoses", N_("Give at least one diagnosis as an ICD-10 code."))
    elif len(codes) > MAX_DIAGNOSES:
        fail("diagnoses", N_("Give at most 10 diagnoses."))
    else:
        normalised = [icd10.normalise(c) for c in codes]
        # Echo what was typed ("ispa"), not its normalised form ("ISP.A"), which the
        # clinician never wrote.
        unknown = [
            " ".join(typed.split())[:30]
            for typed, n in zip(codes, normalised, strict=True)
            if icd10.lookup(n) is None
        ]
        if unknown:
            params["codes"] = ", ".join(unknown)
            fail(
                "diagnoses",
                N_(
                    "Not an ICD-10 code that can be recorded: %(codes)s. Use a category "
                    "such as I10 or a subcategory such as J06.9, not a chapter or a block."
                ),
            )
            hints = [
                f"{' '.join(typed.split())[:30]} → {', '.join(found)}"
                for typed in codes
                if icd10.lookup(icd10.normalise(typed)) is None
                and (found := icd10.synonym_codes(typed, synonyms))
            ]
            if hints:
                params["hints"] = "; ".join(hints)
                fail(
                    "diagnoses",
                    N_(
                        "A term is not a code: search it, or use the code it usually "
                        "means: %(hints)s."
                    ),
                )
        refined = [n for n in normalised if icd10.lookup(n) and not icd10.is_leaf(n)]
        if refined:
            params["refined"] = "; ".join(
                f"{code}: {', '.join(icd10.subcodes(code))}" for code in dict.fromkeys(refined)
            )
            fail(
                "diagnoses",
                N_(
                    "These codes have subcodes; record the one that fits: %(refined)s. "
                    "SATUSEHAT takes only the most specific code."
                ),
            )
        repeated = sorted({n for n in normalised if normalised.count(n) > 1})
        if repeated:
            params["repeated"] = ", ".join(repeated)
            fail("diagnoses", N_("Each diagnosis may be given once: %(repeated)s is repeated."))
    _check_prescriptions(draft.prescriptions, fail)
    if draft.referral is not None:
        _check_referral(draft.referral, fail)
    return errors, params


def _check_prescriptions(lines: list[PrescriptionLine], fail: Any) -> None:
    if len(lines) > MAX_PRESCRIPTIONS:
        fail("prescriptions", N_("Give at most 10 drugs."))
        return
    for number, line in enumerate(lines, start=1):
        key = f"rx_{line.line or number}_"
        drug = " ".join((line.drug or "").split())
        if not drug:
            fail(key + "drug", N_("Write the drug's name and strength, e.g. Paracetamol 500 mg."))
        elif len(drug) > DRUG_MAX:
            fail(key + "drug", N_("The drug's name can have at most 200 characters."))
        if line.kfa_code and not _KFA.fullmatch(line.kfa_code.strip()):
            fail(key + "kfa_code", N_("A KFA code has up to 20 digits and letters."))
        if line.dose is None:
            fail(key + "dose", N_("Give the dose, e.g. 1 or 0.5."))
        elif not 0 < line.dose <= 10000:
            fail(key + "dose", N_("The dose must be more than 0 and at most 10000."))
        if line.unit not in DOSE_UNITS:
            fail(key + "unit", N_("Choose the unit of the dose."))
        if line.frequency is None:
            fail(key + "frequency", N_("Give how many times a day, from 1 to 24."))
        elif not 1 <= line.frequency <= 24:
            fail(key + "frequency", N_("How many times a day must be from 1 to 24."))
        if line.days is None:
            fail(key + "days", N_("Give for how many days, from 1 to 365."))
        elif not 1 <= line.days <= 365:
            fail(key + "days", N_("The number of days must be from 1 to 365."))
        if line.route not in ROUTES:
            fail(key + "route", N_("Choose how the drug is given."))
        if len((line.notes or "").strip()) > PRESCRIPTION_NOTES_MAX:
            fail(key + "notes", N_("The instructions can have at most 300 characters."))


def _check_referral(referral: ReferralDraft, fail: Any) -> None:
    destination = " ".join((referral.destination or "").split())
    if not destination:
        fail(
            "referral_destination",
            N_("Write where the patient is referred to, e.g. RSUD Kabupaten Tangerang."),
        )
    elif len(destination) > DESTINATION_MAX:
        fail("referral_destination", N_("The destination can have at most 200 characters."))
    reason = (referral.reason or "").strip()
    if not reason:
        fail("referral_reason", N_("Write the reason for the referral."))
    elif len(reason) > REASON_MAX:
        fail("referral_reason", N_("The reason can have at most 1000 characters."))
    if referral.urgency not in URGENCIES:
        fail("referral_urgency", N_("Choose how urgent the referral is."))


def record(
    session: Session,
    actor: Actor,
    draft: VisitDraft,
    now: datetime,
    synonyms: Mapping[str, Sequence[str]] | None = None,
) -> Visit:
    """Record a visit by ``actor``, a clinician at the clinic's puskesmas.

    With a ticket, it must be this clinic's number, called (or served without a visit
    yet), and linked to this patient by the desk after checking the holder's KTP or KK
    (a NIK given with the number only suggests a patient); it is then marked served.
    The visit is flushed (it has an id) and audited.

    :raises PuskesmasError: 404 for an unknown clinic, patient or ticket; 403 without
        the clinician duty there; 422 with every field at fault.
    """
    clinic = session.get(Clinic, draft.clinic_id)
    if clinic is None:
        raise PuskesmasError(N_("There is no such clinic."), status=404)
    require_duty(actor, clinic.facility_id, "clinician")
    patient = session.get(Patient, draft.patient_id)
    if patient is None:
        raise PuskesmasError(NO_PATIENT, status=404)
    ticket = None
    if draft.ticket_id is not None:
        ticket = session.get(Ticket, draft.ticket_id)
        if ticket is None:
            raise PuskesmasError(N_("There is no such queue number."), status=404)
        _check_ticket(session, ticket, clinic, patient)

    errors, params = check(draft, synonyms)
    if errors:
        raise PuskesmasError(errors, params=params)
    if ticket is None and _just_recorded(session, draft, actor, now):
        raise PuskesmasError({"": JUST_RECORDED}, status=409)

    visit = Visit(
        patient_id=patient.id,
        facility_id=clinic.facility_id,
        clinic_id=clinic.id,
        ticket_id=ticket.id if ticket is not None else None,
        clinician_id=actor.user_id,
        clinician_name=_clinician_name(session, actor),
        started_at=(ticket.called_at if ticket is not None and ticket.called_at else now),
        ended_at=now,
        complaint=draft.complaint.strip(),
        notes=(draft.notes or "").strip(),
        created_at=now,
        **{name: getattr(draft, name) for name in VITALS},
    )
    codes = [icd10.normalise(c) for c in draft.diagnoses if c and c.strip()]
    for position, code in enumerate(codes):
        display = icd10.lookup(code) or ""
        visit.diagnoses.append(Diagnosis(code=code, display=display[:300], position=position))
    for position, line in enumerate(draft.prescriptions):
        assert line.dose is not None and line.frequency is not None and line.days is not None
        visit.prescriptions.append(
            Prescription(
                position=position,
                drug=" ".join(line.drug.split()),
                kfa_code=(line.kfa_code or "").strip(),
                dose=line.dose,
                unit=line.unit,
                frequency=line.frequency,
                days=line.days,
                route=line.route,
                notes=" ".join((line.notes or "").split()),
            )
        )
    if draft.referral is not None:
        visit.referral = Referral(
            destination=" ".join(draft.referral.destination.split()),
            reason=draft.referral.reason.strip(),
            urgency=draft.referral.urgency,
        )
    session.add(visit)
    if ticket is not None and ticket.status != "served":
        ticket.status = "served"
        ticket.finished_at = now
    session.flush()
    given = [name for name in VITALS if getattr(draft, name) is not None]
    audit(
        session,
        actor,
        "visit.create",
        now,
        patient_id=patient.id,
        facility_id=clinic.facility_id,
        detail=(
            f"visit {visit.id}; diagnoses: {len(codes)}; vitals: {', '.join(given) or 'none'}"
            + f"; drugs: {len(draft.prescriptions)}"
            + (f"; referral: {draft.referral.urgency}" if draft.referral is not None else "")
            + (f"; ticket {ticket.id}" if ticket is not None else "")
        ),
    )
    return visit


def recorded_visit(session: Session, ticket_id: int) -> Visit | None:
    """The visit already recorded for a queue number, if any."""
    return session.scalar(
        select(Visit).where(Visit.ticket_id == ticket_id).order_by(Visit.id).limit(1)
    )


JUST_RECORDED = N_(
    "This visit was recorded a moment ago (the form was probably sent twice): "
    "it is not recorded again."
)


def _just_recorded(session: Session, draft: VisitDraft, actor: Actor, now: datetime) -> bool:
    """The same clinician recorded the same complaint for this patient at this clinic in
    the last 10 minutes: a form sent twice, not a second visit."""
    return (
        session.scalar(
            select(Visit.id)
            .where(
                Visit.patient_id == draft.patient_id,
                Visit.clinic_id == draft.clinic_id,
                Visit.clinician_id == actor.user_id,
                Visit.complaint == draft.complaint.strip(),
                Visit.created_at >= now - timedelta(minutes=10),
            )
            .limit(1)
        )
        is not None
    )


def _check_ticket(session: Session, ticket: Ticket, clinic: Clinic, patient: Patient) -> None:
    if ticket.clinic_id != clinic.id:
        raise PuskesmasError({"": N_("This queue number is for another clinic.")})
    if ticket.status == "served":
        taken = session.scalar(select(Visit.id).where(Visit.ticket_id == ticket.id).limit(1))
        if taken is not None:
            raise PuskesmasError({"": N_("A visit is already recorded for this queue number.")})
    elif ticket.status != "called":
        raise PuskesmasError({"": N_("Call this queue number before recording the visit.")})
    if ticket.patient_id is None:
        raise PuskesmasError({"": IDENTITY_NOT_CONFIRMED})
    if ticket.patient_id != patient.id:
        raise PuskesmasError({"": N_("This queue number belongs to another patient.")})


def _clinician_name(session: Session, actor: Actor) -> str:
    """The account's name, else the name part of the audit label ("Name <e-mail>")."""
    if actor.user_id is not None:
        user = session.get(User, actor.user_id)
        if user is not None and user.name:
            return user.name[:200]
    return actor.label.split(" <", 1)[0][:200]


# -- reading -------------------------------------------------------------------------


def _ordered(statement: Any) -> Any:
    return statement.order_by(Visit.started_at.desc(), Visit.id.desc())


def _facilities(visits: list[Visit]) -> list[int]:
    return sorted({v.facility_id for v in visits})


def visits_of(
    session: Session,
    actor: Actor,
    patient_id: int,
    now: datetime,
    page: int = 1,
    per_page: int = 20,
) -> dict[str, Any]:
    """One page of a patient's visits that ``actor``'s duty lets them read, newest first.

    :returns: ``{"items", "page", "per_page", "total", "pages"}``.
    :raises PuskesmasError: 403 without any duty, 404 for an unknown patient.
    """
    if not actor.duties:
        raise PuskesmasError(NOT_ASSIGNED, status=403)
    if session.get(Patient, patient_id) is None:
        raise PuskesmasError(NO_PATIENT, status=404)
    statement = _ordered(
        select(Visit).where(Visit.patient_id == patient_id, readable_visits(actor))
    )
    found = paginate(statement, page, per_page, session=session)
    facilities = _facilities(found["items"])
    audit(
        session,
        actor,
        "visit.read",
        now,
        patient_id=patient_id,
        facility_id=facilities[0] if len(facilities) == 1 else None,
        detail=(
            f"shown: {len(found['items'])} of {found['total']}; "
            f"facilities: {', '.join(map(str, facilities)) or 'none'}"
        ),
    )
    return found


def patient_record(
    session: Session,
    vault: Vault,
    actor: Actor,
    patient_id: int,
    now: datetime,
    page: int = 1,
    per_page: int = 20,
) -> tuple[ShownPatient, dict[str, Any]]:
    """A patient's record with one page of the visits ``actor``'s duty lets them read,
    newest first, written to the audit trail as one ``patient.read`` entry that counts
    the visits shown.

    :returns: the patient and ``{"items", "page", "per_page", "total", "pages"}``.
    :raises PuskesmasError: 403 without any duty, 404 for an unknown patient.
    """
    patients.readable(session, actor, patient_id)
    statement = _ordered(
        select(Visit).where(Visit.patient_id == patient_id, readable_visits(actor))
    )
    found = paginate(statement, page, per_page, session=session)
    facilities = _facilities(found["items"])
    shown = patients.get(
        session,
        vault,
        actor,
        patient_id,
        now,
        detail=(
            f"visits shown: {len(found['items'])} of {found['total']}; "
            f"facilities: {', '.join(map(str, facilities)) or 'none'}"
        ),
    )
    return shown, found


def hidden_visits(session: Session, actor: Actor, patient_id: int) -> bool:
    """Whether the patient has visits ``actor`` may not read (at another puskesmas)."""
    statement = select(Visit.id).where(Visit.patient_id == patient_id, not_(readable_visits(actor)))
    return session.scalar(statement.limit(1)) is not None


def get_visit(session: Session, actor: Actor, visit_id: int, now: datetime) -> Visit:
    """One visit, if ``actor``'s duty lets them read it; the read is audited.

    :raises PuskesmasError: 404 for an unknown visit, 403 when the duty does not allow.
    """
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise PuskesmasError(NO_VISIT, status=404)
    if not actor.duties:
        raise PuskesmasError(NOT_ASSIGNED, status=403)
    if not can_read_visits_at(actor, visit.facility_id):
        raise PuskesmasError(
            N_("Visits at this puskesmas are not open to your duty under the region's policy."),
            status=403,
        )
    audit(
        session,
        actor,
        "visit.read",
        now,
        patient_id=visit.patient_id,
        facility_id=visit.facility_id,
        detail=f"visit {visit.id}; shown: 1; facilities: {visit.facility_id}",
    )
    return visit


def own_visits(
    session: Session,
    actor: Actor,
    user_id: int,
    now: datetime,
    page: int = 1,
    per_page: int = 20,
) -> dict[str, Any]:
    """One page of the visits of the patients linked to the citizen's account.

    The page is one audit entry ``visit.read_own``: it names the patient whose visits
    are shown, or, for an account linked to several (a parent and children), lists
    their ids in its detail.

    :raises PuskesmasError: 403 when ``actor`` is not that citizen.
    """
    if actor.user_id is None or actor.user_id != user_id:
        raise PuskesmasError(N_("You can only see your own visits."), status=403)
    statement = _ordered(
        select(Visit)
        .join(Patient, Patient.id == Visit.patient_id)
        .where(Patient.user_id == user_id)
    )
    found = paginate(statement, page, per_page, session=session)
    shown = sorted({visit.patient_id for visit in found["items"]})
    if shown:
        facilities = _facilities(found["items"])
        audit(
            session,
            actor,
            "visit.read_own",
            now,
            patient_id=shown[0] if len(shown) == 1 else None,
            facility_id=facilities[0] if len(facilities) == 1 else None,
            detail=(
                f"shown: {len(found['items'])}; facilities: {', '.join(map(str, facilities))}"
                + (f"; patients: {', '.join(map(str, shown))}" if len(shown) > 1 else "")
            ),
        )
    return found
