"""The registration desk: call, call again, pass over, serve, walk-ins; duties and regions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.channels import OutboxMessage, open_message
from balai.db import utcnow
from balai_puskesmas import queue
from balai_puskesmas.models import Clinic, Facility, Ticket
from balai_puskesmas.services import Actor, PuskesmasError

from .conftest import NIK_MAN

pytestmark = pytest.mark.clock  # see docs/testing.md, "Dates and times"

TZ = "Asia/Jakarta"
DESK = "/puskesmas/loket"
EVERY_DAY = {str(d): ["00:00", "23:59"] for d in range(1, 8)}


@pytest.fixture(autouse=True)
def english(client) -> None:
    """Pages in English: the assertions read message ids, whatever the catalogue says."""
    client.get("/bahasa?lang=en&next=/")


@pytest.fixture
def open_facility(enabled, make_facility: Callable[..., Facility]) -> Facility:
    return make_facility(hours=EVERY_DAY)


@pytest.fixture
def umum(open_facility: Facility) -> Clinic:
    return open_facility.clinics[0]


@pytest.fixture
def take(db_session: Session, vault, umum: Clinic) -> Callable[..., Ticket]:
    """``take(clinic=umum, phone=None)``: a number for today, committed."""

    def do_take(clinic: Clinic = umum, phone: str | None = None, **fields) -> Ticket:
        now = utcnow()
        ticket = queue.take_number(
            db_session,
            vault,
            clinic.id,
            queue.region_today(now, TZ),
            now,
            channel="web",
            days_ahead=0,
            closed_on_holidays=False,
            timezone=TZ,
            phone=phone,
            **fields,
        )
        db_session.commit()
        return ticket

    return do_take


@pytest.fixture
def statuses(db_session: Session) -> Callable[[], dict[int, str]]:
    def read() -> dict[int, str]:
        db_session.rollback()
        db_session.expire_all()
        return {t.number: t.status for t in db_session.scalars(select(Ticket))}

    return read


def outbox(db_session: Session) -> list[OutboxMessage]:
    db_session.rollback()
    db_session.expire_all()
    return list(db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


# -- who may work the desk -----------------------------------------------------------


def test_desk_needs_the_permission(client, umum, login):
    assert client.get(f"{DESK}/").status_code in (302, 401)  # not logged in
    login(client)  # a citizen
    assert client.get(f"{DESK}/").status_code == 403
    assert client.get(f"{DESK}/{umum.id}").status_code == 403


def test_officer_without_a_duty_sees_the_empty_state(client, umum, login):
    login(client, role="opd")
    response = client.get(f"{DESK}/")
    assert response.status_code == 200
    assert "You have no registration or clinician duty at any puskesmas" in response.text
    assert client.get(f"{DESK}/{umum.id}").status_code == 403
    assert client.post(f"{DESK}/{umum.id}/panggil").status_code == 403


def test_duty_elsewhere_or_viewer_duty_is_refused(
    client, open_facility, umum, make_facility, officer, take, statuses
):
    elsewhere = make_facility("LAIN", hours=EVERY_DAY)
    officer(client, elsewhere)
    ticket = take()
    for url in (
        f"{DESK}/{umum.id}",
        f"{DESK}/{umum.id}/panggil",
        f"{DESK}/{umum.id}/ambil",
        f"{DESK}/tiket/{ticket.id}/ulang",
        f"{DESK}/tiket/{ticket.id}/lewati",
        f"{DESK}/tiket/{ticket.id}/selesai",
    ):
        response = client.get(url) if url.endswith(str(umum.id)) else client.post(url)
        assert response.status_code == 403, url
    assert statuses() == {1: "waiting"}
    listed = client.get(f"{DESK}/")
    assert "Puskesmas Lain" in listed.text and open_facility.name not in listed.text


def test_viewer_duty_cannot_call(client, open_facility, umum, officer, take):
    officer(client, open_facility, duty="viewer")
    take()
    assert client.post(f"{DESK}/{umum.id}/panggil").status_code == 403
    assert "You have no registration or clinician duty" in client.get(f"{DESK}/").text


def test_clinician_may_call(client, open_facility, umum, officer, take, statuses):
    officer(client, open_facility, duty="clinician")
    ticket = take()
    assert client.post(f"{DESK}/{umum.id}/panggil").status_code == 302
    assert statuses() == {1: "called"}
    page = client.get(f"{DESK}/{umum.id}")
    # a clinician records the visit; they find patients but neither register them nor
    # link a number to one (the registration desk confirms who holds it)
    assert f"/puskesmas/kunjungan/baru?tiket={ticket.id}" in page.text
    assert "Record the visit" in page.text
    assert f"/puskesmas/pasien/?tiket={ticket.id}" not in page.text
    assert 'href="/puskesmas/pasien/"' in page.text
    assert "Find a patient" in page.text and "Find or register" not in page.text
    assert client.get(f"/puskesmas/kunjungan/baru?tiket={ticket.id}").status_code == 200


def test_a_called_number_with_a_patient_links_the_record(
    client, open_facility, umum, officer, take, add_patient, db_session
):
    officer(client, open_facility, duty="clinician")
    patient = add_patient()
    ticket = take()
    db_session.get(Ticket, ticket.id).patient_id = patient.id
    db_session.commit()
    client.post(f"{DESK}/{umum.id}/panggil")
    page = client.get(f"{DESK}/{umum.id}")
    assert f'href="/puskesmas/pasien/{patient.id}">Patient record</a>' in page.text


def test_unknown_ids_are_404(client, open_facility, officer):
    officer(client, open_facility)
    assert client.get(f"{DESK}/99999").status_code == 404
    assert client.post(f"{DESK}/99999/panggil").status_code == 404
    assert client.post(f"{DESK}/99999/ambil").status_code == 404
    for move in ("ulang", "lewati", "selesai"):
        assert client.post(f"{DESK}/tiket/99999/{move}").status_code == 404


def test_other_regions_clinics_and_tickets_are_404(
    client, other_client, umum, take, login, enable_plugin, other_tenant, app, statuses
):
    enable_plugin("puskesmas", tenant=other_tenant)
    ticket = take()
    other_client.get("/bahasa?lang=en&next=/")
    login(other_client, role="admin", tenant=other_tenant)
    assert other_client.get(f"{DESK}/{umum.id}").status_code == 404
    assert other_client.post(f"{DESK}/{umum.id}/panggil").status_code == 404
    assert other_client.post(f"{DESK}/{umum.id}/ambil").status_code == 404
    for move in ("ulang", "lewati", "selesai"):
        assert other_client.post(f"{DESK}/tiket/{ticket.id}/{move}").status_code == 404
    assert statuses() == {1: "waiting"}


# -- the desk's moves ------------------------------------------------------------------


def test_index_lists_the_officers_clinics_with_waiting_counts(
    client, open_facility, umum, officer, take
):
    officer(client, open_facility)
    take()
    take()
    response = client.get(f"{DESK}/")
    assert response.status_code == 200
    assert f'href="{DESK}/{umum.id}">Poli Umum</a></td>' in response.text
    assert "<td>2</td>" in response.text


def test_call_recall_skip_and_serve(
    client, open_facility, umum, officer, take, statuses, db_session
):
    user = officer(client, open_facility)
    first, second, third = take(), take(), take()
    page = client.get(f"{DESK}/{umum.id}")
    assert page.status_code == 200
    assert "No number is called now." in page.text and "UMUM-003" in page.text

    response = client.post(f"{DESK}/{umum.id}/panggil")
    assert response.status_code == 302 and response.headers["Location"] == f"{DESK}/{umum.id}"
    assert statuses() == {1: "called", 2: "waiting", 3: "waiting"}
    page = client.get(f"{DESK}/{umum.id}")
    assert "UMUM-001 called." in page.text
    # the registration desk finds or registers the patient; recording the visit is the
    # clinician's (it would answer 403 here)
    assert f"/puskesmas/kunjungan/baru?tiket={first.id}" not in page.text
    assert "Record the visit" not in page.text
    assert f"/puskesmas/pasien/?tiket={first.id}" in page.text
    assert "Find or register the patient" in page.text

    client.post(f"{DESK}/{umum.id}/panggil")
    client.post(f"{DESK}/tiket/{second.id}/lewati")
    assert statuses() == {1: "called", 2: "skipped", 3: "waiting"}
    client.post(f"{DESK}/tiket/{second.id}/ulang")
    client.post(f"{DESK}/tiket/{first.id}/selesai")
    client.post(f"{DESK}/tiket/{third.id}/lewati")  # a waiting number may be passed over
    assert statuses() == {1: "served", 2: "called", 3: "skipped"}

    with_data = client.get(f"{DESK}/{umum.id}")
    assert "Nobody is waiting." in with_data.text
    nobody = client.post(f"{DESK}/{umum.id}/panggil", follow_redirects=True)
    assert "Nobody is waiting." in nobody.text

    db_session.expire_all()
    called = db_session.get(Ticket, second.id)
    assert called.recalls == 1 and called.called_by_id == user.id


def test_impossible_moves_are_409_and_change_nothing(
    client, open_facility, umum, officer, take, statuses
):
    officer(client, open_facility)
    first, second = take(), take()
    refused = client.post(f"{DESK}/tiket/{first.id}/selesai")
    assert refused.status_code == 409
    assert "UMUM-001 is waiting: only a called number is served." in refused.text
    assert client.post(f"{DESK}/tiket/{first.id}/ulang").status_code == 409
    client.post(f"{DESK}/{umum.id}/panggil")
    client.post(f"{DESK}/tiket/{first.id}/selesai")
    assert client.post(f"{DESK}/tiket/{first.id}/lewati").status_code == 409
    assert client.post(f"{DESK}/tiket/{first.id}/ulang").status_code == 409
    assert client.post(f"{DESK}/tiket/{first.id}/selesai").status_code == 409
    client.post(f"/puskesmas/antrean/{second.code}/batal")
    assert client.post(f"{DESK}/tiket/{second.id}/ulang").status_code == 409
    assert statuses() == {1: "served", 2: "cancelled"}


def test_calling_announces_and_texts_the_holder(
    client, open_facility, umum, officer, take, db_session
):
    officer(client, open_facility)
    with_phone = take(phone="0812 3456 7890")
    take()  # no phone: no SMS
    client.post(f"{DESK}/{umum.id}/panggil")
    client.post(f"{DESK}/{umum.id}/panggil")
    client.post(f"{DESK}/tiket/{with_phone.id}/ulang")
    rows = [m for m in outbox(db_session) if m.channel == "sms"]
    texts = [open_message(m) for m in rows]
    assert [m.recipient for m in texts] == ["+6281234567890", "+6281234567890"]
    assert all(m.body.startswith("Nomor antrean 001 dipanggil") for m in texts)
    assert all("di Puskesmas Cip. Tujuan: http://" in m.body for m in texts)
    assert texts[0].body != texts[1].body  # the second says "again"
    assert {m.source for m in texts} == {"puskesmas"}


def test_the_call_sms_says_the_number_the_place_and_the_tickets_page_not_the_clinic(
    client, open_facility, umum, officer, take, db_session, login
):
    """The holder learns where to go from the ticket's own page, linked in the SMS; the
    SMS names no clinic (a KIA says something about the holder's health and shows on a
    locked screen) and no person, is kept sealed, and the region admin's outbox shows
    its recipient masked and not its text."""
    kia = next(c for c in open_facility.clinics if c.code == "KIA")
    user = officer(client, open_facility)
    take(clinic=kia, phone="0812 3456 7890")
    assert client.post(f"{DESK}/{kia.id}/panggil").status_code == 302
    (row,) = [m for m in outbox(db_session) if m.channel == "sms"]
    message = open_message(row)
    (ticket,) = db_session.scalars(select(Ticket).where(Ticket.clinic_id == kia.id))
    assert message.body == (
        "Nomor antrean 001 dipanggil di Puskesmas Cip. Tujuan: "
        f"http://{client.host}/puskesmas/antrean/{ticket.code}"
    )
    assert "KIA" not in message.body and "Kia" not in message.body
    assert row.sensitive and "6281234567890" not in row.recipient_sealed + row.body
    assert row.recipient_hint == "+62812****7890"
    assert user.id
    admin = client.application.test_client()
    admin.host = client.host
    login(admin, role="admin")
    page = admin.get("/admin/sms")
    assert page.status_code == 200
    assert "+62812****7890" in page.text
    assert "6281234567890" not in page.text and "3456" not in page.text
    assert "Nomor antrean" not in page.text


def test_walk_in_gets_a_number_at_the_desk(
    client, open_facility, umum, officer, take, db_session, vault
):
    officer(client, open_facility)
    take()
    response = client.post(f"{DESK}/{umum.id}/ambil", data={"nik": NIK_MAN})
    assert response.status_code == 302
    page = client.get(f"{DESK}/{umum.id}")
    assert "Number UMUM-002 given." in page.text
    db_session.expire_all()
    walk_in = db_session.scalar(select(Ticket).where(Ticket.number == 2))
    assert walk_in.channel == "desk" and walk_in.nik_hash == vault.hash(NIK_MAN)


def test_walk_in_with_a_bad_nik_writes_nothing(client, open_facility, umum, officer, statuses):
    officer(client, open_facility)
    response = client.post(f"{DESK}/{umum.id}/ambil", data={"nik": "12345", "phone": "0812"})
    assert response.status_code == 400
    assert 'id="nik-error"' in response.text and 'id="phone-error"' in response.text
    assert statuses() == {}


def test_waiting_list_is_paginated(client, open_facility, umum, officer, take):
    officer(client, open_facility)
    for _n in range(52):
        take()
    first = client.get(f"{DESK}/{umum.id}")
    assert "UMUM-050" in first.text and "UMUM-051" not in first.text
    assert "?page=2" in first.text
    second = client.get(f"{DESK}/{umum.id}?page=2")
    assert "UMUM-051" in second.text and "UMUM-052" in second.text


# -- the rules without HTTP -----------------------------------------------------------


def test_call_next_takes_the_lowest_waiting_number(db_session, open_facility, umum, take):
    actor = Actor(user_id=None, label="desk", duties={open_facility.id: "registration"})
    take(), take(), take()
    now = utcnow()
    day = queue.region_today(now, TZ)
    first = queue.call_next(db_session, actor, umum.id, day, now)
    queue.skip(db_session, actor, first.id, now)
    second = queue.call_next(db_session, actor, umum.id, day, now)
    assert (first.number, second.number) == (1, 2)
    db_session.commit()
    stranger = Actor(user_id=None, label="x", duties={open_facility.id: "viewer"})
    with pytest.raises(PuskesmasError) as refused:
        queue.call_next(db_session, stranger, umum.id, day, now)
    assert refused.value.status == 403
    with pytest.raises(PuskesmasError) as missing:
        queue.call_next(db_session, actor, 99999, day, now)
    assert missing.value.status == 404
