"""Queue numbers (*nomor antrean*): taking one, the desk's moves, the board, the figures.

No Flask here: pages, the kiosk, the SMS handler, the API and tests pass the session,
the region's vault, the time and the region's time zone in.

**Numbers.** A clinic's numbers of a day come from one :class:`QueueCounter` row. Taking
a number creates or increments that row (``INSERT … ON CONFLICT DO UPDATE …
RETURNING``) and inserts the ticket in the same transaction (on PostgreSQL in the
same statement): a concurrent taker waits for the row lock (PostgreSQL) or the write
lock (SQLite) until the first commits, and a take that rolls back gives its number
back. Numbers are therefore sequential, never duplicated and never skipped. The
counter is the first write of the transaction and nothing is read inside it before:
on SQLite in WAL mode a transaction that read first could not wait for the lock.

**What is read.** The clinic, its puskesmas (hours, quota, open or not), whether
the day is one of the region's days off and the counter's last number are read
afresh for every number, in one statement in the request's session (no cache across
requests): closing a clinic, changing its hours or quota, or adding a day off stops
the very next number. Only the national holidays, which come with the ``holidays``
package, are kept in memory.

**Errors.** Every refusal is a :class:`~balai_puskesmas.services.PuskesmasError` whose
messages are English ids marked with ``N_`` (translated where shown). When
:func:`take_number` or a desk move refuses after it wrote, the caller must roll back
(the views always do): the counter may have been incremented.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, bindparam, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from balai.calendar import Holiday, calendar_for, is_national_holiday
from balai.db import TenantContextError
from balai.i18n import N_
from balai.rules import Label
from balai_puskesmas.models import Clinic, Facility, Patient, QueueCounter, Ticket, Visit
from balai_puskesmas.nik import NikError, check_nik, normalise_nik
from balai_puskesmas.services import Actor, PuskesmasError, mobile_number, require_duty
from balai_puskesmas.vault import Vault

__all__ = [
    "CHANNELS",
    "CHANNEL_LABELS",
    "DEFAULT_DESK_SHARE",
    "DESK_DUTIES",
    "ONLINE_CHANNELS",
    "STATUS_LABELS",
    "BoardRow",
    "ClinicQueue",
    "NumberHeld",
    "Stats",
    "board",
    "bookable_days",
    "call_next",
    "cancel_by_holder",
    "clinic_queue",
    "current_called",
    "desk_clinic",
    "desk_ticket",
    "display_number",
    "estimate",
    "estimated_call",
    "finish",
    "my_tickets",
    "normalise_phone",
    "online_quota",
    "open_days",
    "recall",
    "region_today",
    "skip",
    "stats",
    "take_number",
    "ticket_by_code",
    "waiting_counts",
]


#: Where a number was taken.
CHANNELS = ("web", "kiosk", "sms", "desk", "api")
#: Channels used from anywhere, without coming to the puskesmas: they stop short of a
#: clinic's daily quota by the share kept for the desk and the kiosk.
ONLINE_CHANNELS = ("web", "sms", "api")
#: The share of a daily quota kept for the desk and the kiosk when none is given (the
#: setting ``desk_share_percent``'s default).
DEFAULT_DESK_SHARE = 20
#: How a channel reads (message ids).
CHANNEL_LABELS = {
    "web": N_("web"),
    "kiosk": N_("kiosk"),
    "sms": N_("SMS"),
    "desk": N_("desk"),
    "api": N_("app"),
}
#: Duties that may work the queue of a puskesmas.
DESK_DUTIES = ("registration", "clinician")
#: How a ticket's status reads (message ids).
STATUS_LABELS = {
    "waiting": N_("Waiting"),
    "called": N_("Called"),
    "served": N_("Served"),
    "skipped": N_("Skipped"),
    "cancelled": N_("Cancelled"),
}
#: How many recently called numbers the board shows per clinic.
RECENT = 4
#: How many of the next waiting numbers the board shows per clinic.
UPCOMING = 3


# -- days and phone numbers ----------------------------------------------------------


def _zone(timezone: str | tzinfo) -> tzinfo:
    """A zone by IANA name; a pytz or other zone object is looked up by its name too
    (``datetime.combine`` with a pytz zone would use its first, local-mean-time offset)."""
    if isinstance(timezone, ZoneInfo):
        return timezone
    try:
        return ZoneInfo(str(timezone))
    except (ValueError, KeyError):  # not an IANA name: use the object as it is
        if isinstance(timezone, str):
            raise
        return timezone


def region_today(now: datetime, timezone: str | tzinfo) -> date:
    """The calendar day of the aware ``now`` in the region's time zone."""
    if now.tzinfo is None:
        raise ValueError("naive datetime given; use balai.db.utcnow() or an aware value")
    return now.astimezone(_zone(timezone)).date()


def bookable_days(now: datetime, timezone: str | tzinfo, days_ahead: int) -> list[date]:
    """The days a number can be taken for: the region's today up to ``days_ahead`` later."""
    today = region_today(now, timezone)
    return [today + timedelta(days=n) for n in range(max(days_ahead, 0) + 1)]


def open_days(
    session: Session,
    facilities: Iterable[Facility],
    days: Iterable[date],
    now: datetime,
    timezone: str | tzinfo,
    *,
    closed_on_holidays: bool,
) -> list[date]:
    """The ``days`` on which at least one of ``facilities`` gives numbers: a weekday with
    opening hours, not a holiday of the region (when ``closed_on_holidays``), and today
    only until closing time. The same rules :func:`take_number` applies, so a day
    offered on the form is a day a number can be taken for."""
    wanted = sorted(set(days))
    facilities = list(facilities)
    if not wanted or not facilities:
        return []
    today = region_today(now, timezone)
    holidays = (
        calendar_for(session, sorted({d.year for d in wanted})).holidays
        if closed_on_holidays
        else {}
    )
    local_now = now.astimezone(_zone(timezone)).strftime("%H:%M")
    found = []
    for day in wanted:
        if day in holidays:
            continue
        for facility in facilities:
            hours = (facility.hours or {}).get(str(day.isoweekday()))
            if hours and not (day == today and local_now > hours[1]):
                found.append(day)
                break
    return found


def _day_bounds(day: date, timezone: str | tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants where ``day`` starts and ends in the region's time zone."""
    zone = _zone(timezone)
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def normalise_phone(value: str) -> str:
    """An Indonesian mobile number as ``+628…``: ``0812-3456-7890``, ``62812…`` or ``+62 812…``.

    :raises PuskesmasError: on the field ``phone``.
    """
    number = mobile_number(value)
    if number is None:
        raise PuskesmasError(
            {"phone": N_("Enter an Indonesian mobile number, e.g. 0812 3456 7890.")}
        )
    return number


# -- taking a number -----------------------------------------------------------------


def online_quota(daily_quota: int | None, desk_share_percent: int) -> int | None:
    """How many of a clinic's numbers of a day the web, the app and SMS may give: the
    daily quota less the desk's share, rounded up to a whole number kept for the desk
    (quota 25, 20 %: 20; quota 3, 20 %: 2). ``None``: no quota, no limit."""
    if daily_quota is None:
        return None
    share = min(max(int(desk_share_percent), 0), 100)
    kept = -(-daily_quota * share // 100)  # ceiling: any share keeps at least one
    return max(daily_quota - kept, 0)


def take_number(
    session: Session,
    vault: Vault,
    clinic_id: int,
    day: date,
    now: datetime,
    *,
    channel: str,
    days_ahead: int,
    closed_on_holidays: bool,
    timezone: str | tzinfo,
    nik: str | None = None,
    phone: str | None = None,
    user_id: int | None = None,
    one_per_person: bool = False,
    desk_share_percent: int = DEFAULT_DESK_SHARE,
) -> Ticket:
    """Give the next number of ``clinic_id`` on ``day`` (flushed, not committed).

    :param vault: the region's vault: the NIK and the phone are stored sealed.
    :param channel: ``web``, ``kiosk``, ``sms``, ``desk`` or ``api``.
    :param days_ahead: how many days after the region's today a number may be taken for.
    :param closed_on_holidays: refuse the region's holidays: the region's setting of that
        name, which every channel must pass on.
    :param nik: optional; when it belongs to a known patient, that patient is only
        *suggested* for the ticket (``suggested_patient_id``): anyone can type a NIK,
        so the ticket is linked once the desk has checked the holder's KTP or KK
        (:func:`balai_puskesmas.patients.attach_ticket`).
    :param phone: optional Indonesian mobile number, told when the number is called.
    :param one_per_person: refuse a NIK that already holds a waiting or called number
        at the clinic that day; checked behind the counter's lock, so two parallel takes
        with one NIK cannot both pass.
    :param desk_share_percent: the share of the clinic's daily quota kept for the desk
        and the kiosk (the region's setting of that name): an online channel
        (:data:`ONLINE_CHANNELS`) gets no number once the clinic has given
        :func:`online_quota` numbers that day, by any channel; the desk and the kiosk
        give up to the full quota. Checked on the number the counter gives, so
        parallel takers cannot get past it either.
    :raises PuskesmasError: with the problems by field (``clinic``, ``day``, ``nik``,
        ``phone``); status 422. Roll back after it.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    # Never trimmed: "…\n" or " …" is not a NIK; digits in groups with single spaces
    # between are (nik.normalise_nik).
    nik = normalise_nik(nik) if nik else None  # type: ignore[assignment]
    phone = (phone or "").strip() or None
    errors: dict[str, str] = {}
    params: dict[str, object] = {}
    # One statement for all that is read before the counter: the clinic and its
    # puskesmas, whether the day is one of the region's own days off, the last number.
    found = session.execute(_take_reads(), {"clinic_id": clinic_id, "day": day}).one_or_none()
    clinic, day_off, given = found if found is not None else (None, False, None)
    if clinic is None or not clinic.active or not clinic.facility.active:
        errors["clinic"] = N_("Choose a clinic from the list.")
    today = region_today(now, timezone)
    last_day = today + timedelta(days=max(days_ahead, 0))
    if not today <= day <= last_day:
        errors["day"] = (
            N_("Numbers are given for today only.")
            if last_day == today
            else N_("Choose a day from today to %(last)s.")
        )
        params["last"] = last_day
    elif clinic is not None and "clinic" not in errors:
        holiday = closed_on_holidays and (day_off or is_national_holiday(day))
        closed = _closed_reason(clinic.facility, day, today, now, timezone, holiday)
        if closed is not None:
            errors["day"], closing = closed
            if closing:
                params["time"] = closing
    if nik is not None:
        try:
            check_nik(nik, today=today)
        except NikError as exc:
            errors["nik"] = exc.message
    if phone is not None:
        try:
            phone = normalise_phone(phone)
        except PuskesmasError as exc:
            errors["phone"] = exc.errors["phone"][0]
    if clinic is not None and not errors and clinic.daily_quota is not None:
        refusal = _quota_refusal(clinic, channel, desk_share_percent, (given or 0) + 1)
        if refusal is not None:
            errors["clinic"] = refusal
    if errors:
        raise PuskesmasError(errors, params=params)
    assert clinic is not None
    nik_cipher, nik_hash = vault.seal(nik)
    suggested = None
    if nik_hash is not None:
        suggested = session.scalar(select(Patient.id).where(Patient.nik_hash == nik_hash))
    # The first write of the transaction: from here concurrent takers queue behind us.
    ticket = _insert_ticket(
        session,
        clinic,
        day,
        code=new_code(),
        channel=channel,
        suggested_patient_id=suggested,
        nik_cipher=nik_cipher if suggested is None else None,
        nik_hash=nik_hash,
        phone_cipher=vault.encrypt(phone) if phone else None,
        user_id=user_id,
        created_at=now,
    )
    refusal = _quota_refusal(clinic, channel, desk_share_percent, ticket.number)
    if refusal is not None:
        raise PuskesmasError({"clinic": refusal})
    if one_per_person and _holds_active_number(session, ticket, nik_hash):
        raise NumberHeld({"nik": _ONE_PER_PERSON})
    return ticket


_QUOTA_REACHED = N_("This clinic has given all its numbers for that day.")
_ONLINE_QUOTA_REACHED = N_(
    "The numbers this clinic gives online for that day are used up. Come to the "
    "registration desk of the puskesmas: it keeps some numbers for people who come in "
    "person."
)
_ONE_PER_PERSON = N_(
    "This person may already have a number at this clinic for that day. Look at the "
    "SMS or the page you got with it, or ask at the registration desk."
)


class NumberHeld(PuskesmasError):
    """The refusal of ``one_per_person``: the NIK holds an active number there that day.

    Unlike the other refusals it says something about a person, so the limits on
    taking numbers count it (:meth:`balai_puskesmas.limiting.Reservation.refused`):
    asking which NIKs hold a number costs as much as taking one.
    """


def _quota_refusal(
    clinic: Clinic, channel: str, desk_share_percent: int, number: int
) -> str | None:
    """Why ``number`` is past what ``channel`` may give at ``clinic`` that day, or None."""
    quota = clinic.daily_quota
    if quota is None:
        return None
    if number > quota:
        return _QUOTA_REACHED
    if channel in ONLINE_CHANNELS:
        online = online_quota(quota, desk_share_percent)
        if online is not None and number > online:
            return _ONLINE_QUOTA_REACHED
    return None


def _holds_active_number(session: Session, ticket: Ticket, nik_hash: str | None) -> bool:
    """Whether the person with ``nik_hash`` already waits (or is called) at the clinic
    that day with another number than the one just given (``ticket``)."""
    if nik_hash is None:
        return False
    found = session.scalar(
        select(Ticket.id)
        .where(
            Ticket.clinic_id == ticket.clinic_id,
            Ticket.day == ticket.day,
            Ticket.nik_hash == nik_hash,
            Ticket.id != ticket.id,
            Ticket.status.in_(("waiting", "called")),
        )
        .limit(1)
    )
    return found is not None


def _closed_reason(
    facility: Facility,
    day: date,
    today: date,
    now: datetime,
    timezone: str | tzinfo,
    holiday: bool,
) -> tuple[str, str] | None:
    """Why no number can be taken for ``day``: ``(message id, closing time)``, or None.

    Closed on weekdays without opening hours, on ``holiday`` (one of the region's
    holidays: national holidays, joint leave and its own days off, ``balai.calendar``,
    when the region closes on them), and today once the puskesmas has closed.
    """
    hours = (facility.hours or {}).get(str(day.isoweekday()))
    if not hours:
        return N_("The puskesmas is closed on that day."), ""
    if holiday:
        return N_("The puskesmas is closed on that day: it is a holiday."), ""
    closing = hours[1]
    if day == today and now.astimezone(_zone(timezone)).strftime("%H:%M") > closing:
        return N_("The puskesmas has closed for today (at %(time)s): choose another day."), closing
    return None


@lru_cache(maxsize=1)
def _take_reads() -> Any:
    """``(clinic, the day is a day off of the region, the counter's last number or None)``
    for the parameters ``clinic_id`` and ``day``: what :func:`take_number` reads before
    it writes, in one statement built once (building it costs more than running it).

    Every table in it is a model's, so the session's tenant filter reaches the clinic,
    its puskesmas (joined), the days off and the counter (subqueries) alike; row-level
    security does too on PostgreSQL. Nothing is kept between numbers: closing a clinic
    or adding a day off stops the very next number. The last number is only a first
    look (a quota already reached is refused without a write); the number the counter
    gives is checked again behind its lock."""
    clinic_id, day = bindparam("clinic_id", type_=Integer()), bindparam("day", type_=Date())
    day_off = exists(select(Holiday.id).where(Holiday.day == day))
    given = (
        select(QueueCounter.last_number)
        .where(QueueCounter.clinic_id == clinic_id, QueueCounter.day == day)
        .scalar_subquery()
    )
    return select(Clinic, day_off, given).where(Clinic.id == clinic_id)


def _insert_ticket(session: Session, clinic: Clinic, day: date, **values: object) -> Ticket:
    """Give the next number of ``(clinic, day)`` and insert its ticket with ``values``.

    The counter row is created for the first taker of the day or incremented
    (``INSERT … ON CONFLICT DO UPDATE … RETURNING``): a concurrent taker waits for the
    row (PostgreSQL: its lock; SQLite: the database's write lock) until the first
    commits or rolls back. On PostgreSQL the counter and the ticket are one statement
    (the counter in a ``WITH``, feeding the ticket's ``INSERT … SELECT``); on SQLite,
    which has no writes in a ``WITH``, two.

    Core statements, not the ORM's unit of work (which cost more CPU than the rules): the
    session's tenant is written into both rows here, as the ORM's flush would, and
    row-level security checks it on PostgreSQL. The ticket is then added to the
    session as a loaded row, so callers use it like any other.
    """
    tenant_id = session.info.get("tenant_id")
    if tenant_id is None or session.info.get("all_tenants"):
        raise TenantContextError("a queue number is taken in a session of one tenant")
    row = {
        "tenant_id": tenant_id,
        "facility_id": clinic.facility_id,
        "clinic_id": clinic.id,
        "day": day,
        "status": "waiting",
        "patient_id": None,
        "recalls": 0,
        **values,
    }
    counter_row = {
        "counter_tenant_id": tenant_id,
        "counter_clinic_id": clinic.id,
        "counter_day": day,
    }
    upsert, fused = _take_statements(session.get_bind().dialect.name)
    if fused is not None:
        ticket_id, number = session.execute(fused, {**row, **counter_row}).one()
    else:
        number = session.execute(upsert, counter_row).scalar_one()
        ticket_id = session.execute(_TICKET_INSERT, {**row, "number": number}).scalar_one()
    ticket = Ticket(id=ticket_id, number=number, called_at=None, finished_at=None, **row)
    ticket.called_by_id = None
    ticket.clinic = clinic
    make_transient_to_detached(ticket)  # as if loaded: nothing left to flush
    stale = session.identity_map.get(identity_key(Ticket, ticket_id))
    if stale is not None:  # a ticket of a rolled-back take (SQLite gives its id again)
        session.expunge(stale)
    session.add(ticket)
    return ticket


#: The ticket's columns :func:`_insert_ticket` writes, besides its number.
_TICKET_COLUMNS = (
    "tenant_id",
    "facility_id",
    "clinic_id",
    "day",
    "status",
    "patient_id",
    "recalls",
    "code",
    "channel",
    "suggested_patient_id",
    "nik_cipher",
    "nik_hash",
    "phone_cipher",
    "user_id",
    "created_at",
)
_TICKET_INSERT = (
    insert(Ticket.__table__)
    .values(
        {
            name: bindparam(name, type_=Ticket.__table__.c[name].type)
            for name in (*_TICKET_COLUMNS, "number")
        }
    )
    .returning(Ticket.__table__.c.id)
)


@lru_cache(maxsize=4)
def _take_statements(dialect: str) -> tuple[Any, Any]:
    """``(counter upsert, counter and ticket in one statement or None)`` for a dialect,
    built once: building them costs more than running them."""
    counters = QueueCounter.__table__
    tickets = Ticket.__table__
    dml = postgresql if dialect == "postgresql" else sqlite
    upsert = (
        dml.insert(counters)
        .values(
            tenant_id=bindparam("counter_tenant_id"),
            clinic_id=bindparam("counter_clinic_id"),
            day=bindparam("counter_day"),
            last_number=1,
        )
        .on_conflict_do_update(
            index_elements=[counters.c.tenant_id, counters.c.clinic_id, counters.c.day],
            set_={"last_number": counters.c.last_number + 1},
        )
        .returning(counters.c.last_number)
    )
    if dialect != "postgresql":
        return upsert, None
    counter = upsert.cte("next_number")
    fused = (
        insert(tickets)
        .from_select(
            [*_TICKET_COLUMNS, "number"],
            select(
                *(bindparam(n, type_=tickets.c[n].type).label(n) for n in _TICKET_COLUMNS),
                counter.c.last_number,
            ),
        )
        .returning(tickets.c.id, tickets.c.number)
    )
    return upsert, fused


#: Letters and digits nobody confuses when copying a code from a printed ticket.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12  # 31^12: about 59 bits, unguessable


def new_code() -> str:
    """The token of a ticket's follow page: 12 characters, no 0/O, 1/I/L."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


# -- reading tickets -----------------------------------------------------------------


def display_number(ticket: Ticket) -> str:
    """The number as called and shown: ``UMUM-012``."""
    return f"{ticket.clinic.code}-{ticket.number:03d}"


def ticket_by_code(session: Session, code: str) -> Ticket | None:
    """The ticket whose holder's link carries ``code``."""
    code = (code or "").strip().upper()  # typed from a printed ticket: any case
    if not code or len(code) > 24:
        return None
    return session.scalar(select(Ticket).where(Ticket.code == code))


def estimate(session: Session, ticket: Ticket) -> tuple[int, int]:
    """``(people ahead, minutes)``: waiting tickets before this one times the clinic's pace."""
    if ticket.status != "waiting":
        return 0, 0
    ahead = session.scalar(
        _ahead_count(),
        {"clinic_id": ticket.clinic_id, "day": ticket.day, "number": ticket.number},
    )
    ahead = int(ahead or 0)
    return ahead, ahead * max(ticket.clinic.minutes_per_patient or 0, 0)


@lru_cache(maxsize=1)
def _ahead_count() -> Any:
    """The waiting tickets of ``clinic_id`` on ``day`` before ``number``: built once
    (for a new number, building it cost a third of running it); the session's tenant
    filter is added at each run as to any statement."""
    return (
        select(func.count())
        .select_from(Ticket)
        .where(
            Ticket.clinic_id == bindparam("clinic_id", type_=Integer()),
            Ticket.day == bindparam("day", type_=Date()),
            Ticket.status == "waiting",
            Ticket.number < bindparam("number", type_=Integer()),
        )
    )


def estimated_call(
    session: Session, ticket: Ticket, now: datetime, timezone: str | tzinfo
) -> datetime | None:
    """When a waiting number is likely to be called (aware, in the region's zone), or
    ``None`` (not waiting, or the puskesmas has no hours that day).

    The clinic starts calling at the puskesmas' opening time; each number ahead takes
    the clinic's minutes per patient (its average service time). Before opening time
    (or for a later day) the count starts at opening time, after it from ``now``.
    """
    if ticket.status != "waiting":
        return None
    hours = (ticket.clinic.facility.hours or {}).get(str(ticket.day.isoweekday()))
    if not hours:
        return None
    zone = _zone(timezone)
    try:
        opening = datetime.combine(ticket.day, time.fromisoformat(str(hours[0])), tzinfo=zone)
    except ValueError:
        return None
    start = max(opening, now.astimezone(zone))
    _ahead, minutes = estimate(session, ticket)
    return start + timedelta(minutes=minutes)


def my_tickets(
    session: Session, user_id: int, *, page: int = 1, per_page: int = 20
) -> tuple[list[Ticket], int]:
    """One page of the numbers a citizen took while logged in (latest day first) and
    how many there are in all."""
    where = Ticket.user_id == user_id
    total = int(session.scalar(select(func.count()).select_from(Ticket).where(where)) or 0)
    rows = session.scalars(
        select(Ticket)
        .where(where)
        .order_by(Ticket.day.desc(), Ticket.created_at.desc(), Ticket.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(rows), total


def waiting_counts(
    session: Session, day: date, clinic_ids: Iterable[int] | None = None
) -> dict[int, int]:
    """Waiting tickets per clinic id on ``day`` (clinics with none are left out)."""
    stmt = (
        select(Ticket.clinic_id, func.count())
        .where(Ticket.day == day, Ticket.status == "waiting")
        .group_by(Ticket.clinic_id)
    )
    if clinic_ids is not None:
        stmt = stmt.where(Ticket.clinic_id.in_(sorted(set(clinic_ids))))
    return {clinic_id: int(count) for clinic_id, count in session.execute(stmt)}


def current_called(session: Session, clinic_id: int, day: date) -> Ticket | None:
    """The number last called at the clinic that day (still called, or served since)."""
    return session.scalar(
        select(Ticket)
        .where(
            Ticket.clinic_id == clinic_id,
            Ticket.day == day,
            Ticket.status.in_(("called", "served")),
            Ticket.called_at.is_not(None),
        )
        .order_by(Ticket.called_at.desc(), Ticket.id.desc())
        .limit(1)
    )


# -- the desk ------------------------------------------------------------------------


def desk_clinic(session: Session, actor: Actor, clinic_id: int) -> Clinic:
    """The clinic, if ``actor`` may work its queue.

    :raises PuskesmasError: 404 for an unknown clinic, 403 without a desk duty there.
    """
    clinic = session.scalar(select(Clinic).where(Clinic.id == clinic_id))
    if clinic is None:
        raise PuskesmasError(N_("No such clinic."), status=404)
    require_duty(actor, clinic.facility_id, *DESK_DUTIES)
    return clinic


def desk_ticket(session: Session, actor: Actor, ticket_id: int) -> Ticket:
    """The ticket, if ``actor`` may work its clinic's queue (404, 403 as above)."""
    ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id))
    if ticket is None:
        raise PuskesmasError(N_("No such queue number."), status=404)
    require_duty(actor, ticket.facility_id, *DESK_DUTIES)
    return ticket


def _refuse(ticket: Ticket, message: str) -> PuskesmasError:
    return PuskesmasError(
        message,
        params={
            "number": display_number(ticket),
            "status": Label(STATUS_LABELS[ticket.status], lower=True),
        },
        status=409,
    )


def _move(session: Session, ticket: Ticket, allowed: tuple[str, ...], **values: object) -> bool:
    """Change the ticket if it is still in one of ``allowed`` (a conditional ``UPDATE``,
    so two desks never make the same move twice); refresh it either way."""
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status.in_(allowed))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(ticket)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def call_next(
    session: Session, actor: Actor, clinic_id: int, day: date, now: datetime
) -> Ticket | None:
    """Call the lowest waiting number of the clinic on ``day``; ``None`` if nobody waits.

    :raises PuskesmasError: 404 for an unknown clinic, 403 without a desk duty there.
    """
    clinic = desk_clinic(session, actor, clinic_id)
    for _attempt in range(20):
        ticket = session.scalar(
            select(Ticket)
            .where(Ticket.clinic_id == clinic.id, Ticket.day == day, Ticket.status == "waiting")
            .order_by(Ticket.number)
            .limit(1)
            .with_for_update(skip_locked=True, of=Ticket)
        )
        if ticket is None:
            return None
        values = {"status": "called", "called_at": now, "called_by_id": actor.user_id}
        if _move(session, ticket, ("waiting",), **values):
            return ticket
    raise PuskesmasError(N_("The queue is busy; try again."), status=409)


def recall(session: Session, actor: Actor, ticket_id: int, now: datetime) -> Ticket:
    """Call a called or skipped number again (its holder did not come yet).

    :raises PuskesmasError: 404, 403, or 409 when the number is not called nor skipped.
    """
    ticket = desk_ticket(session, actor, ticket_id)
    values = {
        "status": "called",
        "called_at": now,
        "called_by_id": actor.user_id,
        "recalls": Ticket.recalls + 1,
    }
    if not _move(session, ticket, ("called", "skipped"), **values):
        raise _refuse(ticket, N_("%(number)s is %(status)s: it cannot be called again."))
    return ticket


def skip(session: Session, actor: Actor, ticket_id: int, now: datetime) -> Ticket:
    """Pass over a waiting or called number whose holder is not there.

    :raises PuskesmasError: 404, 403, or 409 when the number is served or cancelled.
    """
    ticket = desk_ticket(session, actor, ticket_id)
    if not _move(session, ticket, ("waiting", "called"), status="skipped"):
        raise _refuse(ticket, N_("%(number)s is %(status)s: it cannot be skipped."))
    return ticket


def finish(session: Session, actor: Actor, ticket_id: int, now: datetime) -> Ticket:
    """Mark a called number served.

    :raises PuskesmasError: 404, 403, or 409 when the number is not called.
    """
    ticket = desk_ticket(session, actor, ticket_id)
    if not _move(session, ticket, ("called",), status="served", finished_at=now):
        raise _refuse(ticket, N_("%(number)s is %(status)s: only a called number is served."))
    return ticket


def cancel_by_holder(session: Session, code: str, now: datetime) -> Ticket:
    """The holder gives up a waiting number (the code of their link proves it is theirs).

    :raises PuskesmasError: 404 for an unknown code, 409 when it is no longer waiting.
    """
    ticket = ticket_by_code(session, code)
    if ticket is None:
        raise PuskesmasError(N_("No such queue number."), status=404)
    if not _move(session, ticket, ("waiting",), status="cancelled", finished_at=now):
        raise _refuse(ticket, N_("%(number)s is %(status)s: only a waiting number is cancelled."))
    return ticket


@dataclass
class ClinicQueue:
    """A clinic's queue of one day, as the desk sees it."""

    clinic: Clinic
    called: list[Ticket]
    waiting: list[Ticket]
    waiting_total: int
    skipped: list[Ticket]
    served: int
    cancelled: int


def clinic_queue(
    session: Session, clinic: Clinic, day: date, *, page: int = 1, per_page: int = 50
) -> ClinicQueue:
    """The called numbers (latest first), one page of the waiting ones, the skipped ones
    and the counts of the day."""
    base = select(Ticket).where(Ticket.clinic_id == clinic.id, Ticket.day == day)
    counts = dict(
        session.execute(
            select(Ticket.status, func.count())
            .where(Ticket.clinic_id == clinic.id, Ticket.day == day)
            .group_by(Ticket.status)
        ).all()
    )
    called = session.scalars(
        base.where(Ticket.status == "called").order_by(Ticket.called_at.desc(), Ticket.id.desc())
    ).all()
    waiting = session.scalars(
        base.where(Ticket.status == "waiting")
        .order_by(Ticket.number)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    skipped = session.scalars(
        base.where(Ticket.status == "skipped").order_by(Ticket.number).limit(100)
    ).all()
    return ClinicQueue(
        clinic=clinic,
        called=list(called),
        waiting=list(waiting),
        waiting_total=int(counts.get("waiting", 0)),
        skipped=list(skipped),
        served=int(counts.get("served", 0)),
        cancelled=int(counts.get("cancelled", 0)),
    )


# -- the display board and the figures -----------------------------------------------


@dataclass
class BoardRow:
    """One clinic on the display board."""

    clinic: Clinic
    current: Ticket | None
    waiting: int
    recent: list[Ticket] = field(default_factory=list)
    #: The first waiting numbers, in the order they will be called.
    upcoming: list[Ticket] = field(default_factory=list)


def board(session: Session, facility_id: int, day: date) -> list[BoardRow]:
    """Each active clinic of the puskesmas: the number last called, how many wait, the
    next few to be called and the few called before it.

    Three statements however many clinics: the clinics, the called numbers of the day
    ranked per clinic (``ROW_NUMBER() OVER (PARTITION BY clinic_id …)``, the last
    ``RECENT + 1``), and the waiting ones ranked the same way (the first ``UPCOMING``,
    each carrying its clinic's waiting count). Both are built on :class:`Ticket`, so
    the region's filter applies to the ranking subquery and to the tickets read."""
    clinics = session.scalars(
        select(Clinic)
        .where(Clinic.facility_id == facility_id, Clinic.active.is_(True))
        .order_by(Clinic.position, Clinic.id)
    ).all()
    if not clinics:
        return []
    clinic_ids = sorted({c.id for c in clinics})
    called: dict[int, list[Ticket]] = {}
    for ticket in session.scalars(_board_called(), {"day": day, "clinic_ids": clinic_ids}):
        called.setdefault(ticket.clinic_id, []).append(ticket)
    upcoming: dict[int, list[Ticket]] = {}
    waiting: dict[int, int] = {}
    for ticket, rank, count in session.execute(
        _board_waiting(), {"day": day, "clinic_ids": clinic_ids}
    ):
        waiting[ticket.clinic_id] = int(count)
        if rank <= UPCOMING:
            upcoming.setdefault(ticket.clinic_id, []).append(ticket)
    rows = []
    for clinic in clinics:
        last = called.get(clinic.id, [])
        rows.append(
            BoardRow(
                clinic=clinic,
                current=last[0] if last else None,
                waiting=waiting.get(clinic.id, 0),
                recent=last[1:],
                upcoming=upcoming.get(clinic.id, []),
            )
        )
    return rows


@lru_cache(maxsize=1)
def _board_called() -> Any:
    """The called (or since served) numbers of the day, the last ``RECENT + 1`` of each
    clinic, newest first per clinic (parameters ``day``, ``clinic_ids``)."""
    ranked = (
        select(
            Ticket.id.label("ticket_id"),
            func.row_number()
            .over(
                partition_by=Ticket.clinic_id,
                order_by=(Ticket.called_at.desc(), Ticket.id.desc()),
            )
            .label("rank"),
        )
        .where(
            Ticket.clinic_id.in_(bindparam("clinic_ids", expanding=True)),
            Ticket.day == bindparam("day"),
            Ticket.status.in_(("called", "served")),
            Ticket.called_at.is_not(None),
        )
        .subquery("called_ranked")
    )
    return (
        select(Ticket)
        .join(ranked, ranked.c.ticket_id == Ticket.id)
        .where(ranked.c.rank <= RECENT + 1)
        .order_by(Ticket.clinic_id, ranked.c.rank)
    )


@lru_cache(maxsize=1)
def _board_waiting() -> Any:
    """The waiting numbers of the day, the first (at least one, at most ``UPCOMING``)
    of each clinic in calling order, each with its rank and its clinic's waiting count
    (parameters ``day``, ``clinic_ids``)."""
    ranked = (
        select(
            Ticket.id.label("ticket_id"),
            func.row_number()
            .over(partition_by=Ticket.clinic_id, order_by=Ticket.number)
            .label("rank"),
            func.count().over(partition_by=Ticket.clinic_id).label("waiting"),
        )
        .where(
            Ticket.clinic_id.in_(bindparam("clinic_ids", expanding=True)),
            Ticket.day == bindparam("day"),
            Ticket.status == "waiting",
        )
        .subquery("waiting_ranked")
    )
    return (
        select(Ticket, ranked.c.rank, ranked.c.waiting)
        .join(ranked, ranked.c.ticket_id == Ticket.id)
        .where(ranked.c.rank <= max(UPCOMING, 1))
        .order_by(Ticket.clinic_id, ranked.c.rank)
    )


@dataclass
class Stats:
    """The figures of one day for the dashboard."""

    day: date
    visits: int
    #: ``(facility name, clinic name, waiting)`` for every active clinic, by puskesmas.
    waiting: list[tuple[str, str, int]]
    waiting_total: int
    #: Mean minutes from taking a number to being called, ``None`` when nobody was called.
    average_wait: int | None
    called: int


def stats(
    session: Session,
    day: date,
    facility_ids: Iterable[int] | None = None,
    *,
    timezone: str | tzinfo = "Asia/Jakarta",
) -> Stats:
    """Visits recorded on ``day`` (in the region's time zone), numbers waiting per clinic,
    and the average wait of the numbers called that day; of the given puskesmas or all."""
    wanted = sorted(set(facility_ids)) if facility_ids is not None else None
    start, end = _day_bounds(day, timezone)
    visits = (
        select(func.count())
        .select_from(Visit)
        .where(Visit.started_at >= start, Visit.started_at < end)
    )
    clinics_stmt = (
        select(Clinic)
        .join(Facility, Facility.id == Clinic.facility_id)
        .where(Clinic.active.is_(True), Facility.active.is_(True))
        .order_by(Facility.name, Facility.id, Clinic.position, Clinic.id)
    )
    waits = select(Ticket.created_at, Ticket.called_at).where(
        Ticket.day == day,
        Ticket.called_at.is_not(None),
        Ticket.status.in_(("called", "served")),
    )
    if wanted is not None:
        visits = visits.where(Visit.facility_id.in_(wanted))
        clinics_stmt = clinics_stmt.where(Clinic.facility_id.in_(wanted))
        waits = waits.where(Ticket.facility_id.in_(wanted))
    clinics = session.scalars(clinics_stmt).all()
    counts = waiting_counts(session, day, [c.id for c in clinics])
    rows = [(c.facility.name, c.name, counts.get(c.id, 0)) for c in clinics]
    seconds = [
        max((called_at - created_at).total_seconds(), 0)
        for created_at, called_at in session.execute(waits)
    ]
    average = round(sum(seconds) / len(seconds) / 60) if seconds else None
    return Stats(
        day=day,
        visits=int(session.scalar(visits) or 0),
        waiting=rows,
        waiting_total=sum(count for _f, _c, count in rows),
        average_wait=average,
        called=len(seconds),
    )
