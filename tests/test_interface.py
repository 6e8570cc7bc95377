"""The interface every page shares: a refused form keeps what was typed, times say
their zone, the navigation, switching a service off, removing the logo, charts."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import hello
import needs_hello
import pytest
from flask import Flask, render_template_string
from flask_babel import force_locale
from PIL import Image
from werkzeug.datastructures import MultiDict

from balai import storage
from balai.db import db
from balai.expired import fill_form
from balai.i18n import zoned_pattern
from balai.tenancy import Tenant

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
OURS = {"Sec-Fetch-Site": "same-origin"}  # what browsers send with our own pages' posts


# -- 7: a form sent after the session expired ---------------------------------------


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True, BABEL_DEFAULT_LOCALE="en")
def test_a_refused_form_comes_back_filled_with_a_fresh_token(client, login) -> None:
    login(client, role="admin")
    form = {"csrf_token": "stale", "name": "Kota <Anyar>", "theme": "default",
            "timezone": "Asia/Makassar", "primary": "#112233"}  # fmt: skip
    response = client.post("/admin/tampilan", data=form, headers=OURS)
    assert response.status_code == 400
    page = response.text
    assert "Your session expired before this form was sent" in page
    assert 'value="Kota &lt;Anyar&gt;"' in page
    assert re.search(r'<option value="Asia/Makassar"[^>]* selected>', page)
    assert 'Asia/Jakarta" selected' not in page
    fresh = TOKEN.search(page)
    assert fresh and fresh.group(1) != "stale"
    again = client.post("/admin/tampilan", data={**form, "csrf_token": fresh.group(1)})
    assert again.status_code == 302  # the new token works: sending again saves
    with db.all_tenants() as session:
        assert session.query(Tenant).one().name == "Kota <Anyar>"


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True, BABEL_DEFAULT_LOCALE="en")
def test_a_refused_login_keeps_the_email_never_the_password(client) -> None:
    response = client.post(
        "/masuk", data={"email": "siti@example.test", "password": "rahasia-sekali"}, headers=OURS
    )
    assert response.status_code == 400
    assert 'value="siti@example.test"' in response.text
    assert "rahasia-sekali" not in response.text
    assert "Your session expired" in response.text


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True, BABEL_DEFAULT_LOCALE="en")
def test_a_page_that_cannot_be_shown_again_lists_the_typed_text(client, tenant) -> None:
    # logged out: the form's page needs a login, so it cannot be shown again
    response = client.post(
        "/admin/tampilan",
        data={"name": "Kota Lama", "api_password": "x-secret-x"},
        headers={"Accept": "text/html", "Referer": f"http://{tenant.domains[0]}/"},
    )
    assert response.status_code == 400
    assert "Your session has expired" in response.text
    assert "Kota Lama" in response.text and "x-secret-x" not in response.text


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True, BABEL_DEFAULT_LOCALE="en")
@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}, {}],
    ids=["cross-site", "other-origin", "unknown"],
)
def test_another_sites_post_is_never_echoed(client, headers) -> None:
    response = client.post("/masuk", data={"email": "bait@evil.example"}, headers=headers)
    assert response.status_code == 400
    assert "bait@evil.example" not in response.text
    assert "The CSRF token is missing or invalid" in response.text


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True, BABEL_DEFAULT_LOCALE="en")
def test_api_and_json_posts_still_get_the_error_code(client) -> None:
    response = client.post("/masuk", data={}, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"


def test_form_filling_leaves_secrets_files_and_other_forms_alone() -> None:
    html = (
        '<form method="post" action="/other"><input name="q" value="a"></form>'
        '<form method="post"><input name="q" value=""><input type="password" name="pw">'
        '<input type="file" name="photo"><input type="checkbox" name="ok" value="1">'
        '<textarea name="body">old &amp; stale</textarea>'
        '<select name="kind"><option value="a" selected>A</option><option value="b">B</option>'
        "</select></form>"
    )
    typed = MultiDict([("q", 'x"y'), ("pw", "secret"), ("ok", "1"), ("body", "<b>new</b>"),
                       ("kind", "b")])  # fmt: skip
    filled = fill_form(html, "/here", typed, "Expired & kept")
    assert filled is not None
    first, second = filled.split("</form>", 1)
    assert 'value="a"' in first and "Expired" not in first  # another address's form
    assert "Expired &amp; kept" in second and 'value="x&quot;y"' in second
    assert "secret" not in second and "checked" in second
    assert "&lt;b&gt;new&lt;/b&gt;</textarea>" in second and "stale" not in second
    assert '<option value="b" selected>' in second and '<option value="a">' in second
    assert fill_form("<p>no form</p>", "/here", typed, "x") is None


# -- 11: times say their zone, in both languages ------------------------------------


@pytest.mark.parametrize(
    ("pattern", "zone", "expected"),
    [
        ("d MMMM y, HH.mm z", "Asia/Jakarta", "d MMMM y, HH.mm 'WIB'"),
        ("HH.mm", "Asia/Makassar", "HH.mm 'WITA'"),
        ("d MMM y, HH.mm", "Asia/Jayapura", "d MMM y, HH.mm 'WIT'"),
        ("d MMMM y", "Asia/Jakarta", "d MMMM y"),  # a date has no zone
        ("HH.mm 'zona' z", "Asia/Jakarta", "HH.mm 'zona' 'WIB'"),  # quoted text stays
        ("HH.mm", "UTC", "HH.mm z"),  # outside Indonesia: the locale's own name
    ],
)
def test_zoned_pattern(app: Flask, pattern: str, zone: str, expected: str) -> None:
    with app.test_request_context():
        assert zoned_pattern(pattern, zone) == expected


@pytest.mark.parametrize(
    ("locale", "expected"), [("id", "4 Maret 2026, 23.59 WIB"), ("en", "4 March 2026, 23.59 WIB")]
)
def test_a_moment_without_a_pattern_reads_the_same_way_in_both_languages(
    app: Flask, locale: str, expected: str
) -> None:
    moment = datetime(2026, 3, 4, 16, 59, 30, tzinfo=UTC)
    with app.test_request_context(), force_locale(locale):
        assert render_template_string("{{ t|datetimeformat }}", t=moment) == expected


def test_outbox_senders_are_named_for_people(app: Flask) -> None:
    with app.test_request_context(), force_locale("id"):
        names = render_template_string(
            "{{ source_title('balai.accounts') }}|{{ source_title('balai.outbox') }}"
            "|{{ source_title('unknown-plugin') }}|{{ source_title(none) }}"
        )
    assert names.split("|") == ["Akun", "Inti Balai", "unknown-plugin", ""]


@pytest.mark.parametrize("locale", ["id", "en"])
def test_times_show_wib_in_both_languages(app: Flask, locale: str) -> None:
    moment = datetime(2026, 3, 4, 16, 59, tzinfo=UTC)  # 23.59 in Jakarta
    with app.test_request_context(), force_locale(locale):
        shown = render_template_string(
            "{{ t|datetimeformat('d MMM y, HH.mm z') }}|{{ t|datetimeformat('HH.mm') }}"
            "|{{ t|datetimeformat('d MMMM y') }}|{{ t|timeformat('HH.mm') }}",
            t=moment,
        )
    assert shown.split("|") == [
        "4 Mar 2026, 23.59 WIB",
        "23.59 WIB",
        "4 March 2026" if locale == "en" else "4 Maret 2026",
        "23.59 WIB",
    ]


def test_days_and_times_are_written_once_per_language(app: Flask, monkeypatch) -> None:
    import babel.dates
    from flask_babel import format_date

    from balai import i18n

    calls: list[object] = []
    original = babel.dates.format_date

    def counted(*args: object, **kwargs: object) -> str:
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(babel.dates, "format_date", counted)
    if hasattr(i18n, "_formatted"):
        i18n._formatted.cache_clear()  # count from an empty store
    day, moment = date(2026, 3, 4), datetime(2026, 3, 4, 16, 59, tzinfo=UTC)
    template = (
        "{{ d|dateformat('EEEE, d MMMM y') }}|{{ t|dateformat('d MMM y') }}|{{ n|dateformat }}"
    )
    shown = {}
    for locale in ("id", "en", "id", "en"):
        with app.test_request_context(), force_locale(locale):
            page = render_template_string(template, d=day, t=moment, n=None)
            shown.setdefault(locale, page)
            assert page == shown[locale]
            today = format_date(None)  # no day: today's, as Flask-Babel writes it
    assert shown["id"].split("|")[:2] == ["Rabu, 4 Maret 2026", "4 Mar 2026"]
    assert shown["en"].split("|")[:2] == ["Wednesday, 4 March 2026", "4 Mar 2026"]
    assert shown["en"].split("|")[2] == today
    assert sum(1 for c in calls if c is not None) == 4  # two days, once per language


def test_indonesian_dashboard_speaks_indonesian(client, login) -> None:
    login(client, role="admin")
    page = client.get("/dasbor").text
    assert "Dasbor pusat komando" in page and "command" not in page.lower()


# -- 12: navigation -------------------------------------------------------------------


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")
def test_staff_get_an_account_menu_and_phones_a_compact_menu(client, login) -> None:
    login(client, role="admin", email="admin@kota-a.test")
    page = client.get("/admin/pengguna").text
    header = page.split("</header>")[0]
    assert '<details class="menu compact">' in header  # phones: works without JavaScript
    account = header.split('<details class="menu account-menu">')[1]
    assert '<summary><span class="who">admin</span>' in account
    assert "My account" in account and "Dashboard" in account and "Log out" in account
    admin_links = re.findall(r'<a href="[^"]+" aria-current="page">Administration</a>', header)
    assert len(admin_links) == 2  # the wide and the compact menus both mark it


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")
def test_the_current_page_is_marked(client, login) -> None:
    login(client, role="admin")
    page = client.get("/dasbor").text.split("</header>")[0]
    assert re.search(r'<a href="/dasbor" aria-current="page">Dashboard</a>', page)
    assert 'aria-current="page">My account' not in page
    home = client.get("/").text.split("</header>")[0]
    assert "aria-current" not in home


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")
def test_api_tokens_only_for_users_with_an_api_use(client, login, enable_plugin) -> None:
    login(client, role="admin")
    assert "API tokens" not in client.get("/").text  # no service with an API is on
    enable_plugin("pengumuman")  # its API publishes announcements (opd, admin)
    assert "API tokens" in client.get("/").text


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")
def test_citizens_see_no_api_tokens_link(client, login, enable_plugin) -> None:
    enable_plugin("pengumuman")
    login(client, role="warga")
    page = client.get("/").text
    assert "My account" in page and "API tokens" not in page


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")
def test_a_page_works_out_each_role_s_permissions_once(client, login, monkeypatch) -> None:
    """The navigation's links, the page's own checks and the view's guard ask the
    same question many times a page: the role's permissions are worked out once."""
    from balai import permissions

    login(client, role="opd")
    calls: list[str] = []
    worked_out = permissions._role_permissions

    def counted(reg, role):
        calls.append(role)
        return worked_out(reg, role)

    monkeypatch.setattr(permissions, "_role_permissions", counted)
    page = client.get("/")
    assert page.status_code == 200 and "My account" in page.text
    assert calls == ["opd"]


def test_security_headers_are_added_unless_the_view_set_them(app, client, login) -> None:
    from flask import make_response

    from balai.permissions import public

    @public
    def own_headers():  # type: ignore[no-untyped-def]
        response = make_response("ok")
        response.headers["content-security-policy"] = "default-src 'none'"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return response

    app.add_url_rule("/own-headers", "own_headers", own_headers)
    plain = client.get("/masuk")
    assert [plain.headers.get(name) for name in ("Content-Security-Policy", "X-Frame-Options",
            "X-Content-Type-Options", "Referrer-Policy", "Strict-Transport-Security",
            "Cache-Control")] == [
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        "DENY", "nosniff", "same-origin", None, None,
    ]  # fmt: skip
    secure = client.get("/masuk", base_url=f"https://{plain.request.host}")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    own = client.get("/own-headers")
    assert own.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert own.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert own.headers["X-Content-Type-Options"] == "nosniff"
    login(client, role="warga")
    assert client.get("/").headers["Cache-Control"] == "private, no-store"


# -- 13: switching a service off, removing the logo -----------------------------------


@pytest.mark.balai_plugins(hello, needs_hello)
@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")
def test_switching_off_asks_first_and_says_the_data_is_kept(client, login, enable_plugin):
    login(client, role="admin")
    enable_plugin("hello")
    listing = client.get("/admin/plugin").text
    assert 'href="/admin/plugin/hello/nonaktifkan"' in listing
    confirm = client.get("/admin/plugin/hello/nonaktifkan")
    assert confirm.status_code == 200
    assert "Its data is kept, hidden: nothing is deleted." in confirm.text
    assert "comes back as it was" in confirm.text
    assert client.get("/hello/").status_code == 200  # asking switched nothing off
    switched = client.post("/admin/plugin/hello/nonaktifkan")
    assert switched.status_code == 302
    assert client.get("/hello/").status_code == 404
    again = client.get("/admin/plugin/hello/nonaktifkan", follow_redirects=True)
    assert "Hello is already switched off." in again.text


@pytest.mark.balai_plugins(hello, needs_hello)
@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")
def test_a_service_others_need_cannot_be_confirmed_off(client, login, enable_plugin):
    login(client, role="admin")
    enable_plugin("hello")
    enable_plugin("needs_hello")
    page = client.get("/admin/plugin/hello/nonaktifkan").text
    assert "It cannot be switched off while these services need it" in page
    assert 'action="/admin/plugin/hello/nonaktifkan"' not in page


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")
def test_the_logo_has_its_own_remove_button(app, client, login, tenant) -> None:
    login(client, role="admin")
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "#0b5d7a").save(png, "PNG")
    form = {"name": "Kota A", "theme": "default", "timezone": "Asia/Jakarta",
            "logo": (io.BytesIO(png.getvalue()), "logo.png")}  # fmt: skip
    client.post("/admin/tampilan", data=form, content_type="multipart/form-data")
    files = storage.for_tenant(tenant.id, app=app)
    assert len(list(files.list())) == 1
    page = client.get("/admin/tampilan").text
    assert 'form="remove-logo"' in page and 'id="remove-logo"' in page
    response = client.post("/admin/tampilan/logo/hapus")
    assert response.status_code == 302
    assert list(files.list()) == []
    assert client.get("/-/logo").status_code == 404
    page = client.get("/admin/tampilan", follow_redirects=True).text
    assert "remove-logo" not in page
    with db.all_tenants() as session:
        row = session.query(Tenant).one()
        assert (row.logo, row.name) == (None, "Kota A")


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")
def test_removing_the_logo_needs_the_appearance_permission(client, login) -> None:
    login(client, role="opd")
    assert client.post("/admin/tampilan/logo/hapus").status_code == 403


# -- 14: dashboard charts ---------------------------------------------------------------


def test_bar_chart_draws_bars_in_proportion(app: Flask) -> None:
    template = (
        '{% from "balai/_charts.html" import bar_chart, figure %}'
        "{{ figure(12, 'open') }}{{ bar_chart(rows, caption='By status') }}"
        "{{ bar_chart([], empty='Nothing yet.') }}"
    )
    with app.test_request_context():
        html = render_template_string(template, rows=[("New", 4), ("Done", 8), ("Lost", None)])
    assert '<p class="figure"><strong>12</strong> open</p>' in html
    assert "<figcaption>By status</figcaption>" in html
    assert re.findall(r'<rect width="([\d.]+)%"', html) == ["50.0", "100.0"]
    assert '<span class="bar-label">Lost</span>' in html  # shown, with no bar
    assert '<p class="empty">Nothing yet.</p>' in html
    assert "style=" not in html  # the Content-Security-Policy allows no inline style


@pytest.mark.balai_plugins(hello)
def test_the_dashboard_grid_keeps_each_widget_its_own_height(client, login, enable_plugin):
    enable_plugin("hello")
    login(client, role="admin")
    page = client.get("/dasbor").text
    assert '<ul class="widgets">' in page and '<li class="card widget">' in page
