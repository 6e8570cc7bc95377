"""Hook specifications: every hook a Balai plugin can implement.

Names tell the calling mode: ``register_*`` hooks run once at start-up for every
installed plugin; the other hooks run per request, only for the plugins the
current tenant has enabled; past-tense names (``*_enabled``) are events.
A hook implementation may accept fewer arguments than its specification.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Blueprint, Flask
    from flask_smorest import Blueprint as ApiBlueprint
    from marshmallow import Schema
    from sqlalchemy.orm import Session

    from balai.auth import User
    from balai.channels import Channel, SmsKeyword
    from balai.items import MapLayer, MenuItem, SearchResult, Widget
    from balai.jobs import Job
    from balai.permissions import Permission
    from balai.tenancy import TenantInfo
    from balai.tenancy.portable import TenantData

# The specifications below are public as documented in docs/hooks.md; the marker is for
# plugins' own events. ``balai.hookimpl`` is imported from ``balai``.
__all__ = ["hookspec"]

hookspec = pluggy.HookspecMarker("balai")
hookimpl = pluggy.HookimplMarker("balai")


# -------------------------------------------------------------------------
# Start-up hooks: called once per installed plugin while the app is built
# -------------------------------------------------------------------------


@hookspec
def register_routes(app: Flask) -> Blueprint | list[Blueprint] | None:
    """Return the plugin's web blueprint(s).

    The blueprint answers 404 for tenants that have not enabled the plugin.
    Name it after the plugin and mount it under ``/<name>/``.

    :param app: the application being built.
    :returns: a blueprint, a list of them, or ``None``.

    .. versionadded:: 0.1
    """


@hookspec
def register_api(app: Flask) -> ApiBlueprint | list[ApiBlueprint] | None:
    """Return the plugin's JSON API blueprint(s) (``flask_smorest.Blueprint``).

    They are mounted under ``/api/v1/<name>/`` and appear in the OpenAPI document
    of tenants that have the plugin enabled.

    :param app: the application being built.
    :returns: a flask-smorest blueprint, a list of them, or ``None``.

    .. versionadded:: 0.1
    """


@hookspec
def register_permissions() -> list[Permission] | None:
    """Declare the permissions the plugin's routes require.

    Name them ``<plugin>.<verb>_<noun>``; each names the roles that hold it by default.
    Mark ``admin_only=True`` those only a region admin may grant: managing users,
    roles, plugins, settings or appearance, audit trails, API keys, personal data.

    :returns: a list of :class:`balai.permissions.Permission`.

    .. versionadded:: 0.1
    """


@hookspec
def register_settings_schema() -> type[Schema] | None:
    """Return the marshmallow schema of the plugin's per-tenant settings.

    Each field needs a ``load_default``; its ``metadata["label"]`` and
    ``metadata["description"]`` label the generated admin form. A value resolves
    tenant setting → deployment setting (``PLUGIN_SETTINGS``) → schema default.

    :returns: a :class:`marshmallow.Schema` subclass, or ``None``.

    .. versionadded:: 0.1
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``balai`` command line.

    :param cli: the ``balai`` command group; add a group named after the plugin.

    .. versionadded:: 0.1
    """


@hookspec
def register_channels(app: Flask) -> list[Channel] | None:
    """Return message channel adapters (e-mail, SMS gateway, WhatsApp, ...).

    Each is a :class:`balai.channels.Channel`: a ``name`` (short, lower-case) and
    ``deliver(message) -> "sent" | "stored"``, raising to mark the message failed
    (retried up to ``OUTBOX_MAX_ATTEMPTS``). An adapter replaces the built-in one
    of the same name (``email``, ``sms``); a name another plugin already provides
    makes this plugin broken.

    :param app: the application being built.
    :returns: a list of channel adapters, or ``None``.

    .. versionadded:: 0.1
    """


@hookspec
def register_sms_keywords(app: Flask) -> list[SmsKeyword] | None:
    """Claim the first words of inbound SMS the plugin answers (``ADUAN ...``).

    Each :class:`balai.channels.SmsKeyword` names an upper-case word, the handler
    that gets the :class:`balai.channels.InboundSms` inside the request (with
    ``db.session`` bound to the region) and returns the reply, and a help line
    for the format reply. Only regions that enabled the plugin route SMS to it.
    A keyword another plugin already claims makes this plugin broken.

    :param app: the application being built.
    :returns: a list of :class:`balai.channels.SmsKeyword`, or ``None``.

    .. versionadded:: 0.1
    """


@hookspec
def register_jobs(app: Flask) -> list[Job] | None:
    """Declare the plugin's background jobs.

    Each :class:`balai.jobs.Job` is named ``<plugin>.<verb>`` and runs once per region
    that has the plugin enabled: at the slots of its cron ``schedule`` (read in the
    region's time zone), or when enqueued with :func:`balai.jobs.enqueue`. Its
    function is called as ``func(tenant, **kwargs)`` with the region as the current
    tenant; a failure is retried ``retries`` times after ``backoff`` seconds, and a run
    longer than ``time_limit`` seconds is stopped. A bad declaration makes the plugin
    broken.

    :param app: the application being built.
    :returns: a list of :class:`balai.jobs.Job`, or ``None``.

    .. versionadded:: 0.1
    """


# -------------------------------------------------------------------------
# Request hooks: called only for plugins the current tenant has enabled
# -------------------------------------------------------------------------


@hookspec
def menu_items(tenant: TenantInfo, user: User | None) -> list[MenuItem] | None:
    """Return navigation links for the current user.

    Non-essential: an exception is logged and the page renders without the items.

    :param tenant: the current tenant.
    :param user: the logged-in user, or ``None`` for a visitor.
    :returns: a list of :class:`balai.items.MenuItem`.

    .. versionadded:: 0.1
    """


@hookspec
def dashboard_widgets(tenant: TenantInfo, user: User | None) -> list[Widget] | None:
    """Return widgets for the region's command-centre dashboard.

    Non-essential: an exception is logged and the dashboard renders without them.

    :param tenant: the current tenant.
    :param user: the logged-in user.
    :returns: a list of :class:`balai.items.Widget`.

    .. versionadded:: 0.1
    """


@hookspec
def map_layers(tenant: TenantInfo, user: User | None) -> list[MapLayer] | None:
    """Return GeoJSON layers for the region's map view.

    Non-essential: an exception is logged and the map shows the other layers.

    :param tenant: the current tenant.
    :param user: the logged-in user, or ``None``.
    :returns: a list of :class:`balai.items.MapLayer`.

    .. versionadded:: 0.1
    """


@hookspec
def search(tenant: TenantInfo, user: User | None, query: str) -> list[SearchResult] | None:
    """Return results for a platform-wide search.

    Non-essential: an exception is logged and the other plugins' results are shown.

    :param tenant: the current tenant.
    :param user: the logged-in user, or ``None``.
    :param query: the search words, stripped, never empty.
    :returns: a list of :class:`balai.items.SearchResult`.

    .. versionadded:: 0.1
    """


# -------------------------------------------------------------------------
# Moving a region: called by balai tenants export, import and purge
# -------------------------------------------------------------------------


@hookspec
def tenant_data() -> TenantData | None:
    """Declare what of the plugin's region data is not carried as it is when a
    region moves (``balai tenants export`` / ``import`` / ``purge``).

    Every row of every tenant table is carried without this hook; declare only the
    exceptions: tables left out (tokens, one-time codes, transient state), secret
    columns carried empty, a :class:`balai.tenancy.portable.Convert` for values
    sealed with this deployment's key (opened on export, sealed again on import),
    and the folder of the region's files (``files(app, tenant_id) -> Path``).
    Called whenever a region is exported, imported or purged; an exception stops
    that command.

    :returns: a :class:`balai.tenancy.portable.TenantData`, or ``None``.

    .. versionadded:: 0.1
    """


# -------------------------------------------------------------------------
# Events
# -------------------------------------------------------------------------


@hookspec
def plugin_enabled(tenant: TenantInfo, plugin: str, session: Session) -> None:
    """A tenant switched a plugin on; called on that plugin only.

    Runs inside the transaction that records the switch: raise to refuse it.

    :param tenant: the tenant.
    :param plugin: the plugin's name.
    :param session: a session bound to the tenant, in the switching transaction.

    .. versionadded:: 0.1
    """


@hookspec
def plugin_disabled(tenant: TenantInfo, plugin: str, session: Session) -> None:
    """A tenant switched a plugin off; called on that plugin only. Data is kept.

    :param tenant: the tenant.
    :param plugin: the plugin's name.
    :param session: a session bound to the tenant, in the switching transaction.

    .. versionadded:: 0.1
    """


@hookspec
def populate_demo(tenant: TenantInfo, session: Session) -> None:
    """Fill a demo tenant with sample data (``balai demo``).

    Called on the plugins enabled for the demo tenant, after they are enabled.

    :param tenant: the demo tenant.
    :param session: a session bound to the tenant; the caller commits.

    .. versionadded:: 0.1
    """
