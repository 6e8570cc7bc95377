"""The public complaint form cannot be used to send messages to anyone without end,
and the links in those messages name the region's own domain only.

The attack: the confirmation of a new complaint goes to whatever e-mail address or
phone number the form was given, on the web and through Open311, without limit; and
its link kept the port the sender put in ``Host``.
"""

from __future__ import annotations

import pytest

from balai_pengaduan.clients import create_client

LIMITS = {"submit_limit_address": "10 per hour", "submit_limit_recipient": "5 per day"}
pytestmark = pytest.mark.balai_config(
    BABEL_DEFAULT_LOCALE="en", PLUGIN_SETTINGS={"pengaduan": LIMITS}
)

VICTIM = "korban@example.test"
FORM = {
    "category": "SAMPAH",
    "description": "Sampah menumpuk.",
    "address": "Jl. Merdeka 1",
    "privacy": "public",
    "reporter_name": "Warga",
}
OPEN311 = "/pengaduan/open311/v2/requests.xml"


def _to(messages, recipient: str) -> list:
    return [m for m in messages if m.recipient == recipient]


def test_one_recipient_gets_at_most_the_limit_of_confirmations(
    client, enabled, sampah, outbox, stored
):
    statuses = []
    for n in range(8):  # from eight addresses: only the recipient is the same
        response = client.post(
            "/pengaduan/lapor",
            data={**FORM, "reporter_email": VICTIM},
            environ_base={"REMOTE_ADDR": f"10.0.{n}.1"},
        )
        statuses.append(response.status_code)
    assert statuses == [302] * 5 + [429] * 3
    assert len(_to(outbox(), VICTIM)) == 5
    assert len(stored()) == 5
    refused = client.post(
        "/pengaduan/lapor",
        data={**FORM, "reporter_email": VICTIM.upper()},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 24 * 3600
    assert "Too many complaints were sent" in refused.text


def test_one_phone_number_is_limited_however_it_is_written(client, enabled, sampah, outbox):
    for n, phone in enumerate(["081234567890", "+62 812-3456-7890", "6281234567890"] * 2):
        response = client.post(
            "/pengaduan/lapor",
            data={**FORM, "reporter_phone": phone},
            environ_base={"REMOTE_ADDR": f"10.0.{n}.1"},
        )
        assert response.status_code == (302 if n < 5 else 429)
    assert len([m for m in outbox() if m.channel == "sms"]) == 5


def test_one_mailbox_is_limited_however_its_address_is_spelt(client, enabled, sampah, stored):
    spellings = [
        "korban.test@gmail.com",
        "korbantest@gmail.com",
        "k.o.r.b.a.n.test@gmail.com",
        "Korban.Test+rt05@GMAIL.com",
        "korban.test@googlemail.com",
        "korbantest+x@gmail.com",
    ]
    statuses = [
        client.post(
            "/pengaduan/lapor",
            data={**FORM, "reporter_email": email},
            environ_base={"REMOTE_ADDR": f"10.3.{n}.1"},
        ).status_code
        for n, email in enumerate(spellings)
    ]
    assert statuses == [302] * 5 + [429]
    assert len(stored()) == 5


@pytest.mark.parametrize(
    "email", ["s\u0456ti@contoh.id", "siti@cont\u043eh.id", "s\u00edti@contoh.id"]
)
def test_an_address_with_look_alike_letters_is_refused(client, enabled, sampah, stored, email):
    response = client.post(
        "/pengaduan/lapor", data={**FORM, "reporter_email": email.encode().decode("unicode_escape")}
    )
    assert response.status_code in (400, 422)
    assert "Enter a valid e-mail address.</p>" in response.text
    assert stored() == []


def test_one_address_is_limited_whatever_the_recipients(client, enabled, sampah, stored):
    statuses = [
        client.post(
            "/pengaduan/lapor", data={**FORM, "reporter_email": f"warga{n}@example.test"}
        ).status_code
        for n in range(12)
    ]
    assert statuses == [302] * 10 + [429] * 2
    assert len(stored()) == 10


def test_open311_posts_are_limited_per_recipient_with_retry_after(
    client, enabled, sampah, outbox, db_session
):
    _client, key = create_client(db_session, "Aplikasi Kota")
    db_session.commit()
    form = {
        "api_key": key,
        "service_code": "SAMPAH",
        "lat": "-6.1702",
        "long": "106.6319",
        "description": "Sampah menumpuk sejak seminggu.",
        "email": VICTIM,
    }
    for n in range(5):
        ok = client.post(OPEN311, data=form, environ_base={"REMOTE_ADDR": f"10.0.{n}.1"})
        assert ok.status_code == 200
    refused = client.post(OPEN311, data=form, environ_base={"REMOTE_ADDR": "10.8.8.8"})
    assert refused.status_code == 429
    assert refused.mimetype == "text/xml"
    assert "<code>429</code>" in refused.text and "Too many complaints were sent" in refused.text
    assert 0 < int(refused.headers["Retry-After"]) <= 24 * 3600
    assert len(_to(outbox(), VICTIM)) == 5


def test_an_anonymous_complaint_counts_only_against_the_address(client, enabled, sampah):
    for n in range(7):
        response = client.post(
            "/pengaduan/lapor",
            data={**FORM, "privacy": "anonymous", "reporter_email": VICTIM},
            environ_base={"REMOTE_ADDR": f"10.0.{n}.1"},
        )
        assert response.status_code == 302


# -- links name the region's primary domain --------------------------------------------


def _links(outbox) -> list[str]:
    return [m.body for m in outbox() if m.recipient == "siti@example.test"]


@pytest.mark.parametrize("tenancy", ["single", "multi"])
def test_a_port_in_host_never_reaches_the_links(make_app, tenant, enabled, sampah, outbox, tenancy):
    client = make_app(TENANCY=tenancy).test_client()
    host = "kota-a.test:6666" if tenancy == "multi" else "asing.example:6666"
    form = {**FORM, "reporter_email": "siti@example.test"}
    assert client.post("/pengaduan/lapor", data=form, base_url=f"http://{host}").status_code == 302
    (body,) = _links(outbox)
    assert "http://kota-a.test/pengaduan/lacak?kode=ADU-" in body
    assert "6666" not in body and "asing" not in body


@pytest.mark.parametrize("tenancy", ["single", "multi"])
def test_links_take_scheme_and_port_from_the_configuration(
    make_app, tenant, enabled, sampah, outbox, tenancy
):
    app = make_app(TENANCY=tenancy, PREFERRED_URL_SCHEME="https", PREFERRED_URL_PORT=8443)
    form = {**FORM, "reporter_email": "siti@example.test"}
    response = app.test_client().post(
        "/pengaduan/lapor", data=form, base_url="http://kota-a.test:6666"
    )
    assert response.status_code == 302
    (body,) = _links(outbox)
    assert "https://kota-a.test:8443/pengaduan/lacak?kode=ADU-" in body


@pytest.mark.balai_config(PLUGIN_SETTINGS={"pengaduan": {"submit_limit_address": "1 per hour"}})
def test_open311_counts_the_limit_before_it_reads_the_request(
    client, enabled, sampah, db_session, stored
):
    _client, key = create_client(db_session, "Aplikasi Kota")
    db_session.commit()
    form = {
        "api_key": key,
        "service_code": "SAMPAH",
        "address_string": "Jl. Merdeka 1",
        "description": "Sampah menumpuk sejak seminggu.",
    }
    # Refused for its fields: the hit is given back, so the next request passes.
    assert client.post(OPEN311, data={**form, "description": ""}).status_code == 400
    assert client.post(OPEN311, data={**form, "service_code": "TIDAKADA"}).status_code == 404
    assert client.post(OPEN311, data=form).status_code == 200
    # Over the limit, a request is refused before anything in it is looked at.
    refused = client.post(OPEN311, data={**form, "description": ""})
    assert refused.status_code == 429 and "<code>429</code>" in refused.text
    assert len(stored()) == 1
