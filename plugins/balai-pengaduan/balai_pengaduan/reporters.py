"""The reporter's e-mail address and phone number (*kontak pelapor*), sealed at rest.

They are personal data: a complaint keeps them encrypted with the region's reporter
key (:func:`balai.crypto.sealer`, purpose :data:`PURPOSE`: AES-256-GCM, the key
derived from ``SECRET_KEY`` and the tenant id, the region bound to every value), as
the core's outbox keeps its recipients. They are opened only where they are used:
the messages to the reporter (:mod:`balai_pengaduan.notify`), and the officers' page
and API for those who may see the reporter (:func:`balai_pengaduan.officer.identity_shown`).
The public pages, the feeds and Open311 never open them. Nothing looks a complaint up
by its reporter's contact, so no digest of them is kept either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Flask

from balai.crypto import Sealer, SealError, sealer
from balai_pengaduan.models import Complaint

__all__ = ["PURPOSE", "Contacts", "contacts", "reporter_sealer", "seal"]

log = logging.getLogger(__name__)

#: The purpose the region's reporter key is derived for.
PURPOSE = "pengaduan.reporter"


@dataclass(frozen=True)
class Contacts:
    """A reporter's contact details, opened; never stored."""

    email: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)


def reporter_sealer(tenant_id: int, app: Flask | None = None) -> Sealer:
    """The key that seals the contact details of a region's reporters."""
    return sealer(PURPOSE, tenant_id, app)


def seal(keys: Sealer, value: str | None) -> str | None:
    """``value`` sealed with ``keys``; nothing stays nothing."""
    return keys.seal(value) if value else None


def contacts(complaint: Complaint, app: Flask | None = None) -> Contacts:
    """The reporter's e-mail address and phone number, opened with the region's key.

    A value sealed under a key this deployment no longer has (see
    ``SECRET_KEY_FALLBACKS``) is logged and given as ``None``: the reporter gets no
    message there, and the officer sees no contact.
    """
    sealed = (complaint.reporter_email_sealed, complaint.reporter_phone_sealed)
    if not any(sealed):
        return Contacts()
    keys = reporter_sealer(complaint.tenant_id, app)
    email, phone = (_open(keys, value, complaint.id) for value in sealed)
    return Contacts(email=email, phone=phone)


def _open(keys: Sealer, value: str | None, complaint_id: int) -> str | None:
    if not value:
        return None
    try:
        return keys.open(value)
    except SealError:
        log.warning(
            "complaint %s: a reporter's contact no key of this deployment opens", complaint_id
        )
        return None
