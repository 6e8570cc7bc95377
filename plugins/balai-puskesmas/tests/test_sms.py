"""Queue numbers by SMS: ``ANTRE <puskesmas> <poli> [NIK]`` through the core's webhook."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.channels import OutboxMessage, open_message
from balai.db import utcnow
from balai_puskesmas import queue
from balai_puskesmas.models import Clinic, Facility, Ticket
from balai_puskesmas.sms import keyword

from .conftest import NIK_MAN

pytestmark = pytest.mark.clock  # see docs/testing.md, "Dates and times"

SENDER = "+6281234567890"
EVERY_DAY = {str(d): ["00:00", "23:59"] for d in range(1, 8)}


@pytest.fixture(autouse=True)
def english(client) -> None:
    """Replies in English: the assertions read message ids, whatever the catalogue says."""
    client.get("/bahasa?lang=en&next=/")


@pytest.fixture
def open_facility(enabled, make_facility: Callable[..., Facility]) -> Facility:
    return make_facility(hours=EVERY_DAY)


@pytest.fixture
def send(app, client, enabled, open_facility, sms_webhook):
    """``send(text, sender=SENDER)``: post an inbound SMS to the region's webhook."""
    headers = sms_webhook()

    def post(text: str, sender: str = SENDER):
        response = client.post("/-/sms/masuk", data={"from": sender, "text": text}, headers=headers)
        assert response.status_code == 200
        return response.text

    return post


@pytest.fixture
def stored(db_session: Session) -> Callable[[], list[Ticket]]:
    def read() -> list[Ticket]:
        db_session.rollback()
        db_session.expire_all()
        return list(db_session.scalars(select(Ticket).order_by(Ticket.id)))

    return read


def test_keyword_is_claimed_with_its_format():
    claimed = keyword()
    assert (claimed.keyword, claimed.help) == ("ANTRE", "ANTRE <kode puskesmas> <kode poli> [NIK]")


def test_sms_takes_a_number_and_the_reply_gives_it(send, stored, vault, db_session, audited):
    reply = send("ANTRE CIP UMUM")
    [ticket] = stored()
    assert (ticket.channel, ticket.number, ticket.status) == ("sms", 1, "waiting")
    assert ticket.day == queue.region_today(utcnow(), "Asia/Jakarta")
    assert vault.decrypt(ticket.phone_cipher, audited) == SENDER
    assert "UMUM-001" in reply and "Poli Umum" in reply and "Puskesmas Cip" in reply
    assert "today: 0 people ahead, about 0 minutes." in reply
    assert f"http://kota-a.test/puskesmas/antrean/{ticket.code}" in reply
    second = send("antre cip umum", sender="0812 9999 8888")
    assert "UMUM-002" in second and "1 person ahead, about 10 minutes" in second
    replies = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.channel == "sms").order_by(OutboxMessage.id)
    ).all()
    # one reply each, kept sealed and marked sensitive (it names the clinic)
    assert [open_message(m).recipient for m in replies] == [SENDER, "0812 9999 8888"]
    assert all(m.sensitive and "Poli Umum" not in m.body for m in replies)
    assert vault.decrypt(stored()[1].phone_cipher, audited) == "+6281299998888"


def test_sms_with_a_nik(send, stored, vault):
    send(f"ANTRE CIP GIGI {NIK_MAN}")
    [ticket] = stored()
    assert ticket.nik_hash == vault.hash(NIK_MAN)
    assert queue.display_number(ticket) == "GIGI-001"


def test_a_gateway_sender_that_is_no_mobile_number_still_gets_a_number(send, stored):
    reply = send("ANTRE CIP UMUM", sender="+14155550100")
    [ticket] = stored()
    assert ticket.phone_cipher is None and "UMUM-001" in reply


@pytest.mark.parametrize("text", ["ANTRE", "ANTRE CIP", "ANTRE CIP UMUM 1 2", "ANTRE XYZ UMUM"])
def test_malformed_sms_gets_the_format_and_the_codes(send, stored, text):
    reply = send(text)
    assert "Format: ANTRE <kode puskesmas> <kode poli> [NIK]" in reply
    assert "Puskesmas codes: CIP (UMUM, GIGI, KIA)" in reply
    assert stored() == []


def test_unknown_clinic_gets_the_clinic_codes_of_the_puskesmas(send, stored):
    reply = send("ANTRE cip MATA")
    assert "Clinic codes at CIP: UMUM, GIGI, KIA." in reply
    assert stored() == []


def test_long_code_lists_name_only_the_puskesmas(send, make_facility):
    for n in range(20):
        make_facility(f"PKM{n:02d}", clinics=("UMUM", "GIGI", "KIA", "LANSIA", "IMUNISASI"))
    reply = send("ANTRE")
    assert "CIP, PKM00, PKM01" in reply and "LANSIA" not in reply


def test_bad_nik_is_explained(send, stored):
    reply = send("ANTRE CIP UMUM 1234")
    assert reply.startswith("No number was taken:") and "16 digits" in reply
    assert stored() == []


@pytest.mark.balai_config(PLUGIN_SETTINGS={"puskesmas": {"desk_share_percent": 0}})
def test_closed_day_and_quota_are_explained(send, stored, make_facility, db_session):
    today = queue.region_today(utcnow(), "Asia/Jakarta")
    hours = {str(d): ["07:30", "14:00"] for d in range(1, 8) if d != today.isoweekday()}
    make_facility("TUTUP", hours=hours)
    assert "The puskesmas is closed on that day." in send("ANTRE TUTUP UMUM")
    kia = db_session.scalar(select(Clinic).where(Clinic.code == "KIA"))
    kia.daily_quota = 1
    db_session.commit()
    assert "KIA-001" in send("ANTRE CIP KIA")
    assert "This clinic has given all its numbers for that day." in send("ANTRE CIP KIA")
    assert [queue.display_number(t) for t in stored()] == ["KIA-001"]


def test_reply_link_opens_the_ticket(client, send, stored):
    reply = send("ANTRE CIP UMUM")
    link = re.search(r"https?://\S+", reply).group(0)
    page = client.get(link.removeprefix("http://kota-a.test"))
    assert page.status_code == 200 and "UMUM-001" in page.text


def test_a_region_without_the_plugin_does_not_answer_antre(
    app, other_client, other_tenant, enabled, stored, sms_webhook
):
    headers = sms_webhook(tenant=other_tenant)
    reply = other_client.post(
        "/-/sms/masuk",
        data={"from": SENDER, "text": "ANTRE CIP UMUM"},
        headers=headers,
    )
    assert reply.status_code == 200 and "UMUM-001" not in reply.text
    assert stored() == []
