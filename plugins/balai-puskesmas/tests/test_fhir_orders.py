"""A visit's prescription and referral in the SATUSEHAT bundle: Medication and
MedicationRequest per drug, a ServiceRequest for the referral; valid against the R4
JSON Schema and the ``fhir.resources`` models, and accepted by the fake SATUSEHAT."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import update

from balai_puskesmas import export, fhir
from balai_puskesmas.models import Clinic, Facility, Prescription, Referral, Staff

from .conftest import IHS
from .fake_satusehat import _by_name_only, add_visit, fhir_errors

ORG_ID = "100011961"
LOCATION_ID = "b017aa54-f1df-4ec2-9d84-8823815d7228"
NAKES_ID = "10009880728"


@pytest.fixture
def visit(client, login, assign, db_session, facility, clinic, add_patient, looked_up):
    db_session.execute(
        update(Facility).where(Facility.id == facility.id).values(satusehat_org_id=ORG_ID)
    )
    db_session.execute(
        update(Clinic).where(Clinic.id == clinic.id).values(satusehat_location_id=LOCATION_ID)
    )
    db_session.commit()
    doctor = login(client, role="opd")
    staff = assign(doctor, facility, "clinician")
    db_session.execute(update(Staff).where(Staff.id == staff.id).values(nakes_id=NAKES_ID))
    db_session.commit()
    patient = looked_up(add_patient())
    visit = add_visit(db_session, patient, clinic, clinician_id=doctor.id)
    db_session.add_all(
        [
            Prescription(
                visit_id=visit.id,
                position=0,
                drug="Paracetamol 500 mg tablet",
                kfa_code="",
                dose=1,
                unit="tablet",
                frequency=3,
                days=3,
                route="oral",
                notes="bila demam",
            ),
            Prescription(
                visit_id=visit.id,
                position=1,
                drug="Salep Gentamicin 0,1%",
                kfa_code="93001019",
                dose=1,
                unit="application",
                frequency=2,
                days=7,
                route="topical",
                notes="",
            ),
            Referral(
                visit_id=visit.id,
                destination="RSUD Kabupaten Tangerang",
                reason="Hipertensi tidak terkontrol",
                urgency="urgent",
            ),
        ]
    )
    db_session.commit()
    return visit


@pytest.fixture
def bundle(db_session, vault, visit, audited):
    return export.build_bundle(db_session, vault, visit, audited)


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def entry_of(bundle: dict[str, Any], reference: str) -> dict[str, Any]:
    (found,) = [e["resource"] for e in bundle["entry"] if e["fullUrl"] == reference]
    return found


def test_the_bundle_holds_the_prescription_and_the_referral(bundle):
    assert fhir.resource_types(bundle) == [
        ("Encounter", 1),
        ("Observation", 7),
        ("Condition", 2),
        ("Medication", 2),
        ("MedicationRequest", 2),
        ("ServiceRequest", 1),
    ]


def test_the_bundle_and_every_new_resource_are_valid_fhir_r4(bundle):
    assert fhir_errors(bundle) == []
    for kind in ("Medication", "MedicationRequest", "ServiceRequest"):
        for resource in resources(bundle, kind):
            assert fhir_errors(resource) == [], kind


def test_the_bundle_parses_with_the_fhir_resources_models(bundle):
    from fhir.resources.R4B import get_fhir_model_class

    get_fhir_model_class("Bundle").model_validate(bundle)
    for kind in ("Medication", "MedicationRequest", "ServiceRequest"):
        for resource in resources(bundle, kind):
            model = get_fhir_model_class(kind).model_validate(resource)
            again = json.loads(model.model_dump_json(by_alias=True, exclude_none=True))
            assert again == json.loads(json.dumps(resource).replace("+00:00", "Z")), kind


def repeat_of(resource: dict[str, Any]) -> dict[str, Any]:
    return resource["dosageInstruction"][0]["timing"]["repeat"]


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("MedicationRequest", lambda r: r.update(dose="1 tablet")),
        ("MedicationRequest", lambda r: repeat_of(r).update(frequency="three")),
        ("Medication", lambda r: r.update(code="Paracetamol")),
        ("ServiceRequest", lambda r: r.update(reasonCode="Hipertensi")),
    ],
)
def test_the_models_check_refuses_a_broken_order(bundle, kind, change):
    broken = copy.deepcopy(bundle)
    change(resources(broken, kind)[0])
    with pytest.raises(fhir.FhirError, match=kind):
        fhir.validate(broken)


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("MedicationRequest", lambda r: r.update(intent="wish")),
        ("MedicationRequest", lambda r: r.update(priority="whenever")),
        ("Medication", lambda r: r.update(status="fresh")),
        ("ServiceRequest", lambda r: r.update(status="pending")),
    ],
)
def test_a_code_out_of_its_required_value_set_is_refused(bundle, kind, change):
    """The models and the R4 JSON Schema leave these codes unchecked: ``fhir.validate``
    checks the required bindings of the order resources itself."""
    broken = copy.deepcopy(bundle)
    change(resources(broken, kind)[0])
    with pytest.raises(fhir.FhirError, match=f"{kind}.*value set"):
        fhir.validate(broken)


def test_the_schema_check_covers_the_timing(bundle):
    broken = copy.deepcopy(bundle)
    repeat_of(resources(broken, "MedicationRequest")[0]).update(periodUnit="fortnight")
    assert fhir_errors(broken)


def test_a_medication_request_per_drug(bundle, visit):
    medications = resources(bundle, "Medication")
    requests = resources(bundle, "MedicationRequest")
    encounter = next(
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"
    )
    primary = resources(bundle, "Encounter")[0]["diagnosis"][0]["condition"]["reference"]
    first, second = requests
    assert entry_of(bundle, first["medicationReference"]["reference"]) is medications[0]
    assert medications[0]["code"] == {"text": "Paracetamol 500 mg tablet"}
    assert medications[1]["code"]["coding"] == [
        {
            "system": "http://sys-ids.kemkes.go.id/kfa",
            "code": "93001019",
            "display": "Salep Gentamicin 0,1%",
        }
    ]
    assert medications[0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "NC"
    assert first["status"] == "active" and first["intent"] == "order"
    assert first["category"][0]["coding"][0]["code"] == "outpatient"
    assert first["subject"]["reference"] == f"Patient/{IHS}"
    assert first["encounter"] == {"reference": encounter}
    assert first["requester"] == {
        "reference": f"Practitioner/{NAKES_ID}",
        "display": "dr. Siti Rahma",
    }
    assert first["reasonReference"] == [{"reference": primary}]
    (dosage,) = first["dosageInstruction"]
    assert dosage["timing"]["repeat"] == {
        "boundsDuration": {
            "value": 3,
            "unit": "days",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        },
        "frequency": 3,
        "period": 1,
        "periodUnit": "d",
    }
    assert dosage["doseAndRate"][0]["doseQuantity"] == {
        "value": 1,
        "unit": "tablet",
        "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
        "code": "TAB",
    }
    assert dosage["route"]["coding"] == [
        {"system": "http://www.whocc.no/atc", "code": "O", "display": "Oral"}
    ]
    assert dosage["patientInstruction"] == "bila demam"
    assert first["dispenseRequest"]["expectedSupplyDuration"]["value"] == 3
    assert first["dispenseRequest"]["performer"]["reference"] == f"Organization/{ORG_ID}"
    # A route ATC has no code for is text; a unit without a code system is a plain unit.
    (topical,) = second["dosageInstruction"]
    assert topical["route"] == {"text": "Topical"}
    assert topical["doseAndRate"][0]["doseQuantity"] == {"value": 1, "unit": "application"}
    assert first["identifier"] == [
        {"system": f"http://sys-ids.kemkes.go.id/prescription/{ORG_ID}", "value": str(visit.id)},
        {
            "system": f"http://sys-ids.kemkes.go.id/prescription-item/{ORG_ID}",
            "value": f"{visit.id}-1",
        },
    ]


def test_the_referral_is_a_service_request(bundle, visit):
    (referral,) = resources(bundle, "ServiceRequest")
    primary = resources(bundle, "Encounter")[0]["diagnosis"][0]["condition"]["reference"]
    assert referral["status"] == "active" and referral["intent"] == "order"
    assert referral["priority"] == "urgent"
    assert referral["category"][0]["coding"] == [
        {"system": "http://snomed.info/sct", "code": "3457005", "display": "Patient referral"}
    ]
    assert referral["locationCode"] == [{"text": "RSUD Kabupaten Tangerang"}]
    assert referral["reasonCode"] == [{"text": "Hipertensi tidak terkontrol"}]
    assert referral["reasonReference"] == [{"reference": primary}]
    assert referral["requester"]["reference"] == f"Practitioner/{NAKES_ID}"
    assert referral["identifier"] == [
        {
            "system": f"http://sys-ids.kemkes.go.id/servicerequest/{ORG_ID}",
            "value": f"{visit.id}-referral",
        }
    ]


def test_orders_are_conditional_creates_and_refer_by_id_or_entry(bundle):
    urls = {e["fullUrl"] for e in bundle["entry"]}
    for entry in bundle["entry"]:
        identifier = entry["resource"]["identifier"][-1]
        assert (
            entry["request"]["ifNoneExist"]
            == f"identifier={identifier['system']}|{identifier['value']}"
        )
    text = json.dumps(bundle)
    for reference in fhir._references(bundle):
        assert reference in urls or reference.split("/")[0] in (
            "Patient",
            "Practitioner",
            "Organization",
            "Location",
        ), reference
    assert _by_name_only(bundle) == []
    assert "Catatan" not in text  # the clinician's notes stay in the region


def test_a_visit_without_orders_has_no_order_resources(db_session, vault, visit, audited):
    db_session.query(Prescription).delete()
    db_session.query(Referral).delete()
    db_session.commit()
    db_session.expire_all()
    bundle = export.build_bundle(db_session, vault, visit, audited)
    kinds = [kind for kind, _ in fhir.resource_types(bundle)]
    assert kinds == ["Encounter", "Observation", "Condition"]


def test_the_fake_satusehat_accepts_the_bundle(bundle):
    from .fake_satusehat import FakeSatusehat

    fake = FakeSatusehat()
    fake.patients["x"] = [IHS]
    fake.tokens.add("t")
    headers = {
        "Authorization": "Bearer t",
        "Content-Type": "application/fhir+json",
        "Accept": "application/fhir+json",
    }
    status, body = fake.transaction(headers, json.dumps(bundle).encode())
    assert status == 200, body
    assert len(body["entry"]) == len(bundle["entry"])
