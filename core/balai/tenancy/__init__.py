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

The core imports these names from ``balai.tenancy`` itself, not from its modules;
plugins import only those of ``__all__`` (docs/plugin-authors.md#the-public-surface).
"""

from balai.tenancy.changes import TenancyError
from balai.tenancy.changes import create_tenant as create_tenant
from balai.tenancy.changes import disable_plugin as disable_plugin
from balai.tenancy.changes import enable_plugin as enable_plugin
from balai.tenancy.changes import save_plugin_settings as save_plugin_settings
from balai.tenancy.models import DEFAULT_TIMEZONE, TIMEZONES
from balai.tenancy.models import CustomRole as CustomRole
from balai.tenancy.models import Domain as Domain
from balai.tenancy.models import PluginState as PluginState
from balai.tenancy.models import RoleGrant as RoleGrant
from balai.tenancy.models import RoleMember as RoleMember
from balai.tenancy.models import StateVersion as StateVersion
from balai.tenancy.models import Tenant as Tenant
from balai.tenancy.models import bump_state as bump_state
from balai.tenancy.registry import RoleInfo as RoleInfo
from balai.tenancy.registry import TenantInfo, current_tenant, external_url, registry
from balai.tenancy.registry import init_app as init_app
from balai.tenancy.registry import link_base as link_base
from balai.tenancy.registry import normalise_host as normalise_host
from balai.tenancy.registry import select_timezone as select_timezone

# Only the names of __all__ are public (docs/plugin-authors.md#the-public-surface); those
# imported above as themselves (``x as x``) are re-exported for the core's own modules.
__all__ = [
    "DEFAULT_TIMEZONE",
    "TIMEZONES",
    "TenancyError",
    "TenantInfo",
    "current_tenant",
    "external_url",
    "registry",
]
