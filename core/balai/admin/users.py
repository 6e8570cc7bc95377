"""Users page (*pengguna*): list, search, invite, edit, disable and enable accounts.

New accounts are made by **invitation** (:mod:`balai.auth.invitations`): the admin
gives a name, an e-mail address or mobile number, a role and a department; the
invitee gets a link to choose their own password, so no password ever passes
through the admin. Unanswered invitations are listed under the users, where they
can be sent again (a new link) or withdrawn.

Only the region's own accounts appear here: platform operators (``tenant_id``
NULL) are never listed or editable, and another region's ids answer 404.

Someone who manages users without being an admin gives and manages only roles whose
every permission they could give themselves (:func:`balai.permissions.role_refusal`)
and places officers only in their own department; a refused change is a 403 naming
the field, and nothing is written. An account they may not manage at all answers a
403 page that says why (:func:`balai.admin.refused`).

An account's page also gives and takes the region's custom roles (checkboxes); the
same rule applies to each of them, nobody changes their own, a role of another
region is unknown here, and every change is audited (``user.roles_changed``).
"""

from __future__ import annotations

from math import ceil
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from balai.admin import audit, bp, refused
from balai.admin.forms import NewUserForm, UserForm
from balai.auth import invitations
from balai.auth.accounts import AccountError, parse_login, set_active
from balai.auth.models import Department, Invitation, User
from balai.db import db, utcnow
from balai.fields import int_arg
from balai.forms import validate_form
from balai.permissions import ROLES, is_admin, require, role_label, role_refusal
from balai.tenancy import CustomRole, RoleMember

PAGE_SIZE = 20
INVITATION_PAGE_SIZE = 20
Errors = dict[str, list[str]]
FORBIDDEN = 403  # the answer to a change the user may not make (not a typing error)


# -- queries ---------------------------------------------------------------------


def _own_users() -> ColumnElement[bool]:
    """The region's own accounts: stated explicitly, so operators never match."""
    return User.tenant_id == g.tenant.id


def _filters(query: str, role: str) -> list[ColumnElement[bool]]:
    """Conditions for the list: this region, a name/e-mail search and a role."""
    conditions = [_own_users()]
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                User.name.ilike(pattern, escape="\\"),
                User.email.ilike(pattern, escape="\\"),
                User.phone.ilike(pattern, escape="\\"),
            )
        )
    if role in ROLES:
        conditions.append(User.role == role)
    elif role:
        holders = select(RoleMember.user_id).join(CustomRole).where(CustomRole.slug == role)
        conditions.append(User.id.in_(holders))
    return conditions


def _region_roles() -> list[CustomRole]:
    """The region's custom roles, by name (read fresh, not from the snapshot)."""
    return list(
        db.session.scalars(
            select(CustomRole)
            .where(CustomRole.tenant_id == g.tenant.id)
            .order_by(func.lower(CustomRole.name), CustomRole.id)
        )
    )


def _user_or_404(user_id: int) -> User:
    user = db.session.scalar(select(User).where(User.id == user_id, _own_users()))
    if user is None:
        abort(404)
    return user


def _departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.name)))


def _department_id(code: str | None) -> int | None:
    """The id of this region's department ``code``; raises if there is none."""
    if not code:
        return None
    found = db.session.scalar(
        select(Department.id).where(Department.code == code, Department.tenant_id == g.tenant.id)
    )
    if found is None:
        raise AccountError(_("Unknown department %(code)s.", code=code), "department")
    return found


# -- rules -------------------------------------------------------------------------


def _is_admin() -> bool:
    return is_admin(current_user)


def _not_yours(user: User) -> tuple[str, int] | None:
    """The 403 page saying why the current user may not manage ``user``, or ``None``:
    only an admin manages accounts of a role the current user could not give."""
    reason = role_refusal(current_user, user.role)
    for custom in user.custom_roles:
        reason = reason or role_refusal(current_user, custom.slug, custom.permissions or ())
    if reason is None:
        return None
    if user.id == current_user.id:
        reason = _("You cannot manage your own account here. %(reason)s", reason=reason)
    return refused(reason, _back(), _("Back to users"), user=user.login)


def _manageable_roles() -> list[str]:
    return [role for role in ROLES if role_refusal(current_user, role) is None]


def _role_problem(role: str, user: User | None = None) -> str | None:
    """Why the current user may not give ``role`` (to ``user``), or ``None``."""
    if user is not None and user.id == current_user.id and role != user.role:
        return _("You cannot change your own role.")
    if user is not None and role == user.role:
        return None  # unchanged; whether the account may be managed at all is checked first
    return role_refusal(current_user, role)


def _department_problem(department_id: int | None, user: User | None = None) -> str | None:
    """Why the current user may not place ``user`` in ``department_id``, or ``None``.

    What a department opens (its complaints, its announcements) is given only by an
    admin or by someone of that department.
    """
    if _is_admin() or department_id is None:
        return None
    if user is not None and department_id == user.department_id:
        return None
    if user is not None and user.id == current_user.id:
        return _("You cannot change your own department.")
    if department_id != current_user.department_id:
        return _("You can only place officers in your own department.")
    return None


# -- list --------------------------------------------------------------------------


@bp.route("/pengguna")
@require("balai.manage_users")
def users() -> str:
    """The region's users, 20 a page, searchable by name or e-mail and by role."""
    query = request.args.get("q", "").strip()[:200]
    custom = _region_roles()
    role = request.args.get("role", "")
    role = role if role in ROLES or role in {c.slug for c in custom} else ""
    conditions = _filters(query, role)
    total = db.session.scalar(select(func.count(User.id)).where(*conditions)) or 0
    pages = max(1, ceil(total / PAGE_SIZE))
    page = min(max(int_arg(request.args, "page") or 1, 1), pages)
    rows = db.session.scalars(
        select(User)
        .options(selectinload(User.custom_roles))
        .where(*conditions)
        .order_by(func.lower(User.name), User.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    filters = {k: v for k, v in (("q", query), ("role", role)) if v}
    manageable = _manageable_roles()
    invited, invited_total, invited_page, invited_pages = _unanswered_invitations()
    return render_template(
        "balai/admin/users.html",
        invitations=invited,
        invitations_total=invited_total,
        invitations_page=invited_page,
        invitations_pages=invited_pages,
        now=utcnow(),
        users=rows,
        total=total,
        page=page,
        pages=pages,
        q=query,
        role=role,
        roles=ROLES,
        custom_roles=custom,
        manageable=manageable,
        manageable_labels=", ".join(role_label(r) for r in manageable) or _("(none)"),
        filters=filters,
    )


def _unanswered_invitations() -> tuple[list[Invitation], int, int, int]:
    """The region's invitations neither accepted nor withdrawn (expired ones too, to
    send again), newest first, a page at a time (``ipage``)."""
    unanswered = (
        Invitation.tenant_id == g.tenant.id,
        Invitation.accepted_at.is_(None),
        Invitation.withdrawn_at.is_(None),
    )
    total = db.session.scalar(select(func.count(Invitation.id)).where(*unanswered)) or 0
    pages = max(1, ceil(total / INVITATION_PAGE_SIZE))
    page = min(max(int_arg(request.args, "ipage") or 1, 1), pages)
    rows = db.session.scalars(
        select(Invitation)
        .where(*unanswered)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(INVITATION_PAGE_SIZE)
        .offset((page - 1) * INVITATION_PAGE_SIZE)
    ).all()
    return list(rows), total, page, pages


# -- invite ------------------------------------------------------------------------


@bp.route("/pengguna/baru", methods=["GET", "POST"])
@require("balai.manage_users")
def new_user() -> Any:
    """Invite someone to an account in this region: they choose their own password."""
    errors: Errors = {}
    status = 200
    if request.method == "POST":
        data, errors = validate_form(NewUserForm(), request.form)
        status = 400
        if data is not None:
            errors, status = _invite(data)
            if not errors:
                flash(
                    _(
                        "%(name)s has been invited: the link to set a password is on its way to"
                        " %(address)s.",
                        name=data["name"],
                        address=data["email"],
                    ),
                    "ok",
                )
                return redirect(url_for("balai_admin.users"))
    values = {k: v for k, v in request.form.items() if k != "password"}
    return _form_page("balai/admin/user_new.html", errors, status, values=values)


def _address(text: str) -> tuple[str | None, str | None]:
    """``(email, phone)`` from what the admin typed; raises on the field ``email``."""
    parsed = parse_login(text)
    if parsed is None:
        raise AccountError(
            _(
                "%(value)s is not a valid e-mail address or Indonesian mobile number.",
                value=text.strip(),
            ),
            "email",
        )
    kind, value = parsed
    return (value, None) if kind == "email" else (None, value)


def _invite(data: dict[str, Any]) -> tuple[Errors, int]:
    """Record the invitation and queue its link; on any refusal nothing is written."""
    problem = _role_problem(data["role"])
    if problem:
        return {"role": [problem]}, FORBIDDEN
    try:
        department_id = _department_id(data["department"])
    except AccountError as exc:
        return {"department": [str(exc)]}, 400
    problem = _department_problem(department_id)
    if problem:
        return {"department": [problem]}, FORBIDDEN
    try:
        email, phone = _address(data["email"])
        invitation = invitations.invite(
            db.session,
            email=email,
            phone=phone,
            name=data["name"],
            role=data["role"],
            department_id=department_id,
            invited_by=current_user.login,
        )
        db.session.commit()
    except AccountError as exc:
        db.session.rollback()
        field = "email" if exc.field in ("address", "email", "phone") else exc.field or "_form"
        return {field: [str(exc)]}, 400
    audit(
        "invitation.sent",
        invitation=invitation.id,
        to=invitation.address,
        role=invitation.role,
        department=data["department"],
    )
    return {}, 200


def _invitation_or_404(invitation_id: int) -> Invitation:
    found = db.session.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id,
            Invitation.tenant_id == g.tenant.id,
            Invitation.accepted_at.is_(None),
            Invitation.withdrawn_at.is_(None),
        )
    )
    if found is None:
        abort(404)
    return found


def _not_your_invitation(invitation: Invitation) -> tuple[str, int] | None:
    reason = role_refusal(current_user, invitation.role)
    if reason is None:
        return None
    return refused(reason, _back(), _("Back to users"), invitation=invitation.id)


@bp.route("/pengguna/undangan/<int:invitation_id>/kirim-ulang", methods=["POST"])
@require("balai.manage_users")
def resend_invitation(invitation_id: int) -> Response | tuple[str, int]:
    """Send a new link (the old one stops working) valid for ``INVITATION_DAYS``."""
    invitation = _invitation_or_404(invitation_id)
    refusal = _not_your_invitation(invitation)
    if refusal is not None:
        return refusal
    invitations.resend(db.session, invitation)
    db.session.commit()
    audit("invitation.resent", invitation=invitation.id, to=invitation.address)
    flash(
        _("A new invitation link has been sent to %(address)s.", address=invitation.address), "ok"
    )
    return redirect(_back())


@bp.route("/pengguna/undangan/<int:invitation_id>/tarik", methods=["POST"])
@require("balai.manage_users")
def withdraw_invitation(invitation_id: int) -> Response | tuple[str, int]:
    """Withdraw an invitation: its link stops working."""
    invitation = _invitation_or_404(invitation_id)
    refusal = _not_your_invitation(invitation)
    if refusal is not None:
        return refusal
    invitations.withdraw(invitation)
    db.session.commit()
    audit("invitation.withdrawn", invitation=invitation.id, to=invitation.address)
    flash(_("The invitation to %(address)s has been withdrawn.", address=invitation.address), "ok")
    return redirect(_back())


# -- edit --------------------------------------------------------------------------


@bp.route("/pengguna/<int:user_id>", methods=["GET", "POST"])
@require("balai.manage_users")
def edit_user(user_id: int) -> Any:
    """Change a user's name, role, department and custom roles."""
    user = _user_or_404(user_id)
    refusal = _not_yours(user)
    if refusal is not None:
        return refusal
    errors: Errors = {}
    status = 200
    if request.method == "POST":
        data, errors = validate_form(UserForm(), request.form)
        status = 400
        if data is not None:
            errors, status = _update(user, data)
            if not errors:
                flash(_("The account of %(name)s has been saved.", name=user.name), "ok")
                return redirect(url_for("balai_admin.users"))
    values = request.form.to_dict() if request.method == "POST" else _values_of(user)
    held = (
        set(request.form.getlist("custom_role"))
        if request.method == "POST"
        else {r.slug for r in user.custom_roles}
    )
    return _form_page(
        "balai/admin/user_edit.html",
        errors,
        status,
        user=user,
        values=values,
        custom_choices=_custom_choices(user, held),
    )


def _custom_choices(user: User, held: set[str]) -> list[tuple[CustomRole, bool, str | None]]:
    """Each custom role of the region: ticked or not, and why the box is locked."""
    current = {r.slug for r in user.custom_roles}
    return [
        (
            role,
            role.slug in held or (role.slug in current and _custom_problem(role, user) is not None),
            _custom_problem(role, user),
        )
        for role in _region_roles()
    ]


def _custom_problem(role: CustomRole, user: User) -> str | None:
    """Why the current user may not give ``role`` to ``user`` or take it away, or ``None``."""
    if user.id == current_user.id:
        return _("You cannot change your own roles.")
    # What the role carries as stored now, not as this worker's snapshot has it.
    return role_refusal(current_user, role.slug, role.permissions or ())


def _custom_change(user: User) -> tuple[tuple[list[CustomRole], list[CustomRole]], Errors, int]:
    """The custom roles the form gives and takes: ``((added, removed), {}, 200)``, or the
    errors. A role not of this region is unknown (400); a box the current user may not
    change is disabled on the page and not sent, so it keeps its state, and ticking it
    anyway is refused (403)."""
    regional = {role.slug: role for role in _region_roles()}
    posted = set(request.form.getlist("custom_role"))
    unknown = sorted(posted - set(regional))
    if unknown:
        message = _("Unknown role: %(roles)s.", roles=", ".join(unknown))
        return ([], []), {"custom_role": [message]}, 400
    current = {r.slug for r in user.custom_roles}
    added, removed, problems = [], [], []
    for slug, role in regional.items():
        problem = _custom_problem(role, user)
        if problem is not None:
            if slug in posted and slug not in current:
                problems.append(f"{role.name}: {problem}")
            continue
        if slug in posted and slug not in current:
            added.append(role)
        elif slug not in posted and slug in current:
            removed.append(role)
    if problems:
        return ([], []), {"custom_role": problems}, FORBIDDEN
    return (added, removed), {}, 200


def _values_of(user: User) -> dict[str, str]:
    code = user.department.code if user.department else ""
    return {"name": user.name, "role": user.role, "department": code}


def _update(user: User, data: dict[str, Any]) -> tuple[Errors, int]:
    """Apply the edit, or return errors and change nothing."""
    problem = _role_problem(data["role"], user)
    if problem:
        return {"role": [problem]}, FORBIDDEN
    (added, removed), errors, status = _custom_change(user)
    if errors:
        return errors, status
    try:
        department_id = _department_id(data["department"])
    except AccountError as exc:
        return {"department": [str(exc)]}, 400
    problem = _department_problem(department_id, user)
    if problem:
        return {"department": [problem]}, FORBIDDEN
    before = (user.name, user.role, user.department_id)
    user.name, user.role, user.department_id = data["name"], data["role"], department_id
    try:
        _give_and_take(user, added, removed)
        db.session.commit()
    except IntegrityError:  # another admin gave or deleted one of these roles a moment ago
        db.session.rollback()
        return {"custom_role": [_("The roles changed meanwhile; nothing was saved.")]}, 409
    if before != (user.name, user.role, user.department_id):
        audit("user.changed", user=user.login, role=user.role, department=data["department"])
    if added or removed:
        audit(
            "user.roles_changed",
            user=user.login,
            added=[r.slug for r in added],
            removed=[r.slug for r in removed],
        )
    return {}, 200


def _give_and_take(user: User, added: list[CustomRole], removed: list[CustomRole]) -> None:
    """Write the custom roles' changes, in the caller's transaction."""
    for role in added:
        db.session.add(RoleMember(user_id=user.id, role_id=role.id, created_by=current_user.email))
    if removed:
        gone = db.session.scalars(
            select(RoleMember).where(
                RoleMember.user_id == user.id, RoleMember.role_id.in_([r.id for r in removed])
            )
        )
        for member in gone:
            db.session.delete(member)
    if added or removed:
        db.session.flush()
        db.session.expire(user, ["custom_roles"])


# -- disable and enable ------------------------------------------------------------


@bp.route("/pengguna/<int:user_id>/nonaktifkan", methods=["POST"])
@require("balai.manage_users")
def disable_user(user_id: int) -> Response | tuple[str, int]:
    """Disable an account and end all its login sessions at once."""
    return _set_active(user_id, active=False)


@bp.route("/pengguna/<int:user_id>/aktifkan", methods=["POST"])
@require("balai.manage_users")
def enable_user(user_id: int) -> Response | tuple[str, int]:
    """Let a disabled account log in again."""
    return _set_active(user_id, active=True)


def _set_active(user_id: int, *, active: bool) -> Response | tuple[str, int]:
    user = _user_or_404(user_id)
    refusal = _not_yours(user)
    if refusal is not None:
        return refusal
    if user.id == current_user.id and not active:
        flash(_("You cannot disable your own account."), "error")
        return redirect(_back())
    set_active(db.session, user, active)
    db.session.commit()
    audit("user.enabled" if active else "user.disabled", user=user.login)
    message = (
        _("%(name)s can log in again.", name=user.name)
        if active
        else _(
            "%(name)s is disabled: logged out everywhere, API tokens revoked.",
            name=user.name,
        )
    )
    flash(message, "ok")
    return redirect(_back())


def _back() -> str:
    """Return to the list page the form was on (same filters and page)."""
    target = request.form.get("next", "")
    if target.startswith("/admin/pengguna") and "//" not in target:
        return target
    return url_for("balai_admin.users")


def _form_page(template: str, errors: Errors, status: int, **context: Any) -> tuple[str, int]:
    """Render a user form with the roles and departments this user may give."""
    roles = [(r, role_label(r)) for r in _manageable_roles()]
    user = context.get("user")
    if user is not None and user.role not in dict(roles):
        roles.insert(0, (user.role, role_label(user.role)))  # their own, which stays
    departments = [("", _("(none)"))] + [
        (d.code, f"{d.code} · {d.name}")
        for d in _departments()
        if _department_problem(d.id, user) is None
    ]
    page = render_template(
        template, errors=errors, role_options=roles, department_options=departments, **context
    )
    return page, status
