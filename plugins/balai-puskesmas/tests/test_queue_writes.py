"""How a number is written: the counter and the ticket in as few statements as the
database allows, each row carrying the session's region, and the rules read afresh
for every number (no cache across requests). The time is fixed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, select

from balai.calendar import Holiday, is_holiday
from balai.db import TenantContextError, db
from balai_puskesmas import queue
from balai_puskesmas.models import QueueCounter, Ticket

ZONE = "Asia/Jakarta"
MONDAY_MORNING = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 08:00 WIB
MONDAY = date(2026, 11, 23)
HOURS = {str(d): ["07:30", "14:00"] for d in range(1, 7)}  # Monday to Saturday
RULES = {"channel": "web", "days_ahead": 3, "closed_on_holidays": True, "timezone": ZONE}


@pytest.fixture
def umum(enabled, make_facility, db_session):
    return db_session.merge(make_facility("TULIS", hours=HOURS)).clinics[0]


def writes_of(session, action):
    """The INSERT and UPDATE statements ``action()`` sends, and its result."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "WITH")):
            sent.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        result = action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return sent, result


def test_the_counter_and_the_ticket_are_one_statement_on_postgresql(db_session, vault, umum):
    for expected in (1, 2):  # the first taker of the day creates the counter row
        sent, ticket = writes_of(
            db_session,
            lambda: queue.take_number(db_session, vault, umum.id, MONDAY, MONDAY_MORNING, **RULES),
        )
        assert ticket.number == expected
        if db_session.get_bind().dialect.name == "postgresql":
            assert len(sent) == 1, sent
            assert "puskesmas_queue_counter" in sent[0] and "puskesmas_ticket" in sent[0]
        else:  # SQLite has no writes in a WITH: the counter, then the ticket
            assert len(sent) == 2, sent
            assert "puskesmas_queue_counter" in sent[0] and "puskesmas_ticket" in sent[1]
    db_session.commit()
    db_session.expire_all()
    tickets = db_session.scalars(select(Ticket).order_by(Ticket.number)).all()
    assert [(t.number, t.tenant_id, t.clinic_id, t.status) for t in tickets] == [
        (1, umum.tenant_id, umum.id, "waiting"),
        (2, umum.tenant_id, umum.id, "waiting"),
    ]
    counter = db_session.scalars(select(QueueCounter)).one()
    assert (counter.tenant_id, counter.last_number) == (umum.tenant_id, 2)


def test_what_a_number_reads_before_it_writes_is_one_statement(db_session, vault, umum):
    """The clinic with its puskesmas, the region's day off and the counter's last number
    (a clinic with a quota) in one read; then the write(s)."""
    umum.daily_quota = 10
    db_session.commit()
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        ticket = queue.take_number(db_session, vault, umum.id, MONDAY, MONDAY_MORNING, **RULES)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert ticket.number == 1
    reads = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, reads
    for table in ("puskesmas_clinic", "puskesmas_facility", "balai_holiday", "queue_counter"):
        assert table in reads[0]
    writes = 1 if engine.dialect.name == "postgresql" else 2
    assert len(sent) == 1 + writes, sent


def test_the_ticket_given_is_the_stored_one(db_session, vault, umum):
    ticket = queue.take_number(
        db_session, vault, umum.id, MONDAY, MONDAY_MORNING, phone="0812 3456 7890", **RULES
    )
    assert ticket not in db_session.dirty and ticket not in db_session.new
    assert queue.display_number(ticket) == f"{umum.code}-001"
    columns = ("id", "code", "number", "day", "created_at", "phone_cipher", "nik_hash")
    shown = {c: getattr(ticket, c) for c in columns}
    assert shown["phone_cipher"] and shown["nik_hash"] is None
    db_session.commit()
    db_session.expire_all()
    stored = db_session.scalar(select(Ticket).where(Ticket.id == shown["id"]))
    assert {c: getattr(stored, c) for c in shown} == shown


def test_a_session_without_a_region_takes_no_number(app, tenant, umum, vault):
    with db.all_tenants() as session, pytest.raises(TenantContextError):
        queue._insert_ticket(session, umum, MONDAY, code="X", channel="web")


def test_a_day_off_of_another_region_is_not_ours(
    app, db_session, other_tenant, tenant_session, vault, umum
):
    wednesday = date(2026, 11, 25)
    with tenant_session(other_tenant.id) as session:
        session.add(Holiday(day=wednesday, name="Hari jadi kota B"))
    assert not is_holiday(db_session, wednesday)
    ticket = queue.take_number(db_session, vault, umum.id, wednesday, MONDAY_MORNING, **RULES)
    assert ticket.number == 1
    db_session.rollback()
    db_session.add(Holiday(day=wednesday, name="Hari jadi kota A"))
    db_session.commit()
    assert is_holiday(db_session, wednesday)  # at once: nothing kept between numbers
    assert is_holiday(db_session, date(2026, 12, 25))  # Christmas, a national holiday
    assert not is_holiday(db_session, MONDAY)
