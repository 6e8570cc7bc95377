"""Roles page (*peran*): which permissions citizens and officers hold in this region,
and the roles the region defines itself.

Built-in roles: every account has one (citizen, department officer, region admin).
Custom roles (*peran khusus*, e.g. Loket, Dokter, Verifikator) are the region's own:
a slug, a name, a description and a set of the permissions plugins declare. An
account holds its built-in role and any number of custom roles, and may do what any
of them allows. They are created, edited and deleted on ``/admin/peran/baru`` and
``/admin/peran/<id>``; a role someone still holds is not deleted (the page says who
to take it from first). Who may put what in a custom role is the rule of the
matrix (:func:`balai.permissions.grant_refusal`): a non-admin puts in only
permissions they could give, none ``admin_only``, and never changes a role they hold.

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

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from balai.admin import audit, bp, refused
from balai.admin.forms import (
    EDITABLE_ROLES,
    CustomRoleForm,
    NewCustomRoleForm,
    grant_key,
    grant_schema,
)
from balai.auth.models import User
from balai.db import db
from balai.forms import validate_form
from balai.permissions import (
    ROLES,
    Permission,
    grant_refusal,
    is_admin,
    require,
    role_label,
    role_refusal,
)
from balai.permissions import registry as permission_registry
from balai.plugins import plugins as plugin_manager
from balai.tenancy import CustomRole, RoleGrant, RoleMember, bump_state
from balai.tenancy import registry as tenant_registry

Errors = dict[str, list[str]]
#: What each built-in role is, for the list at the top of the roles page.
BUILT_IN = {
    "warga": _l(
        "Everyone who signs up on the region's site. Holds what the table below ticks for citizens."
    ),
    "opd": _l(
        "An officer of a department (OPD). Holds what the table below ticks for "
        "officers: keep there what every officer needs, and give the rest through "
        "custom roles."
    ),
    "admin": _l("Holds every permission, always, and gives the others theirs."),
}


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
    needs: str | None = None


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
            needs=_(str(p.needs)) if p.needs else None,
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
        any_needs=any(row.needs for row in rows),
        built_in=[(role, BUILT_IN[role], _holders(role)) for role in ROLES],
        custom=_custom_roles(),
    )
    return page, status


def _holders(role: str) -> int:
    """How many of the region's accounts have the built-in ``role``."""
    count = db.session.scalar(
        select(func.count(User.id)).where(User.tenant_id == g.tenant.id, User.role == role)
    )
    return count or 0


def _custom_roles() -> list[tuple[CustomRole, int]]:
    """The region's custom roles, by name, with how many accounts hold each."""
    members = (
        select(RoleMember.role_id, func.count(RoleMember.id).label("n"))
        .group_by(RoleMember.role_id)
        .subquery()
    )
    rows = db.session.execute(
        select(CustomRole, func.coalesce(members.c.n, 0))
        .outerjoin(members, members.c.role_id == CustomRole.id)
        .order_by(func.lower(CustomRole.name), CustomRole.id)
    ).all()
    return [(role, int(count)) for role, count in rows]


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


# -- custom roles --------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One permission on a custom role's form: held or not, and why it is locked."""

    name: str
    label: str
    plugin: str
    held: bool
    locked: str | None
    admin_only: bool
    needs: str | None


def _choices(slug: str, held: set[str]) -> list[Choice]:
    owner = permission_registry().owner
    return [
        Choice(
            name=p.name,
            label=_(str(p.label)),
            plugin=_plugin_title(owner[p.name]),
            held=p.name in held,
            locked=grant_refusal(current_user, slug, p.name),
            admin_only=p.admin_only,
            needs=_(str(p.needs)) if p.needs else None,
        )
        for p in _permissions()
    ]


def _role_or_404(role_id: int) -> CustomRole:
    role = db.session.scalar(
        select(CustomRole).where(CustomRole.id == role_id, CustomRole.tenant_id == g.tenant.id)
    )
    if role is None:
        abort(404)
    return role


def _manage_refusal(role: CustomRole) -> str | None:
    """Why the current user may not change or delete ``role`` at all, or ``None``."""
    if is_admin(current_user):
        return None
    # Both read from the database, not from this worker's snapshot, which may not
    # know yet a role created or changed a moment ago elsewhere.
    if role.id in {r.id for r in current_user.custom_roles}:
        return _("You cannot change a role you hold yourself.")
    return role_refusal(current_user, role.slug, role.permissions or ())


def _wanted_permissions(slug: str, held: set[str]) -> tuple[set[str] | None, Errors, int]:
    """The permissions the form asks for: ``(set, {}, 200)``, or ``(None, errors, status)``.

    Only declared permissions of services on here may be ticked (400 otherwise). A box
    the current user may not change is disabled on the page and not sent, so it keeps
    its state; ticking one anyway is refused (403). Permissions of services switched off
    since are not on the page and stay as they are.
    """
    shown = {p.name for p in _permissions()}
    posted = set(request.form.getlist("permission"))
    unknown = sorted(posted - shown)
    if unknown:
        message = _("Unknown permission: %(names)s.", names=", ".join(unknown))
        return None, {"permission": [message]}, 400
    wanted = set(held - shown)
    refused_messages = []
    for name in sorted(shown):
        reason = grant_refusal(current_user, slug, name)
        if reason is None:
            if name in posted:
                wanted.add(name)
            continue
        if name in posted and name not in held:
            refused_messages.append(
                _("%(permission)s: %(reason)s Nothing was saved.", permission=name, reason=reason)
            )
        if name in held:
            wanted.add(name)
    if refused_messages:
        return None, {"permission": refused_messages}, 403
    return wanted, {}, 200


def _role_page(
    template: str, errors: Errors, status: int, slug: str, held: set[str], **context: Any
) -> tuple[str, int]:
    choices = _choices(slug, held)
    page = render_template(
        template,
        errors=errors,
        choices=choices,
        any_locked=any(c.locked for c in choices),
        **context,
    )
    return page, status


def _saved(role: CustomRole, action: str, **details: Any) -> Response:
    bump_state(db.session)
    db.session.commit()
    tenant_registry().refresh(force=True)
    audit(action, role=role.slug, **details)
    return redirect(url_for("balai_admin.roles"))


@bp.route("/peran/baru", methods=["GET", "POST"])
@require("balai.manage_users")
def new_role() -> Any:
    """Create a custom role: a slug, a name, a description and its permissions."""
    errors: Errors = {}
    status = 200
    values = request.form.to_dict()
    held = set(request.form.getlist("permission")) if request.method == "POST" else set()
    if request.method == "POST":
        data, errors = validate_form(NewCustomRoleForm(), request.form)
        slug = data["slug"] if data else ""
        wanted, permission_errors, status = _wanted_permissions(slug, set())
        errors = {**errors, **permission_errors}
        status = status if permission_errors else 400
        if data is not None and wanted is not None:
            taken = db.session.scalar(select(CustomRole.id).where(CustomRole.slug == slug))
            if taken is None:
                role = CustomRole(
                    slug=slug,
                    name=data["name"],
                    description=data["description"],
                    permissions=sorted(wanted),
                )
                db.session.add(role)
                try:
                    db.session.flush()
                except IntegrityError:  # created by someone else a moment ago
                    db.session.rollback()
                else:
                    flash(_("The role %(name)s has been created.", name=role.name), "ok")
                    return _saved(role, "role.created", permissions=role.permissions)
            errors = {"slug": [_("A role with the slug %(slug)s already exists.", slug=slug)]}
    return _role_page(
        "balai/admin/role_edit.html",
        errors,
        status,
        values.get("slug", ""),
        held,
        role=None,
        values=values,
    )


@bp.route("/peran/<int:role_id>", methods=["GET", "POST"])
@require("balai.manage_users")
def edit_role(role_id: int) -> Any:
    """Change a custom role's name, description and permissions (never its slug)."""
    role = _role_or_404(role_id)
    reason = _manage_refusal(role)
    if reason is not None:
        return refused(reason, url_for("balai_admin.roles"), _("Back to roles"), role=role.slug)
    errors: Errors = {}
    status = 200
    held = set(role.permissions or ())
    values = {"name": role.name, "description": role.description}
    if request.method == "POST":
        values = request.form.to_dict()
        data, errors = validate_form(CustomRoleForm(), request.form)
        wanted, permission_errors, status = _wanted_permissions(role.slug, held)
        errors = {**errors, **permission_errors}
        status = status if permission_errors else 400
        if data is not None and wanted is not None:
            added, removed = sorted(wanted - held), sorted(held - wanted)
            role.name, role.description = data["name"], data["description"]
            role.permissions = sorted(wanted)
            flash(_("The role %(name)s has been saved.", name=role.name), "ok")
            return _saved(role, "role.changed", added=added, removed=removed)
        held = set(request.form.getlist("permission")) | {
            c.name for c in _choices(role.slug, held) if c.locked and c.held
        }
    return _role_page(
        "balai/admin/role_edit.html",
        errors,
        status,
        role.slug,
        held,
        role=role,
        values=values,
        holders=_members(role),
    )


def _members(role: CustomRole) -> int:
    count = db.session.scalar(
        select(func.count(RoleMember.id)).where(RoleMember.role_id == role.id)
    )
    return count or 0


@bp.route("/peran/<int:role_id>/hapus", methods=["POST"])
@require("balai.manage_users")
def delete_role(role_id: int) -> Any:
    """Delete a custom role nobody holds any more; a role still held is refused (409)."""
    role = _role_or_404(role_id)
    reason = _manage_refusal(role)
    if reason is not None:
        return refused(reason, url_for("balai_admin.roles"), _("Back to roles"), role=role.slug)
    holders = _members(role)
    if holders:
        audit("role.delete_refused", role=role.slug, holders=holders)
        errors = {
            "_form": [
                _(
                    "%(count)d accounts still hold the role %(name)s. Take it from them "
                    "first on the Users page; nothing was deleted.",
                    count=holders,
                    name=role.name,
                )
            ]
        }
        return _role_page(
            "balai/admin/role_edit.html",
            errors,
            409,
            role.slug,
            set(role.permissions or ()),
            role=role,
            values={"name": role.name, "description": role.description},
            holders=holders,
        )
    name = role.name
    db.session.delete(role)
    try:
        db.session.flush()
    except IntegrityError:  # given to someone a moment ago: the table refuses
        db.session.rollback()
        flash(_("Someone was just given this role; it was not deleted."), "error")
        return redirect(url_for("balai_admin.edit_role", role_id=role_id))
    flash(_("The role %(name)s has been deleted.", name=name), "ok")
    return _saved(role, "role.deleted")
