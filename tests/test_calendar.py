"""Working days: the pure calendar, national and regional holidays, and the admin page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from balai.calendar import (
    Holiday,
    WorkingCalendar,
    calendar_for,
    is_national_holiday,
    local_date,
    national_holidays,
)
from balai.db import db, utcnow
from balai.tenancy import TenantInfo
from balai.testing import csrf_token

# Messages are translatable; these tests read them in English.
pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

# A small fixed calendar: Christmas 2025, New Year 2026 and one regional day off.
FIXED = WorkingCalendar(
    {
        date(2025, 12, 25): "Hari Raya Natal",
        date(2025, 12, 26): "Cuti Bersama Hari Raya Natal",
        date(2026, 1, 1): "Tahun Baru Masehi",
        date(2025, 12, 31): "Hari Jadi Kota",
    }
)


# -- the pure calendar -------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 12, 22), True),  # Monday
        (date(2025, 12, 20), False),  # Saturday
        (date(2025, 12, 21), False),  # Sunday
        (date(2025, 12, 25), False),  # national holiday (Thursday)
        (date(2025, 12, 26), False),  # joint leave day (Friday)
        (date(2025, 12, 31), False),  # the region's own holiday (Wednesday)
        (date(2026, 1, 2), True),  # Friday after New Year
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert FIXED.is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2025, 12, 22), 0, date(2025, 12, 22)),  # zero days: the start itself
        (date(2025, 12, 20), 0, date(2025, 12, 20)),  # even on a weekend
        (date(2025, 12, 22), 1, date(2025, 12, 23)),  # Monday → Tuesday
        (date(2025, 12, 19), 1, date(2025, 12, 22)),  # Friday → Monday, skipping the weekend
        (date(2025, 12, 20), 1, date(2025, 12, 22)),  # from a Saturday: the start never counts
        (date(2025, 12, 24), 1, date(2025, 12, 29)),  # over Christmas, cuti bersama, weekend
        (date(2025, 12, 29), 2, date(2026, 1, 2)),  # over the year boundary
        (date(2025, 12, 22), 5, date(2026, 1, 2)),
    ],
)
def test_add_working_days(start: date, days: int, expected: date) -> None:
    assert FIXED.add_working_days(start, days) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2025, 12, 22), date(2025, 12, 22), 0),  # same day
        (date(2025, 12, 23), date(2025, 12, 22), 0),  # end before start
        (date(2025, 12, 22), date(2025, 12, 23), 1),
        (date(2025, 12, 19), date(2025, 12, 22), 1),  # weekend in between
        (date(2025, 12, 22), date(2026, 1, 2), 5),  # over the year boundary
        (date(2025, 12, 24), date(2025, 12, 28), 0),  # holidays and a weekend only
    ],
)
def test_working_days_between(start: date, end: date, expected: int) -> None:
    assert FIXED.working_days_between(start, end) == expected


def test_adding_and_counting_agree() -> None:
    start = date(2025, 12, 1)
    for days in range(0, 40):
        assert FIXED.working_days_between(start, FIXED.add_working_days(start, days)) == days


def test_a_six_day_week() -> None:
    saturdays_work = WorkingCalendar({}, weekend=frozenset({6}))
    assert saturdays_work.is_working_day(date(2025, 12, 20))
    assert saturdays_work.add_working_days(date(2025, 12, 19), 1) == date(2025, 12, 20)


@pytest.mark.parametrize("weekend", [frozenset(range(7)), frozenset({7})])
def test_an_impossible_weekend_is_refused(weekend: frozenset[int]) -> None:
    with pytest.raises(ValueError, match="weekend"):
        WorkingCalendar({}, weekend=weekend)


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        FIXED.add_working_days(date(2025, 12, 22), -1)


# -- national holidays -------------------------------------------------------------


def test_national_holidays_include_joint_leave_days() -> None:
    found = national_holidays([2025])
    assert found[date(2025, 8, 17)] == "Hari Kemerdekaan Republik Indonesia"
    assert "Cuti Bersama" in found[date(2025, 4, 2)]  # Lebaran joint leave
    assert all(day.year == 2025 for day in found)


def test_is_national_holiday_agrees_with_the_list() -> None:
    assert is_national_holiday(date(2025, 8, 17))  # Independence Day
    assert is_national_holiday(date(2025, 4, 2))  # joint leave
    assert not is_national_holiday(date(2025, 8, 19))
    listed = set(national_holidays([2026]))
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
    assert {day for day in days if is_national_holiday(day)} == listed


def test_national_holidays_in_english_and_for_several_years() -> None:
    found = national_holidays([2026, 2025, 2025], language="en_US")
    assert found[date(2025, 12, 25)] == "Christmas Day"
    assert {day.year for day in found} == {2025, 2026}


def test_the_lebaran_week_of_2025() -> None:
    """Idul Fitri 31 March - 1 April 2025, joint leave 2-7 April, Nyepi before it."""
    calendar = WorkingCalendar(national_holidays([2025]))
    week = [date(2025, 3, 31) + timedelta(days=n) for n in range(7)]
    assert not any(calendar.is_working_day(day) for day in week)
    # Thursday 27 March + 1 working day: Nyepi leave, Nyepi, Lebaran and its leave → 8 April.
    assert calendar.add_working_days(date(2025, 3, 27), 1) == date(2025, 4, 8)
    assert calendar.working_days_between(date(2025, 3, 27), date(2025, 4, 8)) == 1


# -- the tenant's calendar ---------------------------------------------------------


def test_calendar_for_adds_the_tenants_own_holidays_only(
    app, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    with db.tenant_session(tenant.id) as session:
        session.add(Holiday(day=date(2025, 10, 28), name="Hari Jadi Kota A"))
        session.add(Holiday(day=date(2025, 8, 17), name="Upacara daerah"))
        session.add(Holiday(day=date(2027, 1, 4), name="Another year"))
    with db.tenant_session(tenant.id) as session:
        mine = calendar_for(session, [2025])
    with db.tenant_session(other_tenant.id) as session:
        theirs = calendar_for(session, [2025])
    assert not mine.is_working_day(date(2025, 10, 28))
    assert theirs.is_working_day(date(2025, 10, 28))
    assert mine.holidays[date(2025, 8, 17)] == (
        "Hari Kemerdekaan Republik Indonesia; Upacara daerah"
    )
    assert date(2027, 1, 4) not in mine.holidays
    assert mine.add_working_days(date(2025, 10, 27), 1) == date(2025, 10, 29)


def test_calendar_for_needs_a_tenant_session(app) -> None:
    from balai.db import TenantContextError

    with db.new_session() as session, pytest.raises(TenantContextError):
        calendar_for(session, [2025])


# -- local dates -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (datetime(2025, 1, 1, 16, 59, tzinfo=UTC), "Asia/Jakarta", date(2025, 1, 1)),
        (datetime(2025, 1, 1, 17, 0, tzinfo=UTC), "Asia/Jakarta", date(2025, 1, 2)),
        (datetime(2025, 1, 1, 15, 30, tzinfo=UTC), "Asia/Makassar", date(2025, 1, 1)),
        (datetime(2025, 1, 1, 15, 30, tzinfo=UTC), "Asia/Jayapura", date(2025, 1, 2)),
        (datetime(2025, 1, 2, 1, 0, tzinfo=timezone(timedelta(hours=9))), "UTC", date(2025, 1, 1)),
    ],
)
def test_local_date(moment: datetime, zone: str, expected: date) -> None:
    assert local_date(moment, zone) == expected


def test_local_date_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2025, 1, 1, 12, 0), "Asia/Jakarta")


# -- the admin page ----------------------------------------------------------------


def own_holidays(tenant: TenantInfo) -> list[tuple[date, str]]:
    with db.tenant_session(tenant.id) as session:
        rows = session.scalars(select(Holiday).order_by(Holiday.day))
        return [(h.day, h.name) for h in rows]


def test_the_page_needs_the_calendar_permission(client: FlaskClient, login) -> None:
    login(client, role="opd")
    assert client.get("/admin/libur").status_code == 403


def test_an_officer_granted_the_permission_may_keep_holidays(client: FlaskClient, login) -> None:
    login(client, role="opd", permissions=("balai.manage_calendar",))
    assert client.get("/admin/libur").status_code == 200


def test_the_page_lists_national_holidays_of_the_chosen_year(client: FlaskClient, login) -> None:
    login(client, role="admin")
    page = client.get("/admin/libur?year=2025").get_data(as_text=True)
    assert "National holidays in 2025" in page
    assert "Eid al-Fitr Joint Holiday" in page
    assert 'datetime="2025-04-02"' in page
    assert "The region has no holidays of its own in this year." in page
    assert 'href="/admin/libur"' in page  # the admin menu links here


@pytest.mark.clock
def test_a_nonsense_year_shows_the_regions_year(client: FlaskClient, login) -> None:
    login(client, role="admin")
    this_year = local_date(utcnow(), "Asia/Jakarta").year  # New Year comes first in WIB
    for year in ("abc", "99999", "1200"):
        page = client.get(f"/admin/libur?year={year}").get_data(as_text=True)
        assert f"National holidays in {this_year}" in page


def test_adding_and_deleting_a_holiday(
    client: FlaskClient, login, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    login(client, role="admin")
    response = client.post("/admin/libur", data={"day": "2025-10-28", "name": " Hari Jadi "})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/libur?year=2025"
    assert own_holidays(tenant) == [(date(2025, 10, 28), "Hari Jadi")]
    assert own_holidays(other_tenant) == []
    page = client.get("/admin/libur?year=2025").get_data(as_text=True)
    assert "Hari Jadi" in page and "has been added" in page
    with db.tenant_session(tenant.id) as session:
        holiday_id = session.scalars(select(Holiday.id)).one()
    assert client.post(f"/admin/libur/{holiday_id}/hapus").status_code == 302
    assert own_holidays(tenant) == []


@pytest.mark.parametrize(
    ("form", "field_message"),
    [
        ({"day": "", "name": "Hari Jadi"}, "This field is required."),
        ({"day": "28-10-2025", "name": "Hari Jadi"}, "Enter a date such as 2025-12-24."),
        ({"day": "2025-02-30", "name": "Hari Jadi"}, "Enter a date such as 2025-12-24."),
        ({"day": "2025-10-28", "name": "   "}, "This field is required."),
        ({"day": "2025-10-28", "name": "x" * 121}, "At most 120 characters."),
    ],
)
def test_invalid_input_is_refused_and_nothing_is_written(
    client: FlaskClient, login, tenant: TenantInfo, form: dict[str, str], field_message: str
) -> None:
    login(client, role="admin")
    response = client.post("/admin/libur", data=form)
    assert response.status_code == 400
    assert field_message in response.get_data(as_text=True)
    assert own_holidays(tenant) == []


def test_a_second_holiday_on_the_same_day_is_refused(
    client: FlaskClient, login, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    with db.tenant_session(other_tenant.id) as session:  # another region's day is no obstacle
        session.add(Holiday(day=date(2025, 10, 28), name="Hari Jadi Kota B"))
    login(client, role="admin")
    assert client.post("/admin/libur", data={"day": "2025-10-28", "name": "A"}).status_code == 302
    response = client.post("/admin/libur", data={"day": "2025-10-28", "name": "B"})
    assert response.status_code == 400
    assert "already has a holiday on that day" in response.get_data(as_text=True)
    assert own_holidays(tenant) == [(date(2025, 10, 28), "A")]


def test_another_regions_holiday_cannot_be_deleted(
    client: FlaskClient, login, other_tenant: TenantInfo
) -> None:
    with db.tenant_session(other_tenant.id) as session:
        holiday = Holiday(day=date(2025, 10, 28), name="Hari Jadi Kota B")
        session.add(holiday)
        session.flush()
        holiday_id = holiday.id
    login(client, role="admin")
    assert client.post(f"/admin/libur/{holiday_id}/hapus").status_code == 404
    assert own_holidays(other_tenant) == [(date(2025, 10, 28), "Hari Jadi Kota B")]


def test_a_long_list_is_paginated(client: FlaskClient, login, tenant: TenantInfo) -> None:
    with db.tenant_session(tenant.id) as session:
        for n in range(25):
            session.add(Holiday(day=date(2025, 1, 1) + timedelta(days=n), name=f"Libur {n:02d}"))
    login(client, role="admin")
    first = client.get("/admin/libur?year=2025").get_data(as_text=True)
    assert "Libur 00" in first and "Libur 24" not in first
    assert "Page 1 of 2" in first
    second = client.get("/admin/libur?year=2025&page=2").get_data(as_text=True)
    assert "Libur 24" in second and "Libur 00" not in second


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_the_form_needs_its_csrf_token(client: FlaskClient, login, tenant: TenantInfo) -> None:
    login(client, role="admin")
    form = {"day": "2025-10-28", "name": "Hari Jadi"}
    assert client.post("/admin/libur", data=form).status_code == 400
    assert own_holidays(tenant) == []
    form["csrf_token"] = csrf_token(client, "/admin/libur")
    assert client.post("/admin/libur", data=form).status_code == 302
    assert own_holidays(tenant) == [(date(2025, 10, 28), "Hari Jadi")]
