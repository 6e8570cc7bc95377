"""Roles, permissions, the :func:`require` decorator and the permission registry.

Roles are per tenant. Every account has one built-in role: ``warga`` (citizen),
``opd`` (officer of a department), ``admin`` (region admin); ``operator`` is the
platform operator, across tenants. Plugins declare permissions
(``<plugin>.<verb>_<noun>``) with the built-in roles that hold them by default; a
region admin may grant or withdraw them per role. A region may also define its own
roles (*custom roles*: ``Loket``, ``Dokter``...), each a set of declared permissions,
and give an account any number of them: :func:`permissions_of` is the union of the
built-in role's permissions and those of its custom roles, read from the tenant
snapshot (no query per check). Every view is either guarded by :func:`require` or
marked :func:`public`.

Who may give what is one rule, :func:`grant_refusal`: nobody grants a permission
they do not hold, nobody changes their own role's permissions, and permissions
declared ``admin_only`` are granted only by a region admin. Giving an account a
role (:func:`role_refusal`) or anything else that carries a permission
(:func:`give_refusal`) follows the same rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

__all__ = [
    "OPERATOR",
    "ROLES",
    "Permission",
    "custom_roles_of",
    "give_refusal",
    "grant_refusal",
    "has_permission",
    "is_admin",
    "own_credentials",
    "permissions_of",
    "public",
    "require",
    "role_label",
    "role_permissions",
    "role_refusal",
]

ROLES = ("warga", "opd", "admin")
OPERATOR = "operator"
#: Slugs a custom role may not take: the built-in roles.
RESERVED_ROLES = frozenset({*ROLES, OPERATOR})
ROLE_LABELS = {
    "warga": _l("Citizen"),
    "opd": _l("Department officer"),
    "admin": _l("Region admin"),
    OPERATOR: _l("Platform operator"),
}
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9]*_[a-z0-9_]+$")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Permission:
    """A named permission a plugin declares.

    :param name: ``<plugin>.<verb>_<noun>``, e.g. ``pengaduan.forward_complaint``.
    :param label: what it allows, for the admin's roles page (translatable).
    :param roles: the roles that hold it unless a region changes that.
    :param admin_only: only a region admin may grant or withdraw it, and only an
        admin may give a role or anything else that carries it. Declare it for
        permissions that manage users, roles, plugins, settings or appearance, that
        read audit trails or manage API keys, or that open personal data.
    :param needs: what else someone holding it needs before it opens anything, when a
        plugin asks for more than the permission (translatable): say what and where it
        is given, e.g. "a duty at a puskesmas (Puskesmas and clinics → Staff)". The
        roles page shows it under the permission; region admins need it too.
    """

    name: str
    label: Any
    roles: tuple[str, ...] = ("admin",)
    admin_only: bool = False
    needs: Any = None


class PermissionRegistry:
    """Every permission declared by the installed plugins."""

    def __init__(self) -> None:
        self.permissions: dict[str, Permission] = {}
        self.owner: dict[str, str] = {}

    def add(self, plugin: str, permission: Permission) -> None:
        if not NAME_RE.match(permission.name):
            raise ValueError(f"permission {permission.name!r} is not '<plugin>.<verb>_<noun>'")
        if permission.name.split(".")[0] != plugin:
            raise ValueError(f"permission {permission.name!r} must start with {plugin!r}.")
        unknown = set(permission.roles) - set(ROLES)
        if unknown:
            raise ValueError(f"permission {permission.name!r} names unknown roles {unknown}")
        self.permissions[permission.name] = permission
        self.owner[permission.name] = plugin

    def defaults(self, role: str) -> frozenset[str]:
        return frozenset(n for n, p in self.permissions.items() if role in p.roles)


def registry(app: Flask | None = None) -> PermissionRegistry:
    return (app or current_app).extensions["balai.permissions"]


def init_app(
    app: Flask,
    declared: Iterable[tuple[str, Iterable[Permission]]],
    broken: Callable[[str, str], None],
) -> None:
    """Register every plugin's permissions; a plugin declaring a bad one is ``broken``."""
    reg = PermissionRegistry()
    for plugin, permissions in declared:
        staged = PermissionRegistry()
        try:
            for permission in permissions:
                staged.add(plugin, permission)
        except ValueError as exc:
            broken(plugin, f"register_permissions: {exc}")
            continue
        reg.permissions.update(staged.permissions)
        reg.owner.update(staged.owner)
    app.extensions["balai.permissions"] = reg


def is_admin(user: Any) -> bool:
    """Whether ``user`` is a region admin or a platform operator: holds everything."""
    return bool(getattr(user, "is_authenticated", False)) and user.role in (OPERATOR, "admin")


def custom_role(slug: str) -> Any:
    """The current tenant's custom role ``slug`` (a :class:`balai.tenancy.RoleInfo`), or
    ``None`` (a built-in role, an unknown one, or no tenant)."""
    if slug in RESERVED_ROLES:
        return None
    tenant = g.get("tenant")
    return tenant.roles.get(slug) if tenant is not None else None


def custom_roles_of(user: Any) -> list[Any]:
    """The custom roles of the current tenant that ``user`` holds (snapshot entries).

    Which roles an account holds is read with the account, once per request; what
    each role carries comes from the tenant snapshot. A role the snapshot does not
    know yet (created a moment ago in another worker) carries nothing until it does.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    tenant = g.get("tenant")
    if tenant is None or not tenant.roles or getattr(user, "tenant_id", None) != tenant.id:
        return []
    found = []
    for role in getattr(user, "custom_roles", ()):
        info = tenant.roles.get(role.slug)
        if info is not None and info.id == role.id:
            found.append(info)
    return found


def role_permissions(role: str) -> frozenset[str]:
    """Every permission ``role`` holds in the current tenant: for a built-in role its
    grants, else the defaults; for a custom role the declared permissions it carries.

    Worked out once per request, tenant snapshot and role: the snapshot
    (``g.tenant``) and the permission registry are not changed in place, so the same
    ones give the same answer (a request that takes a newer snapshot gets it afresh).
    """
    reg = registry()
    tenant = g.get("tenant")
    known = g.get("_balai_role_permissions")
    if known is None or known[0] is not tenant or known[1] is not reg:
        known = g._balai_role_permissions = (tenant, reg, {})
    held = known[2].get(role)
    if held is None:
        held = known[2][role] = _role_permissions(reg, role)
    return held


def _role_permissions(reg: PermissionRegistry, role: str) -> frozenset[str]:
    if role in (OPERATOR, "admin"):
        return frozenset(reg.permissions)
    custom = custom_role(role)
    if custom is not None:
        return frozenset(name for name in custom.permissions if name in reg.permissions)
    tenant = g.get("tenant")
    held = set(reg.defaults(role))
    if tenant is not None:
        for name, granted in tenant.grants.get(role, {}).items():
            (held.add if granted else held.discard)(name)
    return frozenset(held)


def permissions_of(user: Any) -> frozenset[str]:
    """All permissions ``user`` holds in the current tenant: those of their built-in
    role and of every custom role they hold there."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    held = role_permissions(user.role)
    if is_admin(user):
        return held
    extra = custom_roles_of(user)
    if not extra:
        return held
    declared = registry().permissions
    return held.union(*((name for name in role.permissions if name in declared) for role in extra))


def give_refusal(actor: Any, permission: str) -> str | None:
    """Why ``actor`` may not give ``permission`` to anyone, or ``None`` if they may.

    Giving covers every way a permission reaches someone: a role's grant, an account's
    role, or anything a plugin hands out that carries it (a duty, for example).
    """
    if is_admin(actor):
        return None
    declared = registry().permissions.get(permission)
    if declared is None or declared.admin_only:
        return _("Only a region admin can give this permission.")
    if permission not in permissions_of(actor):
        return _("You can only give permissions that you hold yourself.")
    return None


def grant_refusal(actor: Any, role: str, permission: str) -> str | None:
    """Why ``actor`` may not grant or withdraw ``permission`` for ``role``, or ``None``.

    The one rule of the roles page: region admins may change every grant; anyone
    else only the grants of another role, of permissions they hold themselves that
    are not ``admin_only``.
    """
    if is_admin(actor):
        return None
    if not getattr(actor, "is_authenticated", False):
        return _("Only a region admin can give this permission.")
    if role in (OPERATOR, "admin"):
        return _("Region admins always hold every permission.")
    if role == actor.role or role in {r.slug for r in custom_roles_of(actor)}:
        return _("You cannot change the permissions of your own role.")
    return give_refusal(actor, permission)


def role_refusal(actor: Any, role: str, permissions: Iterable[str] | None = None) -> str | None:
    """Why ``actor`` may not give ``role`` to an account (or manage accounts of it), or ``None``.

    An account's role gives it every permission the role holds here, so someone who
    is not an admin may give only a role whose every permission they could give.

    For a custom role, pass ``permissions`` as stored in the database: the tenant
    snapshot may lag behind a role created or changed a moment ago in another worker.
    Without them, a custom role the snapshot does not know is refused (fail closed),
    never taken to carry nothing.
    """
    if is_admin(actor):
        return None
    if role in (OPERATOR, "admin"):
        return _("Only a region admin can make someone an admin.")
    if permissions is not None and role not in RESERVED_ROLES:
        declared = registry().permissions
        carried = frozenset(name for name in permissions if name in declared)
    elif role not in RESERVED_ROLES and custom_role(role) is None:
        return _(
            "Only a region admin can give the role %(role)s: it is not known here yet.",
            role=role,
        )
    else:
        carried = role_permissions(role)
    for name in sorted(carried):
        if give_refusal(actor, name) is not None:
            return _(
                "Only a region admin can give the role %(role)s: it carries permissions "
                "you cannot give (%(permission)s).",
                role=role_label(role),
                permission=name,
            )
    return None


def role_label(role: str) -> str:
    """The translated name of a built-in role, or the name a region gave its custom role."""
    if role in ROLE_LABELS:
        return str(ROLE_LABELS[role])
    custom = custom_role(role)
    return custom.name if custom is not None else role


def has_permission(user: Any, permission: str) -> bool:
    """Whether ``user`` holds ``permission`` in the current tenant."""
    return permission in permissions_of(user)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def require(*needed: str) -> Callable[[F], F]:
    """Guard a view: the user must be logged in and hold every permission named.

    Write it right under the route decorator: above it, Flask would register the
    unguarded function, and the app refuses that route (see :func:`route_problems`).
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if _wants_json():
                    abort(401)
                return redirect(url_for("balai_auth.login", next=request.full_path.rstrip("?")))
            held = permissions_of(current_user)
            if not all(p in held for p in needed):
                abort(403)
            return view(*args, **kwargs)

        guarded.balai_access = ("require", needed)  # type: ignore[attr-defined]
        with suppress(AttributeError):  # a route that registered ``view`` itself says why
            view.balai_guarded_copy = True  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorator


PUBLIC: tuple[str, tuple[str, ...]] = ("public", ())


def public(view: F) -> F:
    """Mark a view as open to everyone, logged in or not."""
    view.balai_access = PUBLIC  # type: ignore[attr-defined]
    return view


def own_credentials(view: F) -> F:
    """Mark an API view that checks the ``Authorization`` header itself, against
    credentials of its own plugin (the registry's partner tokens, say).

    It is public as far as users' permissions go, and the core neither takes that
    header for a user's API token nor refuses it: the view must refuse a request
    whose credentials do not verify.
    """
    view.balai_access = PUBLIC  # type: ignore[attr-defined]
    view.balai_own_credentials = True  # type: ignore[attr-defined]
    return view


def checks_own_credentials(app: Flask, endpoint: str | None, method: str) -> bool:
    """Whether the view of ``endpoint`` checks its credentials itself (:func:`own_credentials`)."""
    view = app.view_functions.get(endpoint) if endpoint else None
    if view is None:
        return False
    handler = getattr(getattr(view, "view_class", None), method.lower(), None)
    return bool(getattr(handler or view, "balai_own_credentials", False))


def access_of(
    view: Callable[..., Any], method: str | None = None
) -> tuple[str, tuple[str, ...]] | None:
    """How a view is guarded: ``("public", ())``, ``("require", names)`` or ``None``.

    A class-based view (``MethodView``, as flask-smorest registers them) may declare
    access per handler instead: pass the request ``method`` to look at its handler.
    """
    found = getattr(view, "balai_access", None)
    view_class = getattr(view, "view_class", None)
    if found is not None or method is None or view_class is None:
        return found
    method = method.upper()
    handler = getattr(view_class, method.lower(), None)
    if handler is None and method == "HEAD":
        handler = getattr(view_class, "get", None)
    if handler is None and method == "OPTIONS":
        return PUBLIC  # Flask's automatic answer: only which methods exist
    return getattr(handler, "balai_access", None)


def _static_files(app: Flask, endpoint: str, view: Callable[..., Any]) -> bool:
    """Flask's own static files of the app or of a blueprint's ``static_folder``."""
    if endpoint == "static":
        return app.has_static_folder
    return endpoint.endswith(".static") and getattr(view, "__name__", "") == "send_static_file"


def route_access(app: Flask, endpoint: str, method: str) -> tuple[str, tuple[str, ...]] | None:
    """How the route ``endpoint`` is guarded for ``method``; ``None``: refused.

    Static files of the app and of blueprints are public by themselves.
    """
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    if _static_files(app, endpoint, view):
        return PUBLIC
    return access_of(view, method)


@dataclass(frozen=True)
class RouteProblem:
    """A route the app refuses to serve, and why (for the log and the plugins page)."""

    endpoint: str
    rule: str
    reason: str

    def __str__(self) -> str:
        return f"{self.rule} ({self.endpoint}): {self.reason}"


ROUTE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def route_problems(app: Flask) -> list[RouteProblem]:
    """Every route of ``app`` that lacks an access declaration or requires an
    undeclared permission: deny by default.

    Catches views with neither :func:`require` nor :func:`public`, ``@require``
    written above the route decorator (the route then calls the unguarded
    function), class-based views with an undeclared handler, and permissions no
    plugin declares.
    """
    declared = set(registry(app).permissions)
    problems = []
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        methods = [m for m in ROUTE_METHODS if m in (rule.methods or ())]
        for method in methods:
            access = route_access(app, endpoint, method)
            if access is None:
                problems.append(RouteProblem(endpoint, rule.rule, _undeclared(view, method)))
                break
            unknown = [name for name in access[1] if name not in declared]
            if unknown:
                reason = "requires undeclared permissions: " + ", ".join(unknown)
                problems.append(RouteProblem(endpoint, rule.rule, reason))
                break
    return problems


def _undeclared(view: Callable[..., Any], method: str) -> str:
    if getattr(view, "balai_guarded_copy", False):
        return (
            "@require(...) is written above the route decorator, so the route calls the "
            "unguarded function: put @require right under the route decorator"
        )
    if getattr(view, "view_class", None) is not None:
        return f"the {method} handler declares no access: decorate it with @require(...) or @public"
    return "the view declares no access: put @require(...) or @public right under the route"


def refuse_undeclared() -> None:
    """Second line of deny-by-default, per request: a view reached without an access
    declaration (say, a route added after start-up) answers 403 and is logged."""
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: 404 or 405 on its own
        return
    if route_access(current_app, endpoint, request.method) is None:
        current_app.logger.error(
            "refused %s %s: the view %s declares no access (require or public)",
            request.method,
            request.path,
            endpoint,
        )
        abort(403)
