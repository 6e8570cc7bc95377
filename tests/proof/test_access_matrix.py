"""Who may do what: every guarded route, as every role, against ``access_matrix.csv``.

Actions are the routes guarded by :func:`balai.permissions.require` (a permission,
or only a login) in the core and every installed plugin, with each method they
accept. Roles are a visitor, a citizen, a department officer, the three duties an
officer can hold at a puskesmas (registration desk, clinician, viewer), a delegated
user manager (an officer whose role the region granted ``balai.manage_users``), a
citizen who also holds one of the region's custom roles (``custom-role``: the
calendar, the dashboard and publishing announcements) and a region admin. In a
region with every plugin on and its demo data loaded, each role
calls each action over HTTP with a real id of the same region and the answer is
sorted into an outcome:

``allow``   2xx, a redirect that is not to the login page, or a refusal of the
            input (400, 409, 422): the request got past the guard;
``deny``    401, 403 or a redirect to the login page;
``hidden``  404: the object is not shown to this user at all.

Some actions are also tried as **cases** with a real body, written ``path#case``:
granting or withdrawing each permission for each role on ``/admin/peran``, creating
a custom role with each permission, giving each role to a new account, giving the
custom role to an account, and giving oneself a puskesmas duty. A case is
``allow`` only if the change was written, and ``deny``/``hidden`` only if nothing
was; anything else is recorded as it is (``not written (400)``, ``deny but
written``) and shows in the diff.

The observed matrix must equal the file, cell by cell, and no request may end in
a server error. The file is written by ``write_access_matrix.py``; a change of it
is reviewed in its diff like any other change of who may do what.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from filling import enable_all, fill
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import or_, select, update

from balai.auth.models import ApiToken, Department, Invitation, LoginSession, User
from balai.calendar import Holiday
from balai.db import Base, db
from balai.demo import DEPARTMENTS
from balai.permissions import registry as permission_registry
from balai.permissions import route_access
from balai.tenancy import (
    CustomRole,
    RoleGrant,
    RoleMember,
    TenantInfo,
    bump_state,
    enable_plugin,
    registry,
)
from balai_pengaduan.clients import create_client
from balai_pengaduan.models import Area, AreaRoute, Category, Complaint
from balai_puskesmas.models import Export, Facility, Staff, Visit

MATRIX = Path(__file__).with_name("access_matrix.csv")
WRITE = "BALAI_WRITE_ACCESS_MATRIX"
COLUMNS = ("path", "method", "guard", "role", "outcome")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: Logged-in roles in the order they act: the most powerful last, so that what an
#: allowed action changes cannot hide a refusal from the roles before it.
DUTIES = ("registration", "clinician", "viewer")
#: The delegated user manager: an officer while the region grants officers DELEGATED.
DELEGATE = "user-manager"
DELEGATED = "balai.manage_users"
#: A citizen who also holds the region's custom role :data:`CUSTOM_SLUG`.
CUSTOM = "custom-role"
CUSTOM_SLUG = "penerbit"
CUSTOM_PERMISSIONS = (
    "balai.manage_calendar",
    "balai.view_dashboard",
    "pengumuman.publish_announcement",
)
ROLES = (
    "anonymous",
    "warga",
    "opd",
    *(f"puskesmas-{d}" for d in DUTIES),
    DELEGATE,
    CUSTOM,
    "admin",
)
#: The roles whose permissions the roles page edits.
EDITABLE_ROLES = ("warga", "opd")
#: Values for the routes' text arguments (a plugin that is on, with settings).
TEXT_ARGUMENTS = {"name": "pengumuman", "project": "balai-kebun-warga", "version": "0.1.0"}
#: The department whose officer plays ``opd``, and the one of health officers.
OFFICER_DEPARTMENT = "DPUPR"
HEALTH_DEPARTMENT = "DINKES"
#: When the scene's invitation expires: far enough for any instant the tests run at.
INVITATION_EXPIRES = datetime(2099, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Action:
    path: str
    method: str
    guard: str
    case: str = ""  # a named body tried on the route (see the module's docstring)

    @property
    def login_only(self) -> bool:
        return self.guard == "login"

    @property
    def label(self) -> str:
        """The path as the matrix file names it: ``path#case`` for a case."""
        return f"{self.path}#{self.case}" if self.case else self.path


@dataclass
class Region:
    """The filled region the matrix is taken in, and who acts in it."""

    app: Flask
    tenant: TenantInfo
    department_id: int
    facility_id: int
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    staff_ids: set[int] = field(default_factory=set)
    custom_role_id: int = 0
    member_ids: set[int] = field(default_factory=set)

    @property
    def role_user_ids(self) -> set[int]:
        return {u.id for u in self.users.values()}


# -- actions ---------------------------------------------------------------------


def guarded_actions(app: Flask) -> Iterator[Action]:
    """Every (path, method) whose view is ``require``-d, and the cases, sorted."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & set(METHODS)):
            access = route_access(app, rule.endpoint, method)
            if access is None or access[0] != "require":
                continue
            found.append(Action(rule.rule, method, " ".join(access[1]) or "login"))
    found += cases(app, found)
    yield from sorted(found, key=lambda a: (a.label, a.method))


ROLES_PAGE = ("/admin/peran", "POST")
NEW_ROLE = ("/admin/peran/baru", "POST")
EDIT_ACCOUNT = ("/admin/pengguna/<int:user_id>", "POST")
NEW_ACCOUNT = ("/admin/pengguna/baru", "POST")
DUTY_PAGE = ("/puskesmas/kelola/<int:facility_id>/petugas", "POST")


def cases(app: Flask, actions: list[Action]) -> list[Action]:
    """The cases tried with a body: every cell of the roles page, a custom role with
    each permission, every role given to a new account, the custom role given to an
    account, and a duty given to oneself."""
    guards = {(a.path, a.method): a.guard for a in actions}
    names = sorted(permission_registry(app).permissions)
    found = [
        Action(*ROLES_PAGE, guards[ROLES_PAGE], f"grant {role}:{name}")
        for name in names
        for role in EDITABLE_ROLES
    ]
    found += [Action(*NEW_ROLE, guards[NEW_ROLE], f"custom {name}") for name in names]
    given = ("warga", "opd", "admin")
    found += [Action(*NEW_ACCOUNT, guards[NEW_ACCOUNT], f"role {role}") for role in given]
    found.append(Action(*EDIT_ACCOUNT, guards[EDIT_ACCOUNT], "custom role"))
    found.append(Action(*DUTY_PAGE, guards[DUTY_PAGE], "duty for oneself"))
    return found


def _model_of(argument: str) -> type:
    """The table an ``<int:noun_id>`` argument names: the one ending in ``_noun``."""
    noun = "_" + argument.removesuffix("_id")
    models = [m.class_ for m in Base.registry.mappers if m.class_.__tablename__.endswith(noun)]
    if len(models) > 1:  # the plugin's own `registry_evaluation`, say
        models = [m for m in models if "_" not in m.__tablename__.removesuffix(noun)]
    assert len(models) == 1, f"no single table for <{argument}>: {models}"
    return models[0]


def object_id(region: Region, action: Action, role: str, argument: str) -> int:
    """A real row of the region for ``argument``, chosen as the test's scene needs.

    Rows at the scene's puskesmas and of the scene's department first; rows that
    belong to a person are the acting user's own for a login-only action, and never
    one of the acting users' otherwise (so an admin cannot lock the others out).
    """
    model = _model_of(argument)
    columns = model.__table__.columns
    query = select(model.id).order_by(model.id)
    if model is Facility:
        query = query.where(model.id == region.facility_id)
    if "facility_id" in columns:
        query = query.where(model.facility_id == region.facility_id)
    if model is Complaint:
        query = query.where(model.department_id == region.department_id)
    owner = model.id if model is User else getattr(model, "user_id", None)
    if owner is not None and role in region.users:
        if action.login_only:
            query = query.where(owner == region.users[role].id)
        else:
            query = query.where(or_(owner.is_(None), owner.not_in(region.role_user_ids)))
    with db.tenant_session(region.tenant.id) as session:
        found = session.scalar(query.limit(1))
    assert found is not None, f"no {model.__tablename__} row for {action.path} as {role}"
    return found


def url_for_action(region: Region, action: Action, role: str) -> str:
    """The action's path with real ids of the region and the text arguments' values."""

    def value(found: re.Match) -> str:
        converter, name = found.groups()
        if converter == "int:":
            return str(object_id(region, action, role, name))
        assert name in TEXT_ARGUMENTS, f"no value for <{name}> of {action.path}"
        return TEXT_ARGUMENTS[name]

    return re.sub(r"<(\w+:)?(\w+)>", value, action.path)


# -- outcomes --------------------------------------------------------------------


def outcome(response) -> str:
    status = response.status_code
    location = response.headers.get("Location", "")
    if status in (401, 403) or (status in (301, 302, 303) and "/masuk" in location):
        return "deny"
    if status == 404:
        return "hidden"
    if status < 400 or status in (400, 409, 422):
        return "allow"
    return f"status {status}"


def case_outcome(response, written: bool) -> str:
    """A case's outcome: by its answer, and whether the change it asks for was written."""
    seen = outcome(response)
    if written:
        return "allow" if seen == "allow" else f"{seen} but written"
    if seen in ("deny", "hidden"):
        return seen
    return f"not written ({response.status_code})"


def observe(region: Region, actions: list[Action], roles=ROLES) -> tuple[dict, list[str]]:
    """The outcome of every (action, role); and the requests that ended in a 5xx."""
    observed, errors = {}, []
    for action in actions:
        for role in roles:
            if role == DELEGATE:
                delegate(region)
            url = url_for_action(region, action, role)
            client = region.clients[role]
            cookie = client.get_cookie("balai_session", domain=client.host)
            body, written = case_body(region, action, role) if action.case else ({}, None)
            response = client.open(url, method=action.method, data=body)
            if response.status_code >= 500:
                errors.append(f"{role}: {action.method} {url} -> {response.status_code}")
            seen = outcome(response) if written is None else case_outcome(response, written())
            observed[(action.label, action.method, role)] = seen
            if action.method != "GET" or role == DELEGATE:
                restore(region)
                if cookie is not None:  # e.g. opening a kiosk logs the officer out
                    client.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    return observed, errors


def delegate(region: Region) -> None:
    """Grant officers user management in the region, for the delegate's request."""
    with db.tenant_session(region.tenant.id) as session:
        session.add(RoleGrant(role="opd", permission=DELEGATED, granted=True))
        bump_state(session)


def restore(region: Region) -> None:
    """Undo what an allowed write could do to the scene: plugins, grants, accounts,
    duties, and the roles' login sessions."""
    app, tenant = region.app, region.tenant
    current = registry(app).by_id(tenant.id)
    for name in sorted(set(region.tenant.plugins) - set(current.plugins)):
        enable_plugin(app, registry(app).by_id(tenant.id), name)
    with db.all_tenants() as session:
        grants = session.scalars(select(RoleGrant).where(RoleGrant.tenant_id == tenant.id)).all()
        added_members = session.scalars(
            select(RoleMember).where(
                RoleMember.tenant_id == tenant.id, RoleMember.id.not_in(region.member_ids)
            )
        ).all()
        for member in added_members:
            session.delete(member)
        session.flush()
        custom_roles = session.scalars(
            select(CustomRole).where(CustomRole.tenant_id == tenant.id)
        ).all()
        for role in custom_roles:
            if role.id != region.custom_role_id:
                session.delete(role)
            elif sorted(role.permissions) != sorted(CUSTOM_PERMISSIONS):
                role.permissions = list(CUSTOM_PERMISSIONS)
        session.flush()
        locked = session.scalars(
            select(User).where(User.id.in_(region.role_user_ids), User.active.is_(False))
        ).all()
        duties = session.scalars(
            select(Staff).where(
                Staff.user_id.in_(region.role_user_ids), Staff.id.not_in(region.staff_ids)
            )
        ).all()
        for row in [*grants, *duties]:
            session.delete(row)
        for user in locked:
            user.active = True
        session.execute(
            update(Invitation)
            .where(Invitation.tenant_id == tenant.id)
            .values(withdrawn_at=None, expires_at=INVITATION_EXPIRES)
        )
        session.flush()
        current_version = (
            select(User.credential_version).where(User.id == LoginSession.user_id).scalar_subquery()
        )
        session.execute(
            update(LoginSession)
            .where(LoginSession.user_id.in_(region.role_user_ids))
            .values(revoked_at=None, credential_version=current_version)
        )
        if grants or added_members or len(custom_roles) != 1:
            bump_state(session)


# -- cases ---------------------------------------------------------------------------

_accounts = iter(range(1, 1_000_000))


def case_body(region: Region, action: Action, role: str):
    """The form a case posts, and a function telling whether its change was written."""
    kind, _, what = action.case.partition(" ")
    if kind == "grant":
        return _grant_body(region, *what.split(":"))
    if kind == "custom" and what != "role":
        slug = f"case{next(_accounts)}"
        body = {"slug": slug, "name": "Case", "permission": what}

        def created() -> bool:
            with db.tenant_session(region.tenant.id) as session:
                found = session.scalar(select(CustomRole).where(CustomRole.slug == slug))
                return found is not None and what in found.permissions

        return body, created
    if action.case == "custom role":
        return _custom_role_body(region, role)
    if kind == "role":
        email = f"case{next(_accounts)}@example.test"
        department = OFFICER_DEPARTMENT if what == "opd" else ""
        body = {"email": email, "name": "Case", "role": what, "department": department}
        body["password"] = "kata-sandi-kasus-123"

        def created() -> bool:  # new accounts are invitations until accepted
            with db.tenant_session(region.tenant.id) as session:
                found = session.scalar(select(Invitation.role).where(Invitation.email == email))
            return found == what

        return body, created
    if action.case == "duty for oneself" and role in region.users:
        user_id = region.users[role].id

        def duty() -> str | None:
            with db.tenant_session(region.tenant.id) as session:
                return session.scalar(
                    select(Staff.duty).where(
                        Staff.user_id == user_id, Staff.facility_id == region.facility_id
                    )
                )

        wanted = "viewer" if duty() == "registration" else "registration"  # always a change
        body = {"email": region.users[role].email, "duty": wanted}
        return body, lambda: duty() == wanted

    return {"email": "nobody@example.test", "duty": "registration"}, lambda: False


def _custom_role_body(region: Region, role: str):
    """The account's form as it is, with the scene's custom role ticked in addition."""
    target = object_id(region, Action(*EDIT_ACCOUNT, "balai.manage_users"), role, "user_id")
    with db.tenant_session(region.tenant.id) as session:
        user = session.get(User, target)
        department = user.department.code if user.department else ""
        body = {"name": user.name, "role": user.role, "department": department}
        held = [r.slug for r in user.custom_roles]
    body["custom_role"] = sorted({*held, CUSTOM_SLUG})

    def given() -> bool:
        with db.tenant_session(region.tenant.id) as session:
            found = session.scalar(
                select(RoleMember.id).where(
                    RoleMember.user_id == target, RoleMember.role_id == region.custom_role_id
                )
            )
        return found is not None

    return body, given


def _held(region: Region) -> dict[tuple[str, str], bool]:
    """Which editable role holds which permission in the region now."""
    permissions = permission_registry(region.app).permissions
    with db.tenant_session(region.tenant.id) as session:
        grants = {(g.role, g.permission): g.granted for g in session.scalars(select(RoleGrant))}
    return {
        (role, name): grants.get((role, name), role in permission.roles)
        for name, permission in permissions.items()
        for role in EDITABLE_ROLES
    }


def _grant_body(region: Region, role: str, name: str):
    """Every box of the roles page as it is (explicitly), with one cell turned over."""
    held = _held(region)
    wanted = {**held, (role, name): not held[(role, name)]}
    body = {f"{r}:{n}": "1" if on else "0" for (r, n), on in wanted.items()}
    return body, lambda: _held(region)[(role, name)] == wanted[(role, name)]


# -- the matrix file ---------------------------------------------------------------


def read_matrix(path: Path = MATRIX) -> dict[tuple[str, str, str], str]:
    with path.open(encoding="utf-8", newline="") as rows:
        return {(r["path"], r["method"], r["role"]): r["outcome"] for r in csv.DictReader(rows)}


def write_matrix(observed: dict, actions: list[Action], path: Path = MATRIX) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for action in actions:
            for role in ROLES:
                cell = observed[(action.label, action.method, role)]
                writer.writerow((action.label, action.method, action.guard, role, cell))


def differences(expected: dict, observed: dict) -> list[str]:
    lines = []
    for path, method, role in sorted(set(expected) | set(observed)):
        want = expected.get((path, method, role), "-")
        got = observed.get((path, method, role), "-")
        if want != got:
            lines.append(f"{method} {path} as {role}: expected {want}, got {got}")
    return lines


# -- the scene -----------------------------------------------------------------------


def _client(app: Flask, tenant: TenantInfo) -> FlaskClient:
    client = app.test_client()
    client.host = tenant.domains[0]
    return client


@pytest.fixture
def region(app, tenant, login) -> Region:
    with db.tenant_session(tenant.id) as session:
        session.add_all(Department(code=c, name=n) for c, n in DEPARTMENTS.items())
        session.add_all(Holiday(day=date(2030, 1, d), name="Cuti bersama") for d in (2, 3, 4))
    tenant = enable_all(app, tenant)
    fill(app, tenant)
    with db.tenant_session(tenant.id) as session:
        create_client(session, "Aplikasi mitra")
        area = session.scalars(select(Area).order_by(Area.id)).first()
        categories = session.scalars(select(Category).order_by(Category.id).limit(2))
        session.add_all(
            AreaRoute(area_id=area.id, category_id=c.id, department_id=c.department_id)
            for c in categories
        )
    with db.tenant_session(tenant.id) as session:
        department_id = session.scalar(
            select(Department.id).where(Department.code == OFFICER_DEPARTMENT)
        )
        facility_id = session.scalar(select(Facility.id).order_by(Facility.id).limit(1))
        visit_id = session.scalar(
            select(Visit.id).where(Visit.facility_id == facility_id).order_by(Visit.id).limit(1)
        )
        session.add(Export(visit_id=visit_id, status="failed"))
        session.add(  # an invitation waiting for an answer, to send again or withdraw
            Invitation(
                email="diundang@example.test",
                name="Diundang",
                role="warga",
                token_hash="0" * 64,
                invited_by="admin@example.test",
                expires_at=INVITATION_EXPIRES,
            )
        )
    scene = Region(app, tenant, department_id, facility_id)
    scene.clients["anonymous"] = _client(app, tenant)
    for role in ROLES[1:]:
        client = scene.clients[role] = _client(app, tenant)
        if role.startswith("puskesmas-"):
            scene.users[role] = login(client, "opd", tenant=tenant, department=HEALTH_DEPARTMENT)
        elif role in ("opd", DELEGATE):
            scene.users[role] = login(client, "opd", tenant=tenant, department=OFFICER_DEPARTMENT)
        elif role == CUSTOM:
            scene.users[role] = login(client, "warga", tenant=tenant)
        else:
            scene.users[role] = login(client, role, tenant=tenant)
    with db.tenant_session(tenant.id) as session:
        custom = CustomRole(slug=CUSTOM_SLUG, name="Penerbit", permissions=list(CUSTOM_PERMISSIONS))
        session.add(custom)
        session.flush()
        member = RoleMember(user_id=scene.users[CUSTOM].id, role_id=custom.id)
        session.add(member)
        session.flush()
        scene.custom_role_id, scene.member_ids = custom.id, {member.id}
        bump_state(session)
    with db.tenant_session(tenant.id) as session:
        for role, user in scene.users.items():
            if role.startswith("puskesmas-"):
                duty = role.removeprefix("puskesmas-")
                staff = Staff(user_id=user.id, facility_id=facility_id, duty=duty)
                session.add(staff)
                session.flush()
                scene.staff_ids.add(staff.id)
            session.add(
                ApiToken(
                    user_id=user.id,
                    tenant_id=tenant.id,
                    name=f"token of {role}",
                    token_hash=f"{user.id:064d}",
                    prefix="balai_test",
                )
            )
    return scene


# -- the test --------------------------------------------------------------------------


def test_every_role_gets_what_the_matrix_says(region, figures, monkeypatch):
    actions = list(guarded_actions(region.app))
    observed, errors = observe(region, actions)
    figures.record("access matrix", "cells checked", len(observed))
    figures.record("access matrix", "server errors", len(errors))
    case_cells = {k: v for k, v in observed.items() if "#" in k[0]}
    figures.record("access matrix", "privilege cases", len(case_cells))
    written = sorted(f"{k}: {v}" for k, v in case_cells.items() if v.endswith("but written"))
    figures.record("access matrix", "refused but written", len(written))
    assert errors == [], "\n".join(errors)
    assert written == [], "\n".join(written)
    if os.environ.get(WRITE):
        write_matrix(observed, actions)
        pytest.skip(f"wrote {len(observed)} cells to {MATRIX.name}: review the diff")
    mismatches = differences(read_matrix(), observed)
    figures.record("access matrix", "mismatches", len(mismatches))
    assert mismatches == [], f"{len(mismatches)} cells differ:\n" + "\n".join(mismatches)

    # The comparison notices a delegated user manager who may grant anything again.
    import balai.admin.roles
    import balai.permissions

    with monkeypatch.context() as undone:
        undone.setattr(balai.admin.roles, "grant_refusal", lambda actor, role, name: None)
        grants = [a for a in actions if a.case.startswith("grant ")]
        self_granted, _ = observe(region, grants, roles=(DELEGATE,))
    assert differences(
        {k: v for k, v in read_matrix().items() if k in self_granted}, self_granted
    ), "a user manager granting themselves every permission went unnoticed"

    # The comparison notices a guard that lets everyone in.
    monkeypatch.setattr(
        balai.permissions,
        "permissions_of",
        lambda user: frozenset(balai.permissions.registry().permissions),
    )
    admin_pages = [a for a in actions if a.path.startswith("/admin/") and a.method == "GET"]
    unguarded, _ = observe(region, admin_pages, roles=("warga",))
    assert differences({k: v for k, v in read_matrix().items() if k in unguarded}, unguarded), (
        "a citizen let into the admin pages went unnoticed"
    )
