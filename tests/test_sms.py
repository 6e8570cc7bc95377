"""Inbound SMS: the token-protected webhook, keyword routing, replies through the outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hello
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from balai import hookimpl
from balai.auth.models import hash_token
from balai.channels import InboundSms, Message, OutboxMessage, SmsKeyword, open_message, queue
from balai.db import db
from balai.plugins import plugins
from balai.sms import rotate_token
from balai.tenancy import TenantInfo
from balai.tenancy import registry as tenant_registry
from balai.testing import csrf_token

HELP_NOMOR = "NOMOR <layanan>"
HELP_INFO = "INFO <topik>"
RECEIVED: list[InboundSms] = []


def take_ticket(sms: InboundSms) -> str:
    """Writes in the region's session, as a plugin's service would, and answers."""
    RECEIVED.append(sms)
    db.session.add(hello.HelloNote(text=f"{sms.sender}: {sms.args}"))
    return f"Nomor antrean A-001 untuk {sms.args}."


class Antre:
    """A queue-ticket plugin answering NOMOR."""

    name = "antre"

    @staticmethod
    @hookimpl
    def register_sms_keywords(app: Flask) -> list[SmsKeyword]:
        return [SmsKeyword("NOMOR", take_ticket, HELP_NOMOR)]


class Info:
    """Another plugin, answering INFO."""

    name = "info"

    @staticmethod
    @hookimpl
    def register_sms_keywords() -> SmsKeyword:
        return SmsKeyword("INFO", lambda sms: "Info: " + sms.args, HELP_INFO)


class AlsoAntre:
    """Claims NOMOR too: whichever of the two loads later is broken."""

    name = "also_antre"

    @staticmethod
    @hookimpl
    def register_sms_keywords() -> list[SmsKeyword]:
        return [SmsKeyword("NOMOR", take_ticket, "NOMOR lagi")]


class LowerCase:
    name = "lower_case"

    @staticmethod
    @hookimpl
    def register_sms_keywords() -> list[SmsKeyword]:
        return [SmsKeyword("antre dulu", take_ticket, "?")]


pytestmark = [
    pytest.mark.balai_plugins(hello, Antre, Info),
    pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en"),  # the messages matched below
]


@pytest.fixture(autouse=True)
def _forget_received() -> None:
    RECEIVED.clear()


@pytest.fixture
def token(app: Flask, tenant: TenantInfo) -> str:
    """The SMS token of ``tenant`` (kota-a), freshly generated."""
    created = rotate_token(app, tenant)
    assert created is not None
    return created


def post(client: FlaskClient, header: str | None, **form: str) -> Any:
    """POST ``form`` to the webhook with ``header`` as the SMS token header (unless None)."""
    headers = {"X-Balai-Sms-Token": header} if header is not None else {}
    return client.post("/-/sms/masuk", data=form, headers=headers)


def outbox() -> list[tuple[int, str, str, str, str]]:
    with db.all_tenants() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        opened = [open_message(r) for r in rows]
        return [(m.tenant_id, m.channel, m.recipient, m.body, m.source) for m in opened]


def notes() -> list[tuple[int, str]]:
    with db.all_tenants() as session:
        rows = session.scalars(select(hello.HelloNote).order_by(hello.HelloNote.id))
        return [(n.tenant_id, n.text) for n in rows]


# -- routing -----------------------------------------------------------------------


def test_a_keyword_reaches_its_plugin_and_the_reply_is_queued(
    client: FlaskClient, tenant: TenantInfo, other_tenant: TenantInfo, enable_plugin, token: str
) -> None:
    enable_plugin("antre")
    enable_plugin("antre", tenant=other_tenant)
    response = post(client, token, **{"from": "+6281200000001", "text": "  nomor  Poli Umum "})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "Nomor antrean A-001 untuk Poli Umum."
    [sms] = RECEIVED
    assert (sms.sender, sms.text, sms.keyword, sms.args) == (
        "+6281200000001",
        "nomor  Poli Umum",
        "NOMOR",
        "Poli Umum",
    )
    assert sms.tenant.id == tenant.id
    reply = (tenant.id, "sms", "+6281200000001", "Nomor antrean A-001 untuk Poli Umum.", "antre")
    assert outbox() == [reply]
    assert notes() == [(tenant.id, "+6281200000001: Poli Umum")]


def test_gateway_field_names_and_the_token_field_are_accepted(
    client: FlaskClient, tenant: TenantInfo, enable_plugin, token: str
) -> None:
    enable_plugin("antre")
    response = post(client, None, From="0812", Body="NOMOR KIA", token=token)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "Nomor antrean A-001 untuk KIA."
    assert [row[2] for row in outbox()] == ["0812"]


def test_an_unknown_keyword_gets_the_formats_of_enabled_plugins(
    client: FlaskClient, tenant: TenantInfo, enable_plugin, token: str
) -> None:
    enable_plugin("antre")
    enable_plugin("info")
    response = post(client, token, **{"from": "0812", "text": "HALO apa kabar"})
    assert response.status_code == 200
    reply = response.get_data(as_text=True)
    assert reply == f"Unknown format. Send one of:\n{HELP_INFO}\n{HELP_NOMOR}"
    assert outbox() == [(tenant.id, "sms", "0812", reply, "balai")]
    assert RECEIVED == []


@pytest.mark.parametrize("text", ["", "   ", "NOMOR"])
def test_empty_or_bare_messages(
    client: FlaskClient, tenant: TenantInfo, enable_plugin, token: str, text: str
) -> None:
    enable_plugin("antre")
    response = post(client, token, **{"from": "0812", "text": text})
    assert response.status_code == 200
    if text.strip():  # the keyword alone reaches the plugin, with no arguments
        assert RECEIVED[0].args == ""
    else:
        assert response.get_data(as_text=True).startswith("Unknown format. Send one of:")
    assert len(outbox()) == 1


def test_a_disabled_plugins_keyword_is_not_honoured(
    client: FlaskClient, tenant: TenantInfo, other_tenant: TenantInfo, enable_plugin, token: str
) -> None:
    enable_plugin("info")
    enable_plugin("antre", tenant=other_tenant)  # enabled elsewhere only
    response = post(client, token, **{"from": "0812", "text": "NOMOR Poli Umum"})
    assert response.get_data(as_text=True) == f"Unknown format. Send one of:\n{HELP_INFO}"
    assert RECEIVED == []
    assert notes() == []


def test_a_region_without_sms_services_says_so(
    client: FlaskClient, tenant: TenantInfo, token: str
) -> None:
    response = post(client, token, **{"from": "0812", "text": "NOMOR Poli"})
    assert response.get_data(as_text=True) == "Kota A does not receive SMS yet."


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="id")
def test_replies_speak_indonesian_by_default(
    client: FlaskClient, tenant: TenantInfo, enable_plugin, token: str
) -> None:
    enable_plugin("antre")
    reply = post(client, token, **{"from": "0812", "text": "HALO"}).get_data(as_text=True)
    assert reply.startswith("Format tidak dikenal")


# -- refusals ----------------------------------------------------------------------


@pytest.mark.parametrize("given", [None, "", "sms_wrong"])
def test_a_missing_or_wrong_token_is_refused_and_nothing_written(
    client: FlaskClient, tenant: TenantInfo, enable_plugin, token: str, given: str | None
) -> None:
    enable_plugin("antre")
    response = post(client, given, **{"from": "0812", "text": "NOMOR Poli"})
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "invalid_token"
    assert error["message"] == "The SMS token is missing or wrong."
    assert error["fields"] == {}
    assert (RECEIVED, outbox(), notes()) == ([], [], [])


def test_a_region_without_a_token_refuses_everything(
    client: FlaskClient, tenant: TenantInfo, enable_plugin
) -> None:
    enable_plugin("antre")
    assert post(client, "", **{"from": "0812", "text": "NOMOR"}).status_code == 403
    assert post(client, None, **{"from": "0812", "text": "NOMOR"}).status_code == 403


def test_one_regions_token_does_not_open_another(
    other_client: FlaskClient, other_tenant: TenantInfo, enable_plugin, token: str
) -> None:
    enable_plugin("antre", tenant=other_tenant)
    assert post(other_client, token, **{"from": "0812", "text": "NOMOR"}).status_code == 403
    assert outbox() == []


def test_a_missing_sender_or_an_overlong_text_is_refused(
    client: FlaskClient, tenant: TenantInfo, enable_plugin, token: str
) -> None:
    enable_plugin("antre")
    response = post(client, token, text="NOMOR Poli")
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["from"]
    response = post(client, token, **{"from": "0812\n5", "text": "NOMOR Poli"})
    assert list(response.get_json()["error"]["fields"]) == ["from"]
    response = post(client, token, **{"from": "0812", "text": "NOMOR " + "x" * 1600})
    assert list(response.get_json()["error"]["fields"]) == ["text"]
    assert (RECEIVED, outbox()) == ([], [])


def test_an_unknown_host_gets_404(app: Flask, tenant: TenantInfo, token: str) -> None:
    client = app.test_client()
    response = client.post(
        "/-/sms/masuk",
        data={"from": "0812", "text": "NOMOR", "token": token},
        base_url="http://unknown.test",
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_host"


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_the_webhook_needs_no_csrf_token(
    client: FlaskClient, tenant: TenantInfo, enable_plugin, token: str
) -> None:
    enable_plugin("antre")
    assert post(client, token, **{"from": "0812", "text": "NOMOR"}).status_code == 200


@pytest.mark.balai_config(OUTBOX_DELIVER_INLINE=True, SMS_REPLY_IN_RESPONSE=False)
def test_replies_are_delivered_right_away_when_asked(
    client: FlaskClient, tenant: TenantInfo, enable_plugin, token: str
) -> None:
    enable_plugin("antre")
    post(client, token, **{"from": "0812", "text": "NOMOR Poli"})
    with db.all_tenants() as session:
        assert session.scalars(select(OutboxMessage.status)).all() == ["stored"]


def test_a_failing_handler_writes_nothing(
    client: FlaskClient, tenant: TenantInfo, enable_plugin, token: str, monkeypatch
) -> None:
    def explode(sms: InboundSms) -> str:
        db.session.add(hello.HelloNote(text="half done"))
        raise RuntimeError("queue service down")

    enable_plugin("antre")
    claims = client.application.extensions["balai.sms_keywords"]
    monkeypatch.setitem(claims, "NOMOR", ("antre", SmsKeyword("NOMOR", explode, HELP_NOMOR)))
    with pytest.raises(RuntimeError, match="queue service down"):
        post(client, token, **{"from": "0812", "text": "NOMOR Poli"})
    assert (outbox(), notes()) == ([], [])


# -- start-up --------------------------------------------------------------------


@pytest.mark.balai_plugins.with_args(AlsoAntre, LowerCase)
def test_a_contested_or_malformed_keyword_makes_its_plugin_broken(app: Flask) -> None:
    manager = plugins(app)
    owner = app.extensions["balai.sms_keywords"]["NOMOR"][0]
    loser = ({"antre", "also_antre"} - {owner}).pop()
    assert manager.get(owner).error is None
    assert f"NOMOR is already claimed by {owner}" in (manager.get(loser).error or "")
    assert "one upper-case word" in (manager.get("lower_case").error or "")


# -- the admin page ----------------------------------------------------------------


def test_the_page_needs_the_plugins_permission(client: FlaskClient, login) -> None:
    login(client, role="opd")
    assert client.get("/admin/sms").status_code == 403
    assert client.post("/admin/sms/token").status_code == 403


def test_generating_rotating_and_removing_the_token(
    app: Flask, client: FlaskClient, login, tenant: TenantInfo, enable_plugin
) -> None:
    enable_plugin("antre")
    login(client, role="admin")
    page = client.get("/admin/sms").get_data(as_text=True)
    assert "http://kota-a.test/-/sms/masuk" in page
    assert "has no SMS token yet" in page
    first = _shown_token(client.post("/admin/sms/token").get_data(as_text=True))
    stored = tenant_registry(app).by_id(tenant.id).settings["sms_token_hash"]
    assert stored == hash_token(first) and first not in stored
    assert post(client, first, **{"from": "0812", "text": "NOMOR"}).status_code == 200
    second = _shown_token(client.post("/admin/sms/token").get_data(as_text=True))
    assert second != first
    assert post(client, first, **{"from": "0812", "text": "NOMOR"}).status_code == 403
    assert post(client, second, **{"from": "0812", "text": "NOMOR"}).status_code == 200
    page = client.get("/admin/sms").get_data(as_text=True)
    assert second not in page  # shown once only
    assert "the webhook accepts messages" in page
    assert client.post("/admin/sms/token/hapus").status_code == 302
    assert post(client, second, **{"from": "0812", "text": "NOMOR"}).status_code == 403
    assert "sms_token_hash" not in tenant_registry(app).by_id(tenant.id).settings


def _shown_token(page: str) -> str:
    start = page.index('<code class="secret">') + len('<code class="secret">')
    return page[start : page.index("</code>", start)]


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_token_forms_need_their_csrf_token(
    app: Flask, client: FlaskClient, login, tenant: TenantInfo
) -> None:
    login(client, role="admin")
    assert client.post("/admin/sms/token").status_code == 400
    assert "sms_token_hash" not in tenant_registry(app).by_id(tenant.id).settings
    form = {"csrf_token": csrf_token(client, "/admin/sms")}
    assert client.post("/admin/sms/token", data=form).status_code == 200


def test_a_reply_sent_in_the_response_is_recorded_as_sent(
    client: FlaskClient, tenant: TenantInfo, enable_plugin, token: str
) -> None:
    enable_plugin("antre")
    post(client, token, **{"from": "0812", "text": "NOMOR Poli"})
    with db.all_tenants() as session:
        assert session.scalars(select(OutboxMessage.status)).all() == ["sent"]


@pytest.mark.balai_config(SMS_REPLY_IN_RESPONSE=False)
def test_the_outbox_lists_this_regions_messages_with_filters(
    client: FlaskClient,
    other_client: FlaskClient,
    login,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    enable_plugin,
    token: str,
) -> None:
    enable_plugin("antre")
    post(client, token, **{"from": "0811", "text": "NOMOR Poli Gigi"})
    post(client, token, **{"from": "0812", "text": "HALO"})
    with db.tenant_session(other_tenant.id) as session:
        queue(session, Message("sms", "0899", "Kota B"))
    with db.tenant_session(tenant.id) as session:
        queue(session, Message("email", "w@example.test", "Surat", subject="S"))
    login(client, role="admin")
    page = client.get("/admin/sms").get_data(as_text=True)
    assert "Poli Gigi" in page and "Unknown format" in page and "Surat" in page
    assert "Kota B" not in page and "0899" not in page
    assert "3 messages." in page
    only_email = client.get("/admin/sms?channel=email").get_data(as_text=True)
    assert "Surat" in only_email and "Poli Gigi" not in only_email
    assert "No message matches" in client.get("/admin/sms?status=sent").get_data(as_text=True)
    ignored = client.get("/admin/sms?status=bogus&channel=fax").get_data(as_text=True)
    assert "3 messages." in ignored


def test_an_empty_outbox_says_so(client: FlaskClient, login) -> None:
    login(client, role="admin")
    assert "The outbox is empty" in client.get("/admin/sms").get_data(as_text=True)


def test_the_outbox_is_paginated(
    client: FlaskClient, login, tenant: TenantInfo, enable_plugin: Callable[..., TenantInfo]
) -> None:
    with db.tenant_session(tenant.id) as session:
        for n in range(30):
            queue(session, Message("sms", "0812", f"M{n:02d}"))
    login(client, role="admin")
    first = client.get("/admin/sms").get_data(as_text=True)
    assert "Page 1 of 2" in first and "M29" in first and "M00" not in first
    assert "M00" in client.get("/admin/sms?page=2").get_data(as_text=True)
