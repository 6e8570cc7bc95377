"""Credentials under concurrency: nothing issued with the old password outlives its change.

Real threads log in over HTTP with the old password while the owner changes it
(each request in its own database session and connection). Some logins are held
between verifying the old hash and writing their session until the change has
committed, which is exactly the window a login that raced a change used to slip
through; others run free around it. Logged-in browsers mint API tokens held the
same way. Afterwards every session and token of the old password must be dead,
the old password refused, the new one accepted and the owner's browser still in.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from balai.auth import models, views
from balai.auth.accounts import create_user
from balai.auth.models import User
from balai.auth.passwords import check_password
from balai.db import db
from balai.tenancy import TenantInfo
from balai.testing import PASSWORD

PART = "credentials race"
NEW_PASSWORD = "sandi-baru-yang-panjang-456"
EMAIL = "pemilik@example.test"
HELD_LOGINS = 6  # verified the old password, write their session after the change
FREE_LOGINS = 3  # threads logging in again and again until the change is done
HELD_TOKENS = 3  # logged-in browsers minting a token across the change
WAIT = 30  # seconds any thread waits for another before the test fails

# Guessing is not what this tests: logins failing after the change must not be throttled.
pytestmark = pytest.mark.balai_config(
    LOGIN_MAX_FAILURES_ACCOUNT=100_000, LOGIN_MAX_FAILURES_ADDRESS=100_000
)


@dataclass
class Race:
    """What came out of one race: the browsers and tokens the old password produced."""

    logins: list[FlaskClient] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    owner: FlaskClient | None = None
    errors: list[BaseException] = field(default_factory=list)
    connections: set[int] = field(default_factory=set)


def _browser(app: Flask, tenant: TenantInfo) -> FlaskClient:
    client = app.test_client()
    client.host = tenant.domains[0]  # type: ignore[attr-defined]
    return client


def _log_in(client: FlaskClient, password: str = PASSWORD) -> bool:
    response = client.post("/masuk", data={"email": EMAIL, "password": password})
    if response.status_code == 302:
        return True
    assert response.status_code == 200, response.status_code  # refused, never an error
    return False


def _alive(client: FlaskClient) -> bool:
    status = client.get("/api/v1/me").status_code
    assert status in (200, 401)
    return status == 200


def _token_alive(app: Flask, tenant: TenantInfo, token: str) -> bool:
    stranger = app.test_client(use_cookies=False)
    response = stranger.get(
        "/api/v1/me",
        base_url=f"http://{tenant.domains[0]}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (200, 401)
    return response.status_code == 200


def _owner(tenant: TenantInfo) -> User:
    with db.all_tenants() as session:
        return create_user(
            session, tenant_id=tenant.id, email=EMAIL, name="Pemilik", role="warga",
            password=PASSWORD,
        )  # fmt: skip


def race(app: Flask, tenant: TenantInfo, monkeypatch: pytest.MonkeyPatch) -> Race:
    """Log in and mint tokens with the old password in threads while the owner changes it."""
    out = Race(owner=_browser(app, tenant))
    assert _log_in(out.owner)
    minting = [_browser(app, tenant) for _n in range(HELD_TOKENS)]
    for browser in minting:
        assert _log_in(browser)

    held = threading.local()
    reached = threading.Semaphore(0)  # one release per thread held in its window
    changed = threading.Event()
    lock = threading.Lock()
    real_check, real_new_token = views.check_password, views.new_token

    def hold() -> None:
        with lock:  # the request's own connection, in its own transaction
            out.connections.add(id(db.session.connection().connection.dbapi_connection))
        reached.release()
        if not changed.wait(WAIT):
            raise TimeoutError("the password change never came")

    def check_then_hold(stored_hash: str | None, password: str) -> bool:
        verified = real_check(stored_hash, password)
        if verified and getattr(held, "login", False):
            hold()  # the old hash is verified; the session is written after the change
        return verified

    def new_token_after_hold(prefix: str = "") -> str:
        if getattr(held, "token", False):
            hold()  # the session was honoured; the token is written after the change
        return real_new_token(prefix)

    monkeypatch.setattr(views, "check_password", check_then_hold)
    monkeypatch.setattr(views, "new_token", new_token_after_hold)

    def guarded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except BaseException as exc:  # reported by the test, with the others
                with lock:
                    out.errors.append(exc)
                reached.release()  # never leave the main thread waiting on a failure

        return run

    def held_login() -> None:
        held.login = True
        browser = _browser(app, tenant)
        if _log_in(browser):
            with lock:
                out.logins.append(browser)

    def free_logins() -> None:
        while not changed.is_set():
            browser = _browser(app, tenant)
            if _log_in(browser):
                with lock:
                    out.logins.append(browser)

    def held_token(browser: FlaskClient) -> None:
        held.token = True
        response = browser.post("/akun/token", data={"name": "integrasi"})
        assert response.status_code == 200, response.status_code
        found = re.search(r'<code class="secret">(balai_[^<]+)</code>', response.text)
        assert found, "no token on the page"
        with lock:
            out.tokens.append(found.group(1))

    threads = [threading.Thread(target=guarded(held_login)) for _n in range(HELD_LOGINS)]
    threads += [threading.Thread(target=guarded(lambda b=b: held_token(b))) for b in minting]
    threads += [threading.Thread(target=guarded(free_logins)) for _n in range(FREE_LOGINS)]
    for thread in threads:
        thread.start()
    try:
        for _n in range(HELD_LOGINS + HELD_TOKENS):
            assert reached.acquire(timeout=WAIT), "a thread never reached its window"
        assert out.errors == []
        change = {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        assert out.owner.post("/akun/kata-sandi", data=change).status_code == 302
    finally:
        changed.set()
        for thread in threads:
            thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)
    return out


def test_no_session_or_token_of_the_old_password_survives_its_change(
    app, tenant, figures, monkeypatch
):
    _owner(tenant)
    out = race(app, tenant, monkeypatch)

    assert out.errors == []
    assert len(out.logins) >= HELD_LOGINS and len(out.tokens) == HELD_TOKENS
    assert len(out.connections) == HELD_LOGINS + HELD_TOKENS  # one database connection each
    surviving = [browser for browser in out.logins if _alive(browser)]
    surviving_tokens = [token for token in out.tokens if _token_alive(app, tenant, token)]
    figures.record(PART, "logins raced against a password change", len(out.logins))
    figures.record(PART, "sessions surviving it", len(surviving))
    figures.record(PART, "tokens minted across it", len(out.tokens))
    figures.record(PART, "tokens surviving it", len(surviving_tokens))
    assert surviving == []
    assert surviving_tokens == []
    assert out.owner is not None and _alive(out.owner)  # the browser that changed it stays
    assert not _log_in(_browser(app, tenant))  # the old password is refused
    assert _log_in(_browser(app, tenant), NEW_PASSWORD)


def test_the_race_check_goes_red_without_the_credential_version(app, tenant, monkeypatch):
    """Without the version bump, sessions and tokens written after the change live on."""
    event.remove(User, "before_update", models._new_credentials)
    try:
        _owner(tenant)
        out = race(app, tenant, monkeypatch)
    finally:
        event.listen(User, "before_update", models._new_credentials)
    assert out.errors == []
    assert sum(_alive(browser) for browser in out.logins) >= HELD_LOGINS
    assert sum(_token_alive(app, tenant, token) for token in out.tokens) == HELD_TOKENS


def test_a_rehash_racing_a_password_change_never_restores_the_old_password(
    app, tenant, figures, monkeypatch
):
    """A login that verified the old password under old cost settings rehashes it: after
    the change has committed, that rehash must not write the old password back."""
    user = _owner(tenant)
    owner = _browser(app, tenant)
    assert _log_in(owner)  # before the hash goes stale: this login rehashes nothing
    stale = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    with db.all_tenants() as session:  # a bulk UPDATE: same password, sessions stay valid
        session.execute(update(User).where(User.id == user.id).values(password_hash=stale))

    reached, changed = threading.Event(), threading.Event()
    real_check = views.check_password
    results: list[bool] = []

    def check_then_hold(stored_hash: str | None, password: str) -> bool:
        verified = real_check(stored_hash, password)
        if verified and threading.current_thread() is login:
            reached.set()
            changed.wait(WAIT)
        return verified

    monkeypatch.setattr(views, "check_password", check_then_hold)
    login = threading.Thread(target=lambda: results.append(_log_in(_browser(app, tenant))))
    login.start()
    try:
        assert reached.wait(WAIT)
        change = {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        assert owner.post("/akun/kata-sandi", data=change).status_code == 302
    finally:
        changed.set()
        login.join(WAIT)
    assert results == [True]  # it did verify the old password and went on to rehash

    with db.all_tenants() as session:
        stored = session.scalar(select(User.password_hash).where(User.id == user.id))
    restored = int(check_password(stored, PASSWORD))
    figures.record(PART, "rehashes raced against a password change", 1)
    figures.record(PART, "old passwords restored", restored)
    assert restored == 0
    assert check_password(stored, NEW_PASSWORD)
    assert _alive(owner)
