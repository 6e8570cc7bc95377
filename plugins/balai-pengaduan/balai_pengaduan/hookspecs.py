"""Events of the complaints plugin that other plugins can implement.

Each is called on every plugin the tenant has enabled, inside the transaction
that made the change; raising aborts it. Added to the core's plugin manager
through ``Manifest(hookspecs=...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from balai.hookspecs import hookspec

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from balai.tenancy import TenantInfo
    from balai_pengaduan.models import Complaint, ComplaintEvent


@hookspec
def complaint_submitted(tenant: TenantInfo, complaint: Complaint, session: Session) -> None:
    """A complaint was received (web, SMS, Open311 or API).

    :param tenant: the tenant.
    :param complaint: the new complaint, flushed (it has an id and a tracking code).
    :param session: the session of the submitting transaction.

    .. versionadded:: 0.1
    """


@hookspec
def complaint_status_changed(
    tenant: TenantInfo, complaint: Complaint, event: ComplaintEvent, session: Session
) -> None:
    """A complaint moved from ``event.from_status`` to ``event.to_status``.

    :param tenant: the tenant.
    :param complaint: the complaint after the change.
    :param event: the timeline entry of the change (who, when, note).
    :param session: the session of the changing transaction.

    .. versionadded:: 0.1
    """


@hookspec
def complaints_overdue(tenant: TenantInfo, complaints: list[Complaint], session: Session) -> None:
    """Complaints passed a deadline (forwarding, follow-up or finishing the work) since
    the last check.

    Called by ``balai pengaduan check-deadlines`` once per complaint and deadline: a
    complaint forwarded, or whose work starts, has a new deadline and is announced
    again if it misses that one too.

    :param tenant: the tenant.
    :param complaints: the complaints newly overdue.
    :param session: a session bound to the tenant; the caller commits.

    .. versionadded:: 0.1
    """
