"""Tenants (regions), their domains and the plugins each one has enabled.

Every worker keeps a snapshot of all tenants in memory (:class:`Registry`) and
checks one version number at most every ``STATE_TTL`` seconds; any change to
tenants, domains, plugin states or role grants bumps that number in the same
transaction, so every worker sees it within ``STATE_TTL``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, abort, current_app, g, request
from flask_babel import gettext as _
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from balai import schema
from balai.db import Base, TenantScoped, db, utcnow
from balai.i18n import N_
from balai.plugins import plugins

__all__ = [
    "Domain",
    "PluginState",
    "RoleGrant",
    "StateVersion",
    "TenancyError",
    "Tenant",
    "TenantInfo",
    "bump_state",
    "create_tenant",
    "current_tenant",
    "disable_plugin",
    "enable_plugin",
    "normalise_host",
    "registry",
]

log = logging.getLogger(__name__)
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
HOST_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
# Indonesia's three time zones; a region shows times in its own.
TIMEZONES = {
    "Asia/Jakarta": N_("Western Indonesia Time (WIB)"),
    "Asia/Makassar": N_("Central Indonesia Time (WITA)"),
    "Asia/Jayapura": N_("Eastern Indonesia Time (WIT)"),
}
DEFAULT_TIMEZONE = "Asia/Jakarta"


class Tenant(Base):
    """A region (*daerah*): kota, kabupaten or provinsi."""

    __tablename__ = "balai_tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str] = mapped_column(String(100), default="default")
    colours: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    logo: Mapped[str | None] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    domains: Mapped[list[Domain]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="Domain.host"
    )


class Domain(Base):
    """A host name that serves one tenant."""

    __tablename__ = "balai_domain"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(253), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("balai_tenant.id", ondelete="CASCADE"))
    tenant: Mapped[Tenant] = relationship(back_populates="domains")


class PluginState(TenantScoped, Base):
    """Whether a tenant has a plugin switched on, and its settings there."""

    __tablename__ = "balai_plugin_state"
    __table_args__ = (UniqueConstraint("tenant_id", "plugin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plugin: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    changed_by: Mapped[str | None] = mapped_column(String(254))


class RoleGrant(TenantScoped, Base):
    """A region's change to a role's default permissions: granted or withdrawn."""

    __tablename__ = "balai_role_grant"
    __table_args__ = (UniqueConstraint("tenant_id", "role", "permission"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    permission: Mapped[str] = mapped_column(String(150))
    granted: Mapped[bool] = mapped_column()


class StateVersion(Base):
    """One row whose number grows with every change workers must notice."""

    __tablename__ = "balai_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0)


def bump_state(session: Session) -> None:
    """Tell every worker that tenants, domains, plugins or grants changed."""
    result = session.execute(
        update(StateVersion).where(StateVersion.id == 1).values(version=StateVersion.version + 1)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        session.add(StateVersion(id=1, version=1))


@dataclass(frozen=True)
class TenantInfo:
    """An immutable snapshot of a tenant, shared by every request of a worker."""

    id: int
    slug: str
    name: str
    theme: str
    colours: Mapping[str, str]
    logo: str | None
    settings: Mapping[str, Any]
    domains: tuple[str, ...]
    plugins: frozenset[str]
    plugin_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    grants: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)


def normalise_host(host: str) -> str:
    """Lower-case host without port or trailing dot (``Kota.Example:8080`` → ``kota.example``)."""
    host = host.strip().lower()
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.split(":")[0].rstrip(".")


class Registry:
    """All tenants of the deployment, refreshed when the state version changes."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.ttl = float(app.config["STATE_TTL"])
        self.single = app.config["TENANCY"] == "single"
        self._lock = threading.Lock()
        self._checked = -1.0
        self._version: int | None = None
        self._by_host: dict[str, TenantInfo] = {}
        self._by_slug: dict[str, TenantInfo] = {}
        self._by_id: dict[int, TenantInfo] = {}

    def refresh(self, force: bool = False) -> None:
        """Reload the snapshot if the version changed (at most once per ``ttl``)."""
        now = time.monotonic()
        if not force and now - self._checked < self.ttl:
            return
        with self._lock:
            if not force and now - self._checked < self.ttl:
                return
            with db.all_tenants() as session:
                version = session.scalar(select(StateVersion.version).where(StateVersion.id == 1))
                if force or version != self._version or self._version is None:
                    self._load(session)
                    self._version = version
            self._checked = time.monotonic()

    def _load(self, session: Session) -> None:
        states: dict[int, dict[str, PluginState]] = {}
        for state in session.scalars(select(PluginState)):
            states.setdefault(state.tenant_id, {})[state.plugin] = state
        grants: dict[int, dict[str, dict[str, bool]]] = {}
        for grant in session.scalars(select(RoleGrant)):
            role_grants = grants.setdefault(grant.tenant_id, {}).setdefault(grant.role, {})
            role_grants[grant.permission] = grant.granted
        usable = self._usable_plugins()
        by_id: dict[int, TenantInfo] = {}
        for tenant in session.scalars(select(Tenant).options(selectinload(Tenant.domains))):
            tenant_states = states.get(tenant.id, {})
            by_id[tenant.id] = TenantInfo(
                id=tenant.id,
                slug=tenant.slug,
                name=tenant.name,
                theme=tenant.theme,
                colours=dict(tenant.colours or {}),
                logo=tenant.logo,
                settings=dict(tenant.settings or {}),
                domains=tuple(d.host for d in tenant.domains),
                plugins=frozenset(n for n, s in tenant_states.items() if s.enabled and n in usable),
                plugin_settings={n: dict(s.settings or {}) for n, s in tenant_states.items()},
                grants=grants.get(tenant.id, {}),
            )
        self._by_id = by_id
        self._by_slug = {t.slug: t for t in by_id.values()}
        self._by_host = {host: t for t in by_id.values() for host in t.domains}

    def _usable_plugins(self) -> frozenset[str]:
        """Plugins a tenant's switch can turn on: working, and allowed by the operator."""
        names = {info.name for info in plugins(self.app).working()}
        allowed = self.app.config["ALLOWED_PLUGINS"]
        return frozenset(names if allowed is None else names & set(allowed))

    def for_host(self, host: str) -> TenantInfo | None:
        """The tenant serving ``host``; in single mode, the only tenant on any host."""
        self.refresh()
        tenant = self._by_host.get(normalise_host(host))
        if tenant is None and self.single and len(self._by_id) == 1:
            return next(iter(self._by_id.values()))
        return tenant

    def by_slug(self, slug: str) -> TenantInfo | None:
        self.refresh()
        return self._by_slug.get(slug)

    def by_id(self, tenant_id: int) -> TenantInfo | None:
        self.refresh()
        return self._by_id.get(tenant_id)

    def all(self) -> list[TenantInfo]:
        self.refresh()
        return sorted(self._by_id.values(), key=lambda t: t.slug)


def registry(app: Flask | None = None) -> Registry:
    """The tenant registry of ``app`` (default: the current app)."""
    return (app or current_app).extensions["balai.tenancy"]


def select_timezone() -> str:
    """The current tenant's time zone (Flask-Babel's ``timezone_selector``)."""
    tenant = g.get("tenant")
    zone = tenant.settings.get("timezone") if tenant is not None else None
    return zone if zone in TIMEZONES else current_app.config["BABEL_DEFAULT_TIMEZONE"]


def current_tenant() -> TenantInfo | None:
    """The tenant of the current request or tenant context, if any."""
    return g.get("tenant")


# Routes that answer without a tenant: health checks and static files.
TENANTLESS_ENDPOINTS = frozenset({"balai_meta.health", "static", "balai_theme.static"})


def _resolve_tenant() -> None:
    if request.endpoint in TENANTLESS_ENDPOINTS:
        g.tenant = None
        return
    g.tenant = registry().for_host(request.host)
    if g.tenant is None:
        abort(404, description="unknown-host")


def init_app(app: Flask) -> None:
    app.extensions["balai.tenancy"] = Registry(app)
    app.before_request(_resolve_tenant)


# -- changing tenants and their plugins ---------------------------------------


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
    """Store a tenant's settings of a plugin (already validated by its schema)."""
    with db.tenant_session(tenant.id) as session:
        state = session.scalar(select(PluginState).where(PluginState.plugin == name))
        if state is None:
            state = PluginState(plugin=name, enabled=False)
            session.add(state)
        state.settings, state.changed_by = dict(values), by
        bump_state(session)
    registry(app).refresh(force=True)
