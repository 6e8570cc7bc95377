"""Access by duty, the region's policy, tenancy and the audit trail: the issue's "done when".

A desk officer of puskesmas A cannot read patients' visits at puskesmas B unless the
region's policy allows it; tenant B sees nothing of tenant A; each read that is
allowed appears in the audit trail, and a refused one writes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from balai.calendar import local_date
from balai.db import db, utcnow
from balai_puskesmas.models import AuditEntry, Diagnosis, Facility, Staff, Ticket, Visit

from .conftest import NIK_MAN, NIK_WOMAN

pytestmark = pytest.mark.clock  # see docs/testing.md, "Dates and times"

SETTINGS = "/admin/plugin/puskesmas/pengaturan"


@pytest.fixture(autouse=True)
def english(client, other_client):
    client.set_cookie("balai_lang", "en", domain="kota-a.test")
    other_client.set_cookie("balai_lang", "en", domain="kota-b.test")


def add_visit(session, patient, clinic, *, days_ago=0, code="J06.9", complaint="Batuk pilek"):
    visit = Visit(
        patient_id=patient.id,
        facility_id=clinic.facility_id,
        clinic_id=clinic.id,
        clinician_name="dr. Rina",
        started_at=utcnow() - timedelta(days=days_ago),
        complaint=complaint,
        systolic=118,
        diastolic=76,
        temperature=37.5,
    )
    visit.diagnoses.append(Diagnosis(code=code, display=f"Display of {code}", position=0))
    session.add(visit)
    session.commit()
    return visit


@pytest.fixture
def region(facility, make_facility, add_patient, db_session):
    """Puskesmas A (CIP) and B (BAT); Budi visited both, Siti visited B."""
    other = make_facility("BAT")
    clinic_a = db_session.get(Facility, facility.id).clinics[0]
    clinic_b = db_session.get(Facility, other.id).clinics[0]
    budi = add_patient()
    siti = add_patient(
        nik=NIK_WOMAN, name="Siti Aminah", birth_date=date(1992, 7, 15), sex="female"
    )
    return {
        "a": facility,
        "b": other,
        "budi": budi,
        "siti": siti,
        "visit_a": add_visit(db_session, budi, clinic_a, days_ago=3, complaint="Kunjungan di A"),
        "visit_b": add_visit(db_session, budi, clinic_b, days_ago=1, complaint="Kunjungan di B"),
        "siti_b": add_visit(db_session, siti, clinic_b, complaint="Kunjungan Siti"),
    }


def audit_entries(db_session):
    db_session.expire_all()
    return list(db_session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def share_records(app, login, on=True):
    """The region admin switches the policy on the plugin's settings page."""
    admin = app.test_client()
    admin.host = "kota-a.test"
    login(admin, role="admin")
    form = {"share_records": "true"} if on else {}
    assert admin.post(SETTINGS, data=form).status_code == 302


# -- by duty and policy --------------------------------------------------------------


def test_desk_officer_of_a_cannot_read_visits_at_b(client, region, officer, db_session):
    desk = officer(client, region["a"], "registration")
    budi, visit_a, visit_b = region["budi"], region["visit_a"], region["visit_b"]

    page = client.get(f"/puskesmas/pasien/{budi.id}")
    assert page.status_code == 200
    assert f"/puskesmas/kunjungan/{visit_a.id}" in page.text
    assert f"/puskesmas/kunjungan/{visit_b.id}" not in page.text
    assert "Kunjungan di B" not in page.text and "Puskesmas Bat" not in page.text
    assert "Visits at other puskesmas are not shown" in page.text
    entries = audit_entries(db_session)
    # The record and its visits are one read: one entry.
    assert [(e.action, e.patient_id, e.user_id) for e in entries] == [
        ("patient.read", budi.id, desk.id),
    ]
    assert entries[0].detail == f"visits shown: 1 of 1; facilities: {region['a'].id}"

    refused = client.get(f"/puskesmas/kunjungan/{visit_b.id}")
    assert refused.status_code == 403 and "Kunjungan di B" not in refused.text
    assert len(audit_entries(db_session)) == 1  # a refused read writes nothing

    allowed = client.get(f"/puskesmas/kunjungan/{visit_a.id}")
    assert allowed.status_code == 200 and "Kunjungan di A" in allowed.text
    last = audit_entries(db_session)[-1]
    assert (last.action, last.patient_id, last.facility_id, last.user_id) == (
        "visit.read",
        budi.id,
        region["a"].id,
        desk.id,
    )
    assert last.address == "127.0.0.1" and last.channel == "web" and desk.email in last.actor
    assert last.at is not None


def test_the_regions_policy_opens_visits_at_every_puskesmas(
    app, client, region, officer, login, db_session
):
    share_records(app, login)
    desk = officer(client, region["a"], "registration")
    budi, visit_b = region["budi"], region["visit_b"]
    page = client.get(f"/puskesmas/pasien/{budi.id}").text
    assert f"/puskesmas/kunjungan/{visit_b.id}" in page and "Kunjungan di B" in page
    assert "Visits at other puskesmas are not shown" not in page
    listed = audit_entries(db_session)[-1]
    assert listed.action == "patient.read"
    assert listed.detail == (
        f"visits shown: 2 of 2; facilities: {region['a'].id}, {region['b'].id}"
    )
    assert listed.facility_id is None

    assert client.get(f"/puskesmas/kunjungan/{visit_b.id}").status_code == 200
    read = audit_entries(db_session)[-1]
    assert (read.action, read.facility_id, read.user_id, read.patient_id) == (
        "visit.read",
        region["b"].id,
        desk.id,
        budi.id,
    )


def test_the_policy_needs_a_duty_still(app, client, region, login, db_session):
    share_records(app, login)
    login(client, role="opd")
    assert client.get(f"/puskesmas/kunjungan/{region['visit_b'].id}").status_code == 403
    assert audit_entries(db_session) == []


def test_switching_the_policy_off_closes_it_again(app, client, region, officer, login):
    share_records(app, login)
    share_records(app, login, on=False)
    officer(client, region["a"], "viewer")
    assert client.get(f"/puskesmas/kunjungan/{region['visit_b'].id}").status_code == 403
    assert client.get(f"/puskesmas/kunjungan/{region['visit_a'].id}").status_code == 200


def test_a_viewer_reads_but_neither_registers_nor_records(client, region, officer, db_session):
    officer(client, region["a"], "viewer")
    budi = region["budi"]
    assert client.get(f"/puskesmas/pasien/{budi.id}").status_code == 200
    assert client.get(f"/puskesmas/pasien/{budi.id}/ubah").status_code == 403
    assert client.get("/puskesmas/pasien/baru").status_code == 403
    clinic = db_session.get(Facility, region["a"].id).clinics[0]
    assert (
        client.get(f"/puskesmas/kunjungan/baru?pasien={budi.id}&poli={clinic.id}").status_code
        == 403
    )


@pytest.mark.parametrize("role", ["opd", "admin"])
def test_an_officer_without_a_duty_gets_403(client, region, login, db_session, role):
    login(client, role=role)
    budi, visit_a = region["budi"], region["visit_a"]
    clinic = db_session.get(Facility, region["a"].id).clinics[0]
    ticket = Ticket(
        code="NODUTY1",
        facility_id=clinic.facility_id,
        clinic_id=clinic.id,
        day=local_date(utcnow(), "Asia/Jakarta"),
        number=1,
        status="called",
        patient_id=budi.id,
    )
    db_session.add(ticket)
    db_session.commit()
    for method, url, data in [
        ("get", "/puskesmas/pasien/", None),
        ("post", "/puskesmas/pasien/", {"nik": NIK_MAN}),
        ("post", "/puskesmas/pasien/", {"q": "budi"}),
        ("get", f"/puskesmas/pasien/{budi.id}", None),
        ("get", f"/puskesmas/pasien/{budi.id}/ubah", None),
        ("get", "/puskesmas/pasien/baru", None),
        ("post", f"/puskesmas/pasien/{budi.id}/tiket", {"tiket": str(ticket.id)}),
        ("get", f"/puskesmas/kunjungan/{visit_a.id}", None),
        ("get", f"/puskesmas/kunjungan/baru?tiket={ticket.id}", None),
        (
            "post",
            "/puskesmas/kunjungan/baru",
            {"tiket": str(ticket.id), "complaint": "x", "diagnosis_1": "J06.9"},
        ),
    ]:
        response = getattr(client, method)(url, data=data)
        assert response.status_code == 403, url
        assert "You have no duty at a puskesmas" in response.text, url
        assert "Budi" not in response.text and "Kunjungan" not in response.text, url
    assert audit_entries(db_session) == []
    db_session.refresh(ticket)
    assert ticket.status == "called"


def test_a_citizen_has_no_access_to_the_register(client, region, login, db_session):
    login(client, role="warga")
    assert client.get("/puskesmas/pasien/").status_code == 403
    assert client.get(f"/puskesmas/pasien/{region['budi'].id}").status_code == 403
    assert client.get(f"/puskesmas/kunjungan/{region['visit_a'].id}").status_code == 403
    assert client.get("/puskesmas/icd10?q=j06").status_code == 403
    assert audit_entries(db_session) == []


def test_a_visitor_is_sent_to_log_in(client, region):
    for url in (
        "/puskesmas/pasien/",
        "/puskesmas/kunjungan-saya",
        f"/puskesmas/kunjungan/{region['visit_a'].id}",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/masuk" in response.headers["Location"]


# -- citizens ------------------------------------------------------------------------


def test_a_citizen_sees_only_their_own_visits(client, region, login, db_session):
    citizen = login(client, role="warga")
    budi = region["budi"]
    budi.user_id = citizen.id
    db_session.merge(budi)
    db_session.commit()
    page = client.get("/puskesmas/kunjungan-saya")
    assert page.status_code == 200
    assert "Display of J06.9" in page.text and "118/76 mmHg" in page.text
    assert "Puskesmas Cip" in page.text and "Puskesmas Bat" in page.text
    assert "Siti" not in page.text
    entries = audit_entries(db_session)
    assert [(e.action, e.patient_id, e.user_id) for e in entries] == [
        ("visit.read_own", budi.id, citizen.id)
    ]
    assert entries[0].detail.startswith("shown: 2;")
    # their visits, not the register
    assert client.get(f"/puskesmas/kunjungan/{region['visit_a'].id}").status_code == 403


def test_a_citizen_without_a_linked_record_sees_how_to_get_one(client, region, login, db_session):
    login(client, role="warga")
    page = client.get("/puskesmas/kunjungan-saya")
    assert page.status_code == 200
    assert "registration desk" in page.text and "Budi" not in page.text
    assert audit_entries(db_session) == []


# -- tenancy -------------------------------------------------------------------------


@pytest.fixture
def tenant_b(other_tenant, enable_plugin, login, other_client):
    """Tenant B with the plugin on, two puskesmas of its own, and an officer of both
    (registration desk at one, clinician at the other) logged in on ``other_client``."""
    enable_plugin("puskesmas", tenant=other_tenant)
    officer_b = login(other_client, role="opd", tenant=other_tenant)
    with db.tenant_session(other_tenant.id) as session:
        desk = Facility(code="CIP", name="Puskesmas Kota B")
        clinic = Facility(code="BAT", name="Puskesmas Kota B Dua")
        session.add_all([desk, clinic])
        session.flush()
        session.add(Staff(user_id=officer_b.id, facility_id=desk.id, duty="registration"))
        session.add(
            Staff(
                user_id=officer_b.id, facility_id=clinic.id, duty="clinician", profession="doctor"
            )
        )
    return other_tenant


def test_tenant_b_sees_nothing_of_tenant_a(other_client, region, tenant_b, db_session):
    budi, visit_a = region["budi"], region["visit_a"]
    before = len(audit_entries(db_session))
    for url in (
        f"/puskesmas/pasien/{budi.id}",
        f"/puskesmas/pasien/{budi.id}/ubah",
        f"/puskesmas/kunjungan/{visit_a.id}",
        f"/puskesmas/kunjungan/baru?pasien={budi.id}&poli={visit_a.clinic_id}",
    ):
        assert other_client.get(url).status_code == 404, url
    assert (
        other_client.post(f"/puskesmas/pasien/{budi.id}/tiket", data={"tiket": "1"}).status_code
        == 404
    )
    by_name = other_client.post("/puskesmas/pasien/", data={"q": "budi"})
    assert by_name.status_code == 200 and "Budi" not in by_name.text
    by_nik = other_client.post("/puskesmas/pasien/", data={"nik": NIK_MAN})
    assert "No patient of this region has this NIK." in by_nik.text
    mine = other_client.get("/puskesmas/kunjungan-saya")
    assert mine.status_code == 200 and "Kunjungan" not in mine.text
    assert len(audit_entries(db_session)) == before  # nothing of B lands in A's trail
    with db.tenant_session(tenant_b.id) as session:
        trail = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert trail == ["patient.search", "patient.lookup"]
        assert session.scalar(select(func.count()).select_from(Visit)) == 0
