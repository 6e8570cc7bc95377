"""The outbox of FHIR bundles for SATUSEHAT (no Flask here).

Recording a visit queues its bundle (:func:`enqueue`); ``balai puskesmas send``,
run from cron every minute, sends what is due (:func:`send_due`).

**The patient by IHS number.** SATUSEHAT holds every resident already (from the civil
registry): a bundle creates no Patient but refers to ``Patient/<IHS number>``. The
sender looks the patient up once, ``GET Patient?identifier=
https://fhir.kemkes.go.id/id/nik|<NIK>`` (an ``export.lookup`` audit entry: the NIK is
opened and sent), and keeps the IHS number sealed on the patient
(``Patient.ihs_cipher``, with the hash of the NIK it was found for): that is the cache,
so later visits of the patient are sent without asking again, until the desk changes
the NIK. A patient SATUSEHAT does not know is *held* (``patient``: the desk should
check the NIK against the KTP or KK), and so is a NIK SATUSEHAT has more than one
patient for (``patient_ambiguous``); the sender asks again once the NIK has been
changed, or a day later. A lookup that fails (network, 429, 5xx) is retried like a
sending.

**Held, not sent to be refused.** SATUSEHAT files a visit only when its Encounter
refers to the puskesmas's Organization, the clinic's Location and the clinician's
Practitioner by their SATUSEHAT ids. A visit whose puskesmas, clinic or clinician has
no id yet is queued as ``held`` with the reason (``hold_reason``), without a bundle;
each run of the sender releases the held exports whose ids have been entered since
(:func:`release_held`), and an admin can ask for it at once (:func:`retry`). A
released export has no bundle yet, nor has one queued before its patient's IHS number
was known: the sender builds it from the visit (after the lookup) before sending.

Sending:

1. One export at a time is *claimed*: the due row is locked (``SELECT ... FOR UPDATE
   SKIP LOCKED`` on PostgreSQL), its ``next_attempt_at`` moved a lease ahead, and that
   is committed. A second sender running at the same moment skips the locked row and
   then finds it not due, so two senders never send one bundle at once; no lock is
   held while the network is used.
2. An OAuth2 access token is fetched by client credentials (once per run, again
   after a 401), and the transaction Bundle is POSTed to the FHIR base address.
3. The outcome is committed at once: ``sent`` with the transaction-response's
   statuses and locations; or another attempt later, waiting 1 minute, 2, 4, ... up
   to 6 hours (network errors, 429, 5xx, token failures), ``failed`` once
   ``max_attempts`` is reached; or ``failed`` at once when the server rejects the
   content (400, 412, 413, 422), with its OperationOutcome's diagnostics.

A failed export keeps its bundle until an admin retries it (:func:`retry`). Error
fields hold the status code and a short reason, never the bundle or personal data
(values from the patient are blanked out of a server's diagnostics). A sender that
dies after the server answered leaves its export to be sent again after the lease;
every entry is a conditional create on its identifier, so the server files it once.

**The bundle holds health data** (and the IHS number): it is stored sealed with the
region's vault (``Export.bundle_sealed``), opened only to send it (an ``export.send``
audit entry, written with the claim), and deleted ``bundle_retention_days`` after SATUSEHAT
accepted it (:func:`purge_sent`, run by the same command); the export row, its
outcome and the resource types it held stay.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from balai.i18n import N_
from balai.tenancy import DEFAULT_TIMEZONE
from balai_puskesmas import fhir, readiness
from balai_puskesmas.models import (
    Clinic,
    Diagnosis,
    Export,
    Facility,
    Patient,
    Prescription,
    Referral,
    Staff,
    Ticket,
    Visit,
)
from balai_puskesmas.services import Actor, AuditContext, PuskesmasError, audit
from balai_puskesmas.vault import Vault, VaultError

if TYPE_CHECKING:  # httpx is imported when something is sent: web workers never need it
    import httpx

__all__ = [
    "FIRST_WAIT",
    "HELD",
    "HOLD_PATIENT",
    "HOLD_PATIENT_AMBIGUOUS",
    "LEASE",
    "LONGEST_WAIT",
    "LOOKUP_AGAIN",
    "REJECTED",
    "SENDER",
    "NeedsLookup",
    "SendSummary",
    "backoff",
    "build_bundle",
    "counts",
    "enqueue",
    "known_ihs",
    "open_bundle",
    "patient_hold",
    "purge_sent",
    "release_held",
    "retry",
    "seal_bundle",
    "send_due",
]

#: Who opens bundles to send them (``balai puskesmas send``), in the audit trail.
SENDER = Actor(user_id=None, label="balai puskesmas send", channel="cli")
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
#: How long a claimed export is kept from other senders while it is being sent.
LEASE = timedelta(minutes=15)
#: Answers that say the content itself is wrong: sending it again cannot help.
REJECTED = frozenset({400, 412, 413, 422})
FHIR_JSON = "application/fhir+json"
TIMEOUT = 30.0  # seconds to wait for SATUSEHAT's answer...
CONNECT_TIMEOUT = 10.0  # ...and for a connection
ERROR_LENGTH = 500
#: The status of an export that cannot be sent as it stands (``Export.hold_reason``).
HELD = "held"
#: Held: SATUSEHAT has no patient with the NIK (the desk should check it)...
HOLD_PATIENT = "patient"
#: ...or more than one.
HOLD_PATIENT_AMBIGUOUS = "patient_ambiguous"
#: How long SATUSEHAT's "no such patient" stands before the sender asks again (the NIK
#: unchanged; a changed NIK is looked up at the next run).
LOOKUP_AGAIN = timedelta(days=1)


@dataclass
class SendSummary:
    """What one :func:`send_due` run did for a tenant.

    ``sent`` and ``failed`` (given up) count this run's exports, ``retrying`` those
    that failed this time and will be tried again; ``waiting`` is every pending
    export left after the run, ``held`` every held one. ``message`` says why nothing
    was sent, if so.
    """

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    waiting: int = 0
    held: int = 0
    message: str = ""

    def line(self) -> str:
        """``3 sent, 1 waiting, 0 failed`` (``, 2 held`` when some are, and the reason
        when nothing could be sent)."""
        text = f"{self.sent} sent, {self.waiting} waiting, {self.failed} failed"
        if self.held:
            text += f", {self.held} held"
        return f"{text} ({self.message})" if self.message else text


class _TokenError(Exception):
    """The token endpoint did not give an access token; the message is safe to store."""


class _StopRun(Exception):
    """The run stops (the token endpoint failed); what was done is recorded."""


class NeedsLookup(fhir.FhirError):
    """The patient's IHS number is not known yet: the sender looks it up in SATUSEHAT
    by the NIK before the bundle can be built."""


def known_ihs(patient: Patient) -> bool:
    """Whether the patient's IHS number is stored, for the NIK the patient has now."""
    return patient.ihs_cipher is not None and patient.ihs_nik_hash == patient.nik_hash


def _not_found_lately(patient: Patient, now: datetime) -> bool:
    """SATUSEHAT said it has no patient (or several) with this very NIK, less than
    :data:`LOOKUP_AGAIN` ago."""
    return (
        patient.ihs_cipher is None
        and patient.ihs_nik_hash == patient.nik_hash
        and patient.ihs_checked_at is not None
        and patient.ihs_checked_at > now - LOOKUP_AGAIN
    )


# -- queueing ------------------------------------------------------------------------


def arrival(ticket: Ticket | None, zone: str | tzinfo) -> datetime | None:
    """When the patient arrived, from their queue number: when it was taken, if that was
    on the day the number is for (in the region's time ``zone``); a number taken on an
    earlier day (on the web, days ahead) says nothing of the arrival: ``None``."""
    if ticket is None or ticket.created_at is None:
        return None
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    return ticket.created_at if ticket.created_at.astimezone(zone).date() == ticket.day else None


def served(ticket: Ticket | None) -> datetime | None:
    """When the queue number was marked served, if it was."""
    if ticket is None or ticket.status != "served":
        return None
    return ticket.finished_at


def build_bundle(
    session: Session,
    vault: Vault,
    visit: Visit,
    audited: AuditContext,
    *,
    zone: str | tzinfo = DEFAULT_TIMEZONE,
) -> dict[str, Any]:
    """The FHIR bundle of ``visit`` as it stands now (the patient's stored IHS number
    opened with ``vault``, for the access ``audited`` recorded). The encounter's
    arrival and end come from its queue number, if it has one (the arrival only when the
    number was taken that day, in the region's time ``zone``).

    :raises NeedsLookup: the patient's IHS number is not known (for their NIK).
    :raises fhir.FhirError: the visit cannot be sent as valid FHIR R4 (a SATUSEHAT id
        is missing, say), or the IHS number cannot be opened with this region's key
        (messages carry no personal data).
    """
    # Read from the session rather than the visit's relationships: the recording code
    # may have added diagnoses by id only (autoflush brings them in).
    patient = session.get(Patient, visit.patient_id)
    clinic = session.get(Clinic, visit.clinic_id)
    facility = session.get(Facility, visit.facility_id)
    if patient is None or clinic is None or facility is None:
        raise fhir.FhirError("the visit's patient, puskesmas or clinic no longer exists")
    if not known_ihs(patient):
        raise NeedsLookup("the patient's IHS number is not known yet: it is looked up when sent")
    try:
        ihs = vault.open(patient.ihs_cipher, audited)
    except VaultError as exc:
        raise fhir.FhirError(
            "the patient's IHS number cannot be opened with this region's key"
        ) from exc
    diagnoses = session.scalars(
        select(Diagnosis)
        .where(Diagnosis.visit_id == visit.id)
        .order_by(Diagnosis.position, Diagnosis.id)
    ).all()
    prescriptions = session.scalars(
        select(Prescription)
        .where(Prescription.visit_id == visit.id)
        .order_by(Prescription.position, Prescription.id)
    ).all()
    referral = session.scalar(select(Referral).where(Referral.visit_id == visit.id))
    clinician = None
    if visit.clinician_id is not None:
        clinician = session.scalar(
            select(Staff).where(
                Staff.user_id == visit.clinician_id, Staff.facility_id == visit.facility_id
            )
        )
    ticket = session.get(Ticket, visit.ticket_id) if visit.ticket_id is not None else None
    return fhir.bundle_for(
        visit,
        ihs=ihs or "",
        facility=facility,
        clinic=clinic,
        clinician=clinician,
        patient=patient,
        diagnoses=diagnoses,
        arrived_at=arrival(ticket, zone),
        served_at=served(ticket),
        prescriptions=prescriptions,
        referral=referral,
    )


def seal_bundle(export: Export, vault: Vault, bundle: dict[str, Any]) -> None:
    """Keep ``bundle`` on ``export`` sealed with the region's vault, with the resource
    types it holds (no personal data) for the admin's pages."""
    export.bundle_sealed = vault.encrypt(json.dumps(bundle, ensure_ascii=False))
    export.resource_types = [[kind, number] for kind, number in fhir.resource_types(bundle)]
    export.purged_at = None


def open_bundle(export: Export, vault: Vault, audited: AuditContext) -> dict[str, Any]:
    """The bundle kept on ``export`` (``{}`` when none is kept), for the access
    ``audited`` recorded.

    :raises VaultError: sealed under another key, or altered.
    """
    if export.bundle_sealed is None:
        return {}
    bundle = json.loads(vault.decrypt(export.bundle_sealed, audited))
    return bundle if isinstance(bundle, dict) else {}


def enqueue(
    session: Session,
    vault: Vault,
    visit: Visit,
    now: datetime,
    actor: Actor,
    *,
    zone: str | tzinfo = DEFAULT_TIMEZONE,
) -> Export:
    """Queue ``visit``'s bundle, built now, to be sent at once; in the caller's transaction.
    ``zone`` is the region's time zone (:func:`build_bundle`).

    Building it opens the patient's stored IHS number: written to the audit trail as
    ``export.queue`` by ``actor`` (the clinician who recorded the visit). While the IHS
    number is not known, the export is queued without a bundle, and nothing is opened:
    the sender looks the patient up and builds it.

    A visit whose puskesmas, clinic or clinician has no SATUSEHAT id is queued as
    ``held`` with the reasons, and nothing is built or opened. A visit that cannot be
    expressed as valid FHIR is still queued, as ``failed`` with the reason, so the
    admin sees it and can retry once the data is fixed: recording the visit itself is
    never refused because of the export.
    """
    export = Export(visit_id=visit.id, attempts=0, next_attempt_at=now, created_at=now)
    reasons = readiness.hold_reasons(session, visit)
    patient = session.get(Patient, visit.patient_id)
    if reasons or patient is None or not known_ihs(patient):
        if reasons:
            _hold(export, reasons)
        else:
            export.status, export.last_error, export.resource_types = "pending", "", []
        session.add(export)
        session.flush()
        return export
    audited = audit(
        session,
        actor,
        "export.queue",
        now,
        patient_id=visit.patient_id,
        facility_id=visit.facility_id,
        detail=f"visit {visit.id}: FHIR bundle built for SATUSEHAT",
    )
    try:
        seal_bundle(export, vault, build_bundle(session, vault, visit, audited, zone=zone))
        export.status = "pending"
        export.last_error = ""
    except fhir.FhirError as exc:
        export.bundle_sealed, export.resource_types = None, []
        export.status = "failed"
        export.last_error = _short(f"cannot build the bundle: {exc}")
    session.add(export)
    session.flush()
    return export


def _hold(export: Export, reasons: list[str]) -> None:
    """Mark ``export`` held for ``reasons``, without a bundle (none is built for it)."""
    export.status = HELD
    export.hold_reason = ",".join(reasons)
    export.bundle_sealed, export.resource_types = None, []
    export.last_error = ""


def release_held(session: Session, now: datetime) -> int:
    """Queue again, to be sent at once, the exports held for SATUSEHAT ids that have
    all been entered since, and those held for their patient once the NIK has been
    changed or :data:`LOOKUP_AGAIN` has passed; a held export keeps the reasons that
    still apply. Commits.

    :returns: how many were released.
    """
    released = 0
    for export in session.scalars(
        select(Export).where(Export.status == HELD).order_by(Export.id).with_for_update()
    ).all():
        visit = session.get(Visit, export.visit_id)
        if visit is None:
            continue
        held_for = set(export.hold_reason.split(","))
        if held_for & {HOLD_PATIENT, HOLD_PATIENT_AMBIGUOUS}:
            patient = session.get(Patient, visit.patient_id)
            if patient is None or _not_found_lately(patient, now):
                continue
        elif not held_for <= set(readiness.ID_HOLDS):
            continue
        reasons = readiness.hold_reasons(session, visit)
        if reasons:
            export.hold_reason = ",".join(reasons)
            continue
        export.status, export.hold_reason = "pending", ""
        export.attempts, export.next_attempt_at = 0, now
        released += 1
    session.commit()
    return released


def retry(
    session: Session,
    export_id: int,
    now: datetime,
    *,
    vault: Vault | None = None,
    actor: Actor | None = None,
    zone: str | tzinfo = DEFAULT_TIMEZONE,
) -> Export:
    """Send a failed or held export again at once (attempts start over); the caller
    commits.

    A held export is released only when the SATUSEHAT ids it waited for are entered;
    otherwise it stays held with the reasons that still apply (and a failed export
    whose ids have gone missing is held). With ``vault`` (and the
    ``actor`` asking), the bundle is built again from the visit as it stands now, so
    SATUSEHAT ids entered since and corrected data are sent; the NIK opened for it is
    audited (``export.rebuild``). If that fails, the export stays failed with the
    reason. Without ``vault``, a released held export is built by the sender.

    :raises PuskesmasError: 404 unknown export; 409 it is neither failed nor held, or
        it is still held; 422 its bundle cannot be built (``params["reason"]``).
    """
    export = session.scalar(
        select(Export)
        .where(Export.id == export_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if export is None:
        raise PuskesmasError(N_("There is no such export."), status=404)
    if export.status not in ("failed", HELD):
        raise PuskesmasError(N_("Only a failed or held export can be sent again."), status=409)
    held = export.status == HELD
    visit = session.get(Visit, export.visit_id)
    reasons = readiness.hold_reasons(session, visit) if visit is not None else []
    if reasons:
        _hold(export, reasons)
        session.flush()
        raise PuskesmasError(
            N_("The export stays held until the SATUSEHAT ids it needs are entered."),
            status=409,
        )
    export.hold_reason = ""
    if not held and vault is None and export.bundle_sealed is None:
        # never built or deleted, and no vault to build it
        reason = export.last_error.removeprefix("cannot build the bundle: ")
        raise PuskesmasError(
            N_("The bundle cannot be built: %(reason)s"), params={"reason": reason}
        )
    patient = session.get(Patient, visit.patient_id) if visit is not None else None
    if held and patient is not None and not known_ihs(patient):
        patient.ihs_checked_at = None  # checking again: SATUSEHAT is asked again
    if vault is not None and patient is not None and not known_ihs(patient):
        # Nothing to open: the sender looks the patient up and builds the bundle.
        export.bundle_sealed, export.resource_types = None, []
    elif vault is not None:
        if actor is None:
            raise ValueError("rebuilding a bundle needs the actor, for the audit trail")
        try:
            if visit is None:
                raise fhir.FhirError("the visit no longer exists")
            audited = audit(
                session,
                actor,
                "export.rebuild",
                now,
                patient_id=visit.patient_id,
                facility_id=visit.facility_id,
                detail=f"visit {visit.id}: FHIR bundle built again to send",
            )
            seal_bundle(export, vault, build_bundle(session, vault, visit, audited, zone=zone))
        except fhir.FhirError as exc:
            export.status = "failed"
            export.last_error = _short(f"cannot build the bundle: {exc}")
            session.flush()
            raise PuskesmasError(
                N_("The bundle cannot be built: %(reason)s"), params={"reason": str(exc)}
            ) from exc
    export.status = "pending"
    export.attempts = 0
    export.next_attempt_at = now
    export.last_error = ""
    session.flush()
    return export


def purge_sent(session: Session, now: datetime, retention_days: int) -> int:
    """Delete the bundles SATUSEHAT accepted more than ``retention_days`` ago; commits.

    The export rows stay, with their outcome and the resource types they held;
    ``purged_at`` says when the bundle went.

    :returns: how many bundles were deleted.
    """
    cutoff = now - timedelta(days=max(retention_days, 0))
    result = session.execute(
        update(Export)
        .where(
            Export.purged_at.is_(None),
            Export.status == "sent",
            Export.sent_at <= cutoff,
            Export.bundle_sealed.is_not(None),
        )
        .values(bundle_sealed=None, purged_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def patient_hold(session: Session, patient_id: int) -> str | None:
    """Why the patient's visits are held for the patient themselves
    (:data:`HOLD_PATIENT` or :data:`HOLD_PATIENT_AMBIGUOUS`), if they are: for the
    registration desk, who can check the NIK."""
    reasons = session.scalars(
        select(Export.hold_reason)
        .join(Visit, Visit.id == Export.visit_id)
        .where(
            Visit.patient_id == patient_id,
            Export.status == HELD,
            Export.hold_reason.in_((HOLD_PATIENT, HOLD_PATIENT_AMBIGUOUS)),
        )
        .order_by(Export.id.desc())
        .limit(1)
    ).all()
    return reasons[0] if reasons else None


def counts(session: Session) -> dict[str, int]:
    """The number of exports by status (``pending``, ``held``, ``sent``, ``failed``)."""
    found = {"pending": 0, HELD: 0, "sent": 0, "failed": 0}
    rows = session.execute(select(Export.status, func.count(Export.id)).group_by(Export.status))
    for status, number in rows:
        found[status] = number
    return found


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1 minute, doubling, at most 6 h."""
    if attempts <= 1:
        return FIRST_WAIT
    if attempts > 20:  # 2**19 minutes is far past the cap already
        return LONGEST_WAIT
    return min(FIRST_WAIT * 2 ** (attempts - 1), LONGEST_WAIT)


# -- sending -------------------------------------------------------------------------


def send_due(
    session: Session,
    settings: Mapping[str, Any],
    now: datetime,
    *,
    vault: Vault,
    http: httpx.Client | None = None,
    limit: int = 50,
    clock: Callable[[], float] = time.monotonic,
    zone: str | tzinfo = DEFAULT_TIMEZONE,
) -> SendSummary:
    """Send up to ``limit`` due exports of the session's tenant, oldest first.

    Commits on ``session`` after claiming each export and after recording its
    outcome, so what was sent stays recorded whatever happens next.

    :param settings: the tenant's plugin settings with the chosen server's addresses
        (:func:`balai_puskesmas.settings.sending_settings`): ``export_enabled``,
        ``satusehat_token_url``, ``satusehat_base_url``, ``satusehat_client_id``,
        ``satusehat_client_secret``, ``max_attempts``.
    :param vault: the region's vault, to open each bundle as it is sent (each opening
        is an ``export.send`` entry in the audit trail, by :data:`SENDER`).
    :param http: the HTTP client to use (tests pass one); a new one otherwise.
    :param clock: seconds, for the lease while a long run goes on and the token's
        lifetime.
    :param zone: the region's time zone, for the bundles built by the run
        (:func:`build_bundle`).
    """
    summary = SendSummary()
    if not settings.get("export_enabled"):
        summary.message = "sending to SATUSEHAT is switched off"
    elif not (settings.get("satusehat_client_id") and settings.get("satusehat_client_secret")):
        summary.message = "the SATUSEHAT client ID and secret are not set"
    elif not (settings.get("satusehat_token_url") and settings.get("satusehat_base_url")):
        summary.message = (
            f"the SATUSEHAT server {settings.get('satusehat_server')!r} is not offered by "
            "this installation (PUSKESMAS_SATUSEHAT_ENDPOINTS)"
        )
    else:
        release_held(session, now)
        client = http or _client()
        try:
            _Sender(session, settings, now, client, clock, summary, vault, zone).run(limit)
        finally:
            if http is None:
                client.close()
    left = counts(session)
    summary.waiting, summary.held = left["pending"], left[HELD]
    session.commit()
    return summary


class _Sender:
    """One run of :func:`send_due` for one tenant."""

    def __init__(
        self,
        session: Session,
        settings: Mapping[str, Any],
        now: datetime,
        http: httpx.Client,
        clock: Callable[[], float],
        summary: SendSummary,
        vault: Vault,
        zone: str | tzinfo = DEFAULT_TIMEZONE,
    ) -> None:
        self.session = session
        self.vault = vault
        self.zone = zone
        self.settings = settings
        self.now = now
        self.http = http
        self.clock = clock
        self.started = clock()
        self.summary = summary
        self.max_attempts = int(settings.get("max_attempts") or 1)
        self.base_url = str(settings["satusehat_base_url"]).rstrip("/")
        self.token: str | None = None
        self.token_expires = 0.0

    def elapsed(self) -> timedelta:
        return timedelta(seconds=max(self.clock() - self.started, 0.0))

    def run(self, limit: int) -> None:
        for _ in range(max(limit, 0)):
            try:
                claimed = self.claim()
            except _StopRun:
                return  # the token endpoint failed: the next run tries again
            if claimed is None:
                return
            export_id, bundle = claimed
            if bundle is None:
                continue  # held, waiting for another attempt or failed: recorded
            if not self.send(export_id, bundle):
                return  # the token endpoint failed: the next run tries again

    def claim(self) -> tuple[int, dict[str, Any] | None] | None:
        """Take the oldest due export for this run and open its bundle (or build it,
        :meth:`prepare`), or ``None``; commits the claim with the ``export.send`` audit
        entry of the opening."""
        session = self.session
        while True:
            row = session.execute(
                select(Export.id, Export.bundle_sealed, Visit.patient_id, Visit.facility_id)
                .join(Visit, Visit.id == Export.visit_id)
                .where(Export.status == "pending", Export.next_attempt_at <= self.now)
                .order_by(Export.id)
                .limit(1)
                .with_for_update(skip_locked=True, of=Export)
            ).first()
            if row is None:
                session.commit()
                return None
            # Compare-and-set, for databases without row locks (SQLite): another sender
            # that claimed it first has moved next_attempt_at past now.
            taken = session.execute(
                update(Export)
                .where(
                    Export.id == row.id,
                    Export.status == "pending",
                    Export.next_attempt_at <= self.now,
                )
                .values(next_attempt_at=self.now + self.elapsed() + LEASE)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:
                session.commit()
                continue
            if row.bundle_sealed is None:
                session.commit()
                return row.id, self.prepare(row.id)
            audited = audit(
                session,
                SENDER,
                "export.send",
                self.now,
                patient_id=row.patient_id,
                facility_id=row.facility_id,
                detail=f"export {row.id}: FHIR bundle opened to send to SATUSEHAT",
            )
            session.commit()
            try:
                bundle = json.loads(self.vault.decrypt(row.bundle_sealed, audited))
            except (VaultError, ValueError) as exc:
                self.record(row.id, status="failed", last_error=_short(f"cannot open: {exc}"))
                self.summary.failed += 1
                return row.id, None
            return row.id, bundle

    def prepare(self, export_id: int) -> dict[str, Any] | None:
        """Build the bundle of a claimed export that has none yet (queued before its
        patient's IHS number was known, or released from a hold), looking the patient
        up first when needed; keep it sealed on the export and commit. ``None`` when
        the export is held, waits for another attempt, or cannot be built (each
        recorded).

        Building opens the patient's IHS number: an ``export.send`` audit entry by
        :data:`SENDER`, committed with the bundle.

        :raises _StopRun: the token endpoint failed (recorded as an attempt).
        """
        session = self.session
        export = session.get(Export, export_id, with_for_update=True, populate_existing=True)
        visit = session.get(Visit, export.visit_id) if export is not None else None
        patient = session.get(Patient, visit.patient_id) if visit is not None else None
        if export is None or visit is None or patient is None:  # deleted meanwhile
            session.commit()
            return None
        reasons = readiness.hold_reasons(session, visit)
        if reasons:
            _hold(export, reasons)
            session.commit()
            return None
        if not known_ihs(patient):
            if _not_found_lately(patient, self.now):
                _hold(export, [self.unknown_reason(patient)])
                session.commit()
                return None
            if not self.look_up(export, visit, patient):
                return None
        audited = audit(
            session,
            SENDER,
            "export.send",
            self.now,
            patient_id=visit.patient_id,
            facility_id=visit.facility_id,
            detail=f"export {export.id}: FHIR bundle built to send to SATUSEHAT",
        )
        try:
            bundle = build_bundle(session, self.vault, visit, audited, zone=self.zone)
        except fhir.FhirError as exc:
            export.attempts += 1
            export.status = "failed"
            export.last_error = _short(f"cannot build the bundle: {exc}")
            session.commit()
            self.summary.failed += 1
            return None
        seal_bundle(export, self.vault, bundle)
        session.commit()
        return bundle

    @staticmethod
    def unknown_reason(patient: Patient) -> str:
        """Why a patient without an IHS number is held: none found, or several."""
        return HOLD_PATIENT_AMBIGUOUS if patient.ihs_ambiguous else HOLD_PATIENT

    def look_up(self, export: Export, visit: Visit, patient: Patient) -> bool:
        """Find the patient in SATUSEHAT by the NIK and keep the IHS number sealed on
        the patient; ``True`` when found. Otherwise the export is held (no such patient,
        or several), waits for another attempt, or has failed: recorded and committed.

        The NIK is opened and sent: an ``export.lookup`` audit entry by :data:`SENDER`,
        committed before the request leaves.

        :raises _StopRun: the token endpoint failed.
        """
        import httpx

        session = self.session
        audited = audit(
            session,
            SENDER,
            "export.lookup",
            self.now,
            patient_id=patient.id,
            facility_id=visit.facility_id,
            detail=f"export {export.id}: patient looked up in SATUSEHAT by NIK",
        )
        session.commit()
        try:
            nik = self.vault.decrypt(patient.nik_cipher, audited)
        except VaultError as exc:
            self.record(export.id, status="failed", last_error=_short(f"cannot open: {exc}"))
            self.summary.failed += 1
            return False
        try:
            response = self.authorised(
                lambda token: self.http.get(
                    f"{self.base_url}/Patient",
                    params={"identifier": f"{fhir.NIK_SYSTEM}|{nik}"},
                    headers={"Authorization": f"Bearer {token}", "Accept": FHIR_JSON},
                    timeout=_timeout(),
                )
            )
        except _TokenError as exc:
            self.later(export.id, f"token: {exc}")
            self.summary.message = f"no access token: {exc}"
            raise _StopRun from exc
        except httpx.HTTPError as exc:
            self.later(export.id, f"patient lookup: network: {type(exc).__name__}")
            return False
        status = response.status_code
        if status != 200:
            reason = f"patient lookup: {status} {response.reason_phrase}"
            if status == 429 or status >= 500 or status == 401:
                if status == 401:
                    reason += " (a fresh token was refused too)"
                self.later(export.id, reason, at_least=_retry_after(response))
            else:
                self.record(export.id, status="failed", last_error=_short(reason))
                self.summary.failed += 1
            return False
        found = _patient_ids(_json(response))
        patient = session.get(Patient, patient.id, with_for_update=True, populate_existing=True)
        export = session.get(Export, export.id, with_for_update=True, populate_existing=True)
        if patient is None or export is None:
            session.commit()
            return False
        patient.ihs_nik_hash, patient.ihs_checked_at = patient.nik_hash, self.now
        patient.ihs_ambiguous = len(found) > 1
        if len(found) == 1:
            patient.ihs_cipher = self.vault.encrypt(found[0])
            session.commit()
            return True
        patient.ihs_cipher = None
        _hold(export, [self.unknown_reason(patient)])
        session.commit()
        return False

    def authorised(self, request: Callable[[str], httpx.Response]) -> httpx.Response:
        """``request`` with the run's access token; on a 401, once more with a fresh one."""
        response = request(self.access_token())
        if response.status_code == 401:
            self.token = None
            response = request(self.access_token())
        return response

    def send(self, export_id: int, bundle: dict[str, Any]) -> bool:
        """Send one claimed bundle and record the outcome; ``False`` stops the run."""
        import httpx

        try:
            response = self.post(bundle)
        except _TokenError as exc:
            self.later(export_id, f"token: {exc}")
            self.summary.message = f"no access token: {exc}"
            return False
        except httpx.HTTPError as exc:
            self.later(export_id, f"network: {type(exc).__name__}")
            return True
        status = response.status_code
        if 200 <= status < 300:
            self.record(
                export_id,
                status="sent",
                sent_at=self.now,
                last_error="",
                response=_outcome(response, bundle),
            )
            self.summary.sent += 1
        elif status in REJECTED:
            self.record(
                export_id,
                status="failed",
                last_error=_short(
                    f"{status} {response.reason_phrase}: {_diagnostics(response, bundle)}"
                ),
            )
            self.summary.failed += 1
        else:
            wait = _retry_after(response)
            reason = f"{status} {response.reason_phrase}"
            if status == 401:
                reason += " (a fresh token was refused too)"
            self.later(export_id, reason, at_least=wait)
        return True

    def post(self, bundle: dict[str, Any]) -> httpx.Response:
        """POST the transaction; on a 401, once more with a fresh token."""
        return self.authorised(lambda token: self._post(bundle, token))

    def _post(self, bundle: dict[str, Any], token: str) -> httpx.Response:
        return self.http.post(
            self.base_url,
            json=bundle,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": FHIR_JSON,
                "Accept": FHIR_JSON,
            },
            timeout=_timeout(),
        )

    def access_token(self) -> str:
        """The run's OAuth2 access token (client credentials), fetched when needed."""
        import httpx

        if self.token and self.clock() < self.token_expires:
            return self.token
        try:
            response = self.http.post(
                str(self.settings["satusehat_token_url"]),
                data={
                    "grant_type": "client_credentials",
                    "client_id": str(self.settings["satusehat_client_id"]),
                    "client_secret": str(self.settings["satusehat_client_secret"]),
                },
                headers={"Accept": "application/json"},
                timeout=_timeout(),
            )
        except httpx.HTTPError as exc:
            raise _TokenError(f"network: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise _TokenError(f"{response.status_code} {response.reason_phrase}")
        try:
            body = response.json()
            token = body["access_token"]
            lifetime = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError) as exc:
            raise _TokenError("the answer has no access_token") from exc
        if not isinstance(token, str) or not token:
            raise _TokenError("the answer has no access_token")
        self.token = token
        # Renew a little early, so a token does not expire between check and use.
        self.token_expires = self.clock() + max(lifetime - 30.0, 0.0)
        return token

    def later(self, export_id: int, reason: str, *, at_least: timedelta | None = None) -> None:
        """Count a failed attempt: try again after the back-off, or give up."""
        export = self.session.get(Export, export_id, with_for_update=True, populate_existing=True)
        if export is None:  # deleted with its visit meanwhile
            self.session.commit()
            return
        export.attempts += 1
        export.last_error = _short(f"attempt {export.attempts}: {reason}")
        if export.attempts >= self.max_attempts:
            export.status = "failed"
            self.summary.failed += 1
        else:
            wait = backoff(export.attempts)
            if at_least is not None:
                wait = min(max(wait, at_least), LONGEST_WAIT)
            export.next_attempt_at = self.now + wait
            self.summary.retrying += 1
        self.session.commit()

    def record(self, export_id: int, **values: Any) -> None:
        export = self.session.get(Export, export_id, with_for_update=True, populate_existing=True)
        if export is not None:
            export.attempts += 1
            for name, value in values.items():
                setattr(export, name, value)
        self.session.commit()


# -- reading answers -----------------------------------------------------------------


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 1] + "…"


def _timeout() -> httpx.Timeout:
    import httpx

    return httpx.Timeout(TIMEOUT, connect=CONNECT_TIMEOUT)


def _client() -> httpx.Client:
    import httpx

    return httpx.Client(timeout=_timeout(), follow_redirects=False)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _outcome(response: httpx.Response, bundle: dict[str, Any]) -> dict[str, Any]:
    """What the server filed: each entry's type, status and location.

    A Patient's location (SATUSEHAT's own number for the person) would be left out;
    bundles create none.
    """
    body = _json(response)
    sent = bundle.get("entry") or []
    entries = []
    for index, entry in enumerate(body.get("entry") or []):
        answer = entry.get("response") if isinstance(entry, dict) else None
        if not isinstance(answer, dict):
            continue
        kind = ""
        if index < len(sent):
            kind = str((sent[index].get("resource") or {}).get("resourceType", ""))
        item = {"resourceType": kind, "status": str(answer.get("status", ""))[:100]}
        location = answer.get("location")
        if isinstance(location, str) and kind != "Patient":
            item["location"] = location[:200]
        entries.append(item)
    return {
        "status": response.status_code,
        "type": str(body.get("type", ""))[:40],
        "entries": entries,
    }


def _patient_ids(body: dict[str, Any]) -> list[str]:
    """The distinct ids of the Patients in a search's ``searchset`` Bundle (only ids
    that are valid FHIR ids), in order."""
    found: list[str] = []
    if body.get("resourceType") != "Bundle":
        return found
    for entry in body.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
            continue
        ident = resource.get("id")
        if isinstance(ident, str) and fhir.is_id(ident) and ident not in found:
            found.append(ident)
    return found


def _personal_values(bundle: dict[str, Any]) -> list[str]:
    """The patient's values in ``bundle`` (the IHS number and the name the Encounter
    refers to them by), to blank out of anything a server echoes."""
    values: list[str] = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        subject = resource.get("subject") or {}
        if resource.get("resourceType") != "Encounter" or not isinstance(subject, dict):
            continue
        values.append(str(subject.get("reference", "")).removeprefix("Patient/"))
        values.append(str(subject.get("display", "")))
    return sorted((v for v in values if len(v) >= 3), key=len, reverse=True)


_LONG_NUMBER = re.compile(r"\d{8,}")


def _diagnostics(response: httpx.Response, bundle: dict[str, Any]) -> str:
    """The OperationOutcome's issues (severity, code, diagnostics, where), personal
    values blanked out; or the start of a plain-text answer."""
    body = _json(response)
    parts = []
    if body.get("resourceType") == "OperationOutcome":
        for issue in body.get("issue") or []:
            if not isinstance(issue, dict):
                continue
            text = str(issue.get("diagnostics") or "")
            if not text:
                details = issue.get("details") or {}
                text = str(details.get("text") or "") if isinstance(details, dict) else ""
            where = ", ".join(str(e) for e in issue.get("expression") or [])
            parts.append(
                f"{issue.get('severity', '')} {issue.get('code', '')}: {text}"
                + (f" [{where}]" if where else "")
            )
    else:
        parts.append(response.text[:200])
    text = "; ".join(parts)
    for value in _personal_values(bundle):
        text = re.sub(re.escape(value), "…", text, flags=re.IGNORECASE)
    return _LONG_NUMBER.sub("…", text)


def _retry_after(response: httpx.Response) -> timedelta | None:
    """A ``Retry-After`` given in seconds (429, 503), if any."""
    value = response.headers.get("Retry-After", "")
    if value.isdigit():
        return timedelta(seconds=int(value))
    return None
