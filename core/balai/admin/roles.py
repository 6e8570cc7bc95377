"""Roles page (*peran*): which permissions citizens and officers hold in this region.

Each permission comes with default roles from the plugin that declares it. A
region stores only its differences from those defaults (:class:`RoleGrant`
rows), so a plugin that later changes a default is followed unless the region
decided otherwise. Region admins always hold every permission.

Permissions declared ``admin_only`` carry a "region admin only" badge, explained
above the table: only a region admin grants or withdraws them.

Someone who manages users without being an admin sees the cells they may not change
disabled, each with its reason (:func:`balai.permissions.grant_refusal`); a post
that changes one anyway is refused as a whole and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from balai.admin import audit, bp
from balai.admin.forms import EDITABLE_ROLES, grant_key, grant_schema
from balai.db import db
from balai.forms import validate_form
from balai.permissions import Permission, grant_refusal, require, role_label
from balai.permissions import registry as permission_registry
from balai.plugins import plugins as plugin_manager
from balai.tenancy import RoleGrant, bump_state
from balai.tenancy import registry as tenant_registry


@dataclass(frozen=True)
class MatrixRow:
    """One permission on the roles page, which editable roles hold it now, whether
    only a region admin may give it, and why the current user may not change a cell
    (``None`` where they may)."""

    name: str
    label: str
    plugin: str
    held: dict[str, bool]
    locked: dict[str, str | None]
    admin_only: bool = False


def _permissions() -> list[Permission]:
    """Every registered permission, grouped by the plugin that declares it."""
    registry = permission_registry()
    shown = {"balai", *g.tenant.plugins}  # a switched-off service's permissions would only confuse
    return sorted(
        (p for p in registry.permissions.values() if registry.owner[p.name] in shown),
        key=lambda p: (registry.owner[p.name], p.name),
    )


def _plugin_title(name: str) -> str:
    if name == "balai":
        return _("Balai core")
    info = plugin_manager().get(name)
    return info.title if info else name


def _holds(role: str, permission: Permission) -> bool:
    """Whether ``role`` holds ``permission`` here: the region's grant, else the default."""
    return g.tenant.grants.get(role, {}).get(permission.name, role in permission.roles)


def _matrix() -> list[MatrixRow]:
    owner = permission_registry().owner
    return [
        MatrixRow(
            name=p.name,
            label=_(str(p.label)),
            plugin=_plugin_title(owner[p.name]),
            held={role: _holds(role, p) for role in EDITABLE_ROLES},
            locked={role: grant_refusal(current_user, role, p.name) for role in EDITABLE_ROLES},
            admin_only=p.admin_only,
        )
        for p in _permissions()
    ]


def _locked(permissions: list[Permission]) -> dict[str, bool]:
    """The cells the current user may not change, by checkbox name, with their state now."""
    return {
        grant_key(role, p.name): _holds(role, p)
        for p in permissions
        for role in EDITABLE_ROLES
        if grant_refusal(current_user, role, p.name) is not None
    }


def _reasons(rows: list[MatrixRow]) -> list[str]:
    """Each distinct reason a cell is locked, numbered on the page by its position."""
    found: list[str] = []
    for row in rows:
        for reason in row.locked.values():
            if reason is not None and reason not in found:
                found.append(reason)
    return found


@bp.route("/peran", methods=["GET", "POST"])
@require("balai.manage_users")
def roles() -> Any:
    """The permission-by-role matrix; saving stores only differences from the defaults."""
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        permissions = _permissions()
        schema = grant_schema((p.name for p in permissions), _locked(permissions))
        data, errors = validate_form(schema, request.form)
        status = 400
        if data is not None:
            wanted = _wanted(permissions, data)
            refused = _refused(permissions, wanted)
            if not refused:
                return _save(permissions, wanted)
            errors, status = {"_form": refused}, 403
            audit("roles.refused", refused=sorted(refused))
    rows = _matrix()
    page = render_template(
        "balai/admin/roles.html",
        rows=rows,
        roles=EDITABLE_ROLES,
        errors=errors,
        reasons=_reasons(rows),
        any_admin_only=any(row.admin_only for row in rows),
    )
    return page, status


def _wanted(permissions: list[Permission], data: dict[str, Any]) -> dict[tuple[str, str], bool]:
    """The ticked boxes as ``{(role, permission): held}``."""
    return {
        (role, p.name): data[f"{role}_{index}"]
        for index, p in enumerate(permissions)
        for role in EDITABLE_ROLES
    }


def _refused(permissions: list[Permission], wanted: dict[tuple[str, str], bool]) -> list[str]:
    """A message for every cell the post would change that the current user may not."""
    by_name = {p.name: p for p in permissions}
    messages = []
    for (role, name), held in wanted.items():
        if held == _holds(role, by_name[name]):
            continue
        reason = grant_refusal(current_user, role, name)
        if reason is not None:
            messages.append(
                _(
                    "%(role)s, %(permission)s: %(reason)s Nothing was saved.",
                    role=role_label(role),
                    permission=name,
                    reason=reason,
                )
            )
    return messages


def _save(permissions: list[Permission], wanted: dict[tuple[str, str], bool]) -> Response:
    """Write the matrix, tell every worker, and reload this one's snapshot."""
    cells = [(role, p) for p in permissions for role in EDITABLE_ROLES]
    before = {(role, p.name): _holds(role, p) for role, p in cells}
    defaults = {(role, p.name): role in p.roles for role, p in cells}
    # Only the cells this post changes: a cell left alone keeps what is stored, even
    # if another admin changed it a moment ago.
    changes = {key: held for key, held in wanted.items() if held != before[key]}
    changed = sorted(grant_key(*key) for key in changes)
    _write_grants(changes, defaults)
    bump_state(db.session)
    db.session.commit()
    tenant_registry().refresh(force=True)
    if changed:
        audit("roles.changed", changed=changed)
    flash(_("The roles have been saved."), "ok")
    return redirect(url_for("balai_admin.roles"))


def _write_grants(
    wanted: dict[tuple[str, str], bool], defaults: dict[tuple[str, str], bool]
) -> None:
    """Keep a :class:`RoleGrant` row exactly where the wish differs from the default."""
    existing = {
        (row.role, row.permission): row
        for row in db.session.scalars(
            select(RoleGrant).where(
                RoleGrant.tenant_id == g.tenant.id, RoleGrant.role.in_(EDITABLE_ROLES)
            )
        )
    }
    for key, held in wanted.items():
        row = existing.get(key)
        if held == defaults[key]:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(RoleGrant(role=key[0], permission=key[1], granted=held))
        else:
            row.granted = held
