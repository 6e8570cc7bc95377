"""Which tenant a request belongs to: the in-memory snapshot of all tenants.

Every worker keeps a snapshot of all tenants in memory (:class:`Registry`) and
checks one version number at most every ``STATE_TTL`` seconds; any change to
tenants, domains, plugin states, role grants or custom roles bumps that number in
the same transaction, so every worker sees it within ``STATE_TTL``.

Custom roles are in the snapshot (:class:`RoleInfo`, by slug) so that
:func:`balai.permissions.permissions_of` needs no query for them; which user holds
which custom role is read with the user, once per request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, abort, current_app, g, request
from flask.globals import request_ctx
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from balai.db import db
from balai.plugins import plugins
from balai.tenancy.models import (
    TIMEZONES,
    CustomRole,
    PluginState,
    RoleGrant,
    StateVersion,
    Tenant,
)


@dataclass(frozen=True)
class RoleInfo:
    """A custom role of a region, as the snapshot keeps it."""

    id: int
    slug: str
    name: str
    description: str
    permissions: frozenset[str]


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
    roles: Mapping[str, RoleInfo] = field(default_factory=dict)


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
        roles: dict[int, dict[str, RoleInfo]] = {}
        for role in session.scalars(select(CustomRole).order_by(CustomRole.name, CustomRole.id)):
            roles.setdefault(role.tenant_id, {})[role.slug] = RoleInfo(
                id=role.id,
                slug=role.slug,
                name=role.name,
                description=role.description or "",
                permissions=frozenset(role.permissions or ()),
            )
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
                roles=roles.get(tenant.id, {}),
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


# Routes that answer without a tenant: health checks, metrics (guarded by their own
# token or an operator's login) and static files.
TENANTLESS_ENDPOINTS = frozenset(
    {
        "balai_health.live",
        "balai_health.ready",
        "balai_health.health",
        "balai_metrics.scrape",
        "static",
        "balai_theme.static",
    }
)


def _resolve_tenant() -> None:
    if request.endpoint in TENANTLESS_ENDPOINTS:
        g.tenant = None
        return
    g.tenant = registry().for_host(request.host)
    if g.tenant is None:
        abort(404, description="unknown-host")
    _links_on_own_domain(g.tenant)


def link_base(tenant: TenantInfo) -> tuple[str, str]:
    """``(scheme, host[:port])`` of the region's links in pages, e-mails and SMS.

    Always the region's primary domain (the first one it was given) with
    ``PREFERRED_URL_SCHEME`` and, when set, ``PREFERRED_URL_PORT``: never the ``Host``
    (or its port) a request claimed. A region without a domain uses ``SERVER_NAME``,
    else ``localhost``.
    """
    config = current_app.config
    host = tenant.domains[0] if tenant.domains else config.get("SERVER_NAME") or "localhost"
    port = config.get("PREFERRED_URL_PORT")
    return str(config["PREFERRED_URL_SCHEME"]), f"{host}:{int(port)}" if port else host


def external_url(tenant: TenantInfo, endpoint: str, **values: Any) -> str:
    """The absolute address of ``endpoint`` on ``tenant``'s primary domain, in a request
    or outside one (commands, jobs)."""
    scheme, netloc = link_base(tenant)
    adapter = current_app.url_map.bind(netloc, url_scheme=scheme)
    return adapter.build(endpoint, values, force_external=True)


def _links_on_own_domain(tenant: TenantInfo) -> None:
    """Absolute links (``url_for(..., _external=True)``) name the region's primary domain.

    Whatever ``Host`` a request claimed (any host on a single-tenant install, another
    domain of the region, or one of its domains with a port of the sender's choice),
    a link put in an e-mail or an SMS must not carry it.
    """
    adapter = request_ctx.url_adapter
    if adapter is not None:
        adapter.url_scheme, adapter.server_name = link_base(tenant)


def init_app(app: Flask) -> None:
    app.extensions["balai.tenancy"] = Registry(app)
    app.before_request(_resolve_tenant)
