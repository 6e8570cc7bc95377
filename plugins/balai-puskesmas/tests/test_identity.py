"""A NIK given with a queue number only suggests a patient: anyone can type someone
else's NIK. The desk confirms the holder's identity on their KTP or KK before a visit
can be recorded with the number against that patient."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from balai.db import utcnow
from balai_puskesmas.models import AuditEntry, Ticket, Visit
from balai_puskesmas.queue import region_today

from .conftest import ALL_DAY, NIK_MAN

TAKE = "/puskesmas/antrean/ambil"
NEW_VISIT = "/puskesmas/kunjungan/baru"
DESK = "/puskesmas/loket"


@pytest.fixture(autouse=True)
def english(client):
    client.get("/bahasa?lang=en&next=/")


@pytest.fixture
def open_facility(enabled, make_facility):
    return make_facility(hours=ALL_DAY)


@pytest.fixture
def scene(app, client, open_facility, login, assign, add_patient, db_session):
    """Budi is registered; someone else takes a number on the web with Budi's NIK, and
    the desk calls it. A registration officer and a clinician work there."""
    umum = open_facility.clinics[0]
    budi = add_patient(nik=NIK_MAN, name="Budi Santoso")
    stranger = app.test_client()
    stranger.host = client.host
    today = region_today(utcnow(), "Asia/Jakarta").isoformat()
    taken = stranger.post(TAKE, data={"clinic": str(umum.id), "day": today, "nik": NIK_MAN})
    assert taken.status_code == 302
    desk = app.test_client()
    desk.host = client.host
    desk.get("/bahasa?lang=en&next=/")
    assign(login(desk, role="opd"), open_facility, "registration")
    assert desk.post(f"{DESK}/{umum.id}/panggil").status_code == 302
    assign(login(client, role="opd"), open_facility, "clinician")
    db_session.expire_all()
    ticket = db_session.scalars(select(Ticket)).one()
    return {"budi": budi, "ticket": ticket, "desk": desk, "clinic": umum}


def visit_form(ticket_id: int, patient_id: int) -> dict[str, str]:
    return {
        "tiket": str(ticket_id),
        "pasien": str(patient_id),
        "complaint": "Demam",
        "diagnosis_1": "R50.9",
    }


def test_a_number_taken_with_someone_elses_nik_is_only_a_suggestion(client, scene, db_session):
    budi, ticket = scene["budi"], scene["ticket"]
    assert (ticket.patient_id, ticket.suggested_patient_id) == (None, budi.id)

    # The clinician waits for the desk, and learns nothing of Budi, not even that the
    # NIK given with the number belongs to a registered patient.
    page = client.get(f"{NEW_VISIT}?tiket={ticket.id}")
    assert page.status_code == 200
    assert "not linked to a patient yet" in page.text
    assert "registered patient" not in page.text
    assert "Budi Santoso" not in page.text and 'name="complaint"' not in page.text
    # Recording against Budi with this number is refused, whatever the form says.
    refused = client.post(NEW_VISIT, data=visit_form(ticket.id, budi.id))
    assert refused.status_code == 400
    assert "registration desk must check their KTP or KK" in refused.text
    assert db_session.scalars(select(Visit)).all() == []

    # The desk sees the suggestion (an audited read) and the number's badge.
    desk = scene["desk"]
    assert "check the KTP or KK" in desk.get(f"{DESK}/{scene['clinic'].id}").text
    suggested = desk.get(f"/puskesmas/pasien/?tiket={ticket.id}")
    assert "Is this the holder of number UMUM-001?" in suggested.text
    assert "Budi Santoso" in suggested.text and 'name="identitas"' in suggested.text
    read = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "patient.read")).one()
    assert read.patient_id == budi.id and f"ticket {ticket.id}" in read.detail

    # Confirming needs the document checked; then the visit can be recorded.
    attach = f"/puskesmas/pasien/{budi.id}/tiket"
    assert desk.post(attach, data={"tiket": str(ticket.id)}).status_code == 302
    db_session.expire_all()
    assert db_session.get(Ticket, ticket.id).patient_id is None
    assert desk.post(attach, data={"tiket": str(ticket.id), "identitas": "ktp"}).status_code == 302
    db_session.expire_all()
    confirmed = db_session.get(Ticket, ticket.id)
    assert (confirmed.patient_id, confirmed.suggested_patient_id) == (budi.id, None)
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "ticket.attach")).one()
    assert "identity checked: ktp; suggestion: confirmed" in entry.detail
    assert client.post(NEW_VISIT, data=visit_form(ticket.id, budi.id)).status_code == 302
    (visit,) = db_session.scalars(select(Visit)).all()
    assert (visit.patient_id, visit.ticket_id) == (budi.id, ticket.id)


def test_the_desk_can_set_the_suggestion_aside_for_the_real_holder(
    client, scene, db_session, add_patient
):
    """The holder is not Budi: the desk links the person whose KTP it checked."""
    from datetime import date

    from .conftest import NIK_WOMAN

    siti = add_patient(nik=NIK_WOMAN, name="Siti", birth_date=date(1992, 7, 15), sex="female")
    ticket = scene["ticket"]
    response = scene["desk"].post(
        f"/puskesmas/pasien/{siti.id}/tiket", data={"tiket": str(ticket.id), "identitas": "kk"}
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Ticket, ticket.id).patient_id == siti.id
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "ticket.attach")).one()
    assert "suggestion: set aside; nik on ticket: differs" in entry.detail
    page = client.get(f"{NEW_VISIT}?tiket={ticket.id}")
    assert "Siti" in page.text and "Budi Santoso" not in page.text


def test_only_the_registration_desk_confirms_who_holds_a_number(client, scene, db_session):
    """The clinician (``client``) works the same queue but does not check KTPs: they
    are shown no suggested patient and cannot link the number, whatever they post."""
    budi, ticket = scene["budi"], scene["ticket"]
    page = client.get(f"/puskesmas/pasien/?tiket={ticket.id}")
    assert page.status_code == 200
    assert "Is this the holder" not in page.text and "Budi Santoso" not in page.text
    assert 'name="identitas"' not in page.text and "/tiket" not in page.text
    assert "Choose or register the patient of queue number" not in page.text
    found = client.post("/puskesmas/pasien/", data={"nik": NIK_MAN, "tiket": str(ticket.id)})
    assert "Budi Santoso" in found.text  # the clinician may find the patient …
    assert "Link number" not in found.text and 'name="identitas"' not in found.text  # … only
    desk = client.get(f"{DESK}/{scene['clinic'].id}")
    assert f"pasien/?tiket={ticket.id}" not in desk.text
    refused = client.post(
        f"/puskesmas/pasien/{budi.id}/tiket", data={"tiket": str(ticket.id), "identitas": "ktp"}
    )
    assert refused.status_code == 403
    db_session.expire_all()
    unchanged = db_session.get(Ticket, ticket.id)
    assert (unchanged.patient_id, unchanged.suggested_patient_id) == (None, budi.id)
    actions = db_session.scalars(select(AuditEntry.action)).all()
    assert "ticket.attach" not in actions
    assert "patient.read" not in actions  # the suggestion was never read for them


@pytest.mark.parametrize("channel", ["api", "sms"])
def test_every_channel_only_suggests(
    app, client, open_facility, add_patient, db_session, channel, sms_webhook
):
    budi = add_patient(nik=NIK_MAN)
    umum = open_facility.clinics[0]
    if channel == "api":
        response = client.post(
            "/api/v1/puskesmas/tickets", json={"clinic_id": umum.id, "nik": NIK_MAN}
        )
        assert response.status_code == 201
    else:
        response = client.post(
            "/-/sms/masuk",
            data={"from": "+6281234567890", "text": f"ANTRE CIP UMUM {NIK_MAN}"},
            headers=sms_webhook(),
        )
        assert response.status_code == 200
    db_session.expire_all()
    ticket = db_session.scalars(select(Ticket)).one()
    assert (ticket.patient_id, ticket.suggested_patient_id) == (None, budi.id)


def test_the_migration_turns_unchecked_links_into_suggestions(
    app, tenant, open_facility, add_patient, db_session, vault
):
    """Open numbers linked by the NIK alone become suggestions; one the desk linked
    (a ticket.attach entry) stays linked."""
    from sqlalchemy import text

    from balai.testing import downgraded

    budi = add_patient(nik=NIK_MAN)
    umum = open_facility.clinics[0]
    today = region_today(utcnow(), "Asia/Jakarta")
    with downgraded(app, "puskesmas_0001"), db_all_tenants() as connection:
        for number, code in ((1, "KODEPERTAMA1"), (2, "KODEKEDUA222")):
            connection.execute(
                text(
                    "INSERT INTO puskesmas_ticket (tenant_id, code, facility_id, clinic_id,"
                    " day, number, status, channel, patient_id, nik_hash, created_at,"
                    " recalls) VALUES (:t, :code, :f, :c, :day, :n, 'waiting', 'web', :p,"
                    " :h, :now, 0)"
                ),
                {
                    "now": f"{utcnow():%Y-%m-%d %H:%M:%S}+00:00",
                    "t": tenant.id,
                    "code": code,
                    "f": open_facility.id,
                    "c": umum.id,
                    "day": today,
                    "n": number,
                    "p": budi.id,
                    "h": vault.hash(NIK_MAN),
                },
            )
        second = connection.execute(
            text("SELECT id FROM puskesmas_ticket WHERE number = 2")
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO puskesmas_audit (tenant_id, at, actor, action, detail, address,"
                " channel) VALUES (:t, :now, 'desk', 'ticket.attach', :d, '',"
                " 'web')"
            ),
            {
                "now": f"{utcnow():%Y-%m-%d %H:%M:%S}+00:00",
                "t": tenant.id,
                "d": f"ticket {second}; link: new; nik on ticket: matches",
            },
        )
    db_session.expire_all()
    found = {
        t.number: (t.patient_id, t.suggested_patient_id) for t in db_session.scalars(select(Ticket))
    }
    assert found == {1: (None, budi.id), 2: (budi.id, None)}


def db_all_tenants():
    """A session over every region (row security on PostgreSQL lets it write)."""
    from balai.db import db

    return db.all_tenants()
