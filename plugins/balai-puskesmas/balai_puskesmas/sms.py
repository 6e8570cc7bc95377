"""Queue numbers by SMS (*antrean lewat SMS*): ``ANTRE <puskesmas code> <clinic code> [NIK]``.

The core routes an inbound SMS by its first word; the handler takes a number for today
with the sender as the phone told when it is called, and answers with the number, the
people ahead, the estimated wait and the link to follow it. A message that cannot
become a number is answered with the format and the valid codes, or with the reason
(closed today, no numbers left). The core queues the reply, marked sensitive (it
names the clinic), and commits.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from balai.channels import InboundSms, SmsKeyword
from balai.db import db, utcnow
from balai.rules import rule_message
from balai_puskesmas import limiting, queue, runtime
from balai_puskesmas.models import Clinic, Facility
from balai_puskesmas.services import PuskesmasError
from balai_puskesmas.views import zone

__all__ = ["FORMAT", "KEYWORD", "handle", "keyword"]

KEYWORD = "ANTRE"
FORMAT = "ANTRE <kode puskesmas> <kode poli> [NIK]"
MAX_CODES = 30  # puskesmas listed in a format reply; more does not fit an SMS
MAX_DETAIL = 300  # characters of "CODE (CLINIC, ...)"; longer lists name the puskesmas only


def keyword() -> SmsKeyword:
    """The keyword this plugin claims from the core's SMS router."""
    return SmsKeyword(KEYWORD, handle, help=FORMAT, sensitive=True)


def handle(sms: InboundSms) -> str:
    """Take a number for today from one ``ANTRE`` message; the reply gives the number."""
    parts = sms.args.split()
    if len(parts) not in (2, 3):
        return _format_reply()
    facility = db.session.scalar(
        select(Facility).where(
            func.upper(Facility.code) == parts[0].upper(), Facility.active.is_(True)
        )
    )
    if facility is None:
        return _format_reply()
    clinic = db.session.scalar(
        select(Clinic).where(
            Clinic.facility_id == facility.id,
            func.upper(Clinic.code) == parts[1].upper(),
            Clinic.active.is_(True),
        )
    )
    if clinic is None:
        return _format_reply(facility)
    now = utcnow()
    phone = _mobile(sms.sender)
    reservation = limiting.reserve(phone=phone or sms.sender, by_address=False)
    if not reservation.allowed:
        return limiting.refusal_message(reservation.outcome)
    try:
        ticket = queue.take_number(
            db.session,
            runtime.vault(),
            clinic.id,
            queue.region_today(now, zone()),
            now,
            channel="sms",
            days_ahead=0,
            closed_on_holidays=runtime.settings()["closed_on_holidays"],
            timezone=zone(),
            nik=parts[2] if len(parts) == 3 else None,
            phone=phone,
            one_per_person=bool(runtime.settings()["one_number_per_person"]),
            desk_share_percent=int(runtime.settings()["desk_share_percent"]),
        )
    except PuskesmasError as exc:
        db.session.rollback()
        reservation.refused(exc)
        reasons = rule_message(exc)
        return _("No number was taken: %(reasons)s", reasons=reasons)
    ahead, minutes = queue.estimate(db.session, ticket)
    return _(
        "Queue number %(number)s at %(clinic)s, %(facility)s, today: %(ahead)s, %(wait)s. "
        "Follow it at %(url)s",
        number=queue.display_number(ticket),
        clinic=clinic.name,
        facility=facility.name,
        ahead=ngettext("%(num)d person ahead", "%(num)d people ahead", ahead),
        wait=ngettext("about %(num)d minute", "about %(num)d minutes", minutes),
        url=url_for("puskesmas.ticket", code=ticket.code, _external=True),
    )


def _mobile(sender: str) -> str | None:
    """The sender as a mobile number to tell when called; a gateway's odd sender is none."""
    try:
        return queue.normalise_phone(sender)
    except PuskesmasError:
        return None


def _format_reply(facility: Facility | None = None) -> str:
    """How to write the message, with the clinic codes of one puskesmas or the puskesmas
    codes of the region."""
    if facility is not None:
        codes = db.session.scalars(
            select(Clinic.code)
            .where(Clinic.facility_id == facility.id, Clinic.active.is_(True))
            .order_by(Clinic.position, Clinic.code)
        ).all()
        return _(
            "Format: %(format)s. Clinic codes at %(facility)s: %(codes)s.",
            format=FORMAT,
            facility=facility.code,
            codes=", ".join(codes) or "-",
        )
    facilities = db.session.scalars(
        select(Facility)
        .where(Facility.active.is_(True))
        .order_by(Facility.code)
        .limit(MAX_CODES + 1)
    ).all()
    more = ", …" if len(facilities) > MAX_CODES else ""
    facilities = facilities[:MAX_CODES]
    detailed = "; ".join(
        f"{f.code} ({', '.join(c.code for c in f.clinics if c.active) or '-'})" for f in facilities
    )
    listed = detailed if len(detailed) <= MAX_DETAIL else ", ".join(f.code for f in facilities)
    return _(
        "Format: %(format)s. Puskesmas codes: %(codes)s.",
        format=FORMAT,
        codes=(listed + more) or "-",
    )
