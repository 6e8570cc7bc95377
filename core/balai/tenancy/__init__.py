"""Tenants (regions), their domains and the plugins each one has enabled.

:mod:`~balai.tenancy.models`
    The tables (:class:`Tenant`, :class:`Domain`, :class:`PluginState`,
    :class:`RoleGrant`, :class:`CustomRole`, :class:`RoleMember`,
    :class:`StateVersion`), :func:`bump_state` and the
    region time zones.
:mod:`~balai.tenancy.registry`
    Each worker's in-memory snapshot of all tenants (:class:`TenantInfo`,
    :func:`registry`) and finding the tenant of a request (:func:`current_tenant`).
:mod:`~balai.tenancy.changes`
    Creating regions and switching their plugins on and off; a refused change
    raises :class:`TenancyError`.

Import these names from ``balai.tenancy`` itself, not from its modules.
"""

from balai.tenancy.changes import (
    TenancyError,
    create_tenant,
    disable_plugin,
    enable_plugin,
    save_plugin_settings,
)
from balai.tenancy.models import (
    DEFAULT_TIMEZONE,
    TIMEZONES,
    CustomRole,
    Domain,
    PluginState,
    RoleGrant,
    RoleMember,
    StateVersion,
    Tenant,
    bump_state,
)
from balai.tenancy.registry import (
    RoleInfo,
    TenantInfo,
    current_tenant,
    external_url,
    init_app,
    link_base,
    normalise_host,
    registry,
    select_timezone,
)

__all__ = [
    "DEFAULT_TIMEZONE",
    "TIMEZONES",
    "CustomRole",
    "Domain",
    "PluginState",
    "RoleGrant",
    "RoleInfo",
    "RoleMember",
    "StateVersion",
    "TenancyError",
    "Tenant",
    "TenantInfo",
    "bump_state",
    "create_tenant",
    "current_tenant",
    "disable_plugin",
    "enable_plugin",
    "external_url",
    "init_app",
    "link_base",
    "normalise_host",
    "registry",
    "save_plugin_settings",
    "select_timezone",
]
