"""Working days (*hari kerja*): national holidays, a region's own days off, date arithmetic.

Deadlines in public service are counted in working days: a complaint answered
within five working days skips weekends, national holidays, the joint leave days
(*cuti bersama*) decreed for civil servants each year, and the region's own days
off (:class:`Holiday`, kept on the admin page ``/admin/libur``).

:class:`WorkingCalendar` is plain Python (no Flask, no database) so services can
use and test it anywhere; :func:`calendar_for` builds one for the session's tenant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Date, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from balai.db import Base, TenantScoped

__all__ = [
    "Holiday",
    "WorkingCalendar",
    "calendar_for",
    "is_holiday",
    "is_national_holiday",
    "local_date",
    "national_holidays",
]

WEEKEND = frozenset({5, 6})  # Saturday and Sunday (date.weekday())
# Public holidays and the government's joint leave days (cuti bersama): on both,
# government offices are closed, so neither counts towards a service deadline.
CATEGORIES = ("public", "government")  # holidays.constants.PUBLIC, GOVERNMENT


class Holiday(TenantScoped, Base):
    """A region's own day off (*hari libur daerah*, local *cuti bersama*)."""

    __tablename__ = "balai_holiday"
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(120))


def national_holidays(years: Iterable[int], *, language: str = "id") -> dict[date, str]:
    """Indonesia's public holidays and joint leave days (*cuti bersama*) of ``years``.

    From the ``holidays`` package (categories ``public`` and ``government``).
    Islamic holidays of years the government has not decreed yet are estimates.

    :param language: ``"id"`` or ``"en_US"`` for the holidays' names.
    :returns: a new dict; a day with two holidays has both names, ``"; "``-separated.
    """
    return dict(_national(tuple(sorted(set(years))), language))


@lru_cache(maxsize=64)
def _national(years: tuple[int, ...], language: str) -> tuple[tuple[date, str], ...]:
    """Computed once per years and language: the Islamic calendar is not free."""
    import holidays  # on first use: importing it costs a worker's start-up a tenth of a second

    found = holidays.country_holidays("ID", years=years, categories=CATEGORIES, language=language)
    return tuple(sorted(found.items()))


class WorkingCalendar:
    """Which days are working days, and counting them; pure and immutable.

    :param holidays: days off (date → name) besides the weekend.
    :param weekend: weekdays off (``date.weekday()``: Monday 0 … Sunday 6).
    """

    def __init__(self, holidays: Mapping[date, str], weekend: frozenset[int] = WEEKEND) -> None:
        if not set(weekend) <= set(range(7)) or len(weekend) == 7:
            raise ValueError("weekend must be some, not all, of the weekdays 0-6")
        self.holidays: Mapping[date, str] = dict(holidays)
        self.weekend = frozenset(weekend)

    def is_working_day(self, day: date) -> bool:
        """Neither a weekend day nor a holiday."""
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The day ``days`` working days after ``start`` (``start`` never counts).

        ``days=0`` gives ``start`` itself, even on a holiday.
        """
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        while days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                days -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``; 0 if ``end <= start``."""
        span = (end - start).days
        return sum(self.is_working_day(start + timedelta(days=n)) for n in range(1, span + 1))


def calendar_for(session: Session, years: Iterable[int]) -> WorkingCalendar:
    """The working calendar of the session's tenant: national holidays plus its own.

    Pass every year a computation may reach, e.g. ``{today.year, today.year + 1}``
    for a deadline a few weeks ahead.
    """
    wanted = sorted(set(years))
    days_off = national_holidays(wanted)
    if wanted:
        rows = session.scalars(
            select(Holiday).where(
                Holiday.day >= date(wanted[0], 1, 1), Holiday.day <= date(wanted[-1], 12, 31)
            )
        )
        for row in rows:
            national = days_off.get(row.day)
            days_off[row.day] = f"{national}; {row.name}" if national else row.name
    return WorkingCalendar(days_off)


def is_holiday(session: Session, day: date) -> bool:
    """Whether ``day`` is off in the session's tenant: a national holiday or joint leave
    day, or one of its own days off. The same days as ``calendar_for(...).holidays``,
    for one day: the national ones from memory, the region's with one small query
    (never cached, so a day off added on ``/admin/libur`` counts at once)."""
    if is_national_holiday(day):
        return True
    found = session.scalar(select(Holiday.id).where(Holiday.day == day).limit(1))
    return found is not None


def is_national_holiday(day: date) -> bool:
    """Whether ``day`` is a national holiday or joint leave day (from memory, no
    query): :func:`is_holiday` without the region's own days off, for code that reads
    those together with its other rows."""
    return day in _national_days(day.year)


@lru_cache(maxsize=64)
def _national_days(year: int) -> frozenset[date]:
    return frozenset(day for day, _name in _national((year,), "id"))


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar day of the aware ``moment`` in the IANA zone ``timezone``.

    In a request the region's zone is ``balai.tenancy.select_timezone()``.
    """
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use balai.db.utcnow() or an aware value")
    return moment.astimezone(ZoneInfo(timezone)).date()
