"""The background job that keeps each region's copy of its evaluations fresh."""

from __future__ import annotations

from flask import current_app

from balai.db import db
from balai.tenancy import TenantInfo
from balai.upstream import services
from balai.upstream.client import UpstreamError

__all__ = ["sync_evaluations"]


def sync_evaluations(tenant: TenantInfo) -> str:
    """``core.sync-evaluations``: fetch the region's evaluations and replies from its
    upstream registry. A region without a token is skipped; an upstream that is down
    fails the run (retried later), the failure noted for the Evaluations page."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    session = db.session
    if services.token_of(services.link_of(session), tenant.id, app) is None:
        return "no registry token"
    try:
        fetched = services.sync_evaluations(session, tenant.id, app)
    except services.NotConfigured:
        return "no upstream address"
    except UpstreamError as exc:
        session.rollback()
        services.record_sync_failure(session, exc)
        session.commit()
        raise
    return f"fetched {fetched}"
