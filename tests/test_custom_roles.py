"""Roles a region defines: created from declared permissions, given to accounts,
their union held, and every menu and widget following them.

A custom role is a slug, a name, a description and a set of the permissions plugins
declare; a user holds their built-in role and any number of custom roles. Who may
put what in a role, and give it to whom, is the rule of the roles page: a non-admin
gives only what they could give themselves, never ``admin_only``, never to
themselves. Refusals say why and write nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from balai.auth.accounts import create_user
from balai.auth.models import Department, User
from balai.db import db
from balai.demo import add_demo_roles
from balai.tenancy import CustomRole, RoleMember, TenantInfo
from balai.testing import PASSWORD

pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

Login = Callable[..., User]
DASHBOARD = "balai.view_dashboard"
CALENDAR = "balai.manage_calendar"


# -- helpers ---------------------------------------------------------------------


def browser(app: Flask, tenant: TenantInfo) -> FlaskClient:
    client = app.test_client()
    client.host = tenant.domains[0]  # type: ignore[attr-defined]
    return client


def roles(tenant: TenantInfo) -> dict[str, tuple[str, str, list[str]]]:
    with db.tenant_session(tenant.id) as session:
        return {
            r.slug: (r.name, r.description, sorted(r.permissions))
            for r in session.scalars(select(CustomRole))
        }


def role_id(tenant: TenantInfo, slug: str) -> int:
    with db.tenant_session(tenant.id) as session:
        found = session.scalar(select(CustomRole.id).where(CustomRole.slug == slug))
        assert found is not None
        return found


def members(tenant: TenantInfo) -> set[tuple[str, str]]:
    with db.tenant_session(tenant.id) as session:
        rows = session.execute(
            select(User.email, CustomRole.slug)
            .join(RoleMember, RoleMember.user_id == User.id)
            .join(CustomRole, CustomRole.id == RoleMember.role_id)
        )
        return {(email, slug) for email, slug in rows}


def add_role(
    tenant: TenantInfo, slug: str, permissions: tuple[str, ...], holders: tuple[int, ...] = ()
) -> int:
    """A custom role written directly (the snapshot is refreshed by the next request)."""
    from balai.tenancy import bump_state

    with db.tenant_session(tenant.id) as session:
        role = CustomRole(slug=slug, name=slug.title(), permissions=list(permissions))
        session.add(role)
        session.flush()
        session.add_all(RoleMember(user_id=u, role_id=role.id) for u in holders)
        bump_state(session)
        return role.id


def permissions(client: FlaskClient) -> set[str]:
    response = client.get("/api/v1/me", headers={"Accept": "application/json"})
    assert response.status_code == 200
    return set(response.json["permissions"])


def new_role_form(slug: str = "loket", *names: str, **fields: str) -> dict[str, object]:
    return {"slug": slug, "name": slug.title(), "description": "", "permission": list(names)} | (
        fields
    )


@pytest.fixture
def admin(client: FlaskClient, login: Login) -> User:
    return login(client, role="admin", email="admin@kota-a.test")


# -- creating, editing, deleting -------------------------------------------------------


def test_admin_creates_edits_and_deletes_a_custom_role(
    client: FlaskClient, admin: User, tenant: TenantInfo, caplog: pytest.LogCaptureFixture
) -> None:
    page = client.get("/admin/peran").text
    assert "Built-in roles" in page and "This region has no roles of its own yet." in page
    assert client.get("/admin/peran/baru").status_code == 200
    form = new_role_form("Loket", DASHBOARD, name="Loket", description="Petugas pendaftaran")
    with caplog.at_level(logging.INFO):
        response = client.post("/admin/peran/baru", data=form)
    assert response.status_code == 302
    assert roles(tenant) == {"loket": ("Loket", "Petugas pendaftaran", [DASHBOARD])}
    assert "role.created" in caplog.text and "loket" in caplog.text
    page = client.get("/admin/peran").text
    assert "Loket" in page and "Petugas pendaftaran" in page
    number = role_id(tenant, "loket")
    edit = client.get(f"/admin/peran/{number}").text
    assert f'value="{DASHBOARD}" checked' in edit and "it does not change" in edit
    form = {"name": "Loket pendaftaran", "description": "", "permission": [CALENDAR]}
    with caplog.at_level(logging.INFO):
        assert client.post(f"/admin/peran/{number}", data=form).status_code == 302
    assert roles(tenant) == {"loket": ("Loket pendaftaran", "", [CALENDAR])}
    assert "role.changed" in caplog.text and "removed=['balai.view_dashboard']" in caplog.text
    with caplog.at_level(logging.INFO):
        assert client.post(f"/admin/peran/{number}/hapus").status_code == 302
    assert roles(tenant) == {}
    assert "role.deleted" in caplog.text
    assert client.get(f"/admin/peran/{number}").status_code == 404


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (new_role_form("loket", DASHBOARD), "slug", "already exists"),
        (new_role_form("opd", DASHBOARD), "slug", "built-in role"),
        (new_role_form("admin"), "slug", "built-in role"),
        (new_role_form("Lo ket!"), "slug", "lowercase letters"),
        (new_role_form("kasir", DASHBOARD, "no.such_permission"), "permission", "Unknown"),
        (new_role_form("kasir", name=""), "name", "required"),
    ],
)
def test_a_bad_custom_role_is_refused_and_nothing_written(
    client: FlaskClient, admin: User, tenant: TenantInfo, form: dict, field: str, message: str
) -> None:
    add_role(tenant, "loket", (CALENDAR,))
    response = client.post("/admin/peran/baru", data=form)
    assert response.status_code == 400
    assert message in response.text
    assert f'id="{field}-error"' in response.text
    assert roles(tenant) == {"loket": ("Loket", "", [CALENDAR])}


def test_an_unknown_permission_is_refused_on_edit(
    client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    number = add_role(tenant, "loket", (CALENDAR,))
    form = {"name": "Loket", "permission": [CALENDAR, "balai.make_coffee"]}
    response = client.post(f"/admin/peran/{number}", data=form)
    assert response.status_code == 400 and "balai.make_coffee" in response.text
    assert roles(tenant)["loket"][2] == [CALENDAR]


def test_a_role_still_held_is_not_deleted(
    client: FlaskClient, admin: User, tenant: TenantInfo, login: Login, app: Flask
) -> None:
    holder = login(browser(app, tenant), role="warga")
    number = add_role(tenant, "loket", (DASHBOARD,), holders=(holder.id,))
    response = client.post(f"/admin/peran/{number}/hapus")
    assert response.status_code == 409
    assert "1 accounts still hold the role Loket" in response.text
    assert "/admin/pengguna?role=loket" in response.text
    assert "loket" in roles(tenant)
    # the users page lists who holds it; taken away there, the role can go
    listed = client.get("/admin/pengguna?role=loket").text
    assert holder.email in listed and "1 user found." in listed
    assert (
        client.post(f"/admin/pengguna/{holder.id}", data={"name": "X", "role": "warga"}).status_code
        == 302
    )
    assert members(tenant) == set()
    assert client.post(f"/admin/peran/{number}/hapus").status_code == 302
    assert roles(tenant) == {}


# -- holding ---------------------------------------------------------------------------


def test_a_user_with_two_roles_holds_the_union(
    app: Flask, tenant: TenantInfo, login: Login
) -> None:
    citizen = browser(app, tenant)
    user = login(citizen, role="warga")
    before = permissions(citizen)
    assert DASHBOARD not in before and CALENDAR not in before
    add_role(tenant, "pemantau", (DASHBOARD,), holders=(user.id,))
    add_role(tenant, "kalender", (CALENDAR, "no.longer_declared"), holders=(user.id,))
    held = permissions(citizen)
    assert held == before | {DASHBOARD, CALENDAR}  # an undeclared name counts for nothing
    assert citizen.get("/dasbor").status_code == 200
    assert citizen.get("/admin/libur").status_code == 200


def test_giving_and_taking_roles_on_the_users_page(
    app: Flask,
    client: FlaskClient,
    admin: User,
    tenant: TenantInfo,
    login: Login,
    caplog: pytest.LogCaptureFixture,
) -> None:
    citizen = browser(app, tenant)
    user = login(citizen, role="warga", email="siti@kota-a.test")
    add_role(tenant, "pemantau", (DASHBOARD,))
    add_role(tenant, "kalender", (CALENDAR,))
    page = client.get(f"/admin/pengguna/{user.id}").text
    assert 'name="custom_role" value="pemantau"' in page
    form = {"name": "Siti", "role": "warga", "custom_role": ["pemantau", "kalender"]}
    with caplog.at_level(logging.INFO):
        assert client.post(f"/admin/pengguna/{user.id}", data=form).status_code == 302
    assert members(tenant) == {("siti@kota-a.test", "pemantau"), ("siti@kota-a.test", "kalender")}
    assert "user.roles_changed" in caplog.text and "added=['kalender', 'pemantau']" in caplog.text
    assert citizen.get("/dasbor").status_code == 200
    assert "Pemantau" in client.get("/admin/pengguna").text
    form["custom_role"] = ["kalender"]
    assert client.post(f"/admin/pengguna/{user.id}", data=form).status_code == 302
    assert members(tenant) == {("siti@kota-a.test", "kalender")}
    assert citizen.get("/dasbor").status_code == 403


def test_a_role_of_another_region_cannot_be_given_or_opened(
    app: Flask,
    client: FlaskClient,
    admin: User,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    login: Login,
) -> None:
    theirs = add_role(other_tenant, "dokter", (DASHBOARD,))
    user = login(browser(app, tenant), role="warga")
    assert client.get(f"/admin/peran/{theirs}").status_code == 404
    assert client.post(f"/admin/peran/{theirs}/hapus").status_code == 404
    form = {"name": "X", "role": "warga", "custom_role": ["dokter"]}
    response = client.post(f"/admin/pengguna/{user.id}", data=form)
    assert response.status_code == 400 and "Unknown role: dokter." in response.text
    assert members(tenant) == set() and members(other_tenant) == set()
    assert "dokter" not in client.get("/admin/peran").text
    # the same slug is free in this region
    assert client.post("/admin/peran/baru", data=new_role_form("dokter")).status_code == 302


def test_a_role_of_another_region_gives_nothing_here(
    app: Flask, tenant: TenantInfo, other_tenant: TenantInfo, login: Login
) -> None:
    citizen = browser(app, tenant)
    user = login(citizen, role="warga")
    add_role(tenant, "pemantau", ())
    with db.all_tenants() as session:  # forged: a membership of a role of region B
        role = CustomRole(tenant_id=other_tenant.id, slug="pemantau", permissions=[DASHBOARD])
        role.name = "Pemantau"
        session.add(role)
        session.flush()
        session.add(RoleMember(tenant_id=tenant.id, user_id=user.id, role_id=role.id))
    assert DASHBOARD not in permissions(citizen)


# -- who may give what ---------------------------------------------------------------


@pytest.fixture
def manager(client: FlaskClient, login: Login) -> User:
    """An officer whose role the region granted user management (not an admin)."""
    return login(client, role="opd", permissions=("balai.manage_users", DASHBOARD))


def test_a_user_manager_cannot_put_admin_only_permissions_in_a_role(
    client: FlaskClient, manager: User, tenant: TenantInfo
) -> None:
    page = client.get("/admin/peran/baru").text
    assert re.search(r'value="balai.manage_plugins"\s+disabled', page)
    response = client.post("/admin/peran/baru", data=new_role_form("kuasa", "balai.manage_plugins"))
    assert response.status_code == 403
    assert "Only a region admin can give this permission." in response.text
    assert roles(tenant) == {}
    # what they hold and is not admin_only, they may
    assert (
        client.post("/admin/peran/baru", data=new_role_form("pemantau", DASHBOARD)).status_code
        == 302
    )
    assert roles(tenant) == {"pemantau": ("Pemantau", "", [DASHBOARD])}


def test_a_user_manager_cannot_touch_a_role_carrying_admin_only_permissions(
    client: FlaskClient, manager: User, tenant: TenantInfo, app: Flask, login: Login
) -> None:
    citizen = login(browser(app, tenant), role="warga")
    number = add_role(tenant, "kuasa", ("balai.manage_plugins",))
    assert client.get(f"/admin/peran/{number}").status_code == 403
    assert client.post(f"/admin/peran/{number}/hapus").status_code == 403
    form = {"name": "X", "role": "warga", "custom_role": ["kuasa"]}
    response = client.post(f"/admin/pengguna/{citizen.id}", data=form)
    assert response.status_code == 403 and "Only a region admin can give the role" in response.text
    assert members(tenant) == set() and "kuasa" in roles(tenant)


def write_unseen(tenant: TenantInfo, slug: str, permissions: tuple[str, ...]) -> int:
    """Create or change a role without bumping the state version: as when another
    worker has just written it and this one's snapshot does not know it yet."""
    with db.tenant_session(tenant.id) as session:
        role = session.scalar(select(CustomRole).where(CustomRole.slug == slug))
        if role is None:
            role = CustomRole(slug=slug, name=slug.title(), permissions=[])
            session.add(role)
        role.permissions = list(permissions)
        session.flush()
        return role.id


def test_a_role_the_snapshot_does_not_know_yet_is_judged_by_what_is_stored(
    client: FlaskClient, manager: User, tenant: TenantInfo, app: Flask, login: Login
) -> None:
    citizen = login(browser(app, tenant), role="warga")
    # A powerful role just created elsewhere: this worker's snapshot lacks it.
    number = write_unseen(tenant, "kuasa", ("balai.manage_plugins", DASHBOARD))
    form = {"name": "X", "role": "warga", "custom_role": ["kuasa"]}
    response = client.post(f"/admin/pengguna/{citizen.id}", data=form)
    assert response.status_code == 403 and "Only a region admin can give the role" in response.text
    assert client.get(f"/admin/peran/{number}").status_code == 403
    edit = {"name": "Kuasa", "description": "", "permission": [DASHBOARD]}
    assert client.post(f"/admin/peran/{number}", data=edit).status_code == 403
    assert client.post(f"/admin/peran/{number}/hapus").status_code == 403
    # A role the snapshot knows with less than an admin has just put in it.
    add_role(tenant, "pemantau", (DASHBOARD,))
    assert client.get("/admin/pengguna").status_code == 200  # the snapshot reloads
    changed = write_unseen(tenant, "pemantau", (DASHBOARD, "balai.manage_plugins"))
    assert client.get(f"/admin/peran/{changed}").status_code == 403
    assert client.post(f"/admin/peran/{changed}/hapus").status_code == 403
    form = {"name": "X", "role": "warga", "custom_role": ["pemantau"]}
    response = client.post(f"/admin/pengguna/{citizen.id}", data=form)
    assert response.status_code == 403 and "Only a region admin can give the role" in response.text
    assert members(tenant) == set()
    assert roles(tenant)["kuasa"][2] == sorted(["balai.manage_plugins", DASHBOARD])


def test_nobody_changes_their_own_roles(
    client: FlaskClient, manager: User, tenant: TenantInfo
) -> None:
    number = add_role(tenant, "pemantau", (DASHBOARD,), holders=(manager.id,))
    response = client.get(f"/admin/peran/{number}")
    assert response.status_code == 403 and "a role you hold yourself" in response.text
    add_role(tenant, "kalender", (CALENDAR,))
    form = {"name": "Me", "role": "opd", "custom_role": ["pemantau", "kalender"]}
    response = client.post(f"/admin/pengguna/{manager.id}", data=form)
    assert response.status_code == 403
    assert members(tenant) == {(manager.email, "pemantau")}


def test_not_even_an_admin_gives_themselves_a_role(
    client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    add_role(tenant, "kalender", (CALENDAR,))
    page = client.get(f"/admin/pengguna/{admin.id}").text
    assert re.search(r'value="kalender"\s+disabled', page)
    form = {"name": "Admin", "role": "admin", "custom_role": ["kalender"]}
    response = client.post(f"/admin/pengguna/{admin.id}", data=form)
    assert response.status_code == 403 and "You cannot change your own roles." in response.text
    assert members(tenant) == set()


# -- menus and widgets follow the roles ------------------------------------------------


def test_the_demos_roles_keep_each_officer_to_their_own_work(
    app: Flask, tenant: TenantInfo, enable_plugin, login: Login
) -> None:
    enable_plugin("pengaduan")
    enable_plugin("puskesmas")
    with db.tenant_session(tenant.id) as session:
        session.add_all(Department(code=code, name=code) for code in ("DLH", "DINKES"))
        session.flush()
        for email, department in (
            ("dlh@kota-a.test", "DLH"),
            ("loket.cibodasari@kota-a.test", "DINKES"),
            ("dokter.cibodasari@kota-a.test", "DINKES"),
        ):
            create_user(
                session,
                tenant_id=tenant.id,
                email=email,
                name=email,
                role="opd",
                password=PASSWORD,
                department=department,
            )
    add_demo_roles(app, tenant.slug)
    assert members(tenant) == {
        ("dlh@kota-a.test", "verifikator"),
        ("loket.cibodasari@kota-a.test", "loket"),
        ("dokter.cibodasari@kota-a.test", "dokter"),
    }
    pages = {}
    for email in (
        "dlh@kota-a.test",
        "loket.cibodasari@kota-a.test",
        "dokter.cibodasari@kota-a.test",
    ):
        client = browser(app, tenant)
        response = client.post("/masuk", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302
        pages[email] = (client.get("/dasbor").text, client, permissions(client))
    dlh, dlh_client, dlh_held = pages["dlh@kota-a.test"]
    assert "Complaint inbox" in dlh and "Complaints" in dlh
    assert "Puskesmas visits today" not in dlh and "Waiting at puskesmas clinics" not in dlh
    assert not {n for n in dlh_held if n.startswith("puskesmas.")}
    assert dlh_client.get("/pengaduan/petugas/").status_code in (200, 302)
    for email in ("loket.cibodasari@kota-a.test", "dokter.cibodasari@kota-a.test"):
        page, officer, held = pages[email]
        assert "Complaint inbox" not in page
        assert "Puskesmas visits today" in page
        assert not {n for n in held if n.startswith("pengaduan.")}
        assert officer.get("/pengaduan/petugas/").status_code == 403
    assert "puskesmas.record_visit" in pages["dokter.cibodasari@kota-a.test"][2]
    assert "puskesmas.register_patient" in pages["loket.cibodasari@kota-a.test"][2]


def test_the_roles_page_and_an_admins_refused_health_page_say_a_duty_is_needed(
    client: FlaskClient, admin: User, enable_plugin
) -> None:
    enable_plugin("puskesmas")
    page = client.get("/admin/peran").text
    assert "Also needs: a duty at a puskesmas" in page
    response = client.get("/puskesmas/pasien/")
    assert response.status_code == 403
    assert 'id="refusal"' in response.text
    assert "You have no duty at a puskesmas. Health records are specific" in response.text
    assert "Officers and duties" in response.text
    assert "/puskesmas/kelola/" in response.text
    assert "Ask a region admin" not in response.text
