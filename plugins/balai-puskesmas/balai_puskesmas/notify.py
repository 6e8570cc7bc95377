"""The SMS to a number's holder when the desk calls it (*panggilan antrean*).

Queued in the outbox inside the calling transaction, so a call that rolls back sends
nothing. Written in the region's default language (Bahasa Indonesia), whatever
language the officer's browser uses. A ticket taken without a phone gets nothing.

Opening the phone number is written to the audit trail (``ticket.notify``). The
text says the number, the puskesmas and the address of the ticket's own page, which
names the clinic and where to go; the SMS itself names no clinic (a KIA or dental
clinic says something about the holder's health, and an SMS shows on a locked phone's
screen) and no person. The message is marked sensitive, so the outbox keeps it sealed
and the admin pages do not show it.
"""

from __future__ import annotations

import logging

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from balai.channels import ChannelError, Message, queue
from balai.db import utcnow
from balai.tenancy import TenantInfo, external_url
from balai_puskesmas import runtime
from balai_puskesmas.models import Ticket
from balai_puskesmas.runtime import vault_for
from balai_puskesmas.services import audit
from balai_puskesmas.vault import VaultError

__all__ = ["SOURCE", "ticket_called"]

log = logging.getLogger(__name__)
SOURCE = "puskesmas"


def ticket_called(session: Session, tenant: TenantInfo, ticket: Ticket) -> None:
    """Tell the holder by SMS that their number is called (or called again)."""
    if ticket.phone_cipher is None:
        return
    audited = audit(
        session,
        runtime.current_actor(),
        "ticket.notify",
        utcnow(),
        patient_id=ticket.patient_id,
        facility_id=ticket.facility_id,
        detail=f"ticket {ticket.id}: the phone given with the number, to send the call by SMS",
    )
    try:
        phone = vault_for(current_app.config, tenant.id).open(ticket.phone_cipher, audited)
    except VaultError:
        log.warning("ticket %s: the phone number cannot be opened with this key", ticket.id)
        return
    if not phone:
        return
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        values = {
            "number": f"{ticket.number:03d}",
            "facility": ticket.clinic.facility.name,
            "url": external_url(tenant, "puskesmas.ticket", code=ticket.code),
        }
        if ticket.recalls:
            body = _(
                "Queue number %(number)s is called again at %(facility)s. Where to go: %(url)s",
                **values,
            )
        else:
            body = _(
                "Queue number %(number)s is called at %(facility)s. Where to go: %(url)s", **values
            )
    try:
        queue(session, Message("sms", phone, body, sensitive=True), source=SOURCE)
    except ChannelError as exc:
        log.warning("not telling ticket %s by SMS: %s", ticket.id, exc)
