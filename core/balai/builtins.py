"""The core's own defaults, written as a plugin on the same hooks as everyone else."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask, current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from balai.api.core import PREFIX as API_PREFIX
from balai.auth.models import User
from balai.channels import deliver_pending
from balai.crypto import is_sealed
from balai.hookspecs import hookimpl
from balai.items import MenuItem
from balai.jobs import Job
from balai.permissions import ROLES, Permission, permissions_of, route_access
from balai.tenancy import TenantInfo
from balai.tenancy.portable import Context, Convert, TenantData
from balai.upstream.jobs import sync_evaluations


@hookimpl(trylast=True)
def register_permissions() -> list[Permission]:
    return [
        Permission(
            "balai.view_dashboard", _l("View the command-centre dashboard"), roles=("opd", "admin")
        ),
        Permission(
            "balai.manage_plugins",
            _l("Switch plugins on and off, and set them up"),
            admin_only=True,
        ),
        Permission(
            "balai.manage_users", _l("Manage users, roles and departments"), admin_only=True
        ),
        Permission(
            "balai.manage_appearance",
            _l("Change the region's name, logo and theme"),
            admin_only=True,
        ),
        Permission("balai.manage_calendar", _l("Keep the region's own holidays")),
        Permission(
            "balai.send_evaluations",
            _l("Send evaluations of the region's plugins to the upstream registry"),
            admin_only=True,
        ),
    ]


def deliver_outbox(tenant: TenantInfo) -> str:
    """The region's share of ``balai outbox deliver``: its pending and retriable messages."""
    delivered, failed = deliver_pending(current_app, limit=100, tenant_id=tenant.id)
    return f"delivered {delivered}, failed {failed}"


@hookimpl(trylast=True)
def register_jobs(app: Flask) -> list[Job]:
    # Each message keeps its own attempts (OUTBOX_MAX_ATTEMPTS): the run is not retried.
    # A slow mail server gets SMTP_TIMEOUT per message, hence the longer limit.
    return [
        Job("core.deliver-outbox", deliver_outbox, schedule="* * * * *", retries=0, time_limit=600),
        Job("core.sync-evaluations", sync_evaluations, schedule="7 * * * *", time_limit=120),
    ]


@hookimpl(trylast=True)
def menu_items(tenant: TenantInfo, user: User | None) -> list[MenuItem]:
    items = [
        MenuItem(
            _("Dashboard"),
            url_for("balai_web.dashboard"),
            section="user",  # work, not a public service: kept off the home page's list
            permission="balai.view_dashboard",
            order=5,
        ),
        MenuItem(
            _("Plugins"),
            url_for("balai_admin.plugins"),
            section="admin",
            permission="balai.manage_plugins",
            order=10,
        ),
        MenuItem(
            _("Users"),
            url_for("balai_admin.users"),
            section="admin",
            permission="balai.manage_users",
            order=20,
        ),
        MenuItem(
            _("Departments"),
            url_for("balai_admin.departments"),
            section="admin",
            permission="balai.manage_users",
            order=25,
        ),
        MenuItem(
            _("Roles"),
            url_for("balai_admin.roles"),
            section="admin",
            permission="balai.manage_users",
            order=30,
        ),
        MenuItem(
            _("Appearance"),
            url_for("balai_admin.appearance"),
            section="admin",
            permission="balai.manage_appearance",
            order=40,
        ),
        MenuItem(
            _("Holidays"),
            url_for("balai_admin.holidays"),
            section="admin",
            permission="balai.manage_calendar",
            order=50,
        ),
        MenuItem(
            _("SMS and outbox"),
            url_for("balai_admin.sms"),
            section="admin",
            permission="balai.manage_plugins",
            order=60,
        ),
        MenuItem(
            _("Background jobs"),
            url_for("balai_admin.jobs"),
            section="admin",
            permission="balai.manage_plugins",
            order=70,
        ),
        MenuItem(
            _("Upstream registry"),
            url_for("balai_admin.upstream"),
            section="admin",
            permission="balai.manage_plugins",
            order=80,
        ),
        MenuItem(
            _("Evaluations sent upstream"),
            url_for("balai_admin.evaluations"),
            section="admin",
            permission="balai.send_evaluations",
            order=85,
        ),
    ]
    if user is not None:
        items.append(
            MenuItem(_("My account"), url_for("balai_auth.account"), section="user", order=10)
        )
    if user is not None and _api_use(tenant, user):
        items.append(
            MenuItem(_("API tokens"), url_for("balai_auth.tokens"), section="user", order=20)
        )
    return items


def _api_use(tenant: TenantInfo, user: User) -> bool:
    """Whether ``user`` holds a permission that an API route of the core or of a
    plugin the region has on needs."""
    switched_on = {"balai", *tenant.plugins}
    useful = {p for p in api_permissions(current_app) if p.split(".")[0] in switched_on}
    return bool(permissions_of(user) & useful)


def api_permissions(app: Flask) -> frozenset[str]:
    """The permissions that guard some route of the JSON API: whoever holds one has a
    use for an API token, so only they see the link in the menu (everyone finds the
    tokens page from their account page)."""
    found = app.extensions.get("balai.api_permissions")
    if found is None:
        names: set[str] = set()
        for rule in app.url_map.iter_rules():
            if rule.rule.startswith(API_PREFIX + "/"):
                for method in rule.methods or ():
                    access = route_access(app, rule.endpoint, method)
                    if access and access[0] == "require":
                        names.update(access[1])
        found = app.extensions["balai.api_permissions"] = frozenset(names)
    return found  # type: ignore[no-any-return]


def _plugin_state_dump(row: dict[str, Any], context: Context) -> dict[str, Any]:
    """A plugin's settings without its sealed secrets: they open with this key only."""
    settings = dict(row.get("settings") or {})
    for key, value in list(settings.items()):
        if isinstance(value, dict) and set(value) == {"sealed"} and is_sealed(value["sealed"]):
            del settings[key]
            context.drop(f"{row['plugin']} setting {key}")
    return {**row, "settings": settings}


def _plugin_state_load(row: dict[str, Any], context: Context) -> dict[str, Any]:
    """A plugin's secrets that arrive in clear are sealed with this deployment's key."""
    from balai.settings import schema_for, seal_secrets

    schema_cls = schema_for(str(row.get("plugin")), context.app)
    if schema_cls is None or not isinstance(row.get("settings"), dict):
        return row
    return {
        **row,
        "settings": seal_secrets(schema_cls(), row["settings"], context.tenant_id, context.app),
    }


def _upstream_link_dump(row: dict[str, Any], context: Context) -> dict[str, Any]:
    """The upstream address without the sealed registry token: it opens with this key only."""
    if row.get("token"):
        context.drop("upstream registry token")
    return {**row, "token": None, "synced_at": None, "sync_error": None}


def _user_load(row: dict[str, Any], context: Context) -> dict[str, Any]:
    """A region's account has one of the region roles (as ``create_user`` checks)."""
    if row.get("role") not in ROLES:
        raise ValueError(f"role {row.get('role')!r} is not a region role")
    return row


def _logo_file(key: str, data: bytes) -> bytes:
    """A logo, checked and re-encoded as an upload is."""
    from balai.admin.logo import LogoError, check_logo

    try:
        logo, _extension = check_logo(io.BytesIO(data), len(data) or 1, key)
    except LogoError as exc:
        raise ValueError(str(exc)) from None
    return logo


@hookimpl
def tenant_data() -> TenantData:
    return TenantData(
        # Credentials and one-time secrets stay behind; queued messages hold codes and
        # links; the job runs are this deployment's history (their slots would mislead
        # the new deployment's scheduler).
        skip=(
            "balai_login_session",
            "balai_api_token",
            "balai_account_code",
            "balai_invitation",
            "balai_outbox",
            "balai_job_run",
        ),
        convert={
            "balai_plugin_state": Convert(dump=_plugin_state_dump, load=_plugin_state_load),
            "balai_user": Convert(load=_user_load),
            "balai_upstream_link": Convert(dump=_upstream_link_dump),
        },
        files_check={"logo-": _logo_file},
    )
