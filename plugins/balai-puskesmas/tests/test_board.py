"""The display board of a puskesmas: current numbers, waiting counts, self-refresh."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import event

from balai.db import utcnow
from balai_puskesmas import queue
from balai_puskesmas.models import Clinic, Facility, Ticket
from balai_puskesmas.services import Actor

pytestmark = pytest.mark.clock  # see docs/testing.md, "Dates and times"

TZ = "Asia/Jakarta"
EVERY_DAY = {str(d): ["00:00", "23:59"] for d in range(1, 8)}


@pytest.fixture(autouse=True)
def english(client) -> None:
    """Pages in English: the assertions read message ids, whatever the catalogue says."""
    client.get("/bahasa?lang=en&next=/")


@pytest.fixture
def open_facility(enabled, make_facility: Callable[..., Facility]) -> Facility:
    return make_facility(hours=EVERY_DAY)


@pytest.fixture
def desk(open_facility: Facility) -> Actor:
    return Actor(user_id=None, label="desk", duties={open_facility.id: "registration"})


@pytest.fixture
def take(db_session, vault, open_facility) -> Callable[..., Ticket]:
    def do_take(clinic: Clinic, count: int = 1) -> list[Ticket]:
        now = utcnow()
        day = queue.region_today(now, TZ)
        taken = [
            queue.take_number(
                db_session,
                vault,
                clinic.id,
                day,
                now,
                channel="kiosk",
                days_ahead=0,
                closed_on_holidays=False,
                timezone=TZ,
            )
            for _n in range(count)
        ]
        db_session.commit()
        return taken

    return do_take


def board_url(facility: Facility) -> str:
    return f"/puskesmas/{facility.id}/layar"


def test_board_shows_each_clinics_current_number(client, open_facility, take, desk, db_session):
    umum, gigi, _kia = open_facility.clinics
    take(umum, 4)
    take(gigi, 1)
    now = utcnow()
    day = queue.region_today(now, TZ)
    for minutes in (0, 1, 2):
        queue.call_next(db_session, desk, umum.id, day, now + timedelta(minutes=minutes))
    db_session.commit()

    response = client.get(board_url(open_facility))
    assert response.status_code == 200
    text = response.text
    assert '<p class="number">UMUM-003</p>' in text
    assert '<p class="number">—</p>' in text  # GIGI and KIA: nobody called yet
    assert "1 waiting" in text  # UMUM-004, GIGI-001
    assert "0 waiting" in text  # KIA
    assert "<li>UMUM-002</li><li>UMUM-001</li>" in text
    assert text.index("Poli Umum") < text.index("Poli Gigi") < text.index("Poli Kia")


def test_board_reloads_itself_and_needs_no_login_nor_script(client, open_facility):
    response = client.get(board_url(open_facility))
    assert response.status_code == 200
    # the default; in <noscript>: with scripts, board.js fetches the page in place
    assert '<noscript><meta http-equiv="refresh" content="15"></noscript>' in response.text
    scripts = re.findall(r"<script[^>]*>", response.text)
    assert scripts == ['<script src="/puskesmas/static/board.js" defer>']  # no inline code
    assert "style=" not in response.text
    assert 'nav class="main"' not in response.text  # a screen, not a site to browse
    assert "puskesmas.css" in response.text


@pytest.mark.balai_config(PLUGIN_SETTINGS={"puskesmas": {"board_refresh_seconds": 40}})
def test_board_refresh_follows_the_setting(client, open_facility):
    response = client.get(board_url(open_facility))
    assert '<meta http-equiv="refresh" content="40">' in response.text
    assert "reloads every 40 seconds" in response.text


def test_a_recalled_number_becomes_current(client, open_facility, take, desk, db_session):
    umum = open_facility.clinics[0]
    first, _second = take(umum, 2)
    now = utcnow()
    day = queue.region_today(now, TZ)
    queue.call_next(db_session, desk, umum.id, day, now)
    queue.call_next(db_session, desk, umum.id, day, now + timedelta(minutes=1))
    queue.recall(db_session, desk, first.id, now + timedelta(minutes=2))
    db_session.commit()
    [row, *_rest] = queue.board(db_session, open_facility.id, day)
    assert queue.display_number(row.current) == "UMUM-001"
    assert [queue.display_number(t) for t in row.recent] == ["UMUM-002"]


def test_served_numbers_stay_on_the_board_but_skipped_ones_leave(
    open_facility, take, desk, db_session
):
    umum = open_facility.clinics[0]
    first, second = take(umum, 2)
    now = utcnow()
    day = queue.region_today(now, TZ)
    queue.call_next(db_session, desk, umum.id, day, now)
    queue.finish(db_session, desk, first.id, now + timedelta(minutes=1))
    [row, *_rest] = queue.board(db_session, open_facility.id, day)
    assert row.current.id == first.id and row.waiting == 1
    queue.call_next(db_session, desk, umum.id, day, now + timedelta(minutes=2))
    queue.skip(db_session, desk, second.id, now + timedelta(minutes=3))
    [row, *_rest] = queue.board(db_session, open_facility.id, day)
    assert row.current.id == first.id and row.waiting == 0
    db_session.rollback()


def statements_of(session, action):
    """The SELECT statements ``action()`` sends, and its result."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            sent.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        result = action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return sent, result


def test_the_boards_statements_do_not_grow_with_its_clinics(
    enabled, make_facility, take, db_session
):
    small = make_facility("KECIL", clinics=("UMUM",), hours=EVERY_DAY)
    large = make_facility(
        "BESAR", clinics=("UMUM", "GIGI", "KIA", "LAB", "TB", "KB"), hours=EVERY_DAY
    )
    now = utcnow()
    day = queue.region_today(now, TZ)
    for facility in (small, large):
        for clinic in facility.clinics:
            take(clinic, 9)
            for minutes in range(5):
                queue.call_next(
                    db_session, desk_for(facility), clinic.id, day, now + timedelta(minutes=minutes)
                )
    db_session.commit()
    db_session.expunge_all()  # nothing answered from the session's identity map

    few, small_rows = statements_of(db_session, lambda: queue.board(db_session, small.id, day))
    db_session.expunge_all()
    many, large_rows = statements_of(db_session, lambda: queue.board(db_session, large.id, day))
    assert len(large_rows) == 6 and len(small_rows) == 1
    assert len(many) == len(few) <= 3
    for sql in many[1:]:  # the region's filter: on the ranked tickets and on those read
        assert sql.count("puskesmas_ticket.tenant_id = ") == 2, sql
    for row in large_rows:  # the last called, four before it, the next three, all waiting
        code = row.clinic.code
        assert queue.display_number(row.current) == f"{code}-005"
        assert [queue.display_number(t) for t in row.recent] == [
            f"{code}-00{n}" for n in (4, 3, 2, 1)
        ]
        assert [queue.display_number(t) for t in row.upcoming] == [
            f"{code}-00{n}" for n in (6, 7, 8)
        ]
        assert row.waiting == 4


def desk_for(facility: Facility) -> Actor:
    return Actor(user_id=None, label="desk", duties={facility.id: "registration"})


def test_board_without_clinics(client, enabled, make_facility):
    facility = make_facility("KOSONG", clinics=())
    response = client.get(board_url(facility))
    assert response.status_code == 200 and "No clinic takes numbers here yet." in response.text


def test_board_of_an_unknown_inactive_or_other_regions_puskesmas_is_404(
    client, other_client, open_facility, make_facility, enable_plugin, other_tenant
):
    closed = make_facility("TUTUP", active=False)
    assert client.get(board_url(closed)).status_code == 404
    assert client.get("/puskesmas/99999/layar").status_code == 404
    enable_plugin("puskesmas", tenant=other_tenant)
    assert other_client.get(board_url(open_facility)).status_code == 404
    assert other_client.get(f"/puskesmas/{open_facility.id}/kios").status_code == 404


def test_stylesheet_is_served(client, enabled):
    response = client.get("/puskesmas/static/puskesmas.css")
    assert response.status_code == 200 and ".board" in response.text
    response.close()
    assert client.get("/puskesmas/static/../views.py").status_code == 404
