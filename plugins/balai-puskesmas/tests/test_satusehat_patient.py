"""The patient by IHS number, as SATUSEHAT's flow has it: the sender looks the patient
up by the NIK (``GET Patient?identifier=https://fhir.kemkes.go.id/id/nik|<NIK>``) at
the local fake SATUSEHAT, keeps the IHS number sealed on the patient (the cache),
audits each lookup, refers to ``Patient/<IHS>``, and holds the visits of a patient
SATUSEHAT does not know, for the desk to check the NIK."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from balai.db import db
from balai.testing import travel
from balai_puskesmas import export
from balai_puskesmas.models import AuditEntry, Export, Patient

from .conftest import NIK_MAN, NIK_WOMAN, TEST_ACTOR
from .fake_satusehat import add_visit, running

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SEARCHED = f"https://fhir.kemkes.go.id/id/nik|{NIK_MAN}"


@pytest.fixture
def satusehat():
    with running() as fake:
        yield fake


@pytest.fixture
def budi(add_patient):
    return add_patient()


@pytest.fixture
def queue(db_session, vault, clinic, ready, budi):
    """``queue(patient=budi)``: record a visit of the patient at the ready puskesmas and
    queue it at ``NOW``."""

    def make(patient: Patient = budi) -> Export:
        visit = add_visit(db_session, patient, clinic, clinician_id=ready.id)
        item = export.enqueue(db_session, vault, visit, NOW, TEST_ACTOR)
        db_session.commit()
        return item

    return make


def fresh(db_session, model, row_id):
    db_session.expire_all()
    return db_session.get(model, row_id)


def send(db_session, satusehat, vault, now=NOW, **settings):
    return export.send_due(db_session, satusehat.settings(**settings), now, vault=vault)


def trail(db_session) -> list[tuple[str, int | None, str]]:
    rows = db_session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    return [(e.action, e.patient_id, e.detail) for e in rows]


def raw_patient(tenant, patient_id) -> dict:
    with db.all_tenants() as session:
        table = Patient.__table__
        return dict(session.execute(table.select().where(table.c.id == patient_id)).one()._mapping)


# -- found -----------------------------------------------------------------------------


def test_the_patient_is_looked_up_by_nik_and_referred_to_by_ihs_number(
    tenant, db_session, vault, queue, budi, satusehat, bundle_of, audited
):
    ihs = satusehat.add_patient(NIK_MAN)
    item = queue()
    assert (item.status, item.bundle_sealed) == ("pending", None)  # built when sent
    summary = send(db_session, satusehat, vault)
    assert summary.line() == "1 sent, 0 waiting, 0 failed"
    assert satusehat.searches == [SEARCHED]  # SATUSEHAT's documented search
    (bundle,) = satusehat.received
    assert bundle == bundle_of(fresh(db_session, Export, item.id))
    encounter = bundle["entry"][0]["resource"]
    assert encounter["subject"] == {"reference": f"Patient/{ihs}", "display": "Budi Santoso"}
    assert "Patient" not in {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert NIK_MAN not in json.dumps(bundle)  # the NIK went only in the search
    # The IHS number is kept sealed on the patient, for the NIK it was found for.
    patient = fresh(db_session, Patient, budi.id)
    assert vault.decrypt(patient.ihs_cipher, audited) == ihs
    assert (patient.ihs_nik_hash, patient.ihs_checked_at) == (patient.nik_hash, NOW)
    row = raw_patient(tenant, budi.id)
    assert ihs not in repr(row) and ihs.encode() not in row["ihs_cipher"]
    # Audited: the lookup read the NIK, building the bundle opened the IHS number.
    assert trail(db_session) == [
        ("export.lookup", budi.id, f"export {item.id}: patient looked up in SATUSEHAT by NIK"),
        ("export.send", budi.id, f"export {item.id}: FHIR bundle built to send to SATUSEHAT"),
    ]


def test_the_stored_ihs_number_is_the_cache(db_session, vault, queue, satusehat, bundle_of):
    ihs = satusehat.add_patient(NIK_MAN)
    queue()
    send(db_session, satusehat, vault)
    # The next visit of the patient is built when it is recorded, with the stored IHS
    # number, and sent without asking SATUSEHAT again.
    second = queue()
    assert bundle_of(second)["entry"][0]["resource"]["subject"]["reference"] == f"Patient/{ihs}"
    assert send(db_session, satusehat, vault, NOW + MINUTE).sent == 1
    assert satusehat.searches == [SEARCHED]
    assert [a for a, _, _ in trail(db_session)] == [
        "export.lookup",
        "export.send",
        "export.queue",  # the second visit's bundle built when recorded
        "export.send",
    ]


def test_two_visits_waiting_for_one_patient_ask_once(db_session, vault, queue, satusehat):
    satusehat.add_patient(NIK_MAN)
    queue(), queue()
    assert send(db_session, satusehat, vault).sent == 2
    assert satusehat.searches == [SEARCHED]


def test_a_changed_nik_is_looked_up_again(db_session, vault, queue, budi, satusehat):
    satusehat.add_patient(NIK_MAN)
    queue()
    send(db_session, satusehat, vault)
    # The desk corrects the patient's NIK: the stored IHS number no longer answers for it.
    other_ihs = satusehat.add_patient(NIK_WOMAN)
    cipher, digest = vault.seal(NIK_WOMAN)
    db_session.execute(
        update(Patient).where(Patient.id == budi.id).values(nik_cipher=cipher, nik_hash=digest)
    )
    db_session.commit()
    item = queue()
    assert item.bundle_sealed is None  # not built with the old IHS number
    assert send(db_session, satusehat, vault, NOW + MINUTE).sent == 1
    assert satusehat.searches == [SEARCHED, f"https://fhir.kemkes.go.id/id/nik|{NIK_WOMAN}"]
    assert satusehat.received[-1]["entry"][0]["resource"]["subject"]["reference"] == (
        f"Patient/{other_ihs}"
    )


# -- not found -------------------------------------------------------------------------


def test_a_patient_satusehat_does_not_know_is_held_for_the_desk(
    client, login, officer, facility, db_session, vault, queue, budi, satusehat
):
    item = queue()
    summary = send(db_session, satusehat, vault)
    assert summary.line() == "0 sent, 0 waiting, 0 failed, 1 held"
    assert satusehat.fhir_requests == 0 and satusehat.received == []  # nothing sent
    held = fresh(db_session, Export, item.id)
    assert (held.status, held.hold_reason, held.bundle_sealed) == ("held", "patient", None)
    patient = fresh(db_session, Patient, budi.id)
    assert (patient.ihs_cipher, patient.ihs_checked_at) == (None, NOW)
    # The admin sees why on the export page...
    login(client, role="admin")
    assert "SATUSEHAT tidak memiliki pasien dengan NIK ini" in client.get("/puskesmas/kirim/").text
    # ...and the registration desk on the patient's record (one audited read).
    desk = client.application.test_client()
    desk.host = client.host  # type: ignore[attr-defined]
    officer(desk, facility, "registration")
    before = len(trail(db_session))
    page = desk.get(f"/puskesmas/pasien/{budi.id}").text
    assert "SATUSEHAT tidak memiliki pasien dengan NIK ini." in page
    assert [a for a, _, _ in trail(db_session)[before:]] == ["patient.read"]


def test_a_held_patient_is_asked_again_a_day_later_or_when_the_nik_changes(
    db_session, vault, queue, budi, satusehat
):
    item = queue()
    send(db_session, satusehat, vault)
    # Another visit of the patient the same day is held at once, without asking again.
    second = queue()
    send(db_session, satusehat, vault, NOW + timedelta(hours=3))
    assert fresh(db_session, Export, second.id).status == "held"
    assert satusehat.searches == [SEARCHED]
    # The next day SATUSEHAT is asked again (the civil registry may have caught up).
    ihs = satusehat.add_patient(NIK_MAN)
    summary = send(db_session, satusehat, vault, NOW + timedelta(days=1, minutes=1))
    assert summary.line() == "2 sent, 0 waiting, 0 failed"
    assert satusehat.searches == [SEARCHED, SEARCHED]
    assert {fresh(db_session, Export, e.id).status for e in (item, second)} == {"sent"}
    assert {b["entry"][0]["resource"]["subject"]["reference"] for b in satusehat.received} == {
        f"Patient/{ihs}"
    }


def test_correcting_the_nik_releases_the_held_visits_at_the_next_run(
    db_session, vault, queue, budi, satusehat
):
    item = queue()
    send(db_session, satusehat, vault)
    satusehat.add_patient(NIK_WOMAN)
    cipher, digest = vault.seal(NIK_WOMAN)
    db_session.execute(
        update(Patient).where(Patient.id == budi.id).values(nik_cipher=cipher, nik_hash=digest)
    )
    db_session.commit()
    assert send(db_session, satusehat, vault, NOW + MINUTE).sent == 1
    assert fresh(db_session, Export, item.id).status == "sent"


def test_check_again_asks_satusehat_at_the_next_run(
    client, login, db_session, vault, queue, satusehat
):
    item = queue()
    send(db_session, satusehat, vault)
    satusehat.add_patient(NIK_MAN)  # registered meanwhile
    with travel(NOW + MINUTE):
        login(client, role="admin")
        detail = client.get(f"/puskesmas/kirim/{item.id}").text
        assert "Periksa lagi dan kirim" in detail
        answer = client.post(f"/puskesmas/kirim/{item.id}/ulang", follow_redirects=True)
    assert "akan diulang dalam satu menit" in answer.text
    assert fresh(db_session, Export, item.id).status == "pending"
    assert send(db_session, satusehat, vault, NOW + MINUTE).sent == 1
    assert satusehat.searches == [SEARCHED, SEARCHED]


def test_several_patients_for_one_nik_are_held_as_ambiguous(
    db_session, vault, queue, budi, satusehat
):
    satusehat.add_patient(NIK_MAN)
    satusehat.add_patient(NIK_MAN)
    item = queue()
    send(db_session, satusehat, vault)
    held = fresh(db_session, Export, item.id)
    assert (held.status, held.hold_reason) == ("held", "patient_ambiguous")
    assert fresh(db_session, Patient, budi.id).ihs_ambiguous
    assert satusehat.received == []


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("500", "attempt 1: patient lookup: 500 Internal Server Error"),
        ("503", "attempt 1: patient lookup: 503 Service Unavailable"),
        ("close", "attempt 1: patient lookup: network: RemoteProtocolError"),
    ],
)
def test_a_failed_lookup_is_tried_again_later(
    db_session, vault, queue, budi, satusehat, answer, error
):
    satusehat.add_patient(NIK_MAN)
    item = queue()
    satusehat.fail_search(answer)
    summary = send(db_session, satusehat, vault)
    assert (summary.sent, summary.retrying, summary.waiting) == (0, 1, 1)
    waiting = fresh(db_session, Export, item.id)
    assert (waiting.status, waiting.attempts, waiting.last_error) == ("pending", 1, error)
    assert waiting.next_attempt_at == NOW + MINUTE
    assert fresh(db_session, Patient, budi.id).ihs_checked_at is None  # nothing learnt
    assert satusehat.fhir_requests == 0
    assert send(db_session, satusehat, vault, NOW + MINUTE).sent == 1
    assert len(satusehat.searches) == 2


def test_a_throttled_lookup_waits_as_asked(db_session, vault, queue, satusehat):
    item = queue()
    satusehat.fail_search("429")
    send(db_session, satusehat, vault)
    assert fresh(db_session, Export, item.id).next_attempt_at == NOW + timedelta(seconds=120)


def test_an_expired_token_is_refreshed_for_the_lookup(db_session, vault, queue, satusehat):
    satusehat.add_patient(NIK_MAN)
    queue()
    satusehat.fail_search("401")
    assert send(db_session, satusehat, vault).sent == 1
    assert satusehat.token_requests == 2
    assert len(satusehat.searches) == 2


def test_a_refused_lookup_fails_with_the_reason(db_session, vault, queue, satusehat):
    item = queue()
    satusehat.fail_search("403")
    summary = send(db_session, satusehat, vault)
    assert summary.line() == "0 sent, 0 waiting, 1 failed"
    failed = fresh(db_session, Export, item.id)
    assert (failed.status, failed.last_error) == ("failed", "patient lookup: 403 Forbidden")
    assert NIK_MAN not in failed.last_error


def test_no_token_stops_the_run_before_the_nik_leaves(db_session, vault, queue, satusehat):
    item = queue()
    satusehat.fail_token("500")
    summary = send(db_session, satusehat, vault)
    assert summary.message == "no access token: 500 Internal Server Error"
    assert satusehat.searches == []
    waiting = fresh(db_session, Export, item.id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)


def test_a_lookup_is_audited_even_when_it_fails(db_session, vault, queue, budi, satusehat):
    item = queue()
    satusehat.fail_search("500")
    send(db_session, satusehat, vault)
    assert trail(db_session) == [
        ("export.lookup", budi.id, f"export {item.id}: patient looked up in SATUSEHAT by NIK")
    ]
