"""Abuse limits under real parallel load: guessing passwords, emptying a clinic's queue,
sending confirmations to a stranger.

Each part sends its requests from real threads against the real database and records
what got through against the limit; the companion test switches the limits off
(``balai.ratelimit.hit_all`` always allows) and shows the same check going red.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from balai import ratelimit
from balai.auth import views
from balai.auth.accounts import create_user
from balai.channels import OutboxMessage, open_message
from balai.db import db
from balai.testing import PASSWORD

PARALLEL = 30
LOGIN_LIMIT = 5
TICKET_LIMIT = 10
RECIPIENT_LIMIT = 5
TUESDAY = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta, no holiday
EVERY_DAY = {str(d): ["00:00", "23:59"] for d in range(1, 8)}

pytestmark = pytest.mark.balai_config(
    LOGIN_MAX_FAILURES_ACCOUNT=LOGIN_LIMIT,
    LOGIN_MAX_FAILURES_ADDRESS=1000,
    PLUGIN_SETTINGS={
        "puskesmas": {"ticket_limit_address": f"{TICKET_LIMIT} per hour"},
        "pengaduan": {"submit_limit_recipient": f"{RECIPIENT_LIMIT} per day"},
    },
)


def in_parallel(app, tenant, send: Callable[[Any, int], Any], count: int = PARALLEL) -> list[int]:
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        client = app.test_client()
        client.host = tenant.domains[0]
        try:
            barrier.wait(timeout=60)
            response = send(client, n)
            with lock:
                statuses.append(response.status_code)
        except BaseException as exc:
            with lock:
                failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    return statuses


def _password_checks(app, tenant, monkeypatch) -> int:
    with db.all_tenants() as session:
        create_user(
            session, tenant_id=tenant.id, email="budi@example.test", name="Budi",
            role="warga", password=PASSWORD,
        )  # fmt: skip
    made: list[int] = []
    lock = threading.Lock()
    real = views.check_password

    def counting(hash_: str | None, password: str) -> bool:
        with lock:
            made.append(1)
        time.sleep(0.05)  # as long as a real Argon2 check, roughly
        return real(hash_, password)

    monkeypatch.setattr(views, "check_password", counting)
    wrong = {"email": "budi@example.test", "password": "salah-sekali-123"}
    in_parallel(app, tenant, lambda client, n: client.post("/masuk", data=wrong))
    return len(made)


def test_parallel_wrong_passwords_check_at_most_the_limit(app, tenant, monkeypatch, figures):
    checks = _password_checks(app, tenant, monkeypatch)
    figures.record("login throttling", "parallel wrong passwords", PARALLEL)
    figures.record("login throttling", "password checks made", checks)
    figures.record("login throttling", "limit", LOGIN_LIMIT)
    assert checks <= LOGIN_LIMIT


def _tickets(app, tenant, enable_plugin, time_machine) -> int:
    from balai_puskesmas.models import Clinic, Facility, Ticket

    time_machine.move_to(TUESDAY, tick=False)
    enable_plugin("puskesmas")
    with db.tenant_session(tenant.id) as session:
        facility = Facility(
            code="CIP", name="Puskesmas Cipondoh", address="Jl. Contoh 1", hours=EVERY_DAY
        )
        session.add(facility)
        session.flush()
        clinic = Clinic(facility_id=facility.id, code="UMUM", name="Poli Umum", daily_quota=25)
        session.add(clinic)
        session.flush()
        clinic_id = clinic.id
    take = {"clinic_id": clinic_id, "day": "2026-02-10"}
    in_parallel(app, tenant, lambda client, n: client.post("/api/v1/puskesmas/tickets", json=take))
    with db.tenant_session(tenant.id) as session:
        return int(session.scalar(select(func.count()).select_from(Ticket)) or 0)


def test_parallel_ticket_requests_from_one_address_get_at_most_the_limit(
    app, tenant, enable_plugin, time_machine, figures
):
    given = _tickets(app, tenant, enable_plugin, time_machine)
    figures.record("queue numbers", "parallel ticket requests", PARALLEL)
    figures.record("queue numbers", "numbers given", given)
    figures.record("queue numbers", "limit", TICKET_LIMIT)
    assert given <= TICKET_LIMIT


def _messages_to_one_recipient(app, tenant, enable_plugin) -> int:
    from balai_pengaduan.models import Category

    enable_plugin("pengaduan")
    with db.tenant_session(tenant.id) as session:
        session.add(Category(code="SAMPAH", name="Sampah menumpuk", group="kebersihan"))
    form = {
        "category": "SAMPAH",
        "description": "Sampah menumpuk.",
        "address": "Jl. Merdeka 1",
        "privacy": "public",
        "reporter_email": "korban@example.test",
    }

    def submit(client, n):
        address = {"REMOTE_ADDR": f"10.0.{n}.1"}
        return client.post("/pengaduan/lapor", data=form, environ_base=address)

    in_parallel(app, tenant, submit, count=12)
    with app.app_context(), db.tenant_session(tenant.id) as session:
        rows = session.scalars(select(OutboxMessage)).all()
        return sum(open_message(row, app).recipient == "korban@example.test" for row in rows)


def test_messages_to_one_recipient_stop_at_the_limit(app, tenant, enable_plugin, figures):
    sent = _messages_to_one_recipient(app, tenant, enable_plugin)
    figures.record("complaint confirmations", "parallel complaints to one recipient", 12)
    figures.record("complaint confirmations", "messages sent to one recipient", sent)
    figures.record("complaint confirmations", "limit", RECIPIENT_LIMIT)
    assert sent <= RECIPIENT_LIMIT


@pytest.fixture
def no_limits(monkeypatch):
    monkeypatch.setattr(
        ratelimit,
        "hit_all",
        lambda *hits: ratelimit.Outcome(True, 0, ratelimit.Limit("off", "1/second")),
    )


def test_the_checks_go_red_without_the_limits(
    app, tenant, enable_plugin, time_machine, monkeypatch, no_limits
):
    assert _password_checks(app, tenant, monkeypatch) > LOGIN_LIMIT
    assert _tickets(app, tenant, enable_plugin, time_machine) > TICKET_LIMIT
    assert _messages_to_one_recipient(app, tenant, enable_plugin) > RECIPIENT_LIMIT
