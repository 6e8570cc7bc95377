"""Message channels: the transactional outbox, delivery with retries, adapters from plugins."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select

from balai import hookimpl
from balai.channels import (
    ChannelError,
    Delivery,
    EmailChannel,
    Message,
    OutboxMessage,
    SmsOutboxChannel,
    channels,
    deliver_pending,
    mask,
    open_message,
    queue,
)
from balai.cli import cli
from balai.crypto import SealError
from balai.db import TenantContextError, db, utcnow
from balai.plugins import plugins
from balai.tenancy import TenantInfo

# Messages are translatable; these tests read them in English.
pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

MAIL = {"MAIL_SERVER": "smtp.example.test", "MAIL_SENDER": "balai@kota-a.test"}


class FakeSMTP:
    """Stands in for ``smtplib.SMTP``: records what would have been sent."""

    sent: list[EmailMessage] = []
    calls: list[tuple[str, Any]] = []
    fail_with: Exception | None = None

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.calls.append(("connect", (host, port)))

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.calls.append(("quit", None))

    def starttls(self, context: Any = None) -> None:
        self.calls.append(("starttls", None))

    def login(self, user: str, password: str) -> None:
        self.calls.append(("login", (user, password)))

    def send_message(self, message: EmailMessage) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(message)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> type[FakeSMTP]:
    monkeypatch.setattr(FakeSMTP, "sent", [])
    monkeypatch.setattr(FakeSMTP, "calls", [])
    monkeypatch.setattr(FakeSMTP, "fail_with", None)
    monkeypatch.setattr("balai.channels.smtplib.SMTP", FakeSMTP)
    return FakeSMTP


def add(tenant: TenantInfo, *messages: Message, source: str = "test") -> list[int]:
    """Queue ``messages`` for ``tenant`` and commit; their ids."""
    with db.tenant_session(tenant.id) as session:
        return [queue(session, m, source=source).id for m in messages]


def outbox(tenant: TenantInfo | None = None) -> list[OutboxMessage]:
    with db.all_tenants() as session:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if tenant is not None:
            stmt = stmt.where(OutboxMessage.tenant_id == tenant.id)
        rows = list(session.scalars(stmt))
        session.expunge_all()
        return rows


# -- queueing ----------------------------------------------------------------------


def test_queue_adds_a_pending_row_for_the_sessions_tenant(app: Flask, tenant: TenantInfo) -> None:
    add(tenant, Message("email", " warga@example.test ", "Isi", subject="Pengaduan"))
    [row] = outbox()
    opened = open_message(row, app)
    assert (row.tenant_id, row.channel, opened.recipient, row.subject, row.body) == (
        tenant.id,
        "email",
        "warga@example.test",
        "Pengaduan",
        "Isi",
    )
    assert row.recipient_hint == "w****@example.test"
    assert "warga" not in row.recipient_sealed
    assert (row.status, row.attempts, row.last_error, row.sent_at) == ("pending", 0, None, None)
    assert row.source == "test" and row.created_at.tzinfo is not None


def test_nothing_is_queued_when_the_callers_transaction_rolls_back(
    app: Flask, tenant: TenantInfo
) -> None:
    with pytest.raises(RuntimeError), db.tenant_session(tenant.id) as session:
        queue(session, Message("sms", "+6281200000001", "Pengaduan diterima."))
        raise RuntimeError("the complaint could not be saved")
    assert outbox() == []
    assert deliver_pending(app) == (0, 0)


@pytest.mark.parametrize(
    ("message", "field", "text"),
    [
        (Message("fax", "123", "Isi"), "channel", "Unknown channel fax."),
        (Message("sms", "  ", "Isi"), "recipient", "The recipient is required."),
        (Message("sms", "08\n12", "Isi"), "recipient", "The recipient is not valid."),
        (Message("sms", "1" * 255, "Isi"), "recipient", "The recipient is not valid."),
        (Message("email", "warga", "Isi"), "recipient", "not a valid e-mail address"),
        (Message("email", "a@b.test", "Isi", subject="A\nBcc: x"), "subject", "one line"),
        (Message("email", "a@b.test", "Isi", subject="s" * 201), "subject", "200 characters"),
        (Message("sms", "0812", " \n "), "body", "The message is empty."),
    ],
)
def test_queue_refuses_what_cannot_be_delivered(
    app: Flask, tenant: TenantInfo, message: Message, field: str, text: str
) -> None:
    with db.tenant_session(tenant.id) as session, pytest.raises(ChannelError) as refused:
        queue(session, message)
    assert refused.value.field == field
    assert text in str(refused.value)
    assert outbox() == []


def test_queue_needs_a_tenant(app: Flask) -> None:
    with db.new_session() as session, pytest.raises(TenantContextError):
        queue(session, Message("sms", "0812", "Isi"))


# -- delivery ----------------------------------------------------------------------


@pytest.mark.balai_config(**MAIL, MAIL_USE_TLS=True, MAIL_USERNAME="u", MAIL_PASSWORD="p")
def test_email_is_sent_over_smtp_and_sms_stored(
    app: Flask, tenant: TenantInfo, smtp: type[FakeSMTP]
) -> None:
    add(
        tenant,
        Message("email", "warga@example.test", "Pengaduan Anda diterima.", subject="Pengaduan"),
        Message("sms", "+6281200000001", "Pengaduan diterima."),
    )
    assert deliver_pending(app) == (2, 0)
    [sent] = smtp.sent
    assert (sent["From"], sent["To"], sent["Subject"]) == (
        "balai@kota-a.test",
        "warga@example.test",
        "Pengaduan",
    )
    assert sent.get_content().strip() == "Pengaduan Anda diterima."
    assert [c[0] for c in smtp.calls] == ["connect", "starttls", "login", "quit"]
    assert smtp.calls[0][1] == ("smtp.example.test", 25)
    email, sms = outbox()
    assert (email.status, email.attempts, email.sent_at is not None) == ("sent", 1, True)
    assert (sms.status, sms.attempts) == ("stored", 1)
    assert deliver_pending(app) == (0, 0)  # nothing is delivered twice


def test_without_a_mail_server_email_is_stored(
    app: Flask, tenant: TenantInfo, smtp: type[FakeSMTP]
) -> None:
    add(tenant, Message("email", "warga@example.test", "Isi"))
    assert deliver_pending(app) == (1, 0)
    assert [r.status for r in outbox()] == ["stored"]
    assert smtp.calls == []


@pytest.mark.balai_config(**MAIL, OUTBOX_MAX_ATTEMPTS=3)
def test_failures_are_recorded_and_retried_up_to_the_maximum(
    app: Flask, tenant: TenantInfo, smtp: type[FakeSMTP]
) -> None:
    add(tenant, Message("email", "warga@example.test", "Isi"))
    smtp.fail_with = ConnectionRefusedError("connection refused")
    assert deliver_pending(app) == (0, 1)
    [row] = outbox()
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "ConnectionRefusedError: connection refused"
    assert deliver_pending(app) == (0, 1)
    assert deliver_pending(app) == (0, 1)
    assert deliver_pending(app) == (0, 0)  # three attempts: given up
    assert [(r.status, r.attempts) for r in outbox()] == [("failed", 3)]


@pytest.mark.balai_config(**MAIL)
def test_a_retry_that_succeeds_clears_the_error(
    app: Flask, tenant: TenantInfo, smtp: type[FakeSMTP]
) -> None:
    add(tenant, Message("email", "warga@example.test", "Isi"))
    smtp.fail_with = TimeoutError("timed out")
    assert deliver_pending(app) == (0, 1)
    smtp.fail_with = None
    assert deliver_pending(app) == (1, 0)
    [row] = outbox()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


@pytest.mark.balai_config(MAIL_SERVER="smtp.example.test")
def test_a_missing_sender_address_fails_clearly(
    app: Flask, tenant: TenantInfo, smtp: type[FakeSMTP]
) -> None:
    add(tenant, Message("email", "warga@example.test", "Isi"))
    assert deliver_pending(app) == (0, 1)
    assert outbox()[0].last_error == "RuntimeError: MAIL_SENDER is not set"


def test_delivery_covers_every_tenant_and_respects_the_limit(
    app: Flask, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    add(tenant, Message("sms", "0811", "A1"), Message("sms", "0812", "A2"))
    add(other_tenant, Message("sms", "0813", "B1"))
    assert deliver_pending(app, limit=2) == (2, 0)
    assert [r.status for r in outbox()] == ["stored", "stored", "pending"]
    assert deliver_pending(app, limit=2) == (1, 0)
    assert {r.tenant_id for r in outbox() if r.status == "stored"} == {tenant.id, other_tenant.id}


# -- adapters from plugins -------------------------------------------------------------


class RecordingGateway:
    """An SMS gateway adapter that records what it delivers."""

    name = "sms"

    def __init__(self) -> None:
        self.delivered: list[tuple[int, str, str]] = []

    def deliver(self, message: Delivery) -> str:
        self.delivered.append((message.tenant_id, message.recipient, message.body))
        return "sent"


class WhatsApp:
    name = "whatsapp"
    error = "no session with the WhatsApp server"

    def deliver(self, message: Delivery) -> str:
        raise RuntimeError(self.error)


GATEWAY = RecordingGateway()


class SmsGateway:
    """A plugin that replaces the SMS outbox with a real gateway and adds WhatsApp."""

    name = "smsgateway"

    @staticmethod
    @hookimpl
    def register_channels(app: Flask) -> list[object]:
        return [GATEWAY, WhatsApp()]


class SecondGateway:
    """Another plugin providing "whatsapp": it cannot, that name is taken."""

    name = "secondgateway"

    @staticmethod
    @hookimpl
    def register_channels() -> object:
        return WhatsApp()


class NotAChannel:
    name = "notachannel"

    @staticmethod
    @hookimpl
    def register_channels() -> list[object]:
        return ["sms"]


def test_built_in_channels(app: Flask) -> None:
    found = channels(app)
    assert sorted(found) == ["email", "sms"]
    assert isinstance(found["email"], EmailChannel)
    assert isinstance(found["sms"], SmsOutboxChannel)


@pytest.mark.balai_plugins.with_args(SmsGateway)
def test_a_plugins_adapter_replaces_the_built_in_one(app: Flask, tenant: TenantInfo) -> None:
    GATEWAY.delivered.clear()
    assert channels(app)["sms"] is GATEWAY
    add(tenant, Message("sms", "0811", "Halo"), Message("whatsapp", "0811", "Halo"))
    assert deliver_pending(app) == (1, 1)
    assert GATEWAY.delivered == [(tenant.id, "0811", "Halo")]
    sms, whatsapp = outbox()
    assert (sms.status, whatsapp.status) == ("sent", "failed")
    assert whatsapp.last_error == "RuntimeError: no session with the WhatsApp server"


@pytest.mark.balai_plugins(SmsGateway, SecondGateway, NotAChannel)
def test_plugins_providing_a_taken_name_or_no_channel_are_broken(app: Flask) -> None:
    manager = plugins(app)
    assert manager.get("smsgateway").error is None
    assert "already provided by smsgateway" in (manager.get("secondgateway").error or "")
    assert "is not a Channel" in (manager.get("notachannel").error or "")
    assert channels(app)["whatsapp"].__class__ is WhatsApp


@pytest.mark.balai_config(OUTBOX_MAX_ATTEMPTS=1)
def test_a_channel_without_adapter_fails(app: Flask, tenant: TenantInfo) -> None:
    with db.tenant_session(tenant.id) as session:  # queued while a plugin provided it
        row = queue(session, Message("sms", "1", "x"))
        row.channel = "pager"
    assert deliver_pending(app) == (0, 1)
    assert outbox()[0].last_error == "LookupError: no adapter for channel 'pager'"
    assert deliver_pending(app) == (0, 0)


# -- recipients sealed at rest ---------------------------------------------------------


@pytest.mark.parametrize(
    ("recipient", "shown"),
    [
        ("+6281234567890", "+62812****7890"),
        ("081234567890", "0812****7890"),
        ("0812 3456 7890", "0812****7890"),
        ("0899", "****"),
        ("siti.aminah@kota-a.test", "s****@kota-a.test"),
        ("gateway-id-17", "ga****"),
    ],
)
def test_recipients_are_shown_masked(recipient: str, shown: str) -> None:
    assert mask(recipient) == shown


def test_recipients_are_sealed_and_opened_only_for_delivery(
    app: Flask, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    add(tenant, Message("sms", "+6281234567890", "Pengaduan diterima."))
    add(tenant, Message("sms", "+6281234567890", "Nomor 001 dipanggil.", sensitive=True))
    plain, sensitive = outbox()
    for row in (plain, sensitive):
        assert "81234567890" not in row.recipient_sealed
        assert row.recipient_hint == "+62812****7890"
    assert plain.body == "Pengaduan diterima." and not plain.sensitive
    assert sensitive.sensitive and "dipanggil" not in sensitive.body
    assert open_message(sensitive, app).body == "Nomor 001 dipanggil."
    # Sealed for this region only: another region's key does not open it.
    moved = OutboxMessage(**{c: getattr(sensitive, c) for c in ("channel", "recipient_sealed")})
    moved.tenant_id, moved.id, moved.body, moved.subject = other_tenant.id, 0, "", ""
    moved.source, moved.sensitive = "", False
    with pytest.raises(SealError):
        open_message(moved, app)


@pytest.mark.balai_plugins.with_args(SmsGateway)
def test_an_adapter_gets_the_recipient_in_clear_and_errors_keep_it_masked(
    app: Flask, tenant: TenantInfo
) -> None:
    GATEWAY.delivered.clear()
    add(tenant, Message("sms", "+6281234567890", "Halo", sensitive=True))
    add(tenant, Message("whatsapp", "+6281234567890", "Halo"))
    assert deliver_pending(app) == (1, 1)
    assert GATEWAY.delivered == [(tenant.id, "+6281234567890", "Halo")]
    WhatsApp.error = "number +6281234567890 is not on WhatsApp"
    try:
        with db.tenant_session(tenant.id) as session:
            session.execute(OutboxMessage.__table__.update().values(attempts=0))
        deliver_pending(app)
    finally:
        WhatsApp.error = "no session with the WhatsApp server"
    assert outbox()[1].last_error == "RuntimeError: number +62812****7890 is not on WhatsApp"


@pytest.mark.balai_config(SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=["test-secret-key"])
def test_a_rotated_secret_key_still_opens_what_the_old_one_sealed(
    app: Flask, tenant: TenantInfo, make_app: Callable[..., Flask]
) -> None:
    old = make_app(SECRET_KEY="test-secret-key", SECRET_KEY_FALLBACKS=[])
    with old.app_context(), db.tenant_session(tenant.id) as session:
        queue(session, Message("sms", "+6281234567890", "Halo"))
    assert open_message(outbox()[0], app).recipient == "+6281234567890"
    assert deliver_pending(app) == (1, 0)


def test_the_migration_seals_recipients_kept_in_clear(app: Flask, tenant: TenantInfo) -> None:
    from alembic import command
    from sqlalchemy import text

    from balai import schema

    command.downgrade(schema.alembic_config(app), "0004_rate_limits")
    try:
        with db.all_tenants() as connection:  # row security lets it write any region's row
            connection.execute(
                text(
                    "INSERT INTO balai_outbox (tenant_id, channel, recipient, subject, body,"
                    " status, attempts, created_at, source) VALUES (:t, 'sms', '0812 3456 7890',"
                    " '', 'Halo', 'stored', 1, :now, 'test')"
                ),
                {"now": f"{utcnow():%Y-%m-%d %H:%M:%S}+00:00", "t": tenant.id},
            )
    finally:
        schema.upgrade(app)
    [row] = outbox()
    assert "3456" not in row.recipient_sealed and row.recipient_hint == "0812****7890"
    assert open_message(row, app).recipient == "0812 3456 7890"
    assert not row.sensitive


# -- the command -------------------------------------------------------------------


@pytest.fixture
def run(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(cli, list(args))


def test_outbox_deliver_command(run: Callable[..., Result], tenant: TenantInfo) -> None:
    add(tenant, Message("sms", "0811", "A"), Message("sms", "0812", "B"))
    result = run("outbox", "deliver", "--limit", "1")
    assert result.exit_code == 0, result.output
    assert result.output == "delivered 1, failed 0\n"
    assert run("outbox", "deliver").output == "delivered 1, failed 0\n"
    assert run("outbox", "deliver").output == "delivered 0, failed 0\n"
    assert run("outbox", "deliver", "--limit", "0").exit_code == 2
