"""Notifications (*pemberitahuan*) to reporters and departments through the core's channels.

Messages are queued in the outbox inside the changing transaction, so a change
that rolls back sends nothing. They are written in the region's default language
(Bahasa Indonesia), whatever language the officer's browser uses. Anonymous
reporters left no address and get nothing. The reporter's address and number are
opened from their sealed form here, and sealed again in the outbox.
"""

from __future__ import annotations

import logging

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.auth import User
from balai.channels import ChannelError, Message, mask, queue
from balai.permissions import has_permission
from balai.tenancy import TenantInfo, external_url
from balai_pengaduan import reporters
from balai_pengaduan.models import Complaint, ComplaintEvent
from balai_pengaduan.runtime import VIEW
from balai_pengaduan.workflow import STATUS_LABELS

__all__ = ["department_officers", "status_changed", "submitted", "tracking_url"]

log = logging.getLogger(__name__)
SOURCE = "pengaduan"


def submitted(session: Session, tenant: TenantInfo, complaint: Complaint) -> None:
    """Confirm a new complaint to its reporter, with the tracking code."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        link = tracking_url(tenant, complaint.tracking_code)
        subject = _("Complaint received: %(code)s", code=complaint.tracking_code)
        body = _(
            "Your complaint has been received. Tracking code: %(code)s. Follow it at %(url)s",
            code=complaint.tracking_code,
            url=link,
        )
        # An SMS complaint is already answered by the reply to the SMS itself.
        _to_reporter(session, complaint, subject, body, sms=complaint.channel != "sms")


def status_changed(
    session: Session, tenant: TenantInfo, complaint: Complaint, event: ComplaintEvent
) -> None:
    """Tell the reporter the new status; tell the department when it is forwarded to it."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        status = _(STATUS_LABELS.get(event.to_status, event.to_status))
        link = tracking_url(tenant, complaint.tracking_code)
        subject = _("Complaint %(code)s: %(status)s", code=complaint.tracking_code, status=status)
        body = _(
            "The status of your complaint %(code)s is now: %(status)s. Follow it at %(url)s",
            code=complaint.tracking_code,
            status=status,
            url=link,
        )
        if event.note:
            body = f"{body}\n\n{event.note}"
        _to_reporter(session, complaint, subject, body, sms=True)
        if event.to_status == "forwarded":
            _to_department(session, tenant, complaint)
        elif event.from_status == "resolved" and event.to_status == "in_progress":
            _to_department(session, tenant, complaint, reopened=True)


def _to_reporter(
    session: Session, complaint: Complaint, subject: str, body: str, *, sms: bool
) -> None:
    if complaint.privacy == "anonymous":
        return
    contacts = reporters.contacts(complaint)
    if contacts.email:
        _queue(session, Message("email", contacts.email, body, subject))
    if sms and contacts.phone:
        _queue(session, Message("sms", contacts.phone, body))


def _to_department(
    session: Session, tenant: TenantInfo, complaint: Complaint, *, reopened: bool = False
) -> None:
    """E-mail every officer of the complaint's department: forwarded to it, or reopened."""
    if complaint.department_id is None:
        return
    if reopened:
        subject = _("Complaint reopened: %(code)s", code=complaint.tracking_code)
        body = _(
            "The reporter says complaint %(code)s is not fixed and reopened it. Open it at %(url)s",
            code=complaint.tracking_code,
            url=_officer_url(tenant, complaint.id),
        )
    else:
        subject = _("New complaint for your department: %(code)s", code=complaint.tracking_code)
        body = _(
            "A complaint (%(category)s) was forwarded to your department. Open it at %(url)s",
            category=complaint.category.name,
            url=_officer_url(tenant, complaint.id),
        )
    for officer in department_officers(session, tenant, complaint.department_id):
        _queue(session, Message("email", officer.email, body, subject))


def department_officers(session: Session, tenant: TenantInfo, department_id: int) -> list[User]:
    """Active officers of one department of the region who may open its complaints.

    Holding the department is not enough: a doctor of Dinas Kesehatan whose roles do
    not carry ``pengaduan.view_complaint`` is not told about the complaints routed
    there. Only accounts with an e-mail address are returned (they are e-mailed).
    """
    officers = session.scalars(
        select(User)
        .where(
            User.tenant_id == tenant.id,
            User.role == "opd",
            User.department_id == department_id,
            User.active.is_(True),
            User.email.is_not(None),
        )
        .order_by(User.id)
    )
    return [officer for officer in officers if has_permission(officer, VIEW)]


def _queue(session: Session, message: Message) -> None:
    """Queue one message; an address no channel accepts is logged, not fatal."""
    try:
        queue(session, message, source=SOURCE)
    except ChannelError as exc:
        log.warning("not notifying %s by %s: %s", mask(message.recipient), message.channel, exc)


def tracking_url(tenant: TenantInfo, code: str) -> str:
    """The tracking page of a complaint on the region's primary domain, never the
    request's host (:func:`balai.tenancy.external_url`)."""
    return external_url(tenant, "pengaduan.track", kode=code)


def _officer_url(tenant: TenantInfo, complaint_id: int) -> str:
    return external_url(tenant, "pengaduan_petugas.detail", complaint_id=complaint_id)
