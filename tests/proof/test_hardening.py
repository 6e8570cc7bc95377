"""Web hardening: security headers, cookie flags, trusted hosts and upload limits.

- Every kind of response (HTML pages, JSON API, errors, static files, style sheets,
  feeds, GeoJSON, CSV exports, Open311 XML) carries the security headers: a
  Content-Security-Policy that forbids framing, plugins, foreign ``<base>`` and
  form targets, ``nosniff``, ``X-Frame-Options`` and a ``Referrer-Policy``. The
  pages are found by walking the links of a region with every plugin on and its
  demo data, as a visitor and as the region admin.
- Every cookie the app sets is HttpOnly and SameSite, and Secure over HTTPS or when
  ``SESSION_COOKIE_SECURE`` says so.
- A request for a host no region owns is refused, never answered with a region's
  page; absolute links in notifications use the region's own domain, not the
  ``Host`` a request claimed.
- A body over ``MAX_CONTENT_LENGTH`` gets a 413 page in Indonesian and writes
  nothing; a complaint photo over the plugin's own limit is refused by field.
- Every upload field of every form (complaint photos, the region's logo) refuses a
  few-hundred-byte PNG declaring 900 million pixels, and three PNGs of 6300 x 6300
  pixels in one request, without decoding a single pixel (a spy on Pillow's decoder
  counts what it decodes).
"""

from __future__ import annotations

import importlib
import io
import re
import struct
import zlib
from collections import Counter
from collections.abc import Iterator

import pytest
from filling import fill
from flask.testing import FlaskClient
from forms import forms_of, guess, role_clients
from PIL import ImageFile
from sqlalchemy import func, select
from walking import seeds, walk
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from balai import storage, web
from balai.auth.accounts import create_user
from balai.channels import OutboxMessage
from balai.db import db
from balai.permissions import public
from balai.testing import PASSWORD

CSP_DIRECTIVES = ("frame-ancestors", "object-src 'none'", "base-uri", "form-action")
REQUIRED_HEADERS = ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")
PER_ENDPOINT = 2  # pages walked per endpoint: enough to see each kind of page


# -- security headers -------------------------------------------------------------------


def missing_headers(response) -> list[str]:
    """The security headers (and CSP directives) ``response`` lacks."""
    missing = [name for name in REQUIRED_HEADERS if name not in response.headers]
    if response.headers.get("X-Content-Type-Options", "nosniff") != "nosniff":
        missing.append("X-Content-Type-Options: nosniff")
    csp = response.headers.get("Content-Security-Policy")
    if csp is None:
        return [*missing, "Content-Security-Policy"]
    return missing + [f"CSP {d}" for d in CSP_DIRECTIVES if d not in csp]


def cookie_problems(response, secure: bool) -> list[str]:
    """Cookies set without HttpOnly or SameSite, or without Secure when it is due."""
    problems = []
    for header in response.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        flags = {part.strip().split("=")[0].lower(): part for part in header.split(";")[1:]}
        expired = "expires" in flags and "1970" in flags["expires"]
        if expired:
            continue
        if "httponly" not in flags:
            problems.append(f"{name}: not HttpOnly")
        if not re.search(r"samesite=(lax|strict)", header, re.IGNORECASE):
            problems.append(f"{name}: no SameSite=Lax/Strict")
        if secure and "secure" not in flags:
            problems.append(f"{name}: not Secure")
    return problems


def _special_responses(client: FlaskClient, other: FlaskClient) -> Iterator[tuple[str, object]]:
    """Responses a link walk does not meet: errors of each kind, an unknown host."""
    yield "404 page", client.get("/tidak-ada")
    yield "404 API", client.get("/api/v1/tidak-ada")
    yield "405", client.get("/keluar")
    yield "unknown host", client.get("/", base_url="http://asing.example")
    too_big = b"x" * (client.application.config["MAX_CONTENT_LENGTH"] + 1)
    yield "413", client.post("/pengaduan/lapor", data=too_big, content_type="text/plain")
    yield "403 page", other.get("/admin/")
    yield (
        "403 API",
        other.get("/api/v1/pengaduan/complaints", headers={"Accept": "application/json"}),
    )


def test_every_kind_of_response_carries_the_security_headers(
    app, client, full_tenant, login, figures
):
    other = app.test_client()
    other.host = client.host
    login(other, role="warga")
    responses = list(walk(client, seeds(app)))
    login(client, role="admin")
    responses += walk(client, seeds(app))
    responses += _special_responses(client, other)

    missing = [
        f"{what} ({r.status_code} {r.mimetype}): {', '.join(missing_headers(r))}"
        for what, r in responses
        if missing_headers(r)
    ]
    kinds = Counter(f"{r.status_code // 100}xx {r.mimetype}" for _what, r in responses)
    endpoints = {what for what, r in responses if r.status_code == 200}
    get_rules = {r.endpoint for r in app.url_map.iter_rules() if "GET" in r.methods}
    figures.record("web hardening", "responses checked for headers", len(responses))
    figures.record("web hardening", "routes checked", len(endpoints & get_rules))
    figures.record("web hardening", "GET routes", len(get_rules))
    figures.record("web hardening", "responses missing a header", len(missing))
    print(f"kinds of response: {dict(kinds)}")
    print(f"GET routes not reached: {sorted(get_rules - endpoints)}")
    assert missing == []
    for kind in (
        "2xx text/html",
        "2xx application/json",
        "2xx application/geo+json",
        "2xx text/csv",
        "2xx text/xml",
        "2xx text/css",
        "4xx text/html",
        "4xx application/json",
    ):
        assert kinds[kind] > 0, f"no {kind} response was checked"
    assert {404, 403, 405, 413} <= {r.status_code for _what, r in responses}
    assert len(endpoints & get_rules) > 0.7 * len(get_rules)


@pytest.mark.balai_config(PROPAGATE_EXCEPTIONS=False)
def test_a_server_error_carries_them_too(app, client, tenant):
    @public  # a view without a declaration would be refused (403) before it could fail
    def broken():
        raise RuntimeError("boom")

    app.view_functions["balai_web.search"] = broken
    response = client.get("/cari")
    assert response.status_code == 500
    assert missing_headers(response) == []


def test_the_header_check_goes_red_without_the_header_function(app, client, tenant):
    assert missing_headers(client.get("/")) == []
    app.after_request_funcs[None].remove(web.security_headers)
    missing = missing_headers(client.get("/"))
    assert "Content-Security-Policy" in missing
    assert "X-Frame-Options" in missing


# -- cookies ----------------------------------------------------------------------------


def _sign_in(client: FlaskClient, tenant, base_url: str, email: str):
    with db.all_tenants() as session:
        create_user(
            session, tenant_id=tenant.id, email=email, name="Uji", role="warga", password=PASSWORD
        )
    return client.post("/masuk", data={"email": email, "password": PASSWORD}, base_url=base_url)


def _cookie(response, name: str) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert headers, f"no {name} cookie set"
    return headers[0]


@pytest.mark.parametrize(
    ("base_url", "settings", "secure"),
    [
        ("http://kota-a.test", {}, False),
        ("https://kota-a.test", {}, True),
        ("http://kota-a.test", {"SESSION_COOKIE_SECURE": True}, True),
    ],
    ids=["http", "https", "SESSION_COOKIE_SECURE"],
)
def test_cookies_are_httponly_samesite_and_secure_when_due(
    make_app, tenant, base_url, settings, secure
):
    client = make_app(**settings).test_client()
    signed_in = _sign_in(client, tenant, base_url, f"cookie-{secure}-{len(settings)}@example.test")
    language = client.get("/bahasa?lang=en", base_url=base_url)

    session_cookie = _cookie(signed_in, "balai_session")
    assert cookie_problems(signed_in, secure=secure) == []
    assert cookie_problems(language, secure=secure) == []
    if base_url.startswith("http:") and not settings:
        assert "Secure" not in session_cookie  # over plain HTTP it would never come back
    assert not any("remember" in h for h in signed_in.headers.getlist("Set-Cookie"))


def test_the_cookie_check_goes_red_without_the_flags(make_app, tenant):
    client = make_app(SESSION_COOKIE_HTTPONLY=False, SESSION_COOKIE_SAMESITE=None).test_client()
    signed_in = _sign_in(client, tenant, "https://kota-a.test", "loose@example.test")
    problems = cookie_problems(signed_in, secure=True)
    assert "balai_session: not HttpOnly" in problems
    assert "balai_session: no SameSite=Lax/Strict" in problems


# -- trusted hosts ----------------------------------------------------------------------


def test_an_unknown_host_is_refused_and_never_served_another_regions_page(
    app, client, tenant, other_tenant
):
    for host in ("asing.example", "kota-a.test.asing.example", "kota-a", "127.0.0.1"):
        response = client.get("/", base_url=f"http://{host}")
        assert response.status_code == 404, host
        assert "Alamat ini tidak terdaftar" in response.text
        assert "Kota A" not in response.text and "Kota B" not in response.text
    forwarded = client.get(
        "/", base_url="http://asing.example", headers={"X-Forwarded-Host": "kota-a.test"}
    )
    assert forwarded.status_code == 404  # no proxy header is trusted by default
    assert "Kota A" in client.get("/", base_url="http://KOTA-A.test:8080").text
    on_b = client.get("/", base_url="http://kota-b.test").text
    assert "Kota B" in on_b and "Kota A" not in on_b


@pytest.fixture
def complaints_on(app, tenant, enable_plugin):
    """``tenant`` with only the complaint service on, and its demo categories."""
    fill(app, enable_plugin("pengaduan"))


def _complaint_form(**extra):
    return {
        "category": "JALAN",
        "description": "Jalan berlubang di depan pasar.",
        "address": "Jl. Merdeka 1",
        "privacy": "public",
        "reporter_name": "Warga",
        "reporter_email": "warga@example.test",
        **extra,
    }


def _outbox_bodies(tenant) -> list[str]:
    with db.tenant_session(tenant.id) as session:
        return list(session.scalars(select(OutboxMessage.body)))


@pytest.mark.parametrize("tenancy", ["single", "multi"])
def test_links_in_notifications_use_the_regions_domain_not_the_requests_host(
    make_app, tenant, complaints_on, tenancy
):
    client = make_app(TENANCY=tenancy).test_client()
    host = "asing.example" if tenancy == "single" else "kota-a.test:8443"
    response = client.post("/pengaduan/lapor", data=_complaint_form(), base_url=f"http://{host}")
    assert response.status_code == 302
    bodies = _outbox_bodies(tenant)
    assert bodies, "the reporter was not notified"
    assert all("asing.example" not in body and ":8443" not in body for body in bodies)
    assert all("://kota-a.test/" in body for body in bodies)


# -- upload limits ----------------------------------------------------------------------


def _complaints(tenant) -> int:
    from balai_pengaduan.models import Complaint

    with db.tenant_session(tenant.id) as session:
        return session.scalar(select(func.count()).select_from(Complaint)) or 0


def test_a_body_over_the_limit_gets_a_413_page_in_indonesian_and_writes_nothing(
    app, client, tenant, complaints_on
):
    before = _complaints(tenant)
    too_big = b"-" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    multipart = "multipart/form-data; boundary=x"
    response = client.post("/pengaduan/lapor", data=too_big, content_type=multipart)
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "Berkas unggahan terlalu besar" in response.text
    as_json = client.post(
        "/pengaduan/lapor",
        data=too_big,
        content_type=multipart,
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == 413
    assert as_json.json["error"]["code"] == "request_entity_too_large"
    assert _complaints(tenant) == before


@pytest.mark.balai_config(PLUGIN_SETTINGS={"pengaduan": {"max_photo_mb": 1}})
def test_a_photo_over_the_plugins_limit_is_refused_naming_the_field(
    app, client, tenant, complaints_on
):
    before = _complaints(tenant)
    # The body is made here: the test client would spool a file this big to a
    # temporary file it never closes.
    fields = b"".join(
        f'--x\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in _complaint_form().items()
    )
    photo = (
        b'--x\r\nContent-Disposition: form-data; name="photos"; filename="foto-besar.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + b"\xff" * 1536 * 1024 + b"\r\n--x--\r\n"
    )
    response = client.post(
        "/pengaduan/lapor", data=fields + photo, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 422
    assert 'id="photos-error"' in response.text
    assert "foto-besar.jpg lebih besar dari 1 MB." in response.text
    assert _complaints(tenant) == before
    assert list(storage.for_tenant(tenant.id, app=app).list()) == []


def test_the_link_check_goes_red_when_links_follow_the_claimed_host(
    make_app, tenant, complaints_on, monkeypatch
):
    resolving = importlib.import_module("balai.tenancy.registry")
    from flask import request

    monkeypatch.setattr(resolving, "link_base", lambda tenant: (request.scheme, request.host))
    client = make_app(TENANCY="single").test_client()
    client.post("/pengaduan/lapor", data=_complaint_form(), base_url="http://asing.example")
    assert any("://asing.example/" in body for body in _outbox_bodies(tenant))


# -- image decoding ----------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def crafted_png(width: int, height: int, rows: int | None = None) -> bytes:
    """A PNG of ``width`` x ``height`` that compresses to almost nothing (``rows`` present)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * (width * 3)
    body = b"".join(compressor.compress(row) for _ in range(height if rows is None else rows))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body + compressor.flush())
        + _chunk(b"IEND", b"")
    )


@pytest.fixture
def decoded(monkeypatch) -> list[tuple[int, int]]:
    """The sizes of the images Pillow decodes during the test."""
    sizes: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def spy(self):
        if self.tile:  # pixels still to decode
            sizes.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return sizes


def upload_forms(app, clients) -> list[tuple[str, object, object]]:
    """``(role, client, form)`` for every form with a file field, each once."""
    found, seen = [], set()
    for role, client in clients.items():
        for _endpoint, page in walk(client, seeds(app)):
            if page.mimetype != "text/html":
                continue
            for form in forms_of(page.text, page.request.url):
                if form.key() not in seen and any(f["type"] == "file" for f in form.fields):
                    seen.add(form.key())
                    found.append((role, client, form))
    return found


def send_images(client, form, images: list[tuple[bytes, str]]):
    data: MultiDict[str, object] = MultiDict()
    for index, item in enumerate(form.fields):
        if item["type"] == "file":
            for raw, name in images:
                data.add(item["name"], FileStorage(io.BytesIO(raw), name, content_type="image/png"))
            continue
        value = guess(item, index)
        if value is not None:
            data.add(item["name"], value)
    # Encoded in memory: the test client spools a body over 500 KB to a temporary file
    # that nothing closes, and the forms with two file fields send more than that.
    boundary, body = encode_multipart(data)
    content_type = f"multipart/form-data; boundary={boundary}"
    return client.post(_path(form.action), data=body, content_type=content_type)


def image_attacks() -> dict[str, list[tuple[bytes, str]]]:
    big = crafted_png(6300, 6300)  # about 120 KB: the cost is all in decoding
    return {
        "900 megapixels declared": [(crafted_png(30_000, 30_000, rows=1), "bom.png")],
        "three 6300 x 6300 PNGs": [(big, f"foto{n}.png") for n in range(3)],
    }


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url).split("?")[0]


@pytest.mark.balai_config(PROPAGATE_EXCEPTIONS=False)
def test_no_upload_field_decodes_an_image_with_too_many_pixels(
    app, full_tenant, login, decoded, figures
):
    forms = upload_forms(app, role_clients(app, full_tenant, login, ("anonymous", "admin")))
    attacks = image_attacks()
    sent, accepted, errors = 0, [], []
    for role, client, form in forms:
        for attack, images in attacks.items():
            response = send_images(client, form, images)
            sent += 1
            if response.status_code >= 500:
                errors.append(f"{role} {form.action} {attack}: {response.status_code}")
            elif response.status_code < 400:
                accepted.append(f"{role} {form.action} {attack}")
    sizes = {len(raw) for images in attacks.values() for raw, _name in images}
    figures.record("image decoding", "upload forms", len(forms))
    figures.record("image decoding", "oversized uploads sent", sent)
    figures.record("image decoding", "largest file sent (KB)", max(sizes) // 1024)
    figures.record("image decoding", "images decoded", len(decoded))
    figures.record("image decoding", "accepted", len(accepted))
    figures.record("image decoding", "server errors", len(errors))
    assert {_path(f.action) for _r, _c, f in forms} >= {
        "/pengaduan/lapor",
        "/admin/tampilan",
    }
    assert (errors, accepted, decoded) == ([], [], [])


@pytest.mark.balai_config(IMAGE_REQUEST_PIXELS=100_000)
def test_the_image_check_goes_red_without_the_pixel_budget(
    app, full_tenant, login, decoded, monkeypatch
):
    import balai.images

    monkeypatch.setattr(balai.images.PixelBudget, "charge", lambda self, probes: None)
    [(_role, client, form)] = [
        found
        for found in upload_forms(app, role_clients(app, full_tenant, login, ("anonymous",)))
        if "/pengaduan/lapor" in found[2].action
    ]
    send_images(client, form, [(crafted_png(400, 300), f"f{n}.png") for n in range(3)])
    assert decoded == [(400, 300)] * 3
