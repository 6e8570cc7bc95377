"""Patients whose date of birth or sex differs from their NIK (a Dukcapil correction
keeps the old NIK): registered with the desk's confirmation and reason, flagged, listed
for review and reviewed, all audited; and a NIK typed in groups with spaces."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from balai.testing import travel
from balai_puskesmas import audit_text
from balai_puskesmas.models import AuditEntry, Patient

from .conftest import NIK_MAN, NIK_WOMAN

NEW = "/puskesmas/pasien/baru"
SEARCH = "/puskesmas/pasien/"
REVIEW = "/puskesmas/loket/tinjau"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Monday 10:00 WIB


@pytest.fixture(autouse=True)
def english(client):
    client.set_cookie("balai_lang", "en", domain="kota-a.test")


@pytest.fixture(autouse=True)
def frozen():
    with travel(NOW):
        yield


@pytest.fixture
def desk(client, facility, officer):
    return officer(client, facility, "registration")


def form(**fields):
    values = {
        "nik": NIK_MAN,  # born 15 March 1985, male
        "name": "Budi Santoso",
        "birth_date": "1985-03-15",
        "sex": "male",
        "address": "Jl. Melati No. 5",
    }
    values.update(fields)
    return {k: v for k, v in values.items() if v is not None}


def patient_count(db_session) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(Patient))


def entries(db_session, action):
    db_session.expire_all()
    return list(
        db_session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


CORRECTED = {"birth_date": "1985-05-15"}  # Dukcapil corrected the month; the NIK stays


def test_a_mismatch_is_refused_with_the_way_to_confirm_it(client, desk, db_session):
    response = client.post(NEW, data=form(**CORRECTED))
    assert response.status_code == 400
    assert "The date of birth does not match the NIK" in response.text
    assert 'name="nik_mismatch"' in response.text  # the confirmation is offered
    assert 'name="mismatch_reason"' in response.text
    assert "tick the confirmation and give the reason" in response.text
    assert patient_count(db_session) == 0


def test_the_form_offers_no_confirmation_while_the_data_match(client, desk):
    assert 'name="nik_mismatch"' not in client.get(NEW).text


def test_a_confirmation_without_a_reason_is_refused(client, desk, db_session):
    response = client.post(NEW, data=form(**CORRECTED, nik_mismatch="y", mismatch_reason="  "))
    assert response.status_code == 400
    assert 'id="mismatch_reason-error"' in response.text
    assert "Give the reason the data differ from the NIK." in response.text
    assert 'name="nik_mismatch" value="y" checked' in response.text
    assert patient_count(db_session) == 0


def test_a_reason_too_long_is_refused(client, desk, db_session):
    data = form(**CORRECTED, nik_mismatch="y", mismatch_reason="x" * 301)
    response = client.post(NEW, data=data)
    assert response.status_code == 400 and "at most 300 characters" in response.text
    assert patient_count(db_session) == 0


def test_confirmed_with_a_reason_the_patient_is_registered_flagged_and_audited(
    client, desk, db_session, facility
):
    reason = "Tanggal lahir dikoreksi Dukcapil, KTP baru belum terbit"
    data = form(**CORRECTED, sex="female", nik_mismatch="y", mismatch_reason=reason)
    response = client.post(NEW, data=data)
    assert response.status_code == 302, response.text
    saved = db_session.scalars(select(Patient)).one()
    assert (saved.birth_date, saved.sex) == (date(1985, 5, 15), "female")  # as on the card
    assert saved.nik_mismatch == "birth_date,sex"
    assert saved.mismatch_reason == reason
    assert saved.flagged_at == NOW and saved.reviewed_at is None
    [entry] = entries(db_session, "patient.create")
    assert entry.user_id == desk.id and entry.facility_id == facility.id
    assert entry.detail == (
        "given: address; tickets suggested: 0; differs from nik: birth_date, sex; "
        "flagged for review"
    )
    assert reason not in entry.detail  # free text stays on the record
    record = client.get(f"/puskesmas/pasien/{saved.id}").text
    assert "Flagged for review" in record and reason in record
    assert "Mark as reviewed" in record


@pytest.mark.parametrize(
    "detail",
    [
        "given: address; tickets suggested: 0; differs from nik: birth_date, sex; "
        "flagged for review",
        "changed: birth_date; differs from nik: none",
        "differs from nik: sex; reviewed",
        "flagged for review: 3 results, 2 shown",
        "reviewed: 3 results, 2 shown",
    ],
)
def test_every_detail_about_a_difference_is_translated(detail):
    def marked(message, **params):
        return "«" + (message % params if params else message) + "»"

    for segment in audit_text.detail_text(detail, marked).split("; "):
        assert segment.startswith("«"), (detail, segment)


def test_the_audit_page_reads_the_flag_in_indonesian(client, enabled, login, db_session):
    login(client, role="admin")
    client.get("/bahasa?lang=id")
    db_session.add(
        AuditEntry(
            at=NOW,
            actor="Loket",
            action="patient.review",
            detail="differs from nik: birth_date, sex; reviewed",
            channel="web",
        )
    )
    db_session.commit()
    page = client.get("/puskesmas/kelola/audit").text
    assert "berbeda dengan NIK: tanggal lahir, jenis kelamin; sudah ditinjau" in page
    assert "Pasien dengan data berbeda dengan NIK ditinjau" in page


def test_the_review_list_shows_the_flagged_patients_and_reviewing_clears_them(
    client, desk, db_session
):
    client.post(NEW, data=form(**CORRECTED, nik_mismatch="y", mismatch_reason="koreksi"))
    client.post(
        NEW, data=form(nik=NIK_WOMAN, name="Siti Aminah", birth_date="1992-07-15", sex="female")
    )
    page = client.get(REVIEW)
    assert page.status_code == 200
    assert "Budi Santoso" in page.text and "koreksi" in page.text
    assert "Siti Aminah" not in page.text  # her data match her NIK
    [listed] = entries(db_session, "patient.flagged")
    assert listed.detail == "flagged for review: 1 results, 1 shown"
    budi = db_session.scalars(select(Patient).where(Patient.name == "Budi Santoso")).one()
    done = client.post(f"{REVIEW}/{budi.id}")
    assert done.status_code == 302
    db_session.expire_all()
    assert db_session.get(Patient, budi.id).reviewed_at == NOW
    [reviewed] = entries(db_session, "patient.review")
    assert (reviewed.patient_id, reviewed.user_id) == (budi.id, desk.id)
    assert reviewed.detail == "differs from nik: birth_date; reviewed"
    assert "No patient is waiting for a review." in client.get(REVIEW).text
    assert "Budi Santoso" in client.get(REVIEW, query_string={"status": "reviewed"}).text
    again = client.post(f"{REVIEW}/{budi.id}", follow_redirects=True)
    assert "This patient is not waiting for a review." in again.text
    assert len(entries(db_session, "patient.review")) == 1


def test_only_the_registration_desk_reviews(client, facility, officer, db_session, add_patient):
    patient = add_patient(nik_mismatch="sex", mismatch_reason="x", flagged_at=NOW)
    officer(client, facility, "clinician")
    assert client.get(REVIEW).status_code == 403
    assert client.post(f"{REVIEW}/{patient.id}").status_code == 403
    db_session.expire_all()
    assert db_session.get(Patient, patient.id).reviewed_at is None


def test_another_regions_patient_is_not_found(client, desk, other_tenant_patient):
    assert client.post(f"{REVIEW}/{other_tenant_patient}").status_code == 404


@pytest.fixture
def other_tenant_patient(app, other_tenant, enable_plugin, vault):
    from balai.db import db

    enable_plugin("puskesmas", tenant=other_tenant)
    with db.new_session(other_tenant.id) as session:
        cipher, hashed = vault.seal(NIK_MAN)
        patient = Patient(
            nik_cipher=cipher,
            nik_hash=hashed,
            name="Lain",
            birth_date=date(1985, 3, 15),
            sex="male",
            nik_mismatch="sex",
            mismatch_reason="x",
            flagged_at=NOW,
        )
        session.add(patient)
        session.commit()
        return patient.id


def test_an_edit_keeps_an_accepted_difference_and_a_correction_clears_the_flag(
    client, desk, db_session
):
    client.post(NEW, data=form(**CORRECTED, nik_mismatch="y", mismatch_reason="koreksi"))
    saved = db_session.scalars(select(Patient)).one()
    edit = f"/puskesmas/pasien/{saved.id}/ubah"
    # another field changes: the accepted difference needs no new confirmation
    response = client.post(edit, data=form(**CORRECTED, address="Jl. Mawar 1"))
    assert response.status_code == 302, response.text
    db_session.expire_all()
    saved = db_session.get(Patient, saved.id)
    assert (saved.address, saved.nik_mismatch) == ("Jl. Mawar 1", "birth_date")
    assert saved.flagged_at == NOW
    # a new difference (the sex) needs it again
    refused = client.post(edit, data=form(**CORRECTED, sex="female"))
    assert refused.status_code == 400 and 'name="nik_mismatch"' in refused.text
    # the data corrected to the NIK: the flag goes, and the entry says so
    assert client.post(edit, data=form(address="Jl. Mawar 1")).status_code == 302
    db_session.expire_all()
    saved = db_session.get(Patient, saved.id)
    assert (saved.nik_mismatch, saved.mismatch_reason, saved.flagged_at) == ("", "", None)
    last = entries(db_session, "patient.update")[-1]
    assert last.detail == "changed: birth_date; differs from nik: none"


@pytest.mark.parametrize("typed", ["3671 0115 0385 9901", "367101 150385 9901", "3671011503859901"])
def test_a_nik_typed_in_groups_with_spaces_is_accepted(client, desk, db_session, vault, typed):
    assert client.post(NEW, data=form(nik=typed)).status_code == 302
    saved = db_session.scalars(select(Patient)).one()
    assert saved.nik_hash == vault.hash(NIK_MAN)
    found = client.post(SEARCH, data={"nik": typed})
    assert "Budi Santoso" in found.text


@pytest.mark.parametrize(
    "typed",
    [
        " 3671 0115 0385 9901",  # a space before
        "3671 0115 0385 9901 ",  # after
        "3671  0115 0385 9901",  # two spaces
        "3671\t0115 0385 9901",  # a tab
        "3671\u00a00115\u00a00385\u00a09901",  # no-break spaces
        "3671-0115-0385-9901",  # dashes
    ],
)
def test_only_single_spaces_between_groups_are_taken_out(client, desk, db_session, typed):
    response = client.post(NEW, data=form(nik=typed))
    assert response.status_code == 400 and 'id="nik-error"' in response.text
    assert patient_count(db_session) == 0
