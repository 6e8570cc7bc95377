"""Rules shared by every part of the plugin: who is acting, what their duty lets them
see, and the audit trail. No Flask here: pages, the API, the SMS handler, commands
and tests build an :class:`Actor` and pass the session and the time in.

The focused rules live beside this module: :mod:`~balai_puskesmas.queue` (numbers),
:mod:`~balai_puskesmas.patients`, :mod:`~balai_puskesmas.visits`,
:mod:`~balai_puskesmas.facilities`, :mod:`~balai_puskesmas.fhir` and
:mod:`~balai_puskesmas.export`.

**Access by duty.** Health data is specific personal data (UU 27/2022 on personal
data protection): an officer reads it only through an assignment (:class:`Staff`)
to a puskesmas. Any duty may read the region's patient register (patients visit any
puskesmas of the region); visits are read at the officer's own puskesmas only, unless
the region's policy ``share_records`` lets every assigned officer read visits at all
of its puskesmas. A role alone (even region admin) grants no access to records.
Every read or change of a patient's data is written to the audit trail.

**No opening without an entry.** :func:`audit` returns an :class:`AuditContext`, and
only it makes one; the vault opens an identifier only when given one
(:meth:`~balai_puskesmas.vault.Vault.decrypt`), and a patient is shown only as a
:class:`~balai_puskesmas.patients.ShownPatient` that carries one. A path that would
show or open personal data without writing the entry first fails at once
(:class:`AuditRequired`) instead of leaking quietly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from balai.contacts import mobile_number
from balai.i18n import N_
from balai.rules import RuleError
from balai_puskesmas.models import AuditEntry, Staff, Visit

__all__ = [
    "Actor",
    "AuditContext",
    "AuditRequired",
    "PuskesmasError",
    "audit",
    "can_read_visits_at",
    "check_audited",
    "duties_of",
    "facilities_with",
    "mobile_number",
    "readable_visits",
    "require_duty",
]


class PuskesmasError(RuleError):
    """A rule said no. ``errors`` maps a field name (or ``""``) to message ids.

    Message ids are English and marked with ``N_``; callers translate them with
    :func:`balai.rules.rule_errors`. Values for the placeholders are in ``params``.
    """


@dataclass(frozen=True)
class Actor:
    """Who is acting, for access checks and the audit trail.

    :param user_id: the account, or ``None`` (a kiosk, an SMS sender, a job).
    :param label: how the audit trail names them, e.g. ``"Siti Aminah <siti@...>"``.
    :param address: where from: the client's IP address, or ``sms:<hash>``.
    :param channel: ``web``, ``api``, ``sms``, ``kiosk`` or ``cli``.
    :param duties: facility id → duty, from the officer's assignments.
    :param share_records: the region's policy lets assigned officers read visits at
        every puskesmas of the region.
    """

    user_id: int | None
    label: str
    address: str = ""
    channel: str = "web"
    duties: Mapping[int, str] = field(default_factory=dict)
    share_records: bool = False


def duties_of(session: Session, user_id: int | None) -> dict[int, str]:
    """The officer's assignments: facility id → duty."""
    if user_id is None:
        return {}
    rows = session.execute(
        select(Staff.facility_id, Staff.duty).where(Staff.user_id == user_id)
    ).all()
    return {facility_id: duty for facility_id, duty in rows}


def facilities_with(actor: Actor, *duties: str) -> set[int]:
    """Facilities where ``actor`` holds one of ``duties`` (any duty if none given)."""
    return {f for f, d in actor.duties.items() if not duties or d in duties}


def require_duty(actor: Actor, facility_id: int, *duties: str) -> None:
    """Refuse unless ``actor`` holds one of ``duties`` at ``facility_id``.

    :raises PuskesmasError: status 403.
    """
    if facility_id not in facilities_with(actor, *duties):
        raise PuskesmasError(N_("You have no duty at this puskesmas that allows this."), status=403)


def can_read_visits_at(actor: Actor, facility_id: int) -> bool:
    """May ``actor`` read the visits recorded at ``facility_id``?"""
    if facility_id in actor.duties:
        return True
    return actor.share_records and bool(actor.duties)


def readable_visits(actor: Actor) -> ColumnElement[bool]:
    """The visits ``actor`` may read, as a condition on :class:`Visit`."""
    if not actor.duties:
        return false()
    if actor.share_records:
        return true()
    return Visit.facility_id.in_(sorted(actor.duties))


class AuditRequired(RuntimeError):
    """Personal data was about to be opened or shown without an audit entry: a bug in
    the calling code, never a user's mistake."""


_ISSUER = object()


class AuditContext:
    """Proof that an access to personal data is written to the audit trail, in the
    transaction of ``tenant_id``'s session; made only by :func:`audit`.

    :ivar entry: the :class:`AuditEntry` (added to the session, not yet committed).
    :ivar patient_id: the patient the entry names, if one.
    """

    __slots__ = ("entry", "patient_id", "tenant_id")

    def __init__(self, entry: AuditEntry, tenant_id: int | None, *, issuer: object = None) -> None:
        if issuer is not _ISSUER:
            raise AuditRequired("an audit context is made by services.audit() only")
        self.entry = entry
        self.tenant_id = tenant_id
        self.patient_id = entry.patient_id

    def __repr__(self) -> str:
        return f"AuditContext({self.entry.action!r}, patient_id={self.patient_id})"


def check_audited(audited: object, tenant_id: int, patient_id: int | None = None) -> None:
    """Refuse unless ``audited`` is an :class:`AuditContext` of region ``tenant_id``
    (naming ``patient_id``, when given).

    :raises AuditRequired: the data must not be opened or shown.
    """
    if not isinstance(audited, AuditContext) or audited.tenant_id != tenant_id:
        raise AuditRequired("personal data is opened only with this region's audit context")
    if patient_id is not None and audited.patient_id != patient_id:
        raise AuditRequired("the audit entry names another patient")


def audit(
    session: Session,
    actor: Actor,
    action: str,
    now: datetime,
    *,
    patient_id: int | None = None,
    facility_id: int | None = None,
    detail: str = "",
) -> AuditContext:
    """Add one entry to the audit trail, in the caller's transaction; the context that
    lets the caller open and show the data the entry covers.

    ``action`` is ``<thing>.<verb>`` (``patient.read``, ``visit.create``, ...);
    ``detail`` names what was touched (field names, counts), never personal data.
    """
    entry = AuditEntry(
        at=now,
        user_id=actor.user_id,
        actor=actor.label[:260],
        action=action,
        patient_id=patient_id,
        facility_id=facility_id,
        detail=detail[:500],
        address=actor.address[:64],
        channel=actor.channel,
    )
    session.add(entry)
    return AuditContext(entry, session.info.get("tenant_id"), issuer=_ISSUER)
