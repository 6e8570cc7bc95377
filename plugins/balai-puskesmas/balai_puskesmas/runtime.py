"""The request-side glue shared by pages, the API and the SMS handler: permission
names, this region's settings, its vault of keys, and the acting user.
Rules stay in :mod:`balai_puskesmas.services` and the modules beside it."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, has_request_context, request
from flask_babel import gettext as _

from balai.auth import current_user
from balai.db import db
from balai.rules import rule_message
from balai.settings import plugin_settings
from balai_puskesmas.services import Actor, PuskesmasError, duties_of
from balai_puskesmas.vault import Vault

__all__ = [
    "EXPORT",
    "MANAGE",
    "READ",
    "RECORD",
    "REGISTER",
    "SERVE",
    "VIEW_AUDIT",
    "actor",
    "current_actor",
    "settings",
    "vault",
]

MANAGE = "puskesmas.manage_facility"
SERVE = "puskesmas.serve_queue"
REGISTER = "puskesmas.register_patient"
READ = "puskesmas.read_record"
RECORD = "puskesmas.record_visit"
VIEW_AUDIT = "puskesmas.view_audit"
EXPORT = "puskesmas.manage_export"


def settings() -> dict[str, Any]:
    """This tenant's settings of the plugin (tenant → deployment → default).

    Worked out once per request (a queue number needs them in the endpoint and in the
    limits): kept on ``g`` with the request and the tenant they were worked out for, and
    used again only for that same request and tenant (``g`` can outlive a request when
    an application context was pushed around several). Each caller gets its own copy.
    Outside a request (commands, jobs) they are worked out at every call."""
    if not has_request_context():
        return plugin_settings("puskesmas")
    here = request._get_current_object()  # type: ignore[attr-defined]
    tenant = g.get("tenant")
    kept = g.get("puskesmas_settings")
    if kept is None or kept[0] is not here or kept[1] is not tenant:
        kept = (here, tenant, plugin_settings("puskesmas"))
        g.puskesmas_settings = kept
    return dict(kept[2])


def vault() -> Vault:
    """This tenant's keys for personal identifiers (cached for the request)."""
    if "puskesmas_vault" not in g:
        g.puskesmas_vault = vault_for(current_app.config, g.tenant.id)
    return g.puskesmas_vault  # type: ignore[no-any-return]


def vault_for(config: Any, tenant_id: int) -> Vault:
    """A tenant's vault from an app's config (commands and jobs have no request)."""
    secret = config.get("PUSKESMAS_DATA_KEY") or config["SECRET_KEY"]
    return Vault.derive(secret, tenant_id)


def actor(channel: str = "web") -> Actor:
    """The acting user with their duties, for access checks and the audit trail."""
    key = f"puskesmas_actor_{channel}"
    if key not in g:
        user = current_user if current_user.is_authenticated else None
        user_id = user.id if user is not None else None
        label = f"{user.name} <{user.email}>" if user is not None else _("Visitor")
        g.setdefault(
            key,
            Actor(
                user_id=user_id,
                label=label,
                address=request.remote_addr or "",
                channel=channel,
                duties=duties_of(db.session, user_id),
                share_records=bool(settings()["share_records"]),
            ),
        )
    return g.get(key)  # type: ignore[no-any-return]


#: Who acts outside a request (a command, a job): no account.
SYSTEM = Actor(user_id=None, label="balai", channel="cli")


def current_actor() -> Actor:
    """The acting user, on the channel of this request (``api`` under ``/api/``);
    outside a request, :data:`SYSTEM`."""
    if not has_request_context():
        return SYSTEM
    return actor("api" if request.path.startswith("/api/") else "web")


def abort_for(exc: PuskesmasError) -> None:
    """A refusal of access (403) or a missing thing (404) as the error page."""
    abort(exc.status, description=rule_message(exc))
