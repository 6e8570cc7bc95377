"""The region admin pages over HTTP: users, departments, roles, appearance, plugins."""

from __future__ import annotations

import io
import logging
import os
import re
import zlib
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from balai import storage
from balai.auth.accounts import create_user
from balai.auth.models import Department, Invitation, LoginSession, User
from balai.db import db
from balai.tenancy import RoleGrant, Tenant, TenantInfo
from balai.tenancy import registry as tenant_registry
from balai.testing import PASSWORD, TenantClient

# Messages are translatable; these tests read them in English.
pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

Login = Callable[..., User]

ADMIN_PAGES = [
    "/admin/",
    "/admin/plugin",
    "/admin/pengguna",
    "/admin/pengguna/baru",
    "/admin/opd",
    "/admin/peran",
    "/admin/tampilan",
]


# -- helpers ---------------------------------------------------------------------


def new_client(app: Flask, tenant: TenantInfo) -> FlaskClient:
    """Another browser on ``tenant``'s host."""
    app.test_client_class = TenantClient
    client = app.test_client()
    client.host = tenant.domains[0]  # type: ignore[attr-defined]
    return client


def add_user(tenant: TenantInfo | None, email: str, role: str = "warga", **kwargs: str) -> int:
    with db.all_tenants() as session:
        user = create_user(
            session,
            tenant_id=tenant.id if tenant else None,
            email=email,
            name=kwargs.pop("name", email.split("@")[0].title()),
            role=role,
            password=PASSWORD,
            **kwargs,
        )
        return user.id


def add_department(tenant: TenantInfo, code: str, name: str) -> int:
    with db.tenant_session(tenant.id) as session:
        department = Department(code=code, name=name)
        session.add(department)
        session.flush()
        return department.id


def get_user(user_id: int) -> User:
    with db.all_tenants() as session:
        user = session.get(User, user_id)
        assert user is not None
        session.expunge(user)
        return user


def count(model: type, tenant: TenantInfo) -> int:
    with db.tenant_session(tenant.id) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def tenant_row(tenant: TenantInfo) -> Tenant:
    with db.all_tenants() as session:
        row = session.get(Tenant, tenant.id)
        assert row is not None
        session.expunge(row)
        return row


def png(size: tuple[int, int] = (32, 16), noise: bool = False) -> bytes:
    image = Image.new("RGB", size, "#0b5d7a")
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def appearance_form(**overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "name": "Kota A",
        "theme": "default",
        "primary": "#0b5d7a",
        "accent": "#c8102e",
        "background": "#ffffff",
    }
    form.update(overrides)
    return form


def upload(data: bytes, filename: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), filename


CHECKBOX = re.compile(r'name="((?:warga|opd):[^"]+)" value="1" (checked)?')


def ticked(client: FlaskClient) -> dict[str, str]:
    """The role matrix as the page shows it now, ready to post back."""
    page = client.get("/admin/peran").get_data(as_text=True)
    return {name: "1" for name, checked in CHECKBOX.findall(page) if checked}


@pytest.fixture
def admin(client: FlaskClient, login: Login) -> User:
    return login(client, role="admin", email="admin@kota-a.test")


# -- access ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_opens_every_page(client: FlaskClient, admin: User, path: str) -> None:
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="id")
def test_pages_render_in_the_default_language(client: FlaskClient, admin: User) -> None:
    for path in ADMIN_PAGES:
        assert client.get(path, follow_redirects=True).status_code == 200, path


@pytest.mark.parametrize("role", ["warga", "opd"])
@pytest.mark.parametrize("path", [p for p in ADMIN_PAGES if p != "/admin/"])
def test_officers_and_citizens_are_refused(
    client: FlaskClient, login: Login, role: str, path: str
) -> None:
    login(client, role=role)
    assert client.get(path).status_code == 403


def test_admin_index_refuses_who_has_no_admin_page(client: FlaskClient, login: Login) -> None:
    login(client, role="warga")
    assert client.get("/admin/").status_code == 403


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_login(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/masuk")


def test_refused_posts_write_nothing(client: FlaskClient, login: Login, tenant: TenantInfo) -> None:
    login(client, role="opd")
    form = {"email": "x@example.test", "name": "X", "role": "warga", "password": PASSWORD}
    assert client.post("/admin/pengguna/baru", data=form).status_code == 403
    assert client.post("/admin/opd", data={"code": "X", "name": "X"}).status_code == 403
    assert client.post("/admin/tampilan", data=appearance_form(name="Hacked")).status_code == 403
    assert tenant_row(tenant).name == "Kota A"
    assert count(Department, tenant) == 0


def test_forms_carry_a_csrf_token(client: FlaskClient, admin: User) -> None:
    for path in ("/admin/pengguna/baru", "/admin/opd", "/admin/peran", "/admin/tampilan"):
        assert 'name="csrf_token"' in client.get(path).get_data(as_text=True), path


# -- users -----------------------------------------------------------------------


def test_user_list_pages_and_searches(client: FlaskClient, admin: User, tenant: TenantInfo) -> None:
    for n in range(25):
        add_user(tenant, f"warga{n:02d}@example.test", name=f"Warga {n:02d}")
    add_user(tenant, "siti@example.test", role="opd", name="Siti Rahma")
    first = client.get("/admin/pengguna").get_data(as_text=True)
    assert first.count(">Edit</a>") == 20
    assert "27 users found." in first and "Page 1 of 2" in first
    second = client.get("/admin/pengguna?page=2").get_data(as_text=True)
    assert second.count(">Edit</a>") == 7
    assert client.get("/admin/pengguna?page=99").get_data(as_text=True).count(">Edit</a>") == 7
    found = client.get("/admin/pengguna?q=rahma").get_data(as_text=True)
    assert "siti@example.test" in found and "warga01@" not in found
    officers = client.get("/admin/pengguna?role=opd").get_data(as_text=True)
    assert "siti@example.test" in officers and "warga01@" not in officers
    assert "No user matches" in client.get("/admin/pengguna?q=nobody").get_data(as_text=True)


def test_search_treats_wildcards_literally(
    client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    add_user(tenant, "budi@example.test", name="Budi")
    assert "budi@" not in client.get("/admin/pengguna?q=%25").get_data(as_text=True)


def test_operators_are_never_listed_or_editable(
    client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    operator = add_user(None, "operator@example.test", role="operator")
    assert "operator@example.test" not in client.get("/admin/pengguna").get_data(as_text=True)
    assert client.get(f"/admin/pengguna/{operator}").status_code == 404
    assert client.post(f"/admin/pengguna/{operator}/nonaktifkan").status_code == 404
    assert get_user(operator).active


def invitation_link(app: Flask, recipient: str) -> str:
    """The invitation link in the newest message queued to ``recipient``."""
    from balai.channels import OutboxMessage, open_message

    with db.all_tenants() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        bodies = [m.body for m in map(open_message, rows) if m.recipient == recipient]
    assert bodies, f"nothing was sent to {recipient}"
    found = re.search(r"http://[^/\s]+(/undangan/[A-Za-z0-9_-]+)", bodies[-1])
    assert found, bodies[-1]
    return found.group(1)


def test_admin_invites_an_officer_who_sets_their_own_password(
    app: Flask, client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    add_department(tenant, "DINKES", "Dinas Kesehatan")
    form = {
        "email": "Dokter@Example.test",
        "name": "Dokter Ani",
        "role": "opd",
        "department": "DINKES",
    }
    assert 'name="password"' not in client.get("/admin/pengguna/baru").text
    response = client.post("/admin/pengguna/baru", data=form)
    assert response.status_code == 302
    page = client.get("/admin/pengguna").get_data(as_text=True)
    assert "dokter@example.test" in page and "Dinas Kesehatan" in page
    officer = new_client(client.application, tenant)
    link = invitation_link(app, "dokter@example.test")
    accepted = officer.post(
        link, data={"password": "rahasia-baru-789", "confirm": "rahasia-baru-789"}
    )
    assert accepted.status_code == 302
    assert officer.get("/api/v1/me").json["role"] == "opd"
    officer.post("/keluar")
    login = officer.post(
        "/masuk", data={"email": "dokter@example.test", "password": "rahasia-baru-789"}
    )
    assert login.status_code == 302


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "taken@example.test"}, "email", "already exists"),
        ({"email": "not-an-address"}, "email", "not a valid e-mail address"),
        ({"email": "0812345"}, "email", "not a valid e-mail address"),
        ({"email": "0812 3456 7890", "role": "opd", "department": "DINKES"}, "email", "by e-mail"),
        ({"role": "operator"}, "role", "Choose one of the listed roles"),
        ({"name": "  "}, "name", "This field is required"),
        ({"department": "NOPE", "role": "opd"}, "department", "Unknown department"),
        ({"department": "", "role": "opd"}, "department", "Choose the officer&#39;s department"),
    ],
)
def test_bad_new_user_is_refused_and_nothing_written(
    client: FlaskClient,
    admin: User,
    tenant: TenantInfo,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    add_department(tenant, "DINKES", "Dinas Kesehatan")
    add_user(tenant, "taken@example.test")
    before = count(User, tenant)
    form = {"email": "new@example.test", "name": "New", "role": "warga"}
    form.update(changes)
    response = client.post("/admin/pengguna/baru", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    assert count(User, tenant) == before
    assert count(Invitation, tenant) == 0


def test_admin_edits_name_role_and_department(
    client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    add_department(tenant, "DISDIK", "Dinas Pendidikan")
    user_id = add_user(tenant, "guru@example.test")
    assert "Guru" in client.get(f"/admin/pengguna/{user_id}").get_data(as_text=True)
    form = {"name": "Ibu Guru", "role": "opd", "department": "DISDIK"}
    assert client.post(f"/admin/pengguna/{user_id}", data=form).status_code == 302
    user = get_user(user_id)
    assert (user.name, user.role, user.department_id is not None) == ("Ibu Guru", "opd", True)
    form = {"name": "Ibu Guru", "role": "warga"}
    assert client.post(f"/admin/pengguna/{user_id}", data=form).status_code == 302
    user = get_user(user_id)
    assert (user.role, user.department_id) == ("warga", None)


def test_admin_cannot_demote_or_disable_themselves(
    client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    response = client.post(f"/admin/pengguna/{admin.id}", data={"name": "Me", "role": "warga"})
    assert response.status_code == 403
    assert "cannot change your own role" in response.get_data(as_text=True)
    response = client.post(f"/admin/pengguna/{admin.id}/nonaktifkan", follow_redirects=True)
    assert "cannot disable your own account" in response.get_data(as_text=True)
    me = get_user(admin.id)
    assert (me.role, me.active, me.name) == ("admin", True, "admin")


def test_disabling_a_user_logs_them_out(
    app: Flask, client: FlaskClient, admin: User, tenant: TenantInfo, login: Login
) -> None:
    browser = new_client(app, tenant)
    citizen = login(browser, role="warga", email="warga@example.test")
    assert browser.get("/akun").status_code == 200
    response = client.post(f"/admin/pengguna/{citizen.id}/nonaktifkan")
    assert response.status_code == 302
    assert not get_user(citizen.id).active
    with db.all_tenants() as session:
        live = select(LoginSession).where(
            LoginSession.user_id == citizen.id, LoginSession.revoked_at.is_(None)
        )
        assert session.scalars(live).first() is None
    response = browser.get("/akun")
    assert response.status_code == 302 and response.headers["Location"].startswith("/masuk")
    again = browser.post("/masuk", data={"email": "warga@example.test", "password": PASSWORD})
    assert again.status_code == 403  # disabled accounts cannot log in
    assert "has been disabled" in again.text
    assert client.post(f"/admin/pengguna/{citizen.id}/aktifkan").status_code == 302
    assert get_user(citizen.id).active


def test_user_manager_who_is_not_admin_cannot_touch_admins(
    app: Flask, client: FlaskClient, login: Login, tenant: TenantInfo
) -> None:
    admin_id = add_user(tenant, "boss@example.test", role="admin")
    login(client, role="opd", permissions=("balai.manage_users",))
    assert client.get("/admin/pengguna").status_code == 200
    assert client.get(f"/admin/pengguna/{admin_id}").status_code == 403
    assert client.post(f"/admin/pengguna/{admin_id}/nonaktifkan").status_code == 403
    form = {"email": "x@example.test", "name": "X", "role": "admin", "password": PASSWORD}
    response = client.post("/admin/pengguna/baru", data=form)
    assert response.status_code == 403 and "Only a region admin" in response.get_data(as_text=True)
    assert get_user(admin_id).active


def test_admin_changes_are_logged_without_passwords(
    client: FlaskClient, admin: User, caplog: pytest.LogCaptureFixture
) -> None:
    form = {"email": "log@example.test", "name": "Log", "role": "warga"}
    with caplog.at_level(logging.INFO):
        client.post("/admin/pengguna/baru", data=form)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "invitation.sent" in logged and "admin@kota-a.test" in logged
    assert "/undangan/" not in logged  # the link's token is never logged


# -- departments -------------------------------------------------------------------


def test_departments_list_create_and_rename(
    client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    assert "no departments yet" in client.get("/admin/opd").get_data(as_text=True)
    response = client.post("/admin/opd", data={"code": "DINKES", "name": "Dinas Kesehatan"})
    assert response.status_code == 302
    assert "Dinas Kesehatan" in client.get("/admin/opd").get_data(as_text=True)
    with db.tenant_session(tenant.id) as session:
        department_id = session.scalars(select(Department.id)).one()
    response = client.post(f"/admin/opd/{department_id}", data={"name": "Dinas Kesehatan Kota"})
    assert response.status_code == 302
    assert "Dinas Kesehatan Kota" in client.get("/admin/opd").get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"code": "dinkes", "name": "Lagi"}, "code", "already used"),
        ({"code": "DIN KES", "name": "Spasi"}, "code", "Use 1 to 30 letters"),
        ({"code": "X" * 31, "name": "Panjang"}, "code", "Use 1 to 30 letters"),
        ({"code": "BARU"}, "name", "This field is required"),
    ],
)
def test_bad_department_is_refused(
    client: FlaskClient,
    admin: User,
    tenant: TenantInfo,
    form: dict[str, str],
    field: str,
    message: str,
) -> None:
    add_department(tenant, "DINKES", "Dinas Kesehatan")
    response = client.post("/admin/opd", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    assert count(Department, tenant) == 1


def test_same_department_code_in_two_regions(
    client: FlaskClient, admin: User, other_tenant: TenantInfo
) -> None:
    add_department(other_tenant, "DINKES", "Dinas Kesehatan B")
    response = client.post("/admin/opd", data={"code": "DINKES", "name": "Dinas Kesehatan A"})
    assert response.status_code == 302
    assert "Kesehatan B" not in client.get("/admin/opd").get_data(as_text=True)


# -- roles -------------------------------------------------------------------------


def test_roles_page_shows_defaults_and_admin_read_only(client: FlaskClient, admin: User) -> None:
    page = client.get("/admin/peran").get_data(as_text=True)
    assert "View the command-centre dashboard" in page
    assert ticked(client).keys() >= {"opd:balai.view_dashboard"}
    assert "warga:balai.view_dashboard" not in ticked(client)
    assert 'name="warga:balai.view_dashboard"' in page
    assert "checked disabled" in page


def test_role_matrix_changes_take_effect(
    app: Flask, client: FlaskClient, admin: User, tenant: TenantInfo, login: Login
) -> None:
    citizen, officer = new_client(app, tenant), new_client(app, tenant)
    login(citizen, role="warga")
    login(officer, role="opd")
    assert citizen.get("/dasbor").status_code == 403
    assert officer.get("/dasbor").status_code == 200
    # grant the dashboard to citizens; untick it for officers
    defaults = ticked(client)
    form = {**defaults, "warga:balai.view_dashboard": "1"}
    del form["opd:balai.view_dashboard"]
    response = client.post("/admin/peran", data=form)
    assert response.status_code == 302
    assert citizen.get("/dasbor").status_code == 200
    assert officer.get("/dasbor").status_code == 403
    with db.tenant_session(tenant.id) as session:
        rows = {(r.role, r.permission, r.granted) for r in session.scalars(select(RoleGrant))}
    assert rows == {("warga", "balai.view_dashboard", True), ("opd", "balai.view_dashboard", False)}
    # back to the defaults: no rows are left
    response = client.post("/admin/peran", data=defaults)
    assert response.status_code == 302
    assert count(RoleGrant, tenant) == 0
    assert citizen.get("/dasbor").status_code == 403
    assert officer.get("/dasbor").status_code == 200


def test_role_grants_stay_in_their_region(
    app: Flask, client: FlaskClient, admin: User, other_tenant: TenantInfo, login: Login
) -> None:
    form = {**ticked(client), "warga:balai.view_dashboard": "1", "opd:no.such_thing": "1"}
    assert client.post("/admin/peran", data=form).status_code == 302
    citizen_b = new_client(app, other_tenant)
    login(citizen_b, role="warga", tenant=other_tenant)
    assert citizen_b.get("/dasbor").status_code == 403
    assert count(RoleGrant, other_tenant) == 0


# -- appearance --------------------------------------------------------------------


def stored_files(app: Flask, tenant: TenantInfo) -> list[str]:
    """The names of the region's files, in whichever store the app keeps them."""
    return [entry.key for entry in storage.for_tenant(tenant.id, app=app).list()]


def test_appearance_saves_name_theme_colours_and_logo(
    app: Flask, client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    form = appearance_form(name="Kota Anyar", primary="#112233", logo=upload(png(), "logo.PNG"))
    response = client.post("/admin/tampilan", data=form, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    row = tenant_row(tenant)
    assert row.name == "Kota Anyar"
    assert row.colours == {"primary": "#112233"}  # the others equal the theme's
    assert row.logo and row.logo.endswith(".png")
    assert stored_files(app, tenant) == [row.logo]
    with client.get("/-/logo") as served:
        assert served.status_code == 200 and served.mimetype == "image/png"
    assert "Kota Anyar" in client.get("/").get_data(as_text=True)
    assert "--primary:#112233" in client.get("/-/tenant.css").get_data(as_text=True)
    # a new logo replaces the old file; removing it deletes the file
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, "JPEG")
    form = appearance_form(name="Kota Anyar", logo=upload(jpeg.getvalue(), "logo.png"))
    client.post("/admin/tampilan", data=form, content_type="multipart/form-data")
    second = tenant_row(tenant).logo
    assert second and second.endswith(".png") and second != row.logo  # re-encoded
    assert stored_files(app, tenant) == [second]
    client.post("/admin/tampilan", data=appearance_form(remove_logo="1", reset_colours="1"))
    row = tenant_row(tenant)
    assert (row.logo, row.colours) == (None, {})
    assert stored_files(app, tenant) == []
    assert client.get("/-/logo").status_code == 404


def test_webp_logo_is_accepted_and_stored_as_png(
    app: Flask, client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    webp = io.BytesIO()
    Image.new("RGB", (8, 8), "#c8102e").save(webp, "WEBP")
    form = appearance_form(logo=upload(webp.getvalue(), "logo"))
    response = client.post("/admin/tampilan", data=form, content_type="multipart/form-data")
    assert response.status_code == 302
    logo = tenant_row(tenant).logo
    assert logo and logo.endswith(".png") and stored_files(app, tenant) == [logo]
    with Image.open(io.BytesIO(storage.for_tenant(tenant.id, app=app).read(logo))) as stored:
        assert (stored.format, stored.size) == ("PNG", (8, 8))


def test_only_the_logos_pixels_are_stored(
    app: Flask, client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    """No metadata, no trailing payload, no other format: the logo is decoded and re-encoded."""
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "rahasia-di-metadata")
    exif = Image.Exif()
    exif[0x010F] = "KameraRahasia"  # Make
    original = io.BytesIO()
    Image.new("RGB", (40, 20), "#0b5d7a").save(original, "PNG", pnginfo=text, exif=exif)
    payload = b"<?php system($_GET['c']); ?>PK\x03\x04rahasia-di-ekor"
    form = appearance_form(logo=upload(original.getvalue() + payload, "logo.png"))
    response = client.post("/admin/tampilan", data=form, content_type="multipart/form-data")
    assert response.status_code == 302
    stored = storage.for_tenant(tenant.id, app=app).read(str(tenant_row(tenant).logo))
    assert b"rahasia" not in stored and b"<?php" not in stored and b"Kamera" not in stored
    assert stored.endswith(b"IEND\xaeB`\x82")  # the image ends the file
    with Image.open(io.BytesIO(stored)) as logo:
        assert (logo.format, logo.size, logo.info) == ("PNG", (40, 20), {})
        assert logo.convert("RGB").getpixel((0, 0)) == (11, 93, 122)


def test_a_logo_declaring_a_huge_size_is_refused_without_decoding(
    client: FlaskClient, admin: User, tenant: TenantInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import ImageFile

    decoded: list[object] = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(
        ImageFile.ImageFile, "load", lambda im: decoded.append(im.size) or original(im)
    )
    ihdr = b"\x00\x00\x75\x30" * 2 + b"\x08\x02\x00\x00\x00"  # 30000 x 30000, RGB
    chunk = b"IHDR" + ihdr
    bomb = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0d" + chunk
    bomb += zlib.crc32(chunk).to_bytes(4, "big") + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    form = appearance_form(logo=upload(bomb, "logo.png"))
    response = client.post("/admin/tampilan", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "logo.png has too many pixels: at most 40 megapixels" in response.get_data(as_text=True)
    assert decoded == [] and tenant_row(tenant).logo is None


def test_logo_with_too_many_pixels_is_refused(
    client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    huge = io.BytesIO()
    Image.new("1", (5000, 5000)).save(huge, "PNG")  # tiny file, 25 million pixels
    form = appearance_form(logo=upload(huge.getvalue(), "logo.png"))
    response = client.post("/admin/tampilan", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "logo.png is 5000 by 5000 pixels: at most 24 megapixels" in response.get_data(
        as_text=True
    )
    assert tenant_row(tenant).logo is None


NOT_IMAGE = "not a JPEG, PNG or WebP image"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.balai_config(LOGO_MAX_BYTES=2048)
@pytest.mark.parametrize(
    ("logo", "message"),
    [
        (upload(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "logo.png"), NOT_IMAGE),
        (upload(png((64, 64), noise=True), "logo.png"), "too large"),
        (upload(png()[:60], "logo.png"), NOT_IMAGE),  # truncated: does not decode
        (upload(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "logo.gif"), NOT_IMAGE),
        (upload(SVG, "logo.svg"), NOT_IMAGE),
        (upload(b"", "logo.png"), "empty"),
    ],
)
def test_bad_logo_is_refused_and_nothing_written(
    app: Flask,
    client: FlaskClient,
    admin: User,
    tenant: TenantInfo,
    logo: tuple[io.BytesIO, str],
    message: str,
) -> None:
    form = appearance_form(name="Tidak Disimpan", logo=logo)
    response = client.post("/admin/tampilan", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="logo-error"' in page and message in page
    row = tenant_row(tenant)
    assert (row.name, row.logo) == ("Kota A", None)
    assert stored_files(app, tenant) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"primary": "red"}, "primary"),
        ({"accent": "#12345"}, "accent"),
        ({"background": "#gggggg"}, "background"),
        ({"theme": "no-such-theme"}, "theme"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_bad_appearance_is_refused_and_nothing_written(
    client: FlaskClient, admin: User, tenant: TenantInfo, changes: dict[str, str], field: str
) -> None:
    form = appearance_form(name="Tidak Disimpan", logo=upload(png(), "logo.png"))
    form.update(changes)
    response = client.post("/admin/tampilan", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    row = tenant_row(tenant)
    assert (row.name, row.colours, row.logo) == ("Kota A", {}, None)


def test_appearance_change_reaches_the_registry(
    client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    client.post("/admin/tampilan", data=appearance_form(name="Kota Baru", accent="#aa0000"))
    info = tenant_registry().by_id(tenant.id)
    assert info is not None and info.name == "Kota Baru"
    assert info.colours == {"accent": "#aa0000"}


# -- isolation between regions -----------------------------------------------------


def test_other_regions_admin_cannot_see_or_change_users(
    client: FlaskClient,
    other_client: FlaskClient,
    login: Login,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
) -> None:
    department_id = add_department(tenant, "DINKES", "Dinas Kesehatan A")
    user_id = add_user(tenant, "rahasia@kota-a.test", name="Rahasia A")
    login(other_client, role="admin", tenant=other_tenant)
    listing = other_client.get("/admin/pengguna?q=rahasia").get_data(as_text=True)
    assert "rahasia@kota-a.test" not in listing
    assert "Dinas Kesehatan A" not in other_client.get("/admin/opd").get_data(as_text=True)
    assert other_client.get(f"/admin/pengguna/{user_id}").status_code == 404
    edit = {"name": "Dibajak", "role": "admin"}
    assert other_client.post(f"/admin/pengguna/{user_id}", data=edit).status_code == 404
    assert other_client.post(f"/admin/pengguna/{user_id}/nonaktifkan").status_code == 404
    assert other_client.get(f"/admin/opd/{department_id}").status_code == 404
    rename = {"name": "Dibajak"}
    assert other_client.post(f"/admin/opd/{department_id}", data=rename).status_code == 404
    user = get_user(user_id)
    assert (user.name, user.role, user.active) == ("Rahasia A", "warga", True)
    form = {"email": "x@b.test", "name": "X", "role": "opd", "department": "DINKES"}
    response = other_client.post("/admin/pengguna/baru", data={**form, "password": PASSWORD})
    assert response.status_code == 400  # tenant A's department is unknown in tenant B


def test_other_regions_admin_sees_only_their_own_users(
    other_client: FlaskClient, login: Login, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    add_user(tenant, "a@kota-a.test")
    add_user(other_tenant, "b@kota-b.test")
    login(other_client, role="admin", tenant=other_tenant)
    page = other_client.get("/admin/pengguna").get_data(as_text=True)
    assert "b@kota-b.test" in page and "a@kota-a.test" not in page


# -- plugins page ------------------------------------------------------------------


def test_plugins_page_empty_state(client: FlaskClient, admin: User) -> None:
    page = client.get("/admin/plugin").get_data(as_text=True)
    assert "No plugins are installed" in page or '<table class="stack">' in page
    assert "Departments" in page  # the admin navigation lists the new page


def test_region_time_zone_is_used_for_dates(
    app: Flask, client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    from flask_babel import get_timezone

    response = client.post("/admin/tampilan", data=appearance_form(timezone="Asia/Jayapura"))
    assert response.status_code == 302
    assert tenant_row(tenant).settings["timezone"] == "Asia/Jayapura"
    with app.test_request_context("/", base_url="http://kota-a.test"):
        app.preprocess_request()
        assert str(get_timezone()) == "Asia/Jayapura"
    bad = client.post("/admin/tampilan", data=appearance_form(timezone="Europe/Paris"))
    assert bad.status_code == 400
    assert tenant_row(tenant).settings["timezone"] == "Asia/Jayapura"


@pytest.mark.parametrize(
    ("field", "value"), [("primary", "#ffffff"), ("primary", "#ffee00"), ("background", "#000000")]
)
def test_unreadable_colours_are_refused(
    client: FlaskClient, admin: User, tenant: TenantInfo, field: str, value: str
) -> None:
    response = client.post("/admin/tampilan", data=appearance_form(**{field: value}))
    assert response.status_code == 400
    assert tenant_row(tenant).colours == {}


def test_contrast_ratio() -> None:
    from balai.admin.forms import contrast

    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#0b5d7a", "#ffffff") > 4.5
    assert contrast("#ffffff", "#ffffff") == 1.0


def test_changing_an_officer_to_citizen_drops_the_department(
    app: Flask, client: FlaskClient, admin: User, tenant: TenantInfo
) -> None:
    add_department(tenant, "DINKES", "Dinas Kesehatan")
    user_id = add_user(tenant, "petugas@example.test", role="opd", department="DINKES")
    with db.all_tenants() as session:
        user = session.get(User, user_id)
        assert user is not None and user.department_id is not None
    response = client.post(
        f"/admin/pengguna/{user.id}",
        data={"name": "Petugas", "role": "warga", "department": "DINKES"},
    )
    assert response.status_code == 302
    with db.all_tenants() as session:
        assert session.get(User, user.id).department_id is None
