"""The FHIR R4 bundle of a visit: valid against the official R4 JSON Schema and the
``fhir.resources`` models, shaped for SATUSEHAT (NIK, LOINC, UCUM, ICD-10)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from balai_puskesmas import export, fhir
from balai_puskesmas.models import Clinic, Diagnosis, Facility, Staff

from .conftest import IHS, NIK_MAN
from .fake_satusehat import STARTED, add_visit, fhir_errors

ORG_ID = "100011961"
LOCATION_ID = "b017aa54-f1df-4ec2-9d84-8823815d7228"
NAKES_ID = "10009880728"


@pytest.fixture
def add_patient(add_patient, looked_up):
    """Patients whose IHS number SATUSEHAT's Patient search has found, as a bundle needs."""
    return lambda *args, **fields: looked_up(add_patient(*args, **fields))


@pytest.fixture
def ids(db_session, facility, clinic):
    """The puskesmas, its UMUM clinic and a clinician, all with SATUSEHAT ids."""
    db_session.execute(
        update(Facility).where(Facility.id == facility.id).values(satusehat_org_id=ORG_ID)
    )
    db_session.execute(
        update(Clinic).where(Clinic.id == clinic.id).values(satusehat_location_id=LOCATION_ID)
    )
    db_session.commit()


@pytest.fixture
def visit(client, login, assign, db_session, facility, clinic, add_patient, ids):
    """A visit with every vital sign and two diagnoses, by a clinician with a nakes id."""
    doctor = login(client, role="opd")
    staff = assign(doctor, facility, "clinician")
    db_session.execute(update(Staff).where(Staff.id == staff.id).values(nakes_id=NAKES_ID))
    patient = add_patient(phone="081234567890", address="Jl. Rahasia No. 9")
    return add_visit(db_session, patient, clinic, clinician_id=doctor.id)


@pytest.fixture
def bundle(db_session, vault, visit, audited):
    return export.build_bundle(db_session, vault, visit, audited)


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def entry_of(bundle: dict[str, Any], reference: str) -> dict[str, Any]:
    found = [e for e in bundle["entry"] if e["fullUrl"] == reference]
    assert len(found) == 1, f"{reference} names {len(found)} entries"
    return found[0]["resource"]


def observation(bundle: dict[str, Any], loinc: str) -> dict[str, Any]:
    found = [r for r in resources(bundle, "Observation") if r["code"]["coding"][0]["code"] == loinc]
    assert len(found) == 1, loinc
    return found[0]


# -- validity ------------------------------------------------------------------------


def test_the_bundle_and_every_resource_are_valid_fhir_r4(bundle):
    assert fhir_errors(bundle) == []
    for entry in bundle["entry"]:
        assert fhir_errors(entry["resource"]) == [], entry["resource"]["resourceType"]
    assert [kind for kind, _ in fhir.resource_types(bundle)] == [
        "Encounter",
        "Observation",
        "Condition",
    ]
    assert fhir.resource_types(bundle) == [
        ("Encounter", 1),
        ("Observation", 7),
        ("Condition", 2),
    ]


def test_the_bundle_parses_with_the_fhir_resources_r4b_models(bundle):
    from fhir.resources.R4B import get_fhir_model_class

    parsed = get_fhir_model_class("Bundle").model_validate(bundle)
    assert parsed.type == "transaction"
    for entry in bundle["entry"]:
        resource = entry["resource"]
        model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        again = model.model_dump_json(by_alias=True, exclude_none=True)
        # Nothing dropped or renamed on the way (the models write UTC as "Z").
        assert json.loads(again) == json.loads(json.dumps(resource).replace("+00:00", "Z"))


def test_the_bundle_is_plain_json(bundle):
    assert json.loads(json.dumps(bundle, allow_nan=False)) == bundle


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("unknown element", lambda b: b["entry"][0]["resource"].update(nik="1")),
        ("Encounter.status", lambda b: b["entry"][0]["resource"].update(status="done")),
        (
            "Encounter.class is a Coding in R4",
            lambda b: b["entry"][0]["resource"].update(**{"class": {"text": "AMB"}}),
        ),
        (
            "Encounter.statusHistory.status",
            lambda b: b["entry"][0]["resource"]["statusHistory"][0].update(status="waiting"),
        ),
        ("Observation.status", lambda b: b["entry"][1]["resource"].update(status="ok")),
        (
            "dateTime with an hour but no offset",
            lambda b: b["entry"][2]["resource"].update(effectiveDateTime="2026-11-23T09:15:00"),
        ),
        ("Bundle.type", lambda b: b.update(type="parcel")),
        ("unknown resource type", lambda b: b["entry"][0]["resource"].update(resourceType="Pet")),
        ("empty string", lambda b: b["entry"][0]["resource"]["subject"].update(display="")),
    ],
)
def test_the_schema_check_is_not_vacuous(bundle, where, change):
    broken = copy.deepcopy(bundle)
    change(broken)
    assert fhir_errors(broken), f"{where}: an invalid bundle passed the R4 schema"


# -- SATUSEHAT's shapes --------------------------------------------------------------


def test_the_patient_is_referred_to_by_the_ihs_number_not_created(bundle):
    """SATUSEHAT's flow: the patient it holds (found by the NIK) is referred to as
    ``Patient/<IHS number>``; no Patient is posted."""
    assert resources(bundle, "Patient") == []
    encounter = resources(bundle, "Encounter")[0]
    assert encounter["subject"] == {"reference": f"Patient/{IHS}", "display": "Budi Santoso"}
    for kind in ("Observation", "Condition"):
        assert {json.dumps(r["subject"]) for r in resources(bundle, kind)} == {
            json.dumps({"reference": f"Patient/{IHS}"})
        }


def test_only_what_satusehat_needs_leaves_the_region(bundle):
    text = json.dumps(bundle)
    # Not the NIK (only the sender's Patient search carries it), the birth date or sex
    # (SATUSEHAT has them from the civil registry), the phone, address or free text.
    for kept_home in (NIK_MAN, "1985-03-15", '"male"', "081234567890", "Rahasia", "Batuk"):
        assert kept_home not in text
    assert "Catatan" not in text


def test_every_entry_is_posted_with_a_fresh_urn_uuid(bundle):
    assert bundle["type"] == "transaction"
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls)
    for entry in bundle["entry"]:
        assert entry["fullUrl"].startswith("urn:uuid:")
        assert entry["request"]["method"] == "POST"
        assert entry["request"]["url"] == entry["resource"]["resourceType"]
        assert "id" not in entry["resource"]


def test_clinical_entries_are_conditional_creates_on_their_identifier(bundle, visit):
    for entry in bundle["entry"]:
        (identifier,) = entry["resource"]["identifier"]
        kind = entry["resource"]["resourceType"].lower()
        assert identifier["system"] == f"http://sys-ids.kemkes.go.id/{kind}/{ORG_ID}"
        assert entry["request"]["ifNoneExist"] == (
            f"identifier={identifier['system']}|{identifier['value']}"
        )
    encounter = resources(bundle, "Encounter")[0]
    assert encounter["identifier"] == [
        {"system": f"http://sys-ids.kemkes.go.id/encounter/{ORG_ID}", "value": str(visit.id)}
    ]


def test_encounter(bundle):
    encounter = resources(bundle, "Encounter")[0]
    assert encounter["status"] == "finished"
    assert encounter["class"] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "AMB",
        "display": "ambulatory",
    }
    assert encounter["subject"]["reference"] == f"Patient/{IHS}"
    assert encounter["period"] == {
        "start": "2026-11-23T02:15:00+00:00",
        "end": "2026-11-23T02:27:00+00:00",
    }
    # No queue number: the arrival is not known, so "arrived" is the call and lasts no time.
    assert encounter["statusHistory"] == [
        {
            "status": "arrived",
            "period": {"start": "2026-11-23T02:15:00+00:00", "end": "2026-11-23T02:15:00+00:00"},
        },
        {
            "status": "in-progress",
            "period": {"start": "2026-11-23T02:15:00+00:00", "end": "2026-11-23T02:27:00+00:00"},
        },
        {
            "status": "finished",
            "period": {"start": "2026-11-23T02:27:00+00:00", "end": "2026-11-23T02:27:00+00:00"},
        },
    ]
    (participant,) = encounter["participant"]
    assert participant["individual"] == {
        "reference": f"Practitioner/{NAKES_ID}",
        "display": "dr. Siti Rahma",
    }
    assert participant["type"][0]["coding"][0]["code"] == "ATND"
    assert encounter["location"] == [
        {"location": {"reference": f"Location/{LOCATION_ID}", "display": "Poli Umum"}}
    ]
    assert encounter["serviceProvider"] == {
        "reference": f"Organization/{ORG_ID}",
        "display": "Puskesmas Cip",
    }


VITAL_SIGNS = [
    # LOINC, profile, UCUM code, value
    ("8867-4", "heartrate", "/min", 84),
    ("9279-1", "resprate", "/min", 20),
    ("8310-5", "bodytemp", "Cel", 37.8),
    ("29463-7", "bodyweight", "kg", 68.5),
    ("8302-2", "bodyheight", "cm", 167.0),
    ("2708-6", "oxygensat", "%", 97),
]


@pytest.mark.parametrize(("loinc", "profile", "ucum", "value"), VITAL_SIGNS)
def test_vital_signs_have_loinc_codes_and_ucum_units(bundle, loinc, profile, ucum, value):
    found = observation(bundle, loinc)
    assert found["code"]["coding"][0]["system"] == "http://loinc.org"
    assert found["meta"]["profile"] == [f"http://hl7.org/fhir/StructureDefinition/{profile}"]
    quantity = found["valueQuantity"]
    assert quantity["system"] == "http://unitsofmeasure.org"
    assert quantity["code"] == ucum
    assert quantity["value"] == value
    assert quantity["unit"]


def test_blood_pressure_is_a_panel_of_systolic_and_diastolic(bundle):
    found = observation(bundle, "85354-9")
    assert found["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/bp"]
    assert "valueQuantity" not in found
    assert [
        (c["code"]["coding"][0]["system"], c["code"]["coding"][0]["code"], c["valueQuantity"])
        for c in found["component"]
    ] == [
        (
            "http://loinc.org",
            "8480-6",
            {"value": 142, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
        ),
        (
            "http://loinc.org",
            "8462-4",
            {"value": 91, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
        ),
    ]


def test_observations_follow_the_vital_signs_profile(bundle):
    encounter_url = bundle["entry"][0]["fullUrl"]
    observations = resources(bundle, "Observation")
    assert len(observations) == 7
    for found in observations:
        assert found["status"] == "final"
        assert found["category"][0]["coding"] == [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "vital-signs",
                "display": "Vital Signs",
            }
        ]
        assert found["subject"] == {"reference": f"Patient/{IHS}"}
        assert found["encounter"] == {"reference": encounter_url}
        assert found["effectiveDateTime"] == STARTED.isoformat()
        assert found["performer"] == [
            {"reference": f"Practitioner/{NAKES_ID}", "display": "dr. Siti Rahma"}
        ]


def test_conditions_carry_icd10_and_are_ranked_in_the_encounter(bundle):
    encounter = resources(bundle, "Encounter")[0]
    conditions = [entry_of(bundle, d["condition"]["reference"]) for d in encounter["diagnosis"]]
    assert [d["rank"] for d in encounter["diagnosis"]] == [1, 2]
    assert {d["use"]["coding"][0]["code"] for d in encounter["diagnosis"]} == {"DD"}
    assert [c["code"]["coding"] for c in conditions] == [
        [
            {
                "system": "http://hl7.org/fhir/sid/icd-10",
                "code": "J06.9",
                "display": "Acute upper respiratory infection, unspecified",
            }
        ],
        [
            {
                "system": "http://hl7.org/fhir/sid/icd-10",
                "code": "I10",
                "display": "Essential (primary) hypertension",
            }
        ],
    ]
    for condition in conditions:
        assert condition["clinicalStatus"]["coding"][0] == {
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
            "code": "active",
            "display": "Active",
        }
        assert condition["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
        assert condition["category"][0]["coding"][0]["system"] == (
            "http://terminology.hl7.org/CodeSystem/condition-category"
        )
        assert condition["encounter"] == {"reference": bundle["entry"][0]["fullUrl"]}


def test_every_reference_resolves_to_an_entry_or_a_satusehat_resource(bundle):
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    references = list(fhir._references(bundle))
    assert len(references) > 20
    for reference in references:
        if reference.startswith("urn:uuid:"):
            assert reference in full_urls
        else:
            kind, _, ident = reference.partition("/")
            assert kind in {"Patient", "Practitioner", "Location", "Organization"}, reference
            assert ident in {IHS, NAKES_ID, LOCATION_ID, ORG_ID}


def test_diagnoses_added_after_the_visit_was_loaded_are_included(
    db_session, vault, facility, clinic, add_patient, audited, ready
):
    visit = add_visit(db_session, add_patient(), clinic, clinician_id=ready.id, diagnoses=())
    assert visit.diagnoses == []  # loaded, empty
    db_session.add(Diagnosis(visit_id=visit.id, code="K29.7", display="Gastritis", position=0))
    bundle = export.build_bundle(db_session, vault, visit, audited)  # not flushed yet: autoflush
    assert [c["code"]["coding"][0]["code"] for c in resources(bundle, "Condition")] == ["K29.7"]


# -- what is not known ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "element"),
    [
        (Facility, "satusehat_org_id", "puskesmas's Organization id is not set"),
        (Clinic, "satusehat_location_id", "clinic's Location id is not set"),
        (Staff, "nakes_id", "Practitioner (nakes) id is not set"),
    ],
)
def test_without_a_satusehat_id_no_bundle_is_built(
    db_session, vault, facility, clinic, add_patient, audited, ready, table, column, element
):
    """SATUSEHAT refuses a reference by name alone: no bundle names the puskesmas, the
    clinic or the clinician without its id."""
    visit = add_visit(db_session, add_patient(), clinic, clinician_id=ready.id)
    assert fhir_errors(export.build_bundle(db_session, vault, visit, audited)) == []
    db_session.execute(update(table).values(**{column: ""}))
    db_session.commit()
    with pytest.raises(fhir.FhirError, match=re.escape(element)):
        export.build_bundle(db_session, vault, visit, audited)


def test_a_visit_whose_clinician_has_no_duty_there_is_not_built(
    db_session, vault, facility, clinic, add_patient, audited, ready
):
    visit = add_visit(db_session, add_patient(), clinic)  # no clinician known
    with pytest.raises(fhir.FhirError, match="Practitioner"):
        export.build_bundle(db_session, vault, visit, audited)


def test_the_period_ends_when_the_visit_was_recorded_if_no_end_was_given(
    db_session, vault, facility, clinic, add_patient, audited, ready
):
    visit = add_visit(db_session, add_patient(), clinic, clinician_id=ready.id, ended_at=None)
    bundle = export.build_bundle(db_session, vault, visit, audited)
    assert resources(bundle, "Encounter")[0]["period"]["end"] == "2026-11-23T02:28:00+00:00"


def test_blood_pressure_with_one_value_marks_the_other_absent(
    db_session, vault, facility, clinic, add_patient, audited, ready
):
    visit = add_visit(
        db_session, add_patient(), clinic, clinician_id=ready.id, diagnoses=(), diastolic=None
    )
    bundle = export.build_bundle(db_session, vault, visit, audited)
    assert fhir_errors(bundle) == []
    systolic, diastolic = observation(bundle, "85354-9")["component"]
    assert systolic["valueQuantity"]["value"] == 142
    assert "valueQuantity" not in diastolic
    assert diastolic["dataAbsentReason"]["coding"][0]["code"] == "not-performed"
    assert "diagnosis" not in resources(bundle, "Encounter")[0]
    assert resources(bundle, "Condition") == []


def test_a_visit_without_vital_signs_has_no_observation(
    db_session, vault, facility, clinic, add_patient, audited, ready
):
    visit = add_visit(
        db_session,
        add_patient(sex="female", name="Siti Aminah"),
        clinic,
        clinician_id=ready.id,
        **dict.fromkeys(
            (
                "systolic",
                "diastolic",
                "heart_rate",
                "respiratory_rate",
                "temperature",
                "weight",
                "height",
                "oxygen_saturation",
            )
        ),
    )
    bundle = export.build_bundle(db_session, vault, visit, audited)
    assert fhir_errors(bundle) == []
    assert resources(bundle, "Observation") == []
    assert resources(bundle, "Encounter")[0]["subject"]["display"] == "Siti Aminah"


@pytest.mark.parametrize(
    ("change", "element"),
    [
        ({"satusehat_org_id": "100 011"}, "Organization id"),
        ({"satusehat_org_id": "Organization/100011"}, "Organization id"),
    ],
)
def test_a_bad_satusehat_id_is_named_not_sent(
    db_session, vault, facility, clinic, add_patient, change, element, audited, ready
):
    db_session.execute(update(Facility).where(Facility.id == facility.id).values(**change))
    visit = add_visit(db_session, add_patient(), clinic, clinician_id=ready.id)
    with pytest.raises(fhir.FhirError, match=element) as caught:
        export.build_bundle(db_session, vault, visit, audited)
    assert "100 011" not in str(caught.value)


def test_errors_name_the_element_never_the_value(
    db_session, vault, facility, clinic, add_patient, audited, ready
):
    visit = add_visit(
        db_session,
        add_patient(),
        clinic,
        clinician_id=ready.id,
        diagnoses=(("J06  9", "Bad code"),),
    )
    with pytest.raises(fhir.FhirError, match=r"Condition\.code") as caught:
        export.build_bundle(db_session, vault, visit, audited)
    assert "J06" not in str(caught.value)
    with pytest.raises(fhir.FhirError, match="IHS number is not a FHIR id") as caught:
        fhir.bundle_for(
            visit,
            ihs="P 0247/8",
            facility=db_session.get(Facility, facility.id),
            clinic=clinic,
        )
    assert "P 0247" not in str(caught.value)


def test_the_models_check_refuses_an_invalid_resource_without_quoting_it():
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b5e8a53-3b4c-4c56-9d3c-111111111111",
                "resource": {"resourceType": "Patient", "nik": NIK_MAN},
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }
    with pytest.raises(fhir.FhirError, match=r"entry 0 \(Patient\).*nik") as caught:
        fhir.validate(bundle)
    assert NIK_MAN not in str(caught.value)
    bundle["entry"][0]["resource"] = {"resourceType": "Patient"}
    bundle["entry"].append(copy.deepcopy(bundle["entry"][0]))
    with pytest.raises(fhir.FhirError, match="fullUrl used twice"):
        fhir.validate(bundle)


def test_importing_the_module_does_not_load_fhir_resources():
    code = (
        "import sys, balai_puskesmas.fhir, balai_puskesmas.export; "
        "assert not [m for m in sys.modules if m.startswith('fhir.resources')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603 - our own interpreter


# -- the status history from the queue number ----------------------------------------


def ticket_for(db_session, clinic, patient, *, day, taken, called, served=None, channel="kiosk"):
    """A queue number of ``patient`` at ``clinic``: taken, called and (maybe) served."""
    from balai_puskesmas import queue
    from balai_puskesmas.models import Ticket

    ticket = Ticket(
        code=queue.new_code(),
        facility_id=clinic.facility_id,
        clinic_id=clinic.id,
        day=day,
        number=7,
        status="served" if served else "called",
        channel=channel,
        patient_id=patient.id,
        created_at=taken,
        called_at=called,
        finished_at=served,
    )
    db_session.add(ticket)
    db_session.commit()
    return ticket


def history(bundle) -> list[tuple[str, str, str]]:
    encounter = resources(bundle, "Encounter")[0]
    return [
        (h["status"], h["period"]["start"], h["period"]["end"]) for h in encounter["statusHistory"]
    ]


def test_the_status_history_takes_the_queue_numbers_times(
    db_session, vault, facility, clinic, add_patient, audited, ready
):
    """SATUSEHAT's outpatient examples: arrived (number taken) -> in-progress (called)
    -> finished (served), with their periods; the encounter lasts from the arrival."""
    patient = add_patient()
    taken = STARTED - timedelta(minutes=45)  # 08.30 WIB at the kiosk
    ticket = ticket_for(
        db_session,
        clinic,
        patient,
        day=date(2026, 11, 23),
        taken=taken,
        called=STARTED,
        served=STARTED + timedelta(minutes=10),
    )
    visit = add_visit(
        db_session,
        patient,
        clinic,
        clinician_id=ready.id,
        ticket_id=ticket.id,
        ended_at=STARTED + timedelta(minutes=12),  # written up two minutes later
    )
    bundle = export.build_bundle(db_session, vault, visit, audited)
    assert fhir_errors(bundle) == []
    assert history(bundle) == [
        ("arrived", "2026-11-23T01:30:00+00:00", "2026-11-23T02:15:00+00:00"),
        ("in-progress", "2026-11-23T02:15:00+00:00", "2026-11-23T02:25:00+00:00"),
        ("finished", "2026-11-23T02:25:00+00:00", "2026-11-23T02:25:00+00:00"),
    ]
    encounter = resources(bundle, "Encounter")[0]
    assert encounter["period"] == {
        "start": "2026-11-23T01:30:00+00:00",
        "end": "2026-11-23T02:25:00+00:00",
    }
    # The vital signs were measured in the consultation, not at the arrival.
    assert {o["effectiveDateTime"] for o in resources(bundle, "Observation")} == {
        "2026-11-23T02:15:00+00:00"
    }


@pytest.mark.parametrize(
    ("zone", "arrived"),
    [
        # Taken at 16.30 UTC the evening before: 23.30 WIB (a day ahead, on the web:
        # not an arrival), but 01.30 WIT on the day itself in Papua.
        ("Asia/Jakarta", "2026-11-23T02:15:00+00:00"),
        ("Asia/Jayapura", "2026-11-22T16:30:00+00:00"),
    ],
)
def test_a_number_taken_on_an_earlier_day_says_nothing_of_the_arrival(
    db_session, vault, facility, clinic, add_patient, audited, ready, zone, arrived
):
    patient = add_patient()
    ticket = ticket_for(
        db_session,
        clinic,
        patient,
        day=date(2026, 11, 23),
        taken=datetime(2026, 11, 22, 16, 30, tzinfo=UTC),
        called=STARTED,
        channel="web",
    )
    visit = add_visit(db_session, patient, clinic, clinician_id=ready.id, ticket_id=ticket.id)
    bundle = export.build_bundle(db_session, vault, visit, audited, zone=zone)
    assert fhir_errors(bundle) == []
    assert history(bundle)[0] == ("arrived", arrived, "2026-11-23T02:15:00+00:00")
    assert resources(bundle, "Encounter")[0]["period"]["start"] == arrived


def test_a_number_not_marked_served_ends_when_the_visit_ended(
    db_session, vault, facility, clinic, add_patient, audited, ready
):
    patient = add_patient()
    ticket = ticket_for(
        db_session,
        clinic,
        patient,
        day=date(2026, 11, 23),
        taken=STARTED - timedelta(minutes=5),
        called=STARTED,
    )
    visit = add_visit(db_session, patient, clinic, clinician_id=ready.id, ticket_id=ticket.id)
    assert history(export.build_bundle(db_session, vault, visit, audited)) == [
        ("arrived", "2026-11-23T02:10:00+00:00", "2026-11-23T02:15:00+00:00"),
        ("in-progress", "2026-11-23T02:15:00+00:00", "2026-11-23T02:27:00+00:00"),
        ("finished", "2026-11-23T02:27:00+00:00", "2026-11-23T02:27:00+00:00"),
    ]


def test_an_arrival_after_the_call_is_refused_by_name():
    from types import SimpleNamespace

    visit = SimpleNamespace(
        id=1,
        started_at=STARTED,
        ended_at=STARTED + timedelta(minutes=5),
        created_at=STARTED + timedelta(minutes=6),
        clinician_name="dr. X",
        systolic=None,
        diastolic=None,
        **dict.fromkeys(v.attribute for v in fhir.VITALS),
    )
    place = SimpleNamespace(satusehat_org_id=ORG_ID, satusehat_location_id=LOCATION_ID, name="X")
    with pytest.raises(fhir.FhirError, match=r"statusHistory \(arrived\)"):
        fhir.bundle_for(
            visit,
            ihs=IHS,
            facility=place,
            clinic=place,
            clinician=SimpleNamespace(nakes_id=NAKES_ID),
            patient=SimpleNamespace(name="Budi"),
            diagnoses=[],
            arrived_at=STARTED + timedelta(minutes=1),
        )
