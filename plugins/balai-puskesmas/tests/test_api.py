"""The JSON API under /api/v1/puskesmas/: numbers for anyone, the desk and patient
lookups by duty, every patient read audited, the OpenAPI document."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate as validate_openapi
from sqlalchemy import func, select

from balai_puskesmas.models import AuditEntry, Patient, Ticket

from .conftest import ALL_DAY, NIK_MAN, NIK_WOMAN

API = "/api/v1/puskesmas"


@pytest.fixture
def facility(enabled, make_facility):
    """A puskesmas open whenever the tests run (the conftest one closes at 14:00)."""
    return make_facility(hours=ALL_DAY)


def audit_actions(db_session) -> list[tuple[str, int | None, str]]:
    db_session.expire_all()
    rows = db_session.execute(
        select(AuditEntry.action, AuditEntry.patient_id, AuditEntry.channel).order_by(
            AuditEntry.id
        )
    )
    return [tuple(row) for row in rows]


def test_anyone_takes_consecutive_numbers_and_follows_one(client, clinic):
    first = client.post(f"{API}/tickets", json={"clinic_id": clinic.id})
    second = client.post(f"{API}/tickets", json={"clinic_id": clinic.id, "phone": "0812 3456 7890"})

    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json["number"], second.json["number"]) == (1, 2)
    assert second.json["display"] == "UMUM-002"
    assert second.json["ahead"] == 1
    assert second.json["estimated_minutes"] == clinic.minutes_per_patient
    assert second.json["url"].endswith(f"/puskesmas/antrean/{second.json['code']}")
    followed = client.get(f"{API}/tickets/{second.json['code']}")
    assert followed.status_code == 200
    assert followed.json["status"] == "waiting"
    assert "phone" not in followed.json and "nik" not in followed.json
    assert client.get(f"{API}/tickets/not-a-code").status_code == 404


def test_bad_input_names_the_field_and_writes_nothing(client, clinic, db_session):
    for body, field in (
        ({"clinic_id": clinic.id, "nik": NIK_MAN[:15]}, "nik"),
        ({"clinic_id": clinic.id, "nik": NIK_MAN + "\n"}, "nik"),
        ({"clinic_id": clinic.id, "phone": "12345"}, "phone"),
        ({"clinic_id": 999_999}, "clinic_id"),
        ({}, "clinic_id"),
    ):
        response = client.post(f"{API}/tickets", json=body)
        assert response.status_code == 422, body
        assert field in response.json["error"]["fields"], response.json
    assert db_session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_facilities_and_board_are_public(client, facility, clinic):
    client.post(f"{API}/tickets", json={"clinic_id": clinic.id})
    listing = client.get(f"{API}/facilities").json
    assert listing["total"] == 1
    [umum] = [c for c in listing["items"][0]["clinics"] if c["code"] == "UMUM"]
    assert umum["waiting"] == 1
    board = client.get(f"{API}/facilities/{facility.id}/board").json
    assert [row["clinic"]["code"] for row in board["clinics"]] == ["UMUM", "GIGI", "KIA"]
    assert board["clinics"][0]["waiting"] == 1
    assert client.get(f"{API}/facilities/999999/board").status_code == 404


def test_the_desk_needs_a_duty_at_the_clinics_puskesmas(
    client, facility, clinic, make_facility, login, assign
):
    client.post(f"{API}/tickets", json={"clinic_id": clinic.id})
    assert client.get(f"{API}/clinics/{clinic.id}/queue").status_code == 401
    user = login(client, role="opd")
    assert client.post(f"{API}/clinics/{clinic.id}/call").status_code == 403
    assign(user, make_facility("LAIN"))  # a duty elsewhere is not enough
    assert client.get(f"{API}/clinics/{clinic.id}/queue").status_code == 403

    assign(user, facility)
    called = client.post(f"{API}/clinics/{clinic.id}/call")
    assert called.status_code == 200
    assert (called.json["number"], called.json["status"]) == (1, "called")
    queue = client.get(f"{API}/clinics/{clinic.id}/queue").json
    assert [(t["number"], t["status"]) for t in queue] == [(1, "called")]
    empty = client.post(f"{API}/clinics/{clinic.id}/call")
    assert empty.status_code == 409


def test_citizen_cannot_use_the_desk_or_look_up_patients(client, clinic, login):
    login(client)
    assert client.post(f"{API}/clinics/{clinic.id}/call").status_code == 403
    assert client.post(f"{API}/patients/lookup", json={"nik": NIK_MAN}).status_code == 403


def test_patient_lookup_by_nik_is_audited_found_or_not(
    client, facility, officer, add_patient, db_session
):
    patient = add_patient()
    officer(client, facility)

    found = client.post(f"{API}/patients/lookup", json={"nik": NIK_MAN})
    missing = client.post(f"{API}/patients/lookup", json={"nik": NIK_WOMAN})

    assert found.status_code == 200
    assert (found.json["id"], found.json["nik"]) == (patient.id, NIK_MAN)
    assert missing.status_code == 404
    assert audit_actions(db_session) == [
        ("patient.lookup", patient.id, "api"),
        ("patient.lookup", None, "api"),
    ]


def test_invalid_nik_lookup_is_refused_and_not_audited(client, facility, officer, db_session):
    officer(client, facility)
    for nik in (NIK_MAN[:15], NIK_MAN + "\n", "٣" * 16):
        response = client.post(f"{API}/patients/lookup", json={"nik": nik})
        assert response.status_code == 422
        assert "nik" in response.json["error"]["fields"]
    assert audit_actions(db_session) == []


def test_a_role_without_duty_reads_no_patient(client, add_patient, enabled, login, db_session):
    patient = add_patient()
    login(client, role="admin")
    assert client.get(f"{API}/patients/{patient.id}").status_code == 403
    assert audit_actions(db_session) == []


def test_patient_read_is_audited_and_other_regions_see_nothing(
    client, other_client, facility, officer, add_patient, enable_plugin, other_tenant, login,
    db_session,
):
    patient = add_patient()
    officer(client, facility)
    response = client.get(f"{API}/patients/{patient.id}")
    assert response.status_code == 200
    assert response.json["visits"] == []
    assert ("patient.read", patient.id, "api") in audit_actions(db_session)

    enable_plugin("puskesmas", tenant=other_tenant)
    login(other_client, role="admin", tenant=other_tenant)
    assert other_client.get(f"{API}/patients/{patient.id}").status_code in (403, 404)
    assert other_client.get(f"{API}/tickets/{'x' * 16}").status_code == 404
    assert db_session.scalar(select(func.count()).select_from(Patient)) == 1


def test_document_lists_the_endpoints_and_is_valid(client, enabled):
    doc = client.get("/api/v1/openapi.json").json
    validate_openapi(doc)
    paths = set(doc["paths"])
    assert {
        f"{API}/tickets",
        f"{API}/tickets/{{code}}",
        f"{API}/facilities",
        f"{API}/facilities/{{facility_id}}/board",
        f"{API}/clinics/{{clinic_id}}/queue",
        f"{API}/clinics/{{clinic_id}}/call",
        f"{API}/patients/lookup",
        f"{API}/patients/{{patient_id}}",
    } <= paths
