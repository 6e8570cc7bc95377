"""Changing tenancy: creating regions, switching plugins on and off, their settings.

A refused change raises :class:`TenancyError` naming the input at fault; a
change made bumps the state version and refreshes this worker's registry.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from sqlalchemy import select
from sqlalchemy.orm import Session

from balai import schema
from balai.db import db, utcnow
from balai.plugins import plugins
from balai.tenancy.models import Domain, PluginState, Tenant, bump_state
from balai.tenancy.registry import TenantInfo, normalise_host, registry

log = logging.getLogger(__name__)
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
HOST_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$")


class TenancyError(ValueError):
    """A change to a tenant was refused; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def validate_slug(slug: str) -> str:
    if not SLUG_RE.match(slug):
        raise TenancyError(
            _("The slug may contain only lowercase letters, digits and hyphens."), "slug"
        )
    return slug


def validate_host(host: str) -> str:
    host = normalise_host(host)
    if not HOST_RE.match(host) or ".." in host:
        raise TenancyError(_("%(host)s is not a valid host name.", host=host), "domain")
    return host


def create_tenant(app: Flask, slug: str, name: str, domains: list[str]) -> TenantInfo:
    """Create a region with its domains; refuses a taken slug or domain."""
    slug = validate_slug(slug)
    name = name.strip()
    if not name or len(name) > 200:
        raise TenancyError(_("The name is required (at most 200 characters)."), "name")
    hosts = list(dict.fromkeys(validate_host(h) for h in domains))
    with db.all_tenants() as session:
        if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
            raise TenancyError(_("The slug %(slug)s is already taken.", slug=slug), "slug")
        taken = session.scalars(select(Domain.host).where(Domain.host.in_(hosts))).all()
        if taken:
            raise TenancyError(
                _("The domain %(host)s is already in use.", host=", ".join(taken)), "domain"
            )
        tenant = Tenant(slug=slug, name=name, domains=[Domain(host=h) for h in hosts])
        session.add(tenant)
        bump_state(session)
    registry(app).refresh(force=True)
    info = registry(app).by_id(tenant.id)
    assert info is not None
    return info


def _plugin_problem(app: Flask, tenant: TenantInfo, name: str) -> str | None:
    from balai import __version__

    info = plugins(app).get(name)
    if info is None or info.builtin:
        return _("Plugin %(name)s is not installed.", name=name)
    if info.broken:
        return _("Plugin %(name)s is broken: %(error)s", name=name, error=info.error)
    allowed = app.config["ALLOWED_PLUGINS"]
    if allowed is not None and name not in allowed:
        return _("Plugin %(name)s is not allowed on this server.", name=name)
    spec = info.manifest.core if info.manifest else ""
    try:
        supported = not spec or SpecifierSet(spec).contains(__version__, prereleases=True)
    except InvalidSpecifier:
        supported = False
    if not supported:
        return _(
            "Plugin %(name)s supports Balai %(spec)s; this server runs %(version)s.",
            name=name,
            spec=spec,
            version=__version__,
        )
    missing = [
        r for r in (info.manifest.requires if info.manifest else ()) if r not in tenant.plugins
    ]
    if missing:
        return _(
            "Plugin %(name)s needs these plugins enabled first: %(missing)s.",
            name=name,
            missing=", ".join(missing),
        )
    return None


def enable_plugin(app: Flask, tenant: TenantInfo, name: str, *, by: str | None = None) -> None:
    """Switch ``name`` on for ``tenant`` after checking requirements and migrating it."""
    tenant = _fresh(app, tenant)
    problem = _plugin_problem(app, tenant, name)
    if problem:
        raise TenancyError(problem, "plugin")
    if name in tenant.plugins:
        return
    schema.upgrade_plugin(app, name)
    _switch(app, tenant, name, True, by)


def disable_plugin(app: Flask, tenant: TenantInfo, name: str, *, by: str | None = None) -> None:
    """Switch ``name`` off for ``tenant``; refused while an enabled plugin needs it."""
    tenant = _fresh(app, tenant)
    manager = plugins(app)
    info = manager.get(name)
    if info is None or info.builtin:
        raise TenancyError(_("Plugin %(name)s is not installed.", name=name), "plugin")
    if name not in tenant.plugins:
        return
    needed_by = [
        other
        for other in sorted(tenant.plugins)
        if (needer := manager.get(other)) and needer.manifest and name in needer.manifest.requires
    ]
    if needed_by:
        raise TenancyError(
            _(
                "Plugin %(name)s is needed by %(others)s; switch those off first.",
                name=name,
                others=", ".join(needed_by),
            ),
            "plugin",
        )
    _switch(app, tenant, name, False, by)


def _fresh(app: Flask, tenant: TenantInfo) -> TenantInfo:
    """The tenant as the database has it now, not as an older snapshot saw it."""
    reg = registry(app)
    reg.refresh(force=True)
    current = reg.by_id(tenant.id)
    if current is None:
        raise TenancyError(_("The region no longer exists."), "tenant")
    return current


def _switch(app: Flask, tenant: TenantInfo, name: str, on: bool, by: str | None) -> None:
    event = "plugin_enabled" if on else "plugin_disabled"
    with db.tenant_session(tenant.id) as session:
        state = session.scalar(select(PluginState).where(PluginState.plugin == name))
        if state is None:
            state = PluginState(plugin=name, settings={})
            session.add(state)
        state.enabled, state.changed_by, state.changed_at = on, by, utcnow()
        bump_state(session)
        _announce(app, event, tenant, name, session)
    registry(app).refresh(force=True)


def _announce(app: Flask, event: str, tenant: TenantInfo, name: str, session: Session) -> None:
    """Call the plugin's own ``plugin_enabled``/``plugin_disabled``; its refusal is ours."""
    for impl in getattr(plugins(app).pm.hook, event).get_hookimpls():
        if impl.plugin_name != name:
            continue
        kwargs = {"tenant": tenant, "plugin": name, "session": session}
        try:
            impl.function(*(kwargs[a] for a in impl.argnames))
        except TenancyError:
            raise
        except Exception as exc:
            log.exception("%s of plugin %s failed", event, name)
            raise TenancyError(
                _("Plugin %(name)s failed to make the change; the server log says why.", name=name),
                "plugin",
            ) from exc


def save_plugin_settings(
    app: Flask, tenant: TenantInfo, name: str, values: dict[str, Any], *, by: str | None = None
) -> None:
    """Store a tenant's settings of a plugin (already validated by its schema).

    The plugin's :class:`balai.settings.Secret` values are sealed first: no secret
    setting is ever stored in clear, whoever saves it.
    """
    from balai.settings import schema_for, seal_secrets

    schema_cls = schema_for(name, app)
    if schema_cls is not None:
        values = seal_secrets(schema_cls(), values, tenant.id, app)
    with db.tenant_session(tenant.id) as session:
        state = session.scalar(select(PluginState).where(PluginState.plugin == name))
        if state is None:
            state = PluginState(plugin=name, enabled=False)
            session.add(state)
        state.settings, state.changed_by = dict(values), by
        bump_state(session)
    registry(app).refresh(force=True)
