"""A visit as a FHIR R4 transaction Bundle shaped for SATUSEHAT (no Flask here).

The Bundle holds the ``Encounter``, one ``Observation`` per vital sign measured, one
``Condition`` per ICD-10 diagnosis, a ``Medication`` and its ``MedicationRequest`` per
drug prescribed, and a ``ServiceRequest`` for a referral. Entries refer to each other by their
``urn:uuid:`` ``fullUrl``, as a transaction allows; resources known to SATUSEHAT
already are referred to by their SATUSEHAT id: the patient as ``Patient/<IHS
number>`` (SATUSEHAT's own number for the person, which the sender looked up by the
NIK: :mod:`balai_puskesmas.export`), the puskesmas's ``Organization``, the clinic's
``Location`` and the clinician's ``Practitioner`` by the ids the region entered.
SATUSEHAT refuses a reference by name alone, so a visit without them is not built
(:mod:`balai_puskesmas.readiness` holds it first). No ``Patient`` is created: SATUSEHAT
holds every resident already (from the civil registry).

**Shapes.**

- ``Encounter``: ``finished``, class ``AMB`` (ambulatory, v3-ActCode), the period from
  arrival to the end, and the status history SATUSEHAT's outpatient examples carry:
  ``arrived`` (from the arrival to the call), ``in-progress`` (from the call to the
  end) and ``finished`` (at the end); the caller takes the times from the queue
  ticket where there is one (an unknown arrival is the call: ``arrived`` then lasts
  no time). The attending clinician (``ATND``), the clinic as location, the
  puskesmas as service provider, and its diagnoses (role ``DD``, ranked). Its
  identifier is the visit id under ``http://sys-ids.kemkes.go.id/encounter/<org id>``
  (SATUSEHAT's convention).
- ``Observation``: profile-conformant with the FHIR R4 vital signs profiles (``bp``,
  ``heartrate``, ``resprate``, ``bodytemp``, ``bodyweight``, ``bodyheight``,
  ``oxygensat``): LOINC codes, UCUM quantities, category ``vital-signs``.
- ``Condition``: ``active``, category ``encounter-diagnosis``, the ICD-10 code.
- ``Medication`` (SATUSEHAT's Medication profile, type ``NC``: non-compound): the drug
  by name, with its KFA code when the clinician gave one; referred to by its
  ``MedicationRequest``: ``active``, intent ``order``, category ``outpatient``, the
  structured dose (``doseQuantity``), ``timing`` (times a day, for so many days), the
  route (WHO ATC administration routes where one fits, else text), the expected supply
  duration, and the primary diagnosis as reason. Identifiers follow SATUSEHAT's
  ``medication``, ``prescription`` and ``prescription-item`` systems.
- ``ServiceRequest``: a referral: ``active``, intent ``order``, category *Patient
  referral* (SNOMED CT 3457005), priority from the urgency, the destination as the
  requested location (text: other facilities have no id here), the reason as text and
  the primary diagnosis as reason reference.

Every clinical entry has an identifier and is a conditional create on it, so a
bundle sent twice (an answer lost on the network) does not record the visit twice.

**Data minimisation.** Only what SATUSEHAT needs to file the visit under the right
person is sent: the IHS number and, as the reference's ``display``, the name. The NIK
leaves the region only in the sender's Patient search, never in a bundle; the phone
number, the BPJS number, the address, the sex and the date of birth stay in the region
(SATUSEHAT knows them from the civil registry), and so do the complaint and the
clinician's free-text notes, which are not coded and may name other people. A
prescription's instructions ("after meals") and a referral's reason are sent: the
pharmacy and the receiving facility need them.

Every resource and the Bundle are checked with the ``fhir.resources`` R4B models
(content-identical to R4 for these resources) before they are returned; the tests
also check them against the official R4 JSON Schema.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from balai_puskesmas.models import (
        Clinic,
        Diagnosis,
        Facility,
        Patient,
        Prescription,
        Referral,
        Staff,
        Visit,
    )

__all__ = [
    "CONDITION_CATEGORY",
    "CONDITION_CLINICAL",
    "ICD10",
    "LOINC",
    "NIK_SYSTEM",
    "OBSERVATION_CATEGORY",
    "UCUM",
    "VITALS",
    "FhirError",
    "Vital",
    "bundle_for",
    "is_id",
    "resource_types",
    "validate",
]

NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"
SYS_IDS = "http://sys-ids.kemkes.go.id"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
DIAGNOSIS_ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
PROFILE = "http://hl7.org/fhir/StructureDefinition/"
KEMKES_PROFILE = "https://fhir.kemkes.go.id/r4/StructureDefinition/"
MEDICATION_TYPE = "http://terminology.kemkes.go.id/CodeSystem/medication-type"
KFA = "http://sys-ids.kemkes.go.id/kfa"
ORDERABLE_DRUG_FORM = "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm"
DOSE_RATE_TYPE = "http://terminology.hl7.org/CodeSystem/dose-rate-type"
MEDICATION_REQUEST_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
ATC = "http://www.whocc.no/atc"
SNOMED = "http://snomed.info/sct"
#: A dose unit of the visit form → (system, code, unit shown) of its ``doseQuantity``.
DOSE_UNITS: dict[str, tuple[str | None, str | None, str]] = {
    "tablet": (ORDERABLE_DRUG_FORM, "TAB", "tablet"),
    "capsule": (ORDERABLE_DRUG_FORM, "CAP", "capsule"),
    "ml": (UCUM, "mL", "mL"),
    "mg": (UCUM, "mg", "mg"),
    "drop": (UCUM, "[drp]", "drop"),
    "sachet": (None, None, "sachet"),
    "puff": (None, None, "puff"),
    "application": (None, None, "application"),
}
#: A route of the visit form → its WHO ATC administration route (code, display), or
#: ``None`` (sent as text: ATC has no route for it), and the text.
ROUTES: dict[str, tuple[tuple[str, str] | None, str]] = {
    "oral": (("O", "Oral"), "Oral"),
    "sublingual": (("SL", "Sublingual/buccal/oromucosal"), "Sublingual"),
    "topical": (None, "Topical"),
    "eye": (("Instill", "Instillation"), "Eye"),
    "ear": (("Instill", "Instillation"), "Ear"),
    "nasal": (("N", "Nasal"), "Nasal"),
    "inhalation": (("Inhal", "Inhalation"), "Inhalation"),
    "rectal": (("R", "Rectal"), "Rectal"),
    "vaginal": (("V", "Vaginal"), "Vaginal"),
    "intramuscular": (("P", "Parenteral"), "Intramuscular"),
    "intravenous": (("P", "Parenteral"), "Intravenous"),
    "subcutaneous": (("P", "Parenteral"), "Subcutaneous"),
}
#: How urgent a referral is → the FHIR request priority it is sent as.
PRIORITIES = {"routine": "routine", "urgent": "urgent", "asap": "asap", "stat": "stat"}
PATIENT_REFERRAL = ("3457005", "Patient referral")
REFERRAL_TO_SERVICE = ("306206005", "Referral to service")

#: A FHIR ``id`` (also the id part of a literal reference such as ``Practitioner/N1``).
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
#: A FHIR ``code``: no leading, trailing or double whitespace.
_FHIR_CODE = re.compile(r"[^\s]+( [^\s]+)*")


class FhirError(ValueError):
    """The visit cannot be expressed as valid FHIR R4.

    The message names the resource and the element at fault, never a value, so it may
    be stored and shown to an admin without revealing personal data.
    """


@dataclass(frozen=True, slots=True)
class Vital:
    """One vital sign of a visit: the :class:`~balai_puskesmas.models.Visit` attribute,
    the R4 vital signs profile, its LOINC code and the UCUM unit."""

    attribute: str
    key: str
    profile: str
    loinc: str
    display: str
    ucum: str
    unit: str
    extra_codings: tuple[tuple[str, str], ...] = ()


#: The vital signs sent, in the order of the bundle (blood pressure is handled apart:
#: one panel with a systolic and a diastolic component).
VITALS: tuple[Vital, ...] = (
    Vital("heart_rate", "heart-rate", "heartrate", "8867-4", "Heart rate", "/min", "beats/minute"),
    Vital(
        "respiratory_rate",
        "respiratory-rate",
        "resprate",
        "9279-1",
        "Respiratory rate",
        "/min",
        "breaths/minute",
    ),
    Vital("temperature", "body-temperature", "bodytemp", "8310-5", "Body temperature", "Cel", "C"),
    Vital("weight", "body-weight", "bodyweight", "29463-7", "Body weight", "kg", "kg"),
    Vital("height", "body-height", "bodyheight", "8302-2", "Body height", "cm", "cm"),
    Vital(
        "oxygen_saturation",
        "oxygen-saturation",
        "oxygensat",
        "2708-6",
        "Oxygen saturation in Arterial blood",
        "%",
        "%",
        (("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),),
    ),
)
BLOOD_PRESSURE = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("systolic", "8480-6", "Systolic blood pressure")
DIASTOLIC = ("diastolic", "8462-4", "Diastolic blood pressure")
MM_HG = ("mm[Hg]", "mmHg")


def bundle_for(
    visit: Visit,
    *,
    ihs: str,
    facility: Facility,
    clinic: Clinic,
    clinician: Staff | None = None,
    patient: Patient | None = None,
    diagnoses: Sequence[Diagnosis] | None = None,
    arrived_at: datetime | None = None,
    served_at: datetime | None = None,
    prescriptions: Sequence[Prescription] | None = None,
    referral: Any = Ellipsis,
) -> dict[str, Any]:
    """The FHIR R4 transaction Bundle of ``visit``, as JSON-ready data.

    :param visit: the visit.
    :param ihs: the patient's IHS number (SATUSEHAT's Patient id), opened by the
        caller with the region's vault.
    :param facility: the puskesmas of the visit (its SATUSEHAT Organization id).
    :param clinic: the clinic of the visit (its SATUSEHAT Location id).
    :param clinician: the clinician's assignment at the puskesmas (their SATUSEHAT
        Practitioner id).
    :param patient: the visit's patient (default: ``visit.patient``).
    :param diagnoses: its diagnoses, primary first (default: ``visit.diagnoses``).
    :param arrived_at: when the patient arrived (their queue number taken at the
        puskesmas), if known; it must not be after ``visit.started_at`` (the call).
    :param served_at: when the encounter ended (the number marked served), if known;
        otherwise ``visit.ended_at``, or when the visit was recorded.
    :param prescriptions: its drugs, in order (default: ``visit.prescriptions``).
    :param referral: its :class:`Referral`, or ``None`` (default: ``visit.referral``).
    :raises FhirError: a value cannot be sent as valid FHIR R4, or a SATUSEHAT id is
        not set (the message names the element, not the value).
    """
    builder = _Builder(
        visit,
        ihs,
        facility,
        clinic,
        clinician,
        patient if patient is not None else visit.patient,
        list(diagnoses if diagnoses is not None else visit.diagnoses),
        arrived_at,
        served_at,
        list(prescriptions if prescriptions is not None else getattr(visit, "prescriptions", [])),
        getattr(visit, "referral", None) if referral is Ellipsis else referral,
    )
    bundle = builder.build()
    validate(bundle)
    return bundle


def is_id(value: str) -> bool:
    """Whether ``value`` is a FHIR ``id`` (a resource id such as an IHS number)."""
    return bool(_FHIR_ID.fullmatch(value))


def resource_types(bundle: dict[str, Any]) -> list[tuple[str, int]]:
    """The resource types in ``bundle`` with their number, in order of appearance."""
    counts: dict[str, int] = {}
    for entry in bundle.get("entry") or []:
        kind = str((entry.get("resource") or {}).get("resourceType", "?"))
        counts[kind] = counts.get(kind, 0) + 1
    return list(counts.items())


def validate(bundle: dict[str, Any]) -> None:
    """Check each entry's resource and the Bundle with the ``fhir.resources`` models.

    :raises FhirError: naming the resource and element at fault (values left out).
    """
    from fhir.resources.R4B import get_fhir_model_class  # slow import: only when used
    from pydantic import ValidationError

    def check(resource: dict[str, Any], where: str) -> None:
        kind = resource.get("resourceType")
        try:
            model = get_fhir_model_class(str(kind))
        except (KeyError, ValueError) as exc:
            raise FhirError(f"{where}: unknown resource type") from exc
        try:
            model.model_validate(resource)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or kind}: {error['msg']}"
                for error in exc.errors(include_input=False, include_url=False)[:5]
            )
            raise FhirError(f"{where} ({kind}) is not valid FHIR R4: {problems}") from None

    if bundle.get("resourceType") != "Bundle":
        raise FhirError("not a Bundle")
    seen: set[str] = set()
    for index, entry in enumerate(bundle.get("entry") or []):
        full_url = entry.get("fullUrl")
        if full_url in seen:
            raise FhirError(f"entry {index}: fullUrl used twice")
        seen.add(full_url)
        check(entry.get("resource") or {}, f"entry {index}")
        _check_codes(entry.get("resource") or {}, f"entry {index}")
    check(bundle, "the bundle")
    _check_references(bundle)


#: Codes of required bindings that neither the models nor the R4 JSON Schema check, for
#: the resources built here: resource type → element → the value set's codes.
_REQUIRED_CODES: dict[str, dict[str, frozenset[str]]] = {
    "Medication": {"status": frozenset({"active", "inactive", "entered-in-error"})},
    "MedicationRequest": {
        "status": frozenset(
            {
                "active",
                "on-hold",
                "cancelled",
                "completed",
                "entered-in-error",
                "stopped",
                "draft",
                "unknown",
            }
        ),
        "intent": frozenset(
            {
                "proposal",
                "plan",
                "order",
                "original-order",
                "reflex-order",
                "filler-order",
                "instance-order",
                "option",
            }
        ),
        "priority": frozenset({"routine", "urgent", "asap", "stat"}),
    },
    "ServiceRequest": {
        "status": frozenset(
            {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
        ),
        "intent": frozenset(
            {
                "proposal",
                "plan",
                "directive",
                "order",
                "original-order",
                "reflex-order",
                "filler-order",
                "instance-order",
                "option",
            }
        ),
        "priority": frozenset({"routine", "urgent", "asap", "stat"}),
    },
}


def _check_codes(resource: dict[str, Any], where: str) -> None:
    kind = str(resource.get("resourceType"))
    for element, codes in _REQUIRED_CODES.get(kind, {}).items():
        if element in resource and resource[element] not in codes:
            raise FhirError(
                f"{where} ({kind}) is not valid FHIR R4: {element}: not a code of its value set"
            )


def _check_references(bundle: dict[str, Any]) -> None:
    """Every ``urn:uuid:`` reference must name an entry of the bundle."""
    full_urls = {entry.get("fullUrl") for entry in bundle.get("entry") or []}
    for index, entry in enumerate(bundle.get("entry") or []):
        for reference in _references(entry.get("resource")):
            if reference.startswith("urn:") and reference not in full_urls:
                raise FhirError(f"entry {index}: a reference names no entry of the bundle")


def _references(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


# -- building ------------------------------------------------------------------------


def _date_time(moment: datetime, what: str) -> str:
    """A FHIR ``dateTime`` with an offset (times are stored in UTC), to the second."""
    if moment.tzinfo is None:
        raise FhirError(f"{what}: a time without a time zone")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _text(value: str | None) -> str | None:
    """A FHIR ``string`` (never empty), or ``None``."""
    cleaned = " ".join((value or "").split())
    return cleaned or None


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(*codings: dict[str, str], text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": list(codings)} if codings else {}
    if text:
        concept["text"] = text
    return concept


def _satusehat_id(value: str | None, what: str) -> str:
    """A SATUSEHAT id entered by the region, checked as a FHIR id.

    :raises FhirError: it is not set (SATUSEHAT refuses a reference by name alone), or
        it is not a FHIR id.
    """
    cleaned = (value or "").strip()
    if not cleaned:
        raise FhirError(f"the {what} is not set: SATUSEHAT refuses a reference by name alone")
    if not _FHIR_ID.fullmatch(cleaned):
        raise FhirError(f"the {what} is not a FHIR id (letters, digits, '-' and '.', at most 64)")
    return cleaned


def _reference(kind: str, satusehat_id: str, name: str | None) -> dict[str, str]:
    """A reference to a resource SATUSEHAT holds, by its id, with its name."""
    reference = {"reference": f"{kind}/{satusehat_id}"}
    display = _text(name)
    if display:
        reference["display"] = display
    return reference


def _number(value: float | int) -> str:
    """A dose as written: ``1``, ``0.5``."""
    return f"{value:g}"


def _quantity(value: float | int, code: str, unit: str, what: str) -> dict[str, Any]:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FhirError(f"{what}: not a finite number")
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


class _Builder:
    """Builds one bundle; ``fullUrl`` values are fresh ``urn:uuid`` ones each time."""

    def __init__(
        self,
        visit: Visit,
        ihs: str,
        facility: Facility,
        clinic: Clinic,
        clinician: Staff | None,
        patient: Patient,
        diagnoses: list[Diagnosis],
        arrived_at: datetime | None = None,
        served_at: datetime | None = None,
        prescriptions: list[Prescription] | None = None,
        referral: Referral | None = None,
    ) -> None:
        self.prescriptions = prescriptions or []
        self.referral = referral
        self.ihs = _satusehat_id(ihs, "patient's IHS number")
        self.visit = visit
        self.person = patient
        self.diagnoses = diagnoses
        self.facility = facility
        self.clinic = clinic
        self.org_id = _satusehat_id(facility.satusehat_org_id, "puskesmas's Organization id")
        self.location_id = _satusehat_id(clinic.satusehat_location_id, "clinic's Location id")
        self.practitioner_id = _satusehat_id(
            clinician.nakes_id if clinician is not None else None,
            "clinician's Practitioner (nakes) id",
        )
        self.entries: list[dict[str, Any]] = []
        started = visit.started_at
        self.started = _date_time(started, "Encounter.statusHistory (in-progress)")
        arrived = arrived_at if arrived_at is not None else started
        self.arrived = _date_time(arrived, "Encounter.period.start")
        if arrived > started:
            raise FhirError("Encounter.statusHistory (arrived): the arrival is after the call")
        ended = served_at if served_at is not None and served_at >= started else visit.ended_at
        if ended is None or ended < started:
            # Recorded as one record: the encounter was over when it was written.
            ended = max(visit.created_at or started, started)
        self.ended = _date_time(ended, "Encounter.period.end")

    # identifiers --------------------------------------------------------------------

    def system(self, kind: str) -> str:
        """SATUSEHAT's identifier system of ``kind`` for this puskesmas."""
        return f"{SYS_IDS}/{kind}/{self.org_id}"

    def add(self, resource: dict[str, Any], *, if_none_exist: str | None = None) -> str:
        full_url = f"urn:uuid:{uuid.uuid4()}"
        request: dict[str, str] = {"method": "POST", "url": resource["resourceType"]}
        if if_none_exist:
            request["ifNoneExist"] = if_none_exist
        self.entries.append({"fullUrl": full_url, "resource": resource, "request": request})
        return full_url

    def add_identified(
        self,
        resource: dict[str, Any],
        kind: str,
        value: str,
        *,
        also: tuple[str, str] | None = None,
    ) -> str:
        """Add ``resource`` with its identifier of ``kind``, created only if none has it;
        ``also`` is a further identifier (kind, value), such as the prescription a
        prescription item belongs to."""
        system = self.system(kind)
        resource["identifier"] = [{"system": system, "value": value}]
        if also is not None:
            resource["identifier"].insert(0, {"system": self.system(also[0]), "value": also[1]})
        return self.add(resource, if_none_exist=f"identifier={system}|{value}")

    # references ---------------------------------------------------------------------

    def clinician(self) -> dict[str, str]:
        return _reference("Practitioner", self.practitioner_id, self.visit.clinician_name)

    # resources ----------------------------------------------------------------------

    def build(self) -> dict[str, Any]:
        patient = f"Patient/{self.ihs}"
        encounter, encounter_resource = self.encounter(patient)
        self.vital_signs(patient, encounter)
        diagnoses = self.conditions(patient, encounter)
        if diagnoses:
            encounter_resource["diagnosis"] = diagnoses
        primary = diagnoses[0]["condition"]["reference"] if diagnoses else None
        self.medication_requests(patient, encounter, primary)
        if self.referral is not None:
            self.service_request(patient, encounter, primary)
        return {"resourceType": "Bundle", "type": "transaction", "entry": self.entries}

    def recorded(self, what: str) -> str:
        return _date_time(self.visit.created_at or self.visit.started_at, what)

    def subject(self) -> dict[str, str]:
        return _reference("Patient", self.ihs, self.person.name)

    def medication_requests(self, patient: str, encounter: str, primary: str | None) -> None:
        authored = self.recorded("MedicationRequest.authoredOn")
        visit_id = str(self.visit.id)
        for number, line in enumerate(
            sorted(self.prescriptions, key=lambda p: (p.position, p.id or 0)), start=1
        ):
            where = f"drug {number}"
            drug = _text(line.drug)
            if drug is None:
                raise FhirError(f"Medication.code of {where}: no name")
            if line.unit not in DOSE_UNITS or line.route not in ROUTES:
                raise FhirError(
                    f"MedicationRequest.dosageInstruction of {where}: unknown unit or route"
                )
            for value, what in ((line.frequency, "frequency"), (line.days, "days")):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise FhirError(
                        f"MedicationRequest.dosageInstruction ({what}) of {where}: "
                        "not a positive whole number"
                    )
            code = _concept(text=drug)
            kfa = (line.kfa_code or "").strip()
            if kfa:
                code = _concept(_coding(KFA, kfa, drug), text=drug)
            medication: dict[str, Any] = {
                "resourceType": "Medication",
                "meta": {"profile": [f"{KEMKES_PROFILE}Medication"]},
                "code": code,
                "status": "active",
                "extension": [
                    {
                        "url": f"{KEMKES_PROFILE}MedicationType",
                        "valueCodeableConcept": _concept(
                            _coding(MEDICATION_TYPE, "NC", "Non-compound")
                        ),
                    }
                ],
            }
            item = f"{visit_id}-{number}"
            medication_url = self.add_identified(medication, "medication", item)
            system, unit_code, unit = DOSE_UNITS[line.unit]
            dose = _quantity(line.dose, unit_code or "", unit, f"doseQuantity of {where}")
            if system is None:
                dose = {"value": dose["value"], "unit": unit}
            else:
                dose["system"] = system
            atc, route_text = ROUTES[line.route]
            route = (
                _concept(_coding(ATC, atc[0], atc[1]), text=route_text)
                if atc is not None
                else {"text": route_text}
            )
            days = {"value": line.days, "unit": "days", "system": UCUM, "code": "d"}
            text = (
                f"{line.frequency} x {_number(line.dose)} {unit} a day "
                f"for {line.days} days, {route_text.lower()}"
            )
            dosage: dict[str, Any] = {
                "sequence": 1,
                "text": text,
                "timing": {
                    "repeat": {
                        "boundsDuration": days,
                        "frequency": line.frequency,
                        "period": 1,
                        "periodUnit": "d",
                    }
                },
                "route": route,
                "doseAndRate": [
                    {
                        "type": _concept(_coding(DOSE_RATE_TYPE, "ordered", "Ordered")),
                        "doseQuantity": dose,
                    }
                ],
            }
            instructions = _text(line.notes)
            if instructions:
                dosage["patientInstruction"] = instructions
            resource: dict[str, Any] = {
                "resourceType": "MedicationRequest",
                "status": "active",
                "intent": "order",
                "category": [
                    _concept(_coding(MEDICATION_REQUEST_CATEGORY, "outpatient", "Outpatient"))
                ],
                "priority": "routine",
                "medicationReference": {"reference": medication_url, "display": drug},
                "subject": self.subject(),
                "encounter": {"reference": encounter},
                "authoredOn": authored,
                "requester": self.clinician(),
                "dosageInstruction": [dosage],
                "dispenseRequest": {
                    "expectedSupplyDuration": days,
                    "performer": _reference("Organization", self.org_id, self.facility.name),
                },
            }
            if primary is not None:
                resource["reasonReference"] = [{"reference": primary}]
            self.add_identified(
                resource, "prescription-item", item, also=("prescription", visit_id)
            )

    def service_request(self, patient: str, encounter: str, primary: str | None) -> None:
        referral = self.referral
        assert referral is not None
        destination = _text(referral.destination)
        reason = _text(referral.reason)
        priority = PRIORITIES.get(referral.urgency)
        if destination is None or reason is None or priority is None:
            raise FhirError("ServiceRequest of the referral: no destination, reason or urgency")
        resource: dict[str, Any] = {
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "category": [_concept(_coding(SNOMED, *PATIENT_REFERRAL))],
            "priority": priority,
            "code": _concept(
                _coding(SNOMED, *REFERRAL_TO_SERVICE), text=f"Referral to {destination}"
            ),
            "subject": self.subject(),
            "encounter": {"reference": encounter},
            "authoredOn": self.recorded("ServiceRequest.authoredOn"),
            "requester": self.clinician(),
            "locationCode": [{"text": destination}],
            "reasonCode": [{"text": reason}],
        }
        if primary is not None:
            resource["reasonReference"] = [{"reference": primary}]
        self.add_identified(resource, "servicerequest", f"{self.visit.id}-referral")

    def encounter(self, patient: str) -> tuple[str, dict[str, Any]]:
        resource: dict[str, Any] = {
            "resourceType": "Encounter",
            "status": "finished",
            "statusHistory": [
                {"status": "arrived", "period": {"start": self.arrived, "end": self.started}},
                {"status": "in-progress", "period": {"start": self.started, "end": self.ended}},
                {"status": "finished", "period": {"start": self.ended, "end": self.ended}},
            ],
            "class": _coding(ACT_CODE, "AMB", "ambulatory"),
            "subject": _reference("Patient", self.ihs, self.person.name),
            "period": {"start": self.arrived, "end": self.ended},
        }
        resource["participant"] = [
            {
                "type": [_concept(_coding(PARTICIPATION_TYPE, "ATND", "attender"))],
                "individual": self.clinician(),
            }
        ]
        resource["location"] = [
            {"location": _reference("Location", self.location_id, self.clinic.name)}
        ]
        resource["serviceProvider"] = _reference("Organization", self.org_id, self.facility.name)
        url = self.add_identified(resource, "encounter", str(self.visit.id))
        return url, resource

    def vital_signs(self, patient: str, encounter: str) -> None:
        visit = self.visit
        if visit.systolic is not None or visit.diastolic is not None:
            components = []
            for attribute, loinc, display in (SYSTOLIC, DIASTOLIC):
                component: dict[str, Any] = {"code": _concept(_coding(LOINC, loinc, display))}
                value = getattr(visit, attribute)
                if value is None:  # one of the two was not measured
                    component["dataAbsentReason"] = _concept(
                        _coding(DATA_ABSENT, "not-performed", "Not Performed")
                    )
                else:
                    component["valueQuantity"] = _quantity(
                        value, *MM_HG, f"Observation.component ({attribute})"
                    )
                components.append(component)
            resource = self.observation("bp", patient, encounter, *BLOOD_PRESSURE, ())
            resource["component"] = components
            self.add_identified(resource, "observation", f"{visit.id}-blood-pressure")
        for vital in VITALS:
            value = getattr(visit, vital.attribute)
            if value is None:
                continue
            resource = self.observation(
                vital.profile,
                patient,
                encounter,
                vital.loinc,
                vital.display,
                vital.extra_codings,
            )
            resource["valueQuantity"] = _quantity(
                value, vital.ucum, vital.unit, f"Observation.valueQuantity ({vital.key})"
            )
            self.add_identified(resource, "observation", f"{visit.id}-{vital.key}")

    def observation(
        self,
        profile: str,
        patient: str,
        encounter: str,
        loinc: str,
        display: str,
        extra_codings: Sequence[tuple[str, str]],
    ) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "meta": {"profile": [f"{PROFILE}{profile}"]},
            "status": "final",
            "category": [
                _concept(
                    _coding(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs"),
                    text="Vital Signs",
                )
            ],
            "code": _concept(
                _coding(LOINC, loinc, display),
                *(_coding(LOINC, code, text) for code, text in extra_codings),
                text=display,
            ),
            "subject": {"reference": patient},
            "encounter": {"reference": encounter},
            "effectiveDateTime": self.started,
            "performer": [self.clinician()],
        }
        return resource

    def conditions(self, patient: str, encounter: str) -> list[dict[str, Any]]:
        diagnoses = []
        recorded = _date_time(
            self.visit.created_at or self.visit.started_at, "Condition.recordedDate"
        )
        for rank, diagnosis in enumerate(
            sorted(self.diagnoses, key=lambda d: (d.position, d.id or 0)), start=1
        ):
            code = (diagnosis.code or "").strip()
            if not _FHIR_CODE.fullmatch(code):
                raise FhirError(f"Condition.code of diagnosis {rank}: not a code")
            display = _text(diagnosis.display)
            resource: dict[str, Any] = {
                "resourceType": "Condition",
                "clinicalStatus": _concept(_coding(CONDITION_CLINICAL, "active", "Active")),
                "category": [
                    _concept(
                        _coding(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")
                    )
                ],
                "code": _concept(_coding(ICD10, code, display), text=display),
                "subject": {"reference": patient},
                "encounter": {"reference": encounter},
                "recordedDate": recorded,
                "recorder": self.clinician(),
            }
            key = diagnosis.id if diagnosis.id is not None else f"rank-{rank}"
            url = self.add_identified(resource, "condition", f"{self.visit.id}-{key}")
            diagnoses.append(
                {
                    "condition": {"reference": url},
                    "use": _concept(_coding(DIAGNOSIS_ROLE, "DD", "Discharge diagnosis")),
                    "rank": rank,
                }
            )
        return diagnoses
