"""Delegated user management: nobody gives what they do not hold.

A region admin may grant ``balai.manage_users`` to a role. Whoever holds it then
manages users, but grants only permissions they hold themselves, never changes their
own role's permissions, never gives ``admin_only`` permissions (user, role, plugin,
appearance management, audit trails, API keys, personal data), gives a role only
when they could give every permission it carries, and places officers only in their
own department. Refusals say why and write nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from balai.auth.accounts import create_user
from balai.auth.models import Department, Invitation, User
from balai.db import db
from balai.permissions import registry
from balai.tenancy import RoleGrant, TenantInfo, bump_state
from balai.testing import PASSWORD

pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

Login = Callable[..., User]
MANAGE_USERS = "balai.manage_users"
BOX = re.compile(r'<input type="checkbox" name="((?:warga|opd):[^"]+)" value="1" ([^>]*)>')


def boxes(client: FlaskClient) -> dict[str, str]:
    """Each checkbox of the roles page and its attributes (``checked``, ``disabled``)."""
    page = client.get("/admin/peran").text
    return {name: attributes for name, attributes in BOX.findall(page)}


def as_shown(client: FlaskClient) -> dict[str, str]:
    """The form a browser would post back unchanged (disabled boxes are not sent)."""
    return {
        name: "1"
        for name, attributes in boxes(client).items()
        if "checked" in attributes and "disabled" not in attributes
    }


def grants(tenant: TenantInfo) -> set[tuple[str, str, bool]]:
    with db.tenant_session(tenant.id) as session:
        return {(g.role, g.permission, g.granted) for g in session.scalars(select(RoleGrant))}


def users(tenant: TenantInfo) -> int:
    """Accounts and invitations of the region: what giving a role to someone adds."""
    with db.tenant_session(tenant.id) as session:
        accounts = session.scalar(select(func.count(User.id))) or 0
        return accounts + (session.scalar(select(func.count(Invitation.id))) or 0)


def add_department(tenant: TenantInfo, code: str) -> None:
    with db.tenant_session(tenant.id) as session:
        session.add(Department(code=code, name=f"Dinas {code}"))


@pytest.fixture
def manager(client: FlaskClient, login: Login, tenant: TenantInfo) -> User:
    """An officer of DPUPR whose role the region granted user management."""
    add_department(tenant, "DPUPR")
    add_department(tenant, "DINKES")
    return login(client, role="opd", permissions=(MANAGE_USERS,), department="DPUPR")


def test_admin_only_permissions_are_declared(app: Flask) -> None:
    declared = registry(app).permissions
    admin_only = {name for name, permission in declared.items() if permission.admin_only}
    assert {
        "balai.manage_users",
        "balai.manage_plugins",
        "balai.manage_appearance",
        "pengaduan.manage_categories",  # Open311 keys
        "pengaduan.view_complaint",  # reporters' names and telephone numbers
        "puskesmas.manage_facility",  # duties that open patients' records
        "puskesmas.register_patient",  # NIK
        "puskesmas.read_record",
        "puskesmas.view_audit",
    } <= admin_only
    assert not {"balai.view_dashboard", "pengumuman.publish_announcement"} & admin_only


# -- the roles page ------------------------------------------------------------------


def test_the_roles_page_shows_what_a_user_manager_cannot_change(
    client: FlaskClient, manager: User, enable_plugin
) -> None:
    enable_plugin("puskesmas")
    page = client.get("/admin/peran").text
    shown = boxes(client)
    assert "disabled" not in shown["warga:balai.view_dashboard"]  # held, not admin-only
    for locked in (
        "opd:balai.view_dashboard",  # their own role
        "opd:balai.manage_users",
        "warga:balai.manage_plugins",  # admin-only
        "warga:balai.manage_calendar",  # not held
        "warga:puskesmas.register_patient",
    ):
        assert "disabled" in shown[locked], locked
        assert 'aria-describedby="locked-' in shown[locked]
    assert "checked" in shown["opd:balai.manage_users"]
    for reason in (
        "You cannot change the permissions of your own role.",
        "Only a region admin can give this permission.",
        "You can only give permissions that you hold yourself.",
    ):
        assert reason in page


def row_heading(page: str, permission: str) -> str:
    """The row heading of ``permission`` on the roles page."""
    code = f'<code class="muted">{permission}</code>'
    (heading,) = [h for h in page.split('<th scope="row">')[1:] if code in h.split("</th>")[0]]
    return heading.split("</th>")[0]


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_the_roles_page_marks_and_explains_admin_only_permissions(
    client: FlaskClient, login: Login, tenant: TenantInfo, enable_plugin, role: str
) -> None:
    enable_plugin("puskesmas")
    if role == "admin":
        login(client, role="admin")
    else:
        add_department(tenant, "DPUPR")
        login(client, role="opd", permissions=(MANAGE_USERS,), department="DPUPR")
    page = client.get("/admin/peran").text
    declared = registry(client.application).permissions
    shown = [name for name in declared if f'<code class="muted">{name}</code>' in page]
    assert {"balai.manage_users", "puskesmas.read_record", "balai.manage_calendar"} <= set(shown)
    for name in shown:
        badge = "region admin only" in row_heading(page, name)
        assert badge == declared[name].admin_only, name
    assert 'id="admin-only-explained"' in page
    assert "Only a region admin can give them to a role or take them away" in page


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="id")
def test_the_admin_only_badge_speaks_indonesian(
    client: FlaskClient, login: Login, tenant: TenantInfo
) -> None:
    login(client, role="admin")
    page = client.get("/admin/peran").text
    assert "hanya admin daerah" in row_heading(page, "balai.manage_users")
    assert "hanya admin daerah" not in row_heading(page, "balai.view_dashboard")
    assert "Hanya admin daerah yang dapat memberikannya" in page


def test_a_user_manager_cannot_grant_themselves_everything(
    app: Flask, client: FlaskClient, manager: User, tenant: TenantInfo, enable_plugin
) -> None:
    enable_plugin("pengaduan")
    enable_plugin("puskesmas")
    before = grants(tenant)
    everything = {name: "1" for name in boxes(client)}  # every box ticked, disabled or not
    response = client.post("/admin/peran", data=everything)
    assert response.status_code == 403
    assert "You cannot change the permissions of your own role." in response.text
    assert "Nothing was saved." in response.text
    assert grants(tenant) == before
    for page in ("/admin/plugin", "/admin/tampilan", "/puskesmas/kelola/audit", "/admin/sms"):
        assert client.get(page).status_code == 403, page


def test_a_forged_change_of_a_locked_box_writes_nothing(
    client: FlaskClient, manager: User, tenant: TenantInfo
) -> None:
    before = grants(tenant)
    form = {**as_shown(client), "warga:balai.view_dashboard": "1"}  # allowed on its own
    response = client.post("/admin/peran", data={**form, "warga:balai.manage_plugins": "1"})
    assert response.status_code == 403
    assert "balai.manage_plugins: Only a region admin can give this permission." in response.text
    response = client.post("/admin/peran", data={**form, "opd:balai.manage_users": "false"})
    assert response.status_code == 403
    assert grants(tenant) == before


def test_a_user_manager_grants_what_they_hold_to_another_role(
    app: Flask, client: FlaskClient, manager: User, tenant: TenantInfo, login: Login
) -> None:
    citizen = app.test_client()
    citizen.host = tenant.domains[0]  # type: ignore[attr-defined]
    login(citizen, role="warga")
    assert citizen.get("/dasbor").status_code == 403
    form = {**as_shown(client), "warga:balai.view_dashboard": "1"}
    assert client.post("/admin/peran", data=form).status_code == 302
    assert ("warga", "balai.view_dashboard", True) in grants(tenant)
    assert citizen.get("/dasbor").status_code == 200
    # and the boxes it left alone stay as they were: its own role's grant is kept
    assert ("opd", MANAGE_USERS, True) in grants(tenant)


def test_an_admin_still_changes_every_box(
    client: FlaskClient, login: Login, tenant: TenantInfo
) -> None:
    login(client, role="admin")
    assert "disabled" not in "".join(boxes(client).values())
    form = {**as_shown(client), "opd:balai.manage_users": "1", "warga:balai.manage_plugins": "1"}
    assert client.post("/admin/peran", data=form).status_code == 302
    assert {("opd", MANAGE_USERS, True), ("warga", "balai.manage_plugins", True)} <= grants(tenant)


# -- the users page ------------------------------------------------------------------


def new_account(role: str, department: str = "") -> dict[str, str]:
    return {
        "email": f"{role}-{department or 'none'}@example.test",
        "name": "Baru",
        "role": role,
        "department": department,
    }


def test_a_user_manager_gives_only_roles_they_could_give(
    client: FlaskClient, manager: User, tenant: TenantInfo
) -> None:
    form_page = client.get("/admin/pengguna/baru").text
    assert 'value="warga"' in form_page
    assert 'value="opd"' not in form_page and 'value="admin"' not in form_page
    before = users(tenant)
    for role in ("opd", "admin"):
        response = client.post("/admin/pengguna/baru", data=new_account(role, "DPUPR"))
        assert response.status_code == 403, role
        assert "Only a region admin" in response.text
    assert users(tenant) == before
    assert client.post("/admin/pengguna/baru", data=new_account("warga")).status_code == 302
    assert users(tenant) == before + 1


def test_a_user_manager_cannot_manage_officers_or_themselves(
    client: FlaskClient, manager: User, tenant: TenantInfo
) -> None:
    with db.all_tenants() as session:
        officer = create_user(
            session,
            tenant_id=tenant.id,
            email="petugas@example.test",
            name="Petugas",
            role="opd",
            password=PASSWORD,
            department="DPUPR",
        )
    for account in (officer.id, manager.id):
        assert client.get(f"/admin/pengguna/{account}").status_code == 403
        form = {"name": "X", "role": "opd", "department": "DINKES"}
        assert client.post(f"/admin/pengguna/{account}", data=form).status_code == 403
        assert client.post(f"/admin/pengguna/{account}/nonaktifkan").status_code == 403
    with db.tenant_session(tenant.id) as session:
        rows = session.execute(select(User.name, User.active).where(User.role == "opd")).all()
    assert all(active for _, active in rows) and "X" not in {name for name, _ in rows}


def test_a_refused_account_page_says_why(
    client: FlaskClient, manager: User, tenant: TenantInfo
) -> None:
    with db.all_tenants() as session:
        officer = create_user(
            session,
            tenant_id=tenant.id,
            email="petugas@example.test",
            name="Petugas",
            role="opd",
            password=PASSWORD,
            department="DPUPR",
        )
    why = (
        "Only a region admin can give the role Department officer: it carries permissions "
        "you cannot give (balai.manage_users)."
    )
    for response in (
        client.get(f"/admin/pengguna/{officer.id}"),
        client.post(f"/admin/pengguna/{officer.id}", data={"name": "X", "role": "opd"}),
        client.post(f"/admin/pengguna/{officer.id}/nonaktifkan"),
        client.post(f"/admin/pengguna/{officer.id}/aktifkan"),
    ):
        assert response.status_code == 403
        assert why in response.text
        assert 'href="/admin/pengguna"' in response.text  # the way back
        assert "Your account does not have the permission this page needs" not in response.text
    own = client.get(f"/admin/pengguna/{manager.id}")
    assert own.status_code == 403
    assert "You cannot manage your own account here." in own.text


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="id")
def test_a_refusal_speaks_indonesian(
    client: FlaskClient, manager: User, tenant: TenantInfo
) -> None:
    with db.all_tenants() as session:
        officer = create_user(
            session,
            tenant_id=tenant.id,
            email="petugas@example.test",
            name="Petugas",
            role="opd",
            password=PASSWORD,
            department="DPUPR",
        )
    response = client.post(f"/admin/pengguna/{officer.id}/nonaktifkan")
    assert response.status_code == 403
    assert "Hanya admin daerah yang dapat memberikan peran" in response.text
    assert "Kembali ke daftar pengguna" in response.text


def test_officers_are_placed_only_in_the_managers_own_department(
    client: FlaskClient, login: Login, tenant: TenantInfo
) -> None:
    # A region where officers carry nothing only an admin gives, and whose citizens
    # manage users and hold everything officers hold: they may give the officer role.
    add_department(tenant, "DPUPR")
    add_department(tenant, "DINKES")
    declared = registry(client.application).permissions
    with db.tenant_session(tenant.id) as session:
        for name, permission in declared.items():
            if "opd" in permission.roles and permission.admin_only:
                session.add(RoleGrant(role="opd", permission=name, granted=False))
            elif "opd" in permission.roles:
                session.add(RoleGrant(role="warga", permission=name, granted=True))
        bump_state(session)
    login(client, role="warga", permissions=(MANAGE_USERS,))
    before = users(tenant)
    response = client.post("/admin/pengguna/baru", data=new_account("opd", "DINKES"))
    assert response.status_code == 403
    assert "only place officers in your own department" in response.text
    assert users(tenant) == before
    assert "DINKES" not in client.get("/admin/pengguna/baru").text
