"""The record pages themselves: empty states, pagination, the ICD-10 lookup, CSRF, 404s."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from balai.testing import csrf_token
from balai_puskesmas import records
from balai_puskesmas.models import AuditEntry, Diagnosis, Facility, Patient, Visit

from .conftest import NIK_MAN

TEMPLATES = Path(records.__file__).parent / "templates" / "puskesmas" / "records"


@pytest.fixture(autouse=True)
def english(client):
    client.set_cookie("balai_lang", "en", domain="kota-a.test")


def add_visits(session, patient, clinic, count, *, start=None):
    start = start or datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
    made = []
    for n in range(count):
        visit = Visit(
            patient_id=patient.id,
            facility_id=clinic.facility_id,
            clinic_id=clinic.id,
            clinician_name="dr. Rina",
            started_at=start + timedelta(days=n),
            complaint=f"Keluhan nomor {n:02d}",
        )
        visit.diagnoses.append(Diagnosis(code="I10", display="Essential (primary) hypertension"))
        session.add(visit)
        made.append(visit)
    session.commit()
    return made


def test_every_route_is_guarded_and_named_as_the_desk_expects(app, client):
    rules = {
        r.endpoint: r for r in app.url_map.iter_rules() if r.endpoint.startswith("puskesmas_rekam.")
    }
    assert {e.split(".", 1)[1] for e in rules} >= {
        "patients",
        "new_patient",
        "patient",
        "edit_patient",
        "attach_ticket",
        "new_visit",
        "visit",
        "icd10",
        "my_visits",
    }
    # A route without require() or public would make the plugin broken at start-up.
    (puskesmas,) = [p for p in client.get("/-/plugins.json").json if p["name"] == "puskesmas"]
    assert puskesmas["broken"] is False
    assert rules["puskesmas_rekam.patients"].rule == "/puskesmas/pasien/"
    assert rules["puskesmas_rekam.my_visits"].rule == "/puskesmas/kunjungan-saya"


def test_templates_need_no_inline_script_or_style():
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text()
        assert "<script" not in text and "style=" not in text and "<style" not in text, path.name


def test_the_search_page_starts_empty_and_reads_nothing(client, facility, officer, db_session):
    officer(client, facility, "registration")
    page = client.get("/puskesmas/pasien/")
    assert page.status_code == 200
    assert 'name="nik"' in page.text and 'name="q"' in page.text and 'method="post"' in page.text
    assert "Register a new patient" in page.text
    assert db_session.scalars(select(AuditEntry)).all() == []


def test_the_search_page_links_a_called_number(client, facility, clinic, officer, db_session):
    from balai_puskesmas.models import Ticket

    officer(client, facility, "registration")
    ticket = Ticket(
        code="REC1",
        facility_id=facility.id,
        clinic_id=clinic.id,
        day=datetime.now(UTC).date(),
        number=7,
        status="waiting",
    )
    db_session.add(ticket)
    db_session.commit()
    page = client.get(f"/puskesmas/pasien/?tiket={ticket.id}").text
    assert "queue number UMUM-007" in page
    assert f'name="tiket" value="{ticket.id}"' in page
    assert f"/puskesmas/pasien/baru?tiket={ticket.id}" in page
    assert client.get("/puskesmas/pasien/?tiket=99999").status_code == 404


def test_the_patient_page_pages_visits_newest_first(
    client, facility, clinic, officer, add_patient, db_session
):
    officer(client, facility, "viewer")
    budi = add_patient()
    add_visits(db_session, budi, clinic, 23)
    first = client.get(f"/puskesmas/pasien/{budi.id}").text
    assert "Keluhan nomor 22" in first and "Keluhan nomor 03" in first
    assert "Keluhan nomor 02" not in first
    assert f"/puskesmas/pasien/{budi.id}?page=2" in first
    second = client.get(f"/puskesmas/pasien/{budi.id}?page=2").text
    assert "Keluhan nomor 02" in second and "Keluhan nomor 00" in second
    assert client.get(f"/puskesmas/pasien/{budi.id}?page=3").status_code == 404
    assert client.get(f"/puskesmas/pasien/{budi.id}?page=0").status_code == 404
    details = [
        e.detail
        for e in db_session.scalars(
            select(AuditEntry).where(AuditEntry.action == "patient.read").order_by(AuditEntry.id)
        )
    ]
    assert details[:2] == [
        f"visits shown: 20 of 23; facilities: {facility.id}",
        f"visits shown: 3 of 23; facilities: {facility.id}",
    ]


def test_times_are_shown_in_the_regions_time_zone(
    client, facility, clinic, officer, add_patient, db_session
):
    officer(client, facility, "viewer")
    budi = add_patient()
    (visit,) = add_visits(
        db_session, budi, clinic, 1, start=datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
    )
    page = client.get(f"/puskesmas/kunjungan/{visit.id}").text
    assert "6 Jan 2026, 06.30" in page  # WIB, UTC+7


def test_a_patient_without_visits_has_an_empty_state(client, facility, officer, add_patient):
    officer(client, facility, "registration")
    budi = add_patient()
    page = client.get(f"/puskesmas/pasien/{budi.id}").text
    assert "No visit that you may read is recorded for this patient." in page
    assert "not linked: the patient does not see their visits online" in page
    assert f"/puskesmas/pasien/{budi.id}/ubah" in page  # the desk may correct it
    assert "Record a visit" not in page  # but not record one


def test_a_clinician_starts_a_visit_from_the_patient_page(
    client, facility, clinic, officer, add_patient
):
    officer(client, facility, "clinician")
    budi = add_patient()
    page = client.get(f"/puskesmas/pasien/{budi.id}").text
    assert "Record a visit" in page and f'<option value="{clinic.id}">' in page
    assert f"/puskesmas/pasien/{budi.id}/ubah" not in page
    form = client.get(f"/puskesmas/kunjungan/baru?pasien={budi.id}&poli={clinic.id}").text
    assert "/puskesmas/icd10" in form and 'target="_blank"' in form
    assert form.count('name="diagnosis_') == records.DIAGNOSIS_INPUTS


def test_unknown_ids_answer_404(client, facility, officer):
    officer(client, facility, "clinician")
    for url in ("/puskesmas/pasien/99999", "/puskesmas/kunjungan/99999"):
        assert client.get(url).status_code == 404, url
    assert client.post("/puskesmas/pasien/99999/tiket", data={"tiket": "1"}).status_code == 404


def test_edit_of_an_unknown_patient_is_404(client, facility, officer):
    officer(client, facility, "registration")
    assert client.get("/puskesmas/pasien/99999/ubah").status_code == 404
    response = client.post(
        "/puskesmas/pasien/99999/ubah",
        data={"nik": NIK_MAN, "name": "X", "birth_date": "1985-03-15", "sex": "male"},
    )
    assert response.status_code == 404


def test_the_icd10_lookup(client, facility, officer):
    officer(client, facility, "clinician")
    empty = client.get("/puskesmas/icd10")
    assert empty.status_code == 200 and "cannot be recorded" in empty.text
    found = client.get("/puskesmas/icd10?q=j06").text
    assert "<code>J06.9</code>" in found and "Acute upper respiratory infection" in found
    words = client.get("/puskesmas/icd10?q=essential+hypertension").text
    assert "<code>I10</code>" in words
    none = client.get("/puskesmas/icd10?q=zzzznotaword").text
    assert "No ICD-10 code matches." in none
    many = client.get("/puskesmas/icd10?q=a").text
    assert "Only the first 50 codes are shown" in many
    assert client.get("/puskesmas/icd10?q=" + "x" * 101).status_code == 400


def test_my_visits_are_paginated(client, facility, clinic, login, add_patient, db_session):
    citizen = login(client, role="warga")
    budi = add_patient(user_id=citizen.id)
    add_visits(db_session, budi, clinic, 21)
    first = client.get("/puskesmas/kunjungan-saya").text
    assert "Page 1 of 2" in first and "/puskesmas/kunjungan-saya?page=2" in first
    assert client.get("/puskesmas/kunjungan-saya?page=2").status_code == 200
    assert client.get("/puskesmas/kunjungan-saya?page=9").status_code == 404


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_forms_need_the_csrf_token(client, facility, officer, db_session):
    officer(client, facility, "registration")
    data = {"nik": NIK_MAN, "name": "Budi", "birth_date": "1985-03-15", "sex": "male"}
    assert client.post("/puskesmas/pasien/baru", data=data).status_code == 400
    assert db_session.scalars(select(Patient)).all() == []
    token = csrf_token(client, "/puskesmas/pasien/baru")
    assert (
        client.post("/puskesmas/pasien/baru", data={**data, "csrf_token": token}).status_code == 302
    )
    search = csrf_token(client, "/puskesmas/pasien/")
    found = client.post("/puskesmas/pasien/", data={"nik": NIK_MAN, "csrf_token": search})
    assert found.status_code == 200 and "Budi" in found.text
    assert re.search(r'name="csrf_token" value="[^"]+"', found.text)


def test_registered_patient_shows_up_with_its_facility_in_the_trail(
    client, facility, officer, db_session
):
    officer(client, facility, "registration")
    data = {"nik": NIK_MAN, "name": "Budi", "birth_date": "1985-03-15", "sex": "male"}
    response = client.post("/puskesmas/pasien/baru", data=data)
    follow = client.get(response.headers["Location"])
    assert "The patient is registered." in follow.text
    entry = db_session.scalars(select(AuditEntry).order_by(AuditEntry.id)).first()
    assert entry.facility_id == db_session.get(Facility, facility.id).id


def test_my_visits_empty_state_asks_for_the_email_or_the_mobile_number(client, facility, login):
    login(client, role="warga")
    page = client.get("/puskesmas/kunjungan-saya").text
    assert "No visit is shown for your account yet." in page
    assert "give the e-mail address or mobile number you log in with at the desk" in page
