"""Logging in with device cookies (a guesser cannot lock the owner out), by mobile
number, and the account page with the lists plugins add."""

from __future__ import annotations

import pytest
from accounts_support import NEW_PASSWORD, PASSWORD, is_logged_in, log_in, make_user
from flask import url_for

import balai
from balai.auth.device import COOKIE
from balai.items import MenuItem

pytestmark = pytest.mark.balai_config(
    BABEL_DEFAULT_LOCALE="en",
    LOGIN_MAX_FAILURES_ACCOUNT=3,
    LOGIN_MAX_FAILURES_DEVICE=3,
    LOGIN_MAX_FAILURES_ADDRESS=100,
)

OWNER = {"REMOTE_ADDR": "10.1.1.1"}
ATTACKER = {"REMOTE_ADDR": "10.6.6.6"}
WRONG = "salah-sekali-123"


def browser(app):
    client = app.test_client()
    client.host = "kota-a.test"  # type: ignore[attr-defined]
    return client


def go(client, password=PASSWORD, login="budi@example.test", env=OWNER):
    return client.post(
        "/masuk",
        data={"email": login, "password": password},
        base_url="http://kota-a.test",
        environ_base=env,
    )


def signed_in(client) -> bool:
    return client.get("/api/v1/me", base_url="http://kota-a.test").status_code == 200


def test_a_login_gives_the_browser_a_signed_device_cookie(app, tenant):
    make_user(tenant)
    owner = browser(app)
    response = go(owner)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Max-Age=" in header
    assert "budi" not in header


def test_a_guesser_exhausts_the_account_but_the_owner_logs_in_on_their_browser(app, tenant):
    make_user(tenant)
    owner = browser(app)
    assert go(owner).status_code == 302  # the owner's usual browser
    owner.post("/keluar", base_url="http://kota-a.test")
    attacker = browser(app)
    for _ in range(3):
        assert go(attacker, WRONG, env=ATTACKER).status_code == 200
    assert go(attacker, PASSWORD, env=ATTACKER).status_code == 429  # even the right one
    fresh = browser(app)  # a browser that never logged in: the account's limit holds
    assert go(fresh, PASSWORD).status_code == 429
    assert not signed_in(fresh)
    assert go(owner).status_code == 302  # the device cookie: counted on its own
    assert signed_in(owner)


def test_guesses_with_a_device_cookie_are_limited_per_device(app, tenant):
    make_user(tenant)
    owner = browser(app)
    go(owner)
    owner.post("/keluar", base_url="http://kota-a.test")
    for _ in range(3):
        assert go(owner, WRONG).status_code == 200
    assert go(owner).status_code == 429
    assert go(browser(app)).status_code == 302  # the account's own counter is untouched


def test_a_forged_or_foreign_device_cookie_earns_no_trust(app, tenant):
    make_user(tenant)
    siti = make_user(tenant, "siti@example.test")
    other = browser(app)
    assert go(other, login=siti.email).status_code == 302  # a cookie for Siti, not Budi
    other.post("/keluar", base_url="http://kota-a.test")
    forged = browser(app)
    forged.set_cookie(COOKIE, "eyJmb3JnZWQiOnRydWV9.AAAA.BBBB", domain="kota-a.test")
    attacker = browser(app)
    for _ in range(3):
        go(attacker, WRONG, env=ATTACKER)
    assert go(forged).status_code == 429
    assert go(other).status_code == 429


def test_a_password_change_ends_the_trust_of_other_browsers(app, tenant):
    make_user(tenant)
    laptop, phone = browser(app), browser(app)
    go(laptop)
    go(phone)
    change = {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert (
        laptop.post("/akun/kata-sandi", data=change, base_url="http://kota-a.test").status_code
        == 302
    )
    attacker = browser(app)
    for _ in range(3):
        go(attacker, WRONG, env=ATTACKER)
    assert go(phone, NEW_PASSWORD).status_code == 429  # its cookie predates the change
    laptop.post("/keluar", base_url="http://kota-a.test")
    assert go(laptop, NEW_PASSWORD).status_code == 302  # the browser that changed it


def test_a_mobile_number_and_the_e_mail_address_share_one_counter(app, tenant):
    make_user(tenant, "budi@example.test", phone="081234567890")
    attacker = browser(app)
    for login in ("budi@example.test", "0812 3456 7890", "+6281234567890"):
        go(attacker, WRONG, login=login, env=ATTACKER)
    assert go(attacker, PASSWORD, login="budi@example.test", env=ATTACKER).status_code == 429


@pytest.mark.parametrize("known", [False, True])
@pytest.mark.parametrize(
    "spellings",
    [
        ("0812 3456 7890", "081234567890", "+62 812-3456-7890", "6281234567890"),
        ("Budi@Example.test", " budi@example.test", "BUDI@EXAMPLE.TEST", "budi@example.TEST"),
    ],
)
def test_spellings_of_a_login_share_one_counter_whether_it_has_an_account(
    app, tenant, spellings, known
):
    """The throttle must not tell an unknown number from a known one: every spelling of
    a number or address is counted together, with an account or without one."""
    if known:
        make_user(tenant, "budi@example.test", phone="081234567890")
    attacker = browser(app)
    for login in spellings[:3]:
        assert go(attacker, WRONG, login=login, env=ATTACKER).status_code == 200
    assert go(attacker, WRONG, login=spellings[3], env=ATTACKER).status_code == 429


def test_both_addresses_of_an_account_log_in(client, tenant):
    make_user(tenant, "budi@example.test", phone="0812-3456-7890")
    assert log_in(client, "081234567890").status_code == 302
    client.post("/keluar")
    assert log_in(client, "BUDI@example.test").status_code == 302
    assert is_logged_in(client)


class Daftar:
    """A plugin adding lists to the account menu, as services do for their users."""

    name = "daftar"
    manifest = balai.Manifest(title="Daftar")

    @balai.hookimpl
    def menu_items(tenant, user):  # the class itself is the plugin object
        if user is None:
            return []
        return [
            MenuItem("Pengaduan saya", url_for("balai_web.home", daftar="aduan"), section="user"),
            MenuItem(
                "Nomor antrean saya", url_for("balai_web.home", daftar="antre"), section="user"
            ),
        ]


@pytest.mark.balai_plugins.with_args(Daftar)
def test_the_account_page_shows_verified_addresses_and_the_users_lists(
    client, tenant, enable_plugin
):
    enable_plugin("daftar")
    make_user(tenant, "budi@example.test", phone="081234567890", verified=True)
    log_in(client)
    page = client.get("/akun").text
    assert "budi@example.test" in page and "+6281234567890" in page
    assert page.count("verified") == 2
    assert "Pengaduan saya" in page and "/?daftar=aduan" in page
    assert "Nomor antrean saya" in page and "/?daftar=antre" in page


def test_the_account_page_shows_an_unverified_address_as_it_is(client, tenant):
    make_user(tenant, "budi@example.test")
    log_in(client)
    page = client.get("/akun").text
    assert "budi@example.test" in page and "verified" not in page
    assert "My lists" not in page
