"""Events of the e-Puskesmas plugin that other plugins can implement.

Each is called on every plugin the tenant has enabled, inside the transaction that
made the change; raising aborts it. Added to the core's plugin manager through
``Manifest(hookspecs=...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from balai.hookspecs import hookspec

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from balai.tenancy import TenantInfo
    from balai_puskesmas.models import Ticket, Visit


@hookspec
def ticket_called(tenant: TenantInfo, ticket: Ticket, session: Session) -> None:
    """A queue number was called (or recalled) to its clinic.

    :param tenant: the tenant.
    :param ticket: the ticket, ``status == "called"``.
    :param session: the session of the calling transaction.

    .. versionadded:: 0.1
    """


@hookspec
def visit_recorded(tenant: TenantInfo, visit: Visit, session: Session) -> None:
    """A clinician recorded a visit (with its diagnoses, flushed: it has an id).

    The plugin itself queues the visit's FHIR bundle for SATUSEHAT here when the
    region has switched sending on.

    :param tenant: the tenant.
    :param visit: the new visit.
    :param session: the session of the recording transaction.

    .. versionadded:: 0.1
    """
