"""Message channels (*saluran*): e-mail, the SMS outbox, and adapters plugins add.

Plugins never send directly. :func:`queue` adds an :class:`OutboxMessage` in the
caller's transaction (a transactional outbox: if the caller rolls back, nothing
is sent), and :func:`deliver_pending` (``balai outbox deliver``, run from cron or
a job queue) hands pending rows to the channel's adapter. An adapter returns the
new status, ``"sent"`` or ``"stored"`` (kept in the outbox for the admin to see),
or raises: the row is then ``"failed"`` and retried by later runs until
``OUTBOX_MAX_ATTEMPTS``.

Built-in adapters: ``email`` (SMTP when ``MAIL_SERVER`` is set, otherwise
stored) and ``sms`` (always stored: the outbox is the SMS sink until a gateway
plugin replaces it through the ``register_channels`` hook). Inbound SMS are
routed by keyword to plugins (:class:`SmsKeyword`, see :mod:`balai.sms`).

**Recipients are sealed at rest.** A phone number or e-mail address is personal
data: the outbox keeps it encrypted with the region's outbox key
(:func:`balai.crypto.sealer`) next to a masked form for people to recognise it
(``+62812****7890``, ``s***@example.test``, :func:`mask`). Only delivery opens it:
an adapter gets a :class:`Delivery` with the recipient in clear, never the row. A
message marked ``sensitive`` (health services do) also keeps its body sealed, and
the admin pages do not show it.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from flask import Flask, current_app, g, has_app_context
from flask_babel import gettext as _
from sqlalchemy import Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from balai.contacts import email_address
from balai.crypto import Sealer, sealer
from balai.db import Base, TenantContextError, TenantScoped, db, utcnow
from balai.plugins import Plugins

if TYPE_CHECKING:
    from balai.tenancy import TenantInfo

__all__ = [
    "Channel",
    "ChannelError",
    "Delivery",
    "InboundSms",
    "Message",
    "OutboxMessage",
    "SmsKeyword",
    "mask",
    "open_message",
    "queue",
]

log = logging.getLogger(__name__)
STATUSES = ("pending", "sent", "failed", "stored")
DELIVERED = frozenset({"sent", "stored"})
SMTP_TIMEOUT = 30  # seconds; a hung mail server must not stall the whole run
MAX_ERROR = 2000
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
CHANNEL_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
KEYWORD_RE = re.compile(r"^[A-Z][A-Z0-9]{0,19}$")
#: The purpose the outbox's key is derived for (:func:`balai.crypto.sealer`).
OUTBOX_KEY = "outbox"
MASK = "****"


# -- messages --------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A message to send: ``Message("sms", "+6281234567890", "Pengaduan diterima.")``.

    ``sensitive``: the message concerns someone's health or another special category
    of personal data; its body is then kept sealed like the recipient and never shown
    on the admin pages. Keep such bodies to what the recipient needs (a number and a
    place), since an SMS shows on a locked phone's screen.
    """

    channel: str
    recipient: str = field(repr=False)
    body: str
    subject: str = ""
    sensitive: bool = False


class OutboxMessage(TenantScoped, Base):
    """A message in the region's outbox (*kotak keluar*), waiting, sent or kept.

    ``recipient_sealed`` is the recipient sealed with the region's outbox key,
    ``recipient_hint`` its masked form for the admin pages. ``body`` is the text, or
    for a ``sensitive`` message its sealed form. :func:`open_message` opens both.
    """

    __tablename__ = "balai_outbox"
    __table_args__ = (
        Index("ix_balai_outbox_tenant_status_created", "tenant_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient_sealed: Mapped[str] = mapped_column("recipient", Text)
    recipient_hint: Mapped[str] = mapped_column(String(64), default="")
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    sensitive: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    source: Mapped[str] = mapped_column(String(100), default="")


class ChannelError(ValueError):
    """A message was refused; ``field`` names the part at fault (``recipient``, ...)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def queue(session: Session, message: Message, *, source: str = "") -> OutboxMessage:
    """Add ``message`` to the outbox of the session's tenant, in the caller's transaction.

    :param source: who queued it, usually the plugin's name.
    :raises ChannelError: unknown channel, or a missing or malformed part.
    """
    _check(message)
    tenant_id = session.info.get("tenant_id")
    if tenant_id is None:
        raise TenantContextError("a message is queued in one region's outbox: use its session")
    keys = outbox_sealer(tenant_id)
    recipient = message.recipient.strip()
    row = OutboxMessage(
        channel=message.channel,
        recipient_sealed=keys.seal(recipient),
        recipient_hint=mask(recipient),
        subject=message.subject.strip(),
        body=keys.seal(message.body) if message.sensitive else message.body,
        sensitive=message.sensitive,
        status="pending",
        attempts=0,
        created_at=utcnow(),
        source=source[:100],
    )
    session.add(row)
    session.flush()  # stamps the tenant now: a session without one fails here, not later
    if has_app_context():
        g.setdefault("balai_outbox_queued", []).append(row.id)
    return row


def _check(message: Message) -> None:
    """Refuse what no adapter could deliver, with a translated reason."""
    if message.channel not in channels():
        raise ChannelError(_("Unknown channel %(name)s.", name=message.channel), "channel")
    recipient = message.recipient.strip()
    if not recipient:
        raise ChannelError(_("The recipient is required."), "recipient")
    if len(recipient) > 254 or CONTROL_RE.search(recipient):
        raise ChannelError(_("The recipient is not valid."), "recipient")
    if message.channel == "email" and email_address(recipient) is None:
        raise ChannelError(_("The recipient is not a valid e-mail address."), "recipient")
    if len(message.subject) > 200 or CONTROL_RE.search(message.subject):
        raise ChannelError(_("The subject must be one line of at most 200 characters."), "subject")
    if not message.body.strip():
        raise ChannelError(_("The message is empty."), "body")


def outbox_sealer(tenant_id: int, app: Flask | None = None) -> Sealer:
    """The key that seals the recipients (and sensitive bodies) of a region's outbox."""
    return sealer(OUTBOX_KEY, tenant_id, app)


_PHONE_RE = re.compile(r"^\+?[0-9][0-9 ().-]*$")


def mask(recipient: str) -> str:
    """How the admin pages show a recipient: enough to recognise it, not to use it.

    A phone number keeps its start and its last four digits (``+62812****7890``), an
    e-mail address the first letter of its local part and its domain
    (``s****@example.test``); anything else its first two characters.
    """
    value = recipient.strip()
    if "@" in value:
        local, _at, domain = value.rpartition("@")
        return f"{local[:1]}{MASK}@{domain}"[:64]
    if _PHONE_RE.match(value):
        digits = re.sub(r"[^0-9+]", "", value)
        tail = 4 if len(digits) >= 10 else 2 if len(digits) >= 6 else 0
        head = max(0, min(6, len(digits) - tail - 4))
        return f"{digits[:head]}{MASK}{digits[len(digits) - tail :] if tail else ''}"
    return f"{value[:2]}{MASK}"


@dataclass(frozen=True)
class Delivery:
    """A message opened for its adapter: the recipient (and body) in clear.

    Made by :func:`open_message` when the message is delivered, and given to
    :meth:`Channel.deliver`; it is never stored.
    """

    id: int
    tenant_id: int
    channel: str
    recipient: str = field(repr=False)
    subject: str
    body: str = field(repr=False)
    source: str
    sensitive: bool


def open_message(row: OutboxMessage, app: Flask | None = None) -> Delivery:
    """The outbox row opened with its region's key, to deliver it.

    :raises balai.crypto.SealError: the row was sealed under a key this deployment no
        longer has (see ``SECRET_KEY_FALLBACKS``).
    """
    keys = outbox_sealer(row.tenant_id, app)
    return Delivery(
        id=row.id,
        tenant_id=row.tenant_id,
        channel=row.channel,
        recipient=keys.open(row.recipient_sealed),
        subject=row.subject,
        body=keys.open(row.body) if row.sensitive else row.body,
        source=row.source,
        sensitive=row.sensitive,
    )


# -- adapters --------------------------------------------------------------------


@runtime_checkable
class Channel(Protocol):
    """A way to deliver messages; ``name`` is what :class:`Message` ``.channel`` says."""

    name: str

    def deliver(self, message: Delivery) -> str:
        """Send ``message``; return ``"sent"`` or ``"stored"``, or raise to mark it failed."""
        ...


class EmailChannel:
    """E-mail over SMTP (``MAIL_*`` settings); without ``MAIL_SERVER`` messages are stored."""

    name = "email"

    def deliver(self, message: Delivery) -> str:
        config = current_app.config
        if not config.get("MAIL_SERVER"):
            return "stored"
        if not config.get("MAIL_SENDER"):
            raise RuntimeError("MAIL_SENDER is not set")
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=SMTP_TIMEOUT) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            smtp.send_message(_email(message, config["MAIL_SENDER"]))
        return "sent"


def _email(message: Delivery, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body)
    return email


class SmsOutboxChannel:
    """SMS kept in the outbox: the sink until a gateway plugin replaces this adapter."""

    name = "sms"

    def deliver(self, message: Delivery) -> str:
        return "stored"


def channels(app: Flask | None = None) -> dict[str, Channel]:
    """The adapters of ``app`` (default: the current app) by channel name."""
    registry: dict[str, Channel] = (app or current_app).extensions["balai.channels"]
    return registry


# -- delivery --------------------------------------------------------------------


def deliver_pending(app: Flask, limit: int = 100, tenant_id: int | None = None) -> tuple[int, int]:
    """Deliver up to ``limit`` pending or failed-but-retriable messages of every tenant
    (or only of ``tenant_id``: the ``core.deliver-outbox`` job runs per region).

    Each message is claimed, delivered and recorded in its own transaction (on
    PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so concurrent runs share the work).

    :returns: ``(delivered, failed)``: delivered counts ``sent`` and ``stored``.
    """
    return _deliver(app, limit, tenant_id=tenant_id)


def _deliver(
    app: Flask, limit: int, only: Iterable[int] | None = None, tenant_id: int | None = None
) -> tuple[int, int]:
    delivered = failed = 0
    last_id = 0
    with app.app_context():
        for _n in range(max(limit, 0)):
            with db.all_tenants() as session:
                row = session.scalar(_next_due(app, last_id, only, tenant_id))
                if row is None:
                    break
                last_id = row.id
                if _deliver_one(row):
                    delivered += 1
                else:
                    failed += 1
    return delivered, failed


def _next_due(
    app: Flask, after: int, only: Iterable[int] | None, tenant_id: int | None = None
) -> Any:
    """The oldest message after id ``after`` still to be delivered, locked for this run."""
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status.in_(("pending", "failed")),
            OutboxMessage.attempts < app.config["OUTBOX_MAX_ATTEMPTS"],
            OutboxMessage.id > after,
        )
        .order_by(OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if tenant_id is not None:
        stmt = stmt.where(OutboxMessage.tenant_id == tenant_id)
    return stmt if only is None else stmt.where(OutboxMessage.id.in_(list(only)))


def _deliver_one(row: OutboxMessage) -> bool:
    """Hand ``row`` to its adapter and record the outcome on it; True if delivered."""
    adapter = channels().get(row.channel)
    delivery = None
    try:
        if adapter is None:
            raise LookupError(f"no adapter for channel {row.channel!r}")
        delivery = open_message(row)
        status = adapter.deliver(delivery)
        if status not in DELIVERED:
            raise ValueError(f"adapter {row.channel!r} returned {status!r}")
    except Exception as exc:  # any adapter failure is recorded and retried later
        error = f"{type(exc).__name__}: {exc}"
        if delivery is not None:  # a gateway's error may quote the address: mask it
            error = error.replace(delivery.recipient, row.recipient_hint)
        log.warning("outbox message %s (%s) failed: %s", row.id, row.channel, error)
        row.status, row.attempts = "failed", row.attempts + 1
        row.last_error = error[:MAX_ERROR]
        return False
    row.status, row.sent_at, row.last_error = status, utcnow(), None
    row.attempts += 1
    return True


def _deliver_queued(exc: BaseException | None) -> None:
    """After a request that queued messages, deliver those (``OUTBOX_DELIVER_INLINE``)."""
    queued = g.pop("balai_outbox_queued", None)
    if queued and exc is None:
        db.session.close()  # end the request's transaction before delivering in new ones
        _deliver(current_app._get_current_object(), len(queued), only=queued)  # type: ignore[attr-defined]


# -- inbound SMS -----------------------------------------------------------------


@dataclass(frozen=True)
class InboundSms:
    """An SMS received for a region, as a keyword's handler sees it.

    :param sender: the sender's number, as the gateway sent it.
    :param text: the whole message, stripped.
    :param keyword: the first word, upper-case (``"ADUAN"``).
    :param args: the text after the keyword, stripped.
    :param tenant: the region the SMS was sent to.
    """

    sender: str
    text: str
    keyword: str
    args: str
    tenant: TenantInfo


@dataclass(frozen=True)
class SmsKeyword:
    """A first word of inbound SMS that a plugin answers.

    :param keyword: one upper-case word, e.g. ``"ADUAN"``.
    :param handler: called with the :class:`InboundSms`; returns the reply text.
    :param help: one line shown in the format reply, e.g. ``"ADUAN <kategori> <isi>"``.
    :param sensitive: the replies concern the sender's health (or another special
        category of personal data): they are queued as sensitive :class:`Message`.
    """

    keyword: str
    handler: Callable[[InboundSms], str]
    help: str
    sensitive: bool = False


Claims = dict[str, tuple[str, SmsKeyword]]


def keywords(app: Flask | None = None) -> Claims:
    """Every claimed SMS keyword of ``app``: ``{"ADUAN": (plugin name, SmsKeyword)}``."""
    claims: Claims = (app or current_app).extensions["balai.sms_keywords"]
    return claims


# -- wiring ----------------------------------------------------------------------


def init_app(app: Flask, manager: Plugins) -> None:
    """Collect the plugins' channel adapters and SMS keywords; set up inline delivery."""
    app.extensions["balai.channels"] = _collect_channels(app, manager)
    app.extensions["balai.sms_keywords"] = _collect_keywords(app, manager)
    if app.config["OUTBOX_DELIVER_INLINE"]:
        app.teardown_request(_deliver_queued)


def _collect_channels(app: Flask, manager: Plugins) -> dict[str, Channel]:
    """Built-ins first; a plugin's adapter replaces one by name, two plugins may not."""
    registry: dict[str, Channel] = {"email": EmailChannel(), "sms": SmsOutboxChannel()}
    owners: dict[str, str] = {}
    for plugin, result in _in_load_order(manager, "register_channels", app):
        adapters = list(result) if isinstance(result, list | tuple) else [result]
        problem = _claim_channels(registry, owners, plugin, adapters)
        if problem:
            manager.mark_broken(plugin, f"register_channels: {problem}")
    return registry


def _claim_channels(
    registry: dict[str, Channel], owners: dict[str, str], plugin: str, adapters: list[Any]
) -> str | None:
    """Add one plugin's adapters, or say why none of them can be added."""
    for adapter in adapters:
        if not isinstance(adapter, Channel) or not CHANNEL_NAME_RE.match(str(adapter.name)):
            return f"{adapter!r} is not a Channel with a short lower-case name"
        if adapter.name in owners:
            return f"channel {adapter.name!r} is already provided by {owners[adapter.name]}"
    for adapter in adapters:
        registry[adapter.name], owners[adapter.name] = adapter, plugin
    return None


def _in_load_order(manager: Plugins, hook: str, app: Flask) -> list[tuple[str, Any]]:
    """A start-up hook's results, the plugin loaded first first: it keeps a contested name."""
    loaded = list(manager.installed)
    results = manager.call_each(hook, startup=True, app=app)
    return sorted(results, key=lambda result: loaded.index(result[0]))


def _collect_keywords(app: Flask, manager: Plugins) -> Claims:
    """Each keyword belongs to one plugin: a second plugin claiming it is broken."""
    claims: Claims = {}
    for plugin, result in _in_load_order(manager, "register_sms_keywords", app):
        found = list(result) if isinstance(result, list | tuple) else [result]
        problem = _keyword_problem(claims, found)
        if problem:
            manager.mark_broken(plugin, f"register_sms_keywords: {problem}")
            continue
        claims.update({k.keyword: (plugin, k) for k in found})
    return claims


def _keyword_problem(claims: Claims, found: list[Any]) -> str | None:
    for item in found:
        if not isinstance(item, SmsKeyword):
            return f"{item!r} is not a balai.channels.SmsKeyword"
        word = item.keyword
        if not KEYWORD_RE.match(word):
            return f"keyword {word!r} must be one upper-case word (letters and digits)"
        if word in claims:
            return f"keyword {word} is already claimed by {claims[word][0]}"
    return None
