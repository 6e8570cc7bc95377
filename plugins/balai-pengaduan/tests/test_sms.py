"""SMS intake: ``ADUAN <category code> <text>`` becomes a complaint; the reply has its code."""

from __future__ import annotations

import pytest

from balai_pengaduan.sms import keyword


@pytest.fixture
def send(client, enabled, sampah, category, sms_webhook):
    """``send(text)``: post an inbound SMS to the region's webhook."""
    category("JALAN", name="Jalan rusak", position=1)
    headers = sms_webhook()

    def post(text: str, sender: str = "+6281234567890"):
        return client.post("/-/sms/masuk", data={"from": sender, "text": text}, headers=headers)

    return post


def test_keyword_is_claimed_with_its_format():
    claimed = keyword()
    assert (claimed.keyword, claimed.help) == ("ADUAN", "ADUAN <kode kategori> <isi pengaduan>")


def test_sms_becomes_a_complaint_and_the_reply_gives_the_code(send, stored, outbox, contacts_of):
    response = send("aduan sampah Sampah menumpuk di Jl. Merdeka depan SDN 3")
    assert response.status_code == 200
    [saved] = stored()
    assert (saved.channel, saved.privacy, saved.status) == ("sms", "public", "received")
    assert contacts_of(saved).phone == "+6281234567890"
    assert saved.description == "Sampah menumpuk di Jl. Merdeka depan SDN 3"
    assert saved.tracking_code in response.text and "Kode lacak" in response.text
    sms = [m for m in outbox() if m.channel == "sms"]
    assert len(sms) == 1 and saved.tracking_code in sms[0].body  # one reply, not two


@pytest.mark.parametrize(
    "text",
    ["ADUAN", "ADUAN SAMPAH", "ADUAN SAMPAH    ", "ADUAN GOSIP ada tetangga berisik"],
)
def test_malformed_sms_gets_the_format_and_the_codes(send, stored, text):
    response = send(text)
    assert response.status_code == 200
    assert "ADUAN <kode kategori> <isi pengaduan>" in response.text
    assert "JALAN, SAMPAH" in response.text  # in the admin's order
    assert stored() == []
