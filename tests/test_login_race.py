"""Parallel guesses cannot check more passwords than the throttle allows.

Thirty wrong passwords sent at the same moment, by real threads against the real
database, must lead to at most the limit of password checks: an attempt is counted
before its password is verified, not after. The same holds for the current password
on the password-change page, and for the per-address limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from balai.auth import views
from balai.auth.accounts import create_user
from balai.db import db
from balai.testing import PASSWORD

PARALLEL = 30
LIMIT = 5
WRONG = "salah-sekali-123"


@pytest.fixture
def checks(monkeypatch) -> list[int]:
    """Counts calls to the password verifier; each takes a while, as Argon2 does."""
    made: list[int] = []
    lock = threading.Lock()
    real = views.check_password

    def counting(hash_: str | None, password: str) -> bool:
        with lock:
            made.append(1)
        time.sleep(0.05)
        return real(hash_, password)

    monkeypatch.setattr(views, "check_password", counting)
    return made


def clients(app, tenant) -> list[Any]:
    made = []
    for _n in range(PARALLEL):
        client = app.test_client()
        client.host = tenant.domains[0]
        made.append(client)
    return made


def in_parallel(browsers: list[Any], send: Callable[[Any, int], Any]) -> list[int]:
    """Status codes of ``send(client, n)`` from one thread per client, released at once."""
    barrier = threading.Barrier(PARALLEL)
    statuses: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=60)
            response = send(browsers[n], n)
            with lock:
                statuses.append(response.status_code)
        except BaseException as exc:  # reported below
            with lock:
                failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    return statuses


def _user(tenant, email: str = "budi@example.test") -> None:
    with db.all_tenants() as session:
        create_user(
            session, tenant_id=tenant.id, email=email, name="Budi", role="warga", password=PASSWORD
        )


@pytest.mark.balai_config(LOGIN_MAX_FAILURES_ACCOUNT=LIMIT, LOGIN_MAX_FAILURES_ADDRESS=1000)
def test_parallel_wrong_passwords_check_at_most_the_account_limit(app, tenant, checks):
    _user(tenant)

    def guess(client, n):
        return client.post("/masuk", data={"email": "budi@example.test", "password": WRONG})

    statuses = in_parallel(clients(app, tenant), guess)
    assert len(checks) <= LIMIT, f"{len(checks)} password checks for a limit of {LIMIT}"
    assert sorted(statuses).count(429) >= PARALLEL - LIMIT
    assert len(statuses) == PARALLEL


@pytest.mark.balai_config(LOGIN_MAX_FAILURES_ACCOUNT=1000, LOGIN_MAX_FAILURES_ADDRESS=LIMIT)
def test_parallel_guesses_from_one_address_check_at_most_the_address_limit(app, tenant, checks):
    def guess(client, n):
        data = {"email": f"tebak{n}@example.test", "password": WRONG}
        return client.post("/masuk", data=data, environ_base={"REMOTE_ADDR": "10.6.6.6"})

    in_parallel(clients(app, tenant), guess)
    assert len(checks) <= LIMIT, f"{len(checks)} password checks for a limit of {LIMIT}"


@pytest.mark.balai_config(LOGIN_MAX_FAILURES_ACCOUNT=LIMIT, LOGIN_MAX_FAILURES_ADDRESS=1000)
def test_parallel_guesses_of_the_current_password_check_at_most_the_limit(app, tenant, checks):
    _user(tenant)

    browsers = clients(app, tenant)
    for client in browsers:  # one stolen session per thread, before the guessing starts
        client.post("/masuk", data={"email": "budi@example.test", "password": PASSWORD})
        assert client.get("/akun").status_code == 200
    checks.clear()

    def guess(client, n):
        change = {"current": WRONG, "new": "sandi-baru-yang-panjang-456"}
        return client.post("/akun/kata-sandi", data={**change, "confirm": change["new"]})

    in_parallel(browsers, guess)
    made = len(checks)
    assert made <= LIMIT, f"{made} checks of the current password for a limit of {LIMIT}"
