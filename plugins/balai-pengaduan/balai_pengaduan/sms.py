"""SMS intake (*pengaduan lewat SMS*): ``ADUAN <category code> <text>`` becomes a complaint.

The core routes an inbound SMS by its first word; the handler here answers with the
tracking code, or with the format and the valid category codes when the message
cannot become a complaint. The core queues the reply and commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from balai.channels import InboundSms, SmsKeyword
from balai.db import db
from balai.sms import webhook_enabled
from balai_pengaduan import runtime, services
from balai_pengaduan.models import Category

__all__ = ["FORMAT", "KEYWORD", "Instructions", "handle", "instructions", "keyword"]

KEYWORD = "ADUAN"
FORMAT = "ADUAN <kode kategori> <isi pengaduan>"


def keyword() -> SmsKeyword:
    """The keyword this plugin claims from the core's SMS router."""
    return SmsKeyword(KEYWORD, handle, help=FORMAT)


def handle(sms: InboundSms) -> str:
    """Turn one ``ADUAN`` message into a complaint; the reply names its tracking code."""
    code, text = [*sms.args.split(maxsplit=1), "", ""][:2]
    if not code or not text.strip():
        return _format_reply()
    submission = services.Submission(
        category_code=code,
        description=text,
        channel="sms",
        privacy="public",
        reporter_phone=sms.sender,
    )
    try:
        complaint = services.submit(db.session, submission, runtime.context())
    except services.ComplaintError:
        db.session.rollback()
        return _format_reply()
    runtime.announce_submitted(complaint)
    return _(
        "Complaint received. Tracking code: %(code)s. Follow it at %(url)s",
        code=complaint.tracking_code,
        url=url_for("pengaduan.track", kode=complaint.tracking_code, _external=True),
    )


@dataclass(frozen=True)
class Instructions:
    """How a citizen reports by SMS: where to send it, the format, the category codes."""

    number: str
    format: str
    categories: list[tuple[str, str]]  # (code, name)


def instructions() -> Instructions | None:
    """The SMS instructions of the region, once it can receive them: its SMS webhook is
    set up and the setting ``sms_number`` says where to send; else ``None``."""
    number = str(runtime.settings().get("sms_number") or "").strip()
    if not number or not webhook_enabled(g.tenant):
        return None
    return Instructions(number, FORMAT, [(c.code, c.name) for c in _active_categories()])


def _active_categories() -> list[Category]:
    return list(
        db.session.scalars(
            select(Category)
            .where(Category.active.is_(True))
            .order_by(Category.position, Category.code)
        )
    )


def _format_reply() -> str:
    """How to write the message, with the codes the region accepts."""
    codes = [c.code for c in _active_categories()]
    return _(
        "Format: %(format)s. Category codes: %(codes)s.",
        format=FORMAT,
        codes=", ".join(codes) or "-",
    )
