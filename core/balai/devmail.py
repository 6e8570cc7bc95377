"""The demo's mailbox (*kotak surat*): ``/-/kotak-surat`` shows what the outbox sent.

A tester of ``balai demo`` registers, reports a problem or takes a queue number and
wants to see the e-mail, the SMS or the verification code that follows. The demo has
no mail server nor SMS gateway: its messages stay in the region's outbox
(:mod:`balai.channels`; ``balai demo`` turns ``OUTBOX_DELIVER_INLINE`` on, so they
are "stored" right after the request that queued them). This page lists them, newest
first, recipient and text in clear, each region only its own.

It exists only where ``DEMO_MAILBOX`` is on, which ``balai demo`` sets for the app it
builds and serves and never writes to ``balai.cfg``. The page is public and opens
every message, so :func:`init_app` refuses to start an app with the setting on whose
instance folder is not a demo (it has no ``demo.json``): a production instance
cannot show its citizens' messages by a stray setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from math import ceil
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, g, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from balai.channels import OutboxMessage, open_message
from balai.crypto import SealError
from balai.db import db
from balai.fields import int_arg
from balai.permissions import public

__all__ = ["PAGE_SIZE", "SETTING", "bp", "init_app"]

bp = Blueprint("balai_devmail", __name__)
SETTING = "DEMO_MAILBOX"
PAGE_SIZE = 20
CHANNEL_LABELS = {"email": _l("E-mail"), "sms": _l("SMS")}
STATUS_LABELS = {
    "pending": _l("waiting"),
    "sent": _l("sent"),
    "failed": _l("failed"),
    "stored": _l("stored"),
}


class NotADemoError(RuntimeError):
    """``DEMO_MAILBOX`` is on for an instance that ``balai demo`` did not make."""


def init_app(app: Flask) -> None:
    """Add the mailbox page when ``DEMO_MAILBOX`` is on, and only in a demo's folder.

    :raises NotADemoError: the setting is on but the instance folder has no ``demo.json``.
    """
    if not app.config.get(SETTING):
        return
    from balai.demo import MARKER  # balai.demo builds apps: import it only when needed

    if not (Path(app.instance_path) / MARKER).is_file():
        raise NotADemoError(
            f"{SETTING} is on but {app.instance_path} is not a demo made by 'balai demo': "
            "the mailbox page shows every message in clear to anyone; turn it off"
        )
    app.register_blueprint(bp)


@dataclass(frozen=True)
class Letter:
    """An outbox message opened for the page."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    status: str
    created_at: datetime
    source: str
    sensitive: bool
    readable: bool


def _opened(row: OutboxMessage) -> Letter:
    try:
        delivery = open_message(row)
    except SealError:  # sealed under a key this demo no longer has
        recipient, body, readable = row.recipient_hint, "", False
    else:
        recipient, body, readable = delivery.recipient, delivery.body, True
    return Letter(
        id=row.id,
        channel=row.channel,
        recipient=recipient,
        subject=row.subject,
        body=body,
        status=row.status,
        created_at=row.created_at,
        source=row.source,
        sensitive=row.sensitive,
        readable=readable,
    )


@bp.route("/-/kotak-surat")
@public
def mailbox() -> Any:
    """The region's e-mails and SMS, newest first, a page at a time (demo only)."""
    mine = OutboxMessage.tenant_id == g.tenant.id
    total = db.session.scalar(select(func.count(OutboxMessage.id)).where(mine)) or 0
    pages = max(1, ceil(total / PAGE_SIZE))
    page = min(max(int_arg(request.args, "page") or 1, 1), pages)
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(mine)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    body = render_template(
        "balai/mailbox.html",
        letters=[_opened(row) for row in rows],
        total=total,
        page=page,
        pages=pages,
        channel_labels=CHANNEL_LABELS,
        status_labels=STATUS_LABELS,
    )
    # Verification codes and links: never kept by a shared cache, never indexed.
    return body, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
