"""The queue form offers only open days; the ticket's estimated call time starts at the
opening hour; the ticket number is sized not to wrap. The time is frozen: these run the
same on any day and at any hour."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from balai.calendar import Holiday
from balai.testing import travel
from balai_puskesmas import queue
from balai_puskesmas.models import Ticket
from balai_puskesmas.views import number_size

TAKE = "/puskesmas/antrean/ambil"
HOURS = {str(d): ["08:00", "14:00"] for d in range(1, 7)}  # Monday to Saturday
MONDAY_EARLY = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 07:00 WIB, before opening
MONDAY_NINE = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 WIB
MONDAY_EVENING = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 17:00 WIB, closed


@pytest.fixture(autouse=True)
def english(client):
    client.get("/bahasa?lang=en&next=/")


@pytest.fixture
def setup(app, enabled, make_facility, db_session, set_plugin_settings):
    """A puskesmas open Monday to Saturday 08:00-14:00, holidays closed, a week ahead;
    Wednesday 25 November is the region's own day off."""
    set_plugin_settings("puskesmas", closed_on_holidays=True, days_ahead=7)
    facility = make_facility("HARI", hours=HOURS)
    db_session.add(Holiday(day=date(2026, 11, 25), name="Hari jadi kota"))
    db_session.commit()
    return db_session.merge(facility)


def offered(html: str) -> list[str]:
    select_html = html[html.index('id="f-day"') : html.index("</select>", html.index('id="f-day"'))]
    return [part.split('"', 1)[0] for part in select_html.split('<option value="')[1:]]


def test_the_form_offers_only_the_days_a_number_can_be_taken(client, setup):
    with travel(MONDAY_NINE):
        days = offered(client.get(TAKE, query_string={"poli": setup.clinics[0].id}).text)
    # today (open), Tuesday, not Wednesday (a holiday), Thursday to Saturday, not Sunday,
    # Monday a week later
    assert days == [
        "2026-11-23", "2026-11-24", "2026-11-26", "2026-11-27", "2026-11-28", "2026-11-30",
    ]  # fmt: skip


def test_today_is_not_offered_once_the_puskesmas_has_closed(client, setup):
    with travel(MONDAY_EVENING):
        page = client.get(TAKE).text
    assert offered(page)[0] == "2026-11-24"
    assert ">Today, " not in page


def test_a_clinic_chosen_shows_its_puskesmas_days_only(client, setup, make_facility, db_session):
    make_facility("MINGGU", hours={"7": ["08:00", "12:00"]})  # open on Sundays only
    with travel(MONDAY_NINE):
        everything = offered(client.get(TAKE).text)
        chosen = offered(client.get(TAKE, query_string={"poli": setup.clinics[0].id}).text)
    assert "2026-11-29" in everything  # a Sunday: the other puskesmas is open
    assert "2026-11-29" not in chosen


def test_no_open_day_is_said_and_the_button_is_off(
    client, app, enabled, make_facility, set_plugin_settings
):
    set_plugin_settings("puskesmas", days_ahead=0)
    make_facility("TUTUP", hours={"7": ["08:00", "12:00"]})
    with travel(MONDAY_NINE):
        page = client.get(TAKE).text
    assert "No puskesmas gives numbers in the coming days" in page
    assert 'id="f-day"' not in page
    assert '<button type="submit" disabled>' in page


def take(client, clinic, day):
    response = client.post(TAKE, data={"clinic": str(clinic.id), "day": day})
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def test_the_estimated_call_starts_at_the_opening_hour(client, setup):
    umum = setup.clinics[0]  # 10 minutes per patient
    with travel(MONDAY_EARLY):
        take(client, umum, "2026-11-24")
        second = take(client, umum, "2026-11-24")
        page = client.get(second).text
    assert "around 08.10" in page  # one ahead, from 08:00 on Tuesday
    assert "Position" not in page and "Urutan" not in page
    assert "People ahead" in page


def test_today_after_opening_the_estimate_starts_now(client, setup, db_session):
    umum = setup.clinics[0]
    with travel(MONDAY_NINE):
        for _ in range(3):
            last = take(client, umum, "2026-11-23")
        page = client.get(last).text
    assert "around 09.20" in page  # two ahead, from 09:00


def test_estimated_call_follows_the_clinics_minutes_per_patient(db_session, vault, setup):
    umum = setup.clinics[0]
    umum.minutes_per_patient = 7
    db_session.commit()
    for _ in range(4):
        ticket = queue.take_number(
            db_session, vault, umum.id, date(2026, 11, 24), MONDAY_EARLY, channel="web",
            days_ahead=7, closed_on_holidays=True, timezone="Asia/Jakarta",
        )  # fmt: skip
    at = queue.estimated_call(db_session, ticket, MONDAY_EARLY, "Asia/Jakarta")
    assert at is not None and (at.hour, at.minute) == (8, 21)  # three ahead
    ticket.status = "called"
    assert queue.estimated_call(db_session, ticket, MONDAY_EARLY, "Asia/Jakarta") is None


@pytest.mark.parametrize(
    ("number", "size"),
    [("UMUM-012", ""), ("LANSIA-012", "chars-11"), ("IMUNISASI-012", "chars-15"),
     ("KESEHATANJIWA-0120", "chars-24")],
)  # fmt: skip
def test_the_number_is_sized_by_its_length_never_wrapped(number, size):
    assert number_size(number) == size


def test_a_ticket_number_fits_its_card_in_the_widest_bold_font():
    """At 390 px the card's content box is 330 px: ``UMUM-004`` in DejaVu Sans Bold
    (widths in em: U .812, M .863, - .415, digits .696; no letter spacing) must fit."""
    css = (Path(__file__).parents[1] / "balai_puskesmas" / "static" / "puskesmas.css").read_text()
    rules = re.findall(r"\.(?:kiosk-)?ticket \.number\{[^}]*\}", css)
    factors = {
        float(f) for rule in rules for f in re.findall(r"var\(--chars\) \* ([.0-9]+)\)", rule)
    }
    assert factors and all(f >= 0.863 for f in factors)  # no capital wider than this
    font = 330 / (8 * min(factors))
    width = (2 * 0.812 + 2 * 0.863 + 0.415 + 3 * 0.696) * font
    assert width <= 330


def test_the_ticket_page_sizes_its_number(client, setup, db_session):
    with travel(MONDAY_NINE):
        page = client.get(take(client, setup.clinics[0], "2026-11-23")).text
    assert '<p class="number ">UMUM-001</p>' in page
    response = client.get("/puskesmas/static/puskesmas.css")
    css = response.text
    response.close()
    assert ".ticket .number,.kiosk-ticket .number{--chars:8;white-space:nowrap" in css
    assert "letter-spacing:0;font-size:min(5rem,calc(100cqi / (var(--chars) * .87)))" in css
    db_session.expire_all()
    assert db_session.scalars(select(Ticket)).one().number == 1
