"""The issue's definition of done: 200 people taking a number at one clinic at the same
moment get 200 distinct, consecutive numbers, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from balai.db import db, utcnow
from balai_puskesmas.models import QueueCounter, Ticket
from balai_puskesmas.queue import region_today, take_number

pytestmark = pytest.mark.clock  # see docs/testing.md, "Dates and times"

TAKERS = 200
EVERY_DAY = {str(d): ["00:00", "23:59"] for d in range(1, 8)}


# 200 people behind one address: the per-address limit is off here (tested elsewhere).
@pytest.mark.balai_config(PLUGIN_SETTINGS={"puskesmas": {"ticket_limit_address": ""}})
def test_200_concurrent_takers_get_numbers_1_to_200(
    app, tenant, enabled, make_facility, db_session
):
    facility = make_facility(hours=EVERY_DAY)
    clinic = facility.clinics[0]
    day = region_today(utcnow(), "Asia/Jakarta").isoformat()
    barrier = threading.Barrier(TAKERS)
    results: list[tuple[int, str]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def take() -> None:
        client = app.test_client()
        client.host = tenant.domains[0]
        try:
            barrier.wait(timeout=60)
            response = client.post(
                "/puskesmas/antrean/ambil", data={"clinic": str(clinic.id), "day": day}
            )
            with lock:
                results.append((response.status_code, response.headers.get("Location", "")))
        except BaseException as exc:  # reported below, with the others
            with lock:
                failures.append(exc)

    threads = [threading.Thread(target=take) for _n in range(TAKERS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.monotonic() - started

    assert failures == []
    assert len(results) == TAKERS
    assert sorted({status for status, _location in results}) == [302], results[:5]
    codes = {location.rsplit("/", 1)[-1] for _status, location in results}
    assert len(codes) == TAKERS  # each taker got their own ticket
    tickets = db_session.scalars(select(Ticket).where(Ticket.clinic_id == clinic.id)).all()
    assert len(tickets) == TAKERS
    assert sorted(t.number for t in tickets) == list(range(1, TAKERS + 1))
    assert {t.code for t in tickets} == codes
    counter = db_session.scalar(select(QueueCounter).where(QueueCounter.clinic_id == clinic.id))
    assert counter is not None and counter.last_number == TAKERS
    print(f"{TAKERS} concurrent takes in {elapsed:.1f} s")
    assert elapsed < 60


@pytest.mark.balai_config(PLUGIN_SETTINGS={"puskesmas": {"ticket_limit_address": ""}})
def test_200_concurrent_takers_through_the_api_get_numbers_1_to_200(
    app, tenant, enabled, make_facility, db_session
):
    """The API's path: the counter and the ticket written by Core statements (one on
    PostgreSQL), the numbers ahead counted before the commit."""
    clinic = make_facility(hours=EVERY_DAY).clinics[0]
    barrier = threading.Barrier(TAKERS)
    results: list[tuple[int, dict]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def take() -> None:
        client = app.test_client()
        client.host = tenant.domains[0]
        try:
            barrier.wait(timeout=60)
            response = client.post("/api/v1/puskesmas/tickets", json={"clinic_id": clinic.id})
            with lock:
                results.append((response.status_code, response.get_json()))
        except BaseException as exc:  # reported below, with the others
            with lock:
                failures.append(exc)

    threads = [threading.Thread(target=take) for _n in range(TAKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    assert len(results) == TAKERS
    assert sorted({status for status, _body in results}) == [201], results[:5]
    given = sorted(body["number"] for _status, body in results)
    assert given == list(range(1, TAKERS + 1))
    # Counted inside each take's transaction: the takers before it, all still waiting.
    assert all(body["ahead"] == body["number"] - 1 for _status, body in results)
    tickets = db_session.scalars(select(Ticket).where(Ticket.clinic_id == clinic.id)).all()
    assert sorted(t.number for t in tickets) == given
    assert {t.code for t in tickets} == {body["code"] for _status, body in results}
    assert {t.tenant_id for t in tickets} == {tenant.id}
    counter = db_session.scalar(select(QueueCounter).where(QueueCounter.clinic_id == clinic.id))
    assert counter is not None and counter.last_number == TAKERS


def test_two_first_takers_of_a_day_wait_for_each_other(tenant, enabled, make_facility, vault):
    """The counter row does not exist yet: the second taker waits for the first one's
    transaction, then gets the next number (PostgreSQL: the unique key; SQLite: the lock)."""
    clinic = make_facility(hours=EVERY_DAY).clinics[0]
    now = utcnow()
    day = region_today(now, "Asia/Jakarta")
    rules = {
        "channel": "web",
        "days_ahead": 0,
        "closed_on_holidays": False,
        "timezone": "Asia/Jakarta",
    }
    first_session, second_session = db.new_session(tenant.id), db.new_session(tenant.id)
    taken: dict[str, int] = {}

    def second_taker() -> None:
        ticket = take_number(second_session, vault, clinic.id, day, now, **rules)
        taken["second"] = ticket.number
        second_session.commit()

    try:
        first = take_number(first_session, vault, clinic.id, day, now, **rules)
        thread = threading.Thread(target=second_taker)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive()  # waiting for the first taker's transaction
        first_session.commit()
        thread.join(timeout=15)
        assert (first.number, taken["second"]) == (1, 2)
    finally:
        first_session.close()
        second_session.close()


def test_a_rolled_back_first_take_leaves_no_gap(tenant, enabled, make_facility, vault):
    clinic = make_facility(hours=EVERY_DAY).clinics[0]
    now = utcnow()
    day = region_today(now, "Asia/Jakarta")
    rules = {
        "channel": "web",
        "days_ahead": 0,
        "closed_on_holidays": False,
        "timezone": "Asia/Jakarta",
    }
    first_session, second_session = db.new_session(tenant.id), db.new_session(tenant.id)
    taken: dict[str, int] = {}

    def second_taker() -> None:
        ticket = take_number(second_session, vault, clinic.id, day, now, **rules)
        taken["second"] = ticket.number
        second_session.commit()

    try:
        take_number(first_session, vault, clinic.id, day, now, **rules)
        thread = threading.Thread(target=second_taker)
        thread.start()
        thread.join(timeout=0.5)
        first_session.rollback()  # e.g. the request failed after taking the number
        thread.join(timeout=15)
        assert taken["second"] == 1
    finally:
        first_session.close()
        second_session.close()
