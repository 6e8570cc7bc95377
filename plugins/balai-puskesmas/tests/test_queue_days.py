"""Which days a number can be taken for: opening days, the region's holidays, and
today only until the puskesmas closes. The time is fixed, so these run the same on
any day and at any hour."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from balai.calendar import Holiday
from balai.testing import travel
from balai_puskesmas import queue
from balai_puskesmas.models import Ticket
from balai_puskesmas.services import PuskesmasError

ZONE = "Asia/Jakarta"
MONDAY_MORNING = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 08:00 WIB
MONDAY_AFTERNOON = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 15:00 WIB
HOURS = {str(d): ["07:30", "14:00"] for d in range(1, 7)}  # Monday to Saturday


@pytest.fixture
def umum(enabled, make_facility, db_session):
    facility = make_facility("HARI", hours=HOURS)
    return db_session.merge(facility).clinics[0]


def take(session, vault, clinic, day, now, closed_on_holidays=True):
    return queue.take_number(
        session,
        vault,
        clinic.id,
        day,
        now,
        channel="web",
        days_ahead=40,
        closed_on_holidays=closed_on_holidays,
        timezone=ZONE,
    )


def refusal(session, vault, clinic, day, now, **options) -> str:
    with pytest.raises(PuskesmasError) as refused:
        take(session, vault, clinic, day, now, **options)
    session.rollback()
    return refused.value.errors["day"][0]


def test_today_until_closing_time(db_session, vault, umum):
    today = date(2026, 11, 23)
    assert take(db_session, vault, umum, today, MONDAY_MORNING).number == 1
    db_session.commit()
    message = refusal(db_session, vault, umum, today, MONDAY_AFTERNOON)
    assert message.startswith("The puskesmas has closed for today")
    tomorrow = take(db_session, vault, umum, date(2026, 11, 24), MONDAY_AFTERNOON)
    assert tomorrow.number == 1


def test_a_weekday_without_hours_is_closed(db_session, vault, umum):
    sunday = date(2026, 11, 29)
    assert refusal(db_session, vault, umum, sunday, MONDAY_MORNING) == (
        "The puskesmas is closed on that day."
    )


def test_national_holidays_are_closed_unless_the_region_says_otherwise(db_session, vault, umum):
    christmas = date(2026, 12, 25)  # a Friday
    assert "holiday" in refusal(db_session, vault, umum, christmas, MONDAY_MORNING)
    ticket = take(db_session, vault, umum, christmas, MONDAY_MORNING, closed_on_holidays=False)
    assert ticket.number == 1


def test_the_regions_own_days_off_are_closed(db_session, vault, umum):
    local_day_off = date(2026, 11, 25)  # a Wednesday
    assert take(db_session, vault, umum, local_day_off, MONDAY_MORNING).number == 1
    db_session.rollback()
    db_session.add(Holiday(day=local_day_off, name="Hari jadi kota"))
    db_session.commit()
    assert "holiday" in refusal(db_session, vault, umum, local_day_off, MONDAY_MORNING)


# -- every channel follows the region's setting ----------------------------------------

CHRISTMAS_MORNING = "2026-12-25T09:00:00+07:00"  # a Friday, a national holiday


def take_today_by(channel, sms_webhook, client, clinic, officer, open_kiosk) -> None:
    """Ask for a number for today by ``channel``, over HTTP, as a citizen or the desk."""
    if channel == "web":
        form = {"clinic": str(clinic.id), "day": "2026-12-25"}
        client.post("/puskesmas/antrean/ambil", data=form)
    elif channel == "kiosk":
        open_kiosk(client, clinic.facility)
        client.post(f"/puskesmas/{clinic.facility_id}/kios", data={"clinic": str(clinic.id)})
    elif channel == "desk":
        officer(client, clinic.facility)
        client.post(f"/puskesmas/loket/{clinic.id}/ambil", data={})
    elif channel == "api":
        client.post("/api/v1/puskesmas/tickets", json={"clinic_id": clinic.id})
    else:
        sms = {"from": "+6281234567890", "text": f"ANTRE HARI {clinic.code}"}
        client.post("/-/sms/masuk", data=sms, headers=sms_webhook())


@pytest.mark.parametrize("channel", ["web", "kiosk", "desk", "api", "sms"])
@pytest.mark.parametrize("open_on_holidays", [True, False], ids=["opens", "closes"])
def test_every_channel_follows_the_regions_holiday_setting(
    app,
    client,
    enabled,
    umum,
    officer,
    open_kiosk,
    db_session,
    channel,
    open_on_holidays,
    set_plugin_settings,
    sms_webhook,
):
    set_plugin_settings("puskesmas", closed_on_holidays=not open_on_holidays)
    with travel(CHRISTMAS_MORNING):
        take_today_by(channel, sms_webhook, client, umum, officer, open_kiosk)
    taken = db_session.scalar(select(func.count()).select_from(Ticket))
    assert taken == (1 if open_on_holidays else 0)
