"""Authentication: login sessions that really end, throttling, CSRF, tenants and API tokens."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from flask import g
from flask_login import current_user
from sqlalchemy import select, update

from balai.auth import passwords
from balai.auth.accounts import create_user, set_active
from balai.auth.models import ApiToken, Department, LoginSession, User
from balai.auth.sessions import load_user
from balai.auth.views import safe_next
from balai.db import db, utcnow
from balai.ratelimit import RateCounter
from balai.testing import PASSWORD

COOKIE = "balai_session"
NEW_PASSWORD = "sandi-baru-yang-panjang-456"
# The messages checked below are the English ones; test_i18n covers the translation.
pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

WRONG = "Wrong e-mail address, mobile number or password."
DISABLED = "Your account has been disabled. To use it again, contact the administrators of Kota A."


# -- helpers ---------------------------------------------------------------------


def make_user(tenant=None, email="budi@example.test", role="warga", password=PASSWORD) -> User:
    """A committed account in ``tenant`` (None with role "operator": a platform operator)."""
    with db.all_tenants() as session:
        return create_user(
            session,
            tenant_id=tenant.id if tenant is not None else None,
            email=email,
            name=email.split("@")[0],
            role=role,
            password=password,
        )


def log_in(client, email="budi@example.test", password=PASSWORD, **kwargs):
    return client.post("/masuk", data={"email": email, "password": password}, **kwargs)


def is_logged_in(client, **kwargs) -> bool:
    response = client.get("/api/v1/me", **kwargs)
    assert response.status_code in (200, 401)
    return response.status_code == 200


def session_cookie(client) -> str:
    cookie = client.get_cookie(COOKIE, domain=client.host)
    assert cookie is not None
    return cookie.value


def replay(app, cookie: str, host: str) -> int:
    """Send ``cookie`` from a fresh, cookie-less browser to ``host``; the status of /api/v1/me."""
    stranger = app.test_client(use_cookies=False)
    response = stranger.get(
        "/api/v1/me", base_url=f"http://{host}", headers={"Cookie": f"{COOKIE}={cookie}"}
    )
    return response.status_code


def csrf_token(client, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login_sessions(user: User) -> list[LoginSession]:
    with db.all_tenants() as session:
        return list(session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)))


# -- logging in and out ------------------------------------------------------------


def test_login_page_logs_in_and_goes_home(client, tenant):
    make_user(tenant)
    assert client.get("/masuk").status_code == 200
    response = log_in(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert is_logged_in(client)
    assert client.get("/akun").status_code == 200


def test_e_mail_address_is_matched_without_case_or_spaces(client, tenant):
    make_user(tenant)
    assert log_in(client, email="  Budi@Example.TEST ").status_code == 302


def test_account_stored_with_capitals_can_still_log_in(client, tenant):
    user = make_user(tenant)
    with db.all_tenants() as session:
        session.execute(update(User).where(User.id == user.id).values(email="Budi@Example.test"))
    assert log_in(client, email="budi@example.test").status_code == 302


def test_logout_ends_the_cookie_already_issued(app, client, tenant):
    make_user(tenant)
    log_in(client)
    copied = session_cookie(client)
    assert replay(app, copied, "kota-a.test") == 200
    response = client.post("/keluar")
    assert response.status_code == 302
    assert not is_logged_in(client)
    assert replay(app, copied, "kota-a.test") == 401


def test_logout_revokes_the_row(client, tenant):
    user = make_user(tenant)
    log_in(client)
    client.post("/keluar")
    assert [s.revoked_at is not None for s in login_sessions(user)] == [True]


def test_anonymous_visitor_answers_like_a_user(app, client, tenant):
    with app.test_request_context("/", base_url="http://kota-a.test"):
        assert not current_user.is_authenticated
        assert current_user.is_operator is False
        assert current_user.role is None


def test_login_page_is_skipped_when_logged_in(client, tenant):
    make_user(tenant)
    log_in(client)
    response = client.get("/masuk?next=/akun")
    assert response.status_code == 302
    assert response.headers["Location"] == "/akun"


def test_login_session_expires_after_its_lifetime(app, client, tenant):
    user = make_user(tenant)
    log_in(client)
    lifetime = app.permanent_session_lifetime
    with db.all_tenants() as session:
        session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == user.id)
            .values(created_at=utcnow() - lifetime - timedelta(seconds=1))
        )
    assert not is_logged_in(client)


def test_last_seen_is_recorded_without_a_write_on_every_request(client, tenant):
    user = make_user(tenant)
    log_in(client)
    long_ago = utcnow() - timedelta(hours=1)
    with db.all_tenants() as session:
        session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == user.id)
            .values(last_seen_at=long_ago)
        )
    assert is_logged_in(client)
    seen = login_sessions(user)[0].last_seen_at
    assert seen > long_ago + timedelta(minutes=59)
    assert is_logged_in(client)
    assert login_sessions(user)[0].last_seen_at == seen


def test_loading_the_user_never_writes_the_requests_work(app, client, tenant):
    make_user(tenant)
    log_in(client)
    token = app.session_interface.get_signing_serializer(app).loads(session_cookie(client))
    with app.test_request_context("/", base_url="http://kota-a.test"):
        g.tenant = tenant
        pending = Department(code="dinkes", name="Dinas Kesehatan")
        db.session.add(pending)
        assert load_user(token["_user_id"]) is not None
        assert pending in db.session.new
        db.session.rollback()
    with db.all_tenants() as session:
        assert session.scalars(select(Department)).all() == []


def test_login_rehashes_a_password_hashed_with_old_settings(client, tenant):
    user = make_user(tenant)
    old = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    with db.all_tenants() as session:
        session.execute(update(User).where(User.id == user.id).values(password_hash=old))
    assert log_in(client).status_code == 302
    with db.all_tenants() as session:
        stored = session.get(User, user.id).password_hash
    assert stored != old
    assert "m=8,t=1,p=1" in stored
    assert is_logged_in(client)  # a rehash is not a password change


# -- password change and disabled accounts -----------------------------------------


def test_password_change_keeps_this_browser_and_ends_the_others(app, client, tenant):
    make_user(tenant)
    other = app.test_client()
    other.host = client.host
    log_in(client)
    log_in(other)
    before = session_cookie(client)
    response = client.post(
        "/akun/kata-sandi",
        data={"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert is_logged_in(client)
    assert not is_logged_in(other)
    assert replay(app, before, "kota-a.test") == 401
    client.post("/keluar")
    assert log_in(client, password=PASSWORD).status_code == 200
    assert log_in(client, password=NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"current": "salah-sekali-123", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "current"),
        ({"current": PASSWORD, "new": "pendek", "confirm": "pendek"}, "new"),
        ({"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}, "confirm"),
    ],
)
def test_password_change_is_refused_and_nothing_ends(client, tenant, form, field):
    make_user(tenant)
    log_in(client)
    response = client.post("/akun/kata-sandi", data=form)
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert is_logged_in(client)


@pytest.mark.balai_config(LOGIN_MAX_FAILURES_ACCOUNT=2)
def test_guessing_the_current_password_is_throttled(client, tenant):
    make_user(tenant)
    log_in(client)
    wrong = {"current": "salah-sekali-123", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    for _ in range(2):
        assert client.post("/akun/kata-sandi", data=wrong).status_code == 200
    right = {**wrong, "current": PASSWORD}
    response = client.post("/akun/kata-sandi", data=right)
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_disabled_user_is_logged_out_at_once_and_stays_out(app, client, tenant):
    user = make_user(tenant)
    log_in(client)
    copied = session_cookie(client)
    with db.all_tenants() as session:
        set_active(session, session.get(User, user.id), False)
    assert not is_logged_in(client)
    with db.all_tenants() as session:
        set_active(session, session.get(User, user.id), True)
    assert replay(app, copied, "kota-a.test") == 401
    assert log_in(client).status_code == 302


def test_disabled_user_hears_it_only_after_the_right_password(client, tenant):
    user = make_user(tenant)
    with db.all_tenants() as session:
        set_active(session, session.get(User, user.id), False)
    wrong = log_in(client, password="salah-sekali-123")
    assert wrong.status_code == 200
    assert WRONG in wrong.text and "disabled" not in wrong.text
    right = log_in(client)
    assert right.status_code == 403
    assert DISABLED in right.text and WRONG not in right.text
    assert not is_logged_in(client)


# -- cookies -----------------------------------------------------------------------


def _set_cookie(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "="))


def test_session_cookie_is_secure_under_https(client, tenant):
    make_user(tenant)
    header = _set_cookie(log_in(client, base_url="https://kota-a.test"))
    assert "Secure" in header
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_session_cookie_is_not_secure_over_http(client, tenant):
    make_user(tenant)
    header = _set_cookie(log_in(client))
    assert "Secure" not in header
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_https_via_wsgi_url_scheme_marks_the_cookie_secure(client, tenant):
    make_user(tenant)
    response = log_in(client, environ_overrides={"wsgi.url_scheme": "https"})
    assert "Secure" in _set_cookie(response)


# -- throttling ----------------------------------------------------------------------


@pytest.mark.balai_config(LOGIN_MAX_FAILURES_ACCOUNT=3, LOGIN_MAX_FAILURES_ADDRESS=10)
def test_account_is_throttled_after_failures_even_with_the_right_password(client, tenant):
    make_user(tenant)
    make_user(tenant, email="siti@example.test")
    for _ in range(3):
        assert log_in(client, password="salah-sekali-123").status_code == 200
    response = log_in(client)
    assert response.status_code == 429
    assert "Too many attempts. Try again in 15 minutes." in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert not is_logged_in(client)
    elsewhere = {"REMOTE_ADDR": "10.9.8.7"}
    other = log_in(client, email="siti@example.test", environ_base=elsewhere)
    assert other.status_code == 302


NOON = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)


# Redis keeps a window on its own clock: tests that move the clock count in the database.
IN_DATABASE = "balai+db://"


@pytest.mark.balai_config(LOGIN_MAX_FAILURES_ACCOUNT=3, RATELIMIT_STORAGE_URL=IN_DATABASE)
def test_throttle_ends_when_the_window_ends(app, client, tenant, time_machine):
    time_machine.move_to(NOON, tick=False)
    make_user(tenant)
    for _ in range(3):
        log_in(client, password="salah-sekali-123")
    assert log_in(client).status_code == 429
    time_machine.shift(timedelta(seconds=app.config["LOGIN_WINDOW_SECONDS"] - 1))
    assert log_in(client).status_code == 429
    time_machine.shift(timedelta(seconds=1))
    assert log_in(client).status_code == 302


@pytest.mark.balai_config(
    LOGIN_MAX_FAILURES_ACCOUNT=2, LOGIN_WINDOW_SECONDS=2, RATELIMIT_STORAGE_URL=IN_DATABASE
)
def test_throttle_with_a_tiny_window_lets_the_user_back_in(client, tenant, time_machine):
    time_machine.move_to(NOON, tick=False)
    make_user(tenant)
    for _ in range(2):
        log_in(client, password="salah-sekali-123")
    response = log_in(client)
    assert response.status_code == 429
    assert "1 minute." in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "2"
    time_machine.shift(timedelta(seconds=2))
    assert log_in(client).status_code == 302


@pytest.mark.balai_config(LOGIN_MAX_FAILURES_ACCOUNT=100, LOGIN_MAX_FAILURES_ADDRESS=4)
def test_one_address_guessing_many_accounts_is_throttled(client, tenant):
    make_user(tenant)
    guesser = {"REMOTE_ADDR": "10.6.6.6"}
    for n in range(4):
        log_in(client, email=f"tebak{n}@example.test", password="x" * 12, environ_base=guesser)
    assert log_in(client, environ_base=guesser).status_code == 429
    assert log_in(client, environ_base={"REMOTE_ADDR": "10.1.1.1"}).status_code == 302


@pytest.mark.balai_config(LOGIN_MAX_FAILURES_ACCOUNT=100, LOGIN_MAX_FAILURES_ADDRESS=4)
def test_an_ipv6_guesser_is_throttled_across_its_whole_64(client, tenant):
    make_user(tenant)
    for n in range(4):  # a new address of the same /64 for every guess
        guesser = {"REMOTE_ADDR": f"2001:db8:77:1::{n + 1:x}"}
        log_in(client, email=f"tebak{n}@example.test", password="x" * 12, environ_base=guesser)
    assert log_in(client, environ_base={"REMOTE_ADDR": "2001:db8:77:1:9::9"}).status_code == 429
    assert log_in(client, environ_base={"REMOTE_ADDR": "2001:db8:77:2::1"}).status_code == 302


@pytest.mark.balai_config(LOGIN_MAX_FAILURES_ACCOUNT=100, LOGIN_MAX_FAILURES_ADDRESS=2)
def test_an_ipv4_guesser_is_the_same_client_when_written_as_ipv6(client, tenant):
    make_user(tenant)
    for address in ("10.6.6.7", "::ffff:10.6.6.7"):
        guesser = {"REMOTE_ADDR": address}
        log_in(client, email="tebak@example.test", password="x" * 12, environ_base=guesser)
    assert log_in(client, environ_base={"REMOTE_ADDR": "10.6.6.7"}).status_code == 429
    assert log_in(client, environ_base={"REMOTE_ADDR": "10.6.6.8"}).status_code == 302


@pytest.mark.balai_config(RATELIMIT_STORAGE_URL=IN_DATABASE)
def test_successful_login_forgets_the_account_failures_not_the_address(client, tenant):
    make_user(tenant)
    log_in(client, password="salah-sekali-123")
    log_in(client)
    with db.all_tenants() as session:
        counters = session.scalars(select(RateCounter)).all()
    assert [c.count for c in counters] == [1]  # the address's failure; no account key
    assert all("budi" not in c.key for c in counters)  # keys hold no e-mail address


# -- no account enumeration ----------------------------------------------------------


def test_unknown_account_and_wrong_password_look_the_same(client, tenant, monkeypatch):
    make_user(tenant)
    verified: list[str] = []
    real_verify = PasswordHasher.verify

    def counting_verify(self, hash, password):
        verified.append(hash)
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    unknown = log_in(client, email="tidak-ada@example.test", password="salah-sekali-123")
    assert len(verified) == 1
    wrong = log_in(client, password="salah-sekali-123")
    assert len(verified) == 2
    assert unknown.status_code == wrong.status_code == 200
    assert WRONG in unknown.get_data(as_text=True)
    assert _form_errors(unknown) == _form_errors(wrong)
    assert verified[0] == passwords._dummy_hash()
    assert verified[1] != verified[0]


def _form_errors(response) -> list[str]:
    return re.findall(
        r'<div class="alert" role="alert">(.*?)</div>', response.get_data(as_text=True), re.S
    )


def test_check_password_without_a_hash_verifies_a_dummy_and_fails(app, monkeypatch):
    calls: list[str] = []
    real_verify = PasswordHasher.verify
    monkeypatch.setattr(
        PasswordHasher, "verify", lambda self, h, p: calls.append(h) or real_verify(self, h, p)
    )
    assert passwords.check_password(None, "balai-dummy-password") is False
    assert len(calls) == 1
    assert passwords.check_password("not-a-hash", PASSWORD) is False


# -- CSRF ----------------------------------------------------------------------------


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_login_needs_a_csrf_token(client, tenant):
    make_user(tenant)
    assert log_in(client).status_code == 400
    token = csrf_token(client, "/masuk")
    response = client.post(
        "/masuk", data={"email": "budi@example.test", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert is_logged_in(client)


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_account_forms_need_a_csrf_token(client, tenant):
    make_user(tenant)
    token = csrf_token(client, "/masuk")
    client.post(
        "/masuk", data={"email": "budi@example.test", "password": PASSWORD, "csrf_token": token}
    )
    change = {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post("/akun/kata-sandi", data=change).status_code == 400
    assert client.post("/akun/token", data={"name": "skrip"}).status_code == 400
    assert client.post("/keluar").status_code == 400
    assert is_logged_in(client)

    token = csrf_token(client, "/akun/token")
    created = client.post("/akun/token", data={"name": "skrip", "csrf_token": token})
    assert created.status_code == 200
    with db.all_tenants() as session:
        revoke = f"/akun/token/{session.scalars(select(ApiToken.id)).one()}/cabut"
    assert client.post(revoke).status_code == 400
    assert client.post(revoke, data={"csrf_token": token}).status_code == 302
    token = csrf_token(client, "/akun/kata-sandi")
    response = client.post("/akun/kata-sandi", data={**change, "csrf_token": token})
    assert response.status_code == 302
    token = csrf_token(client, "/akun")
    assert client.post("/keluar", data={"csrf_token": token}).status_code == 302
    assert not is_logged_in(client)


# -- tenants -------------------------------------------------------------------------


def test_cookie_of_tenant_a_is_anonymous_on_tenant_b(app, client, tenant, other_tenant):
    make_user(tenant)
    log_in(client)
    copied = session_cookie(client)
    assert replay(app, copied, "kota-a.test") == 200
    assert replay(app, copied, "kota-b.test") == 401


def test_user_of_tenant_a_cannot_log_in_on_tenant_b(client, other_client, tenant, other_tenant):
    make_user(tenant)
    response = log_in(other_client)
    assert response.status_code == 200
    assert WRONG in response.get_data(as_text=True)


def test_operator_logs_in_on_every_tenant_but_each_cookie_stays_home(
    app, client, other_client, tenant, other_tenant
):
    make_user(None, email="op@example.test", role="operator")
    assert log_in(client, email="op@example.test").status_code == 302
    assert log_in(other_client, email="op@example.test").status_code == 302
    assert is_logged_in(client)
    assert is_logged_in(other_client)
    assert replay(app, session_cookie(client), "kota-b.test") == 401
    assert replay(app, session_cookie(other_client), "kota-a.test") == 401


def test_operator_password_change_ends_sessions_on_other_tenants(
    client, other_client, tenant, other_tenant
):
    make_user(None, email="op@example.test", role="operator")
    log_in(client, email="op@example.test")
    log_in(other_client, email="op@example.test")
    change = {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post("/akun/kata-sandi", data=change).status_code == 302
    assert is_logged_in(client)
    assert not is_logged_in(other_client)


# -- where to go after login ---------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//[evil",
        "///evil.example",
        "https://evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
    ],
)
def test_next_outside_the_site_goes_home(client, tenant, target):
    make_user(tenant)
    response = client.post(
        "/masuk", data={"email": "budi@example.test", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/akun", "/cari?q=pasar", "/akun/token"])
def test_next_inside_the_site_is_followed(app, client, tenant, target):
    make_user(tenant)
    response = client.post(
        "/masuk", data={"email": "budi@example.test", "password": PASSWORD, "next": target}
    )
    assert response.headers["Location"] == target
    with app.test_request_context("/"):
        assert safe_next(target) == target


def test_login_redirect_from_a_guarded_page_comes_back(client, tenant):
    make_user(tenant)
    response = client.get("/akun/token")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    target = re.search(r'name="next" value="([^"]*)"', page).group(1)
    assert target.startswith("/akun/token")
    response = client.post(
        "/masuk", data={"email": "budi@example.test", "password": PASSWORD, "next": target}
    )
    assert response.headers["Location"].rstrip("?") == "/akun/token"


# -- API tokens ----------------------------------------------------------------------


def _create_token(client, name="skrip") -> str:
    response = client.post("/akun/token", data={"name": name})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    match = re.search(r'<code class="secret">(balai_[^<]+)</code>', response.get_data(as_text=True))
    assert match
    return match.group(1)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_is_shown_once_and_only_its_hash_is_stored(app, client, tenant):
    make_user(tenant)
    log_in(client)
    token = _create_token(client)
    assert token not in client.get("/akun/token").get_data(as_text=True)
    with db.all_tenants() as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in (row.name, row.prefix, row.token_hash)
        assert row.tenant_id == tenant.id


def test_bearer_token_works_on_the_api_and_ends_when_revoked(app, client, tenant):
    make_user(tenant)
    log_in(client)
    token = _create_token(client)
    api = app.test_client(use_cookies=False)
    me = api.get("/api/v1/me", base_url="http://kota-a.test", headers=_bearer(token))
    assert me.status_code == 200
    assert me.json["email"] == "budi@example.test"
    with db.all_tenants() as session:
        token_id = session.scalars(select(ApiToken.id)).one()
        assert session.get(ApiToken, token_id).last_used_at is not None
    assert client.post(f"/akun/token/{token_id}/cabut").status_code == 302
    revoked = api.get("/api/v1/me", base_url="http://kota-a.test", headers=_bearer(token))
    assert revoked.status_code == 401
    error = revoked.json["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == "unauthorized"


def test_token_of_tenant_a_is_refused_on_tenant_b(app, client, tenant, other_tenant):
    make_user(tenant)
    log_in(client)
    token = _create_token(client)
    api = app.test_client(use_cookies=False)
    assert (
        api.get("/api/v1/me", base_url="http://kota-a.test", headers=_bearer(token)).status_code
        == 200
    )
    response = api.get("/api/v1/me", base_url="http://kota-b.test", headers=_bearer(token))
    assert response.status_code == 401
    assert set(response.json["error"]) == {"code", "message", "fields"}


def test_token_does_not_log_in_on_html_pages(app, client, tenant):
    make_user(tenant)
    log_in(client)
    token = _create_token(client)
    api = app.test_client(use_cookies=False)
    response = api.get("/akun/token", base_url="http://kota-a.test", headers=_bearer(token))
    assert response.status_code == 302


def test_token_of_a_disabled_user_is_refused(app, client, tenant):
    user = make_user(tenant)
    log_in(client)
    token = _create_token(client)
    with db.all_tenants() as session:
        set_active(session, session.get(User, user.id), False)
    api = app.test_client(use_cookies=False)
    assert (
        api.get("/api/v1/me", base_url="http://kota-a.test", headers=_bearer(token)).status_code
        == 401
    )


def _token_works(app, token: str, host: str = "kota-a.test") -> bool:
    api = app.test_client(use_cookies=False)
    status = api.get("/api/v1/me", base_url=f"http://{host}", headers=_bearer(token)).status_code
    assert status in (200, 401)
    return status == 200


def test_password_change_revokes_every_token_and_says_so(app, client, tenant):
    """A token minted from a stolen session dies when the owner changes the password."""
    make_user(tenant)
    log_in(client)
    tokens = [_create_token(client, "skrip"), _create_token(client, "aplikasi")]
    warning = client.get("/akun/kata-sandi").text
    change = {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    response = client.post("/akun/kata-sandi", data=change, follow_redirects=True)
    assert not any(_token_works(app, token) for token in tokens)
    assert "API tokens are revoked" in warning
    assert "your API tokens revoked" in response.text
    assert "revokes all your tokens" in client.get("/akun/token").text
    with db.all_tenants() as session:
        assert None not in session.scalars(select(ApiToken.revoked_at)).all()
    page = client.get("/akun/token").text
    assert page.count('<span class="status">revoked</span>') == 2
    assert _token_works(app, _create_token(client))  # a new one made afterwards works


def test_disabling_ends_tokens_and_sessions_for_good(app, client, tenant, login):
    """Through the admin pages: enabling the account again brings nothing back."""
    user = make_user(tenant)
    log_in(client)
    token = _create_token(client)
    copied = session_cookie(client)
    admin = app.test_client()
    admin.host = client.host
    login(admin, role="admin")
    response = admin.post(f"/admin/pengguna/{user.id}/nonaktifkan", follow_redirects=True)
    assert not _token_works(app, token)
    assert admin.post(f"/admin/pengguna/{user.id}/aktifkan").status_code == 302
    assert not _token_works(app, token)
    assert "API tokens revoked" in response.text
    assert replay(app, copied, "kota-a.test") == 401
    assert log_in(client).status_code == 302
    assert '<span class="status">revoked</span>' in client.get("/akun/token").text


def test_an_operators_credentials_on_other_tenants_end_too(
    app, client, other_client, tenant, other_tenant
):
    """Rows on another tenant cannot be revoked from a tenant-bound session; the
    credential version ends them anyway, and re-enabling brings none back."""
    operator = make_user(None, email="op@example.test", role="operator")
    log_in(client, email="op@example.test")
    log_in(other_client, email="op@example.test")
    token_b = _create_token(other_client)
    change = {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post("/akun/kata-sandi", data=change).status_code == 302
    assert not is_logged_in(other_client)
    assert not _token_works(app, token_b, "kota-b.test")
    log_in(other_client, email="op@example.test", password=NEW_PASSWORD)
    assert '<span class="status">revoked</span>' in other_client.get("/akun/token").text

    token_b = _create_token(other_client)
    copied_b = session_cookie(other_client)
    with db.tenant_session(tenant.id) as session:  # sees kota-a's rows only
        set_active(session, session.get(User, operator.id), False)
    with db.tenant_session(tenant.id) as session:
        set_active(session, session.get(User, operator.id), True)
    assert not _token_works(app, token_b, "kota-b.test")
    assert replay(app, copied_b, "kota-b.test") == 401


def test_any_change_of_the_password_hash_ends_sessions_and_tokens(app, client, tenant):
    """Not only through set_password: whatever code writes a new hash (a plugin, a
    command) ends every credential issued before."""
    user = make_user(tenant)
    log_in(client)
    token = _create_token(client)
    with db.all_tenants() as session:
        session.get(User, user.id).password_hash = passwords.hash_password(NEW_PASSWORD)
    assert not is_logged_in(client)
    assert not _token_works(app, token)


def test_nobody_revokes_another_users_token(app, client, tenant):
    make_user(tenant)
    make_user(tenant, email="siti@example.test")
    log_in(client)
    _create_token(client)
    with db.all_tenants() as session:
        token_id = session.scalars(select(ApiToken.id)).one()
    intruder = app.test_client()
    intruder.host = client.host
    log_in(intruder, email="siti@example.test")
    assert intruder.post(f"/akun/token/{token_id}/cabut").status_code == 404


def test_an_api_request_with_a_bad_token_is_not_saved_by_its_cookie(client, tenant, login):
    login(client, role="opd")
    assert client.get("/api/v1/me").status_code == 200
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer balai_wrong"})
    assert response.status_code == 401


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_the_login_fixture_works_with_csrf_on(client, tenant, login):
    login(client, role="warga")
    assert client.get("/akun").status_code == 200


@pytest.mark.parametrize(("role", "landing"), [("opd", "/dasbor"), ("warga", "/")])
def test_login_without_next_lands_where_the_role_works(app, client, tenant, role, landing):
    from balai.auth.accounts import create_user

    with db.all_tenants() as session:
        create_user(
            session,
            tenant_id=tenant.id,
            email=f"{role}@example.test",
            name=role,
            role=role,
            password=PASSWORD,
        )
    response = client.post("/masuk", data={"email": f"{role}@example.test", "password": PASSWORD})
    assert response.headers["Location"] == landing
