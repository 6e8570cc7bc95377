"""Puskesmas, their clinics (*poli*) and the officers assigned to them (*penugasan*).

The region admin keeps these; no Flask here, so the admin pages, the API, commands,
the demo and tests share one set of rules. Each function checks every field first
and raises :class:`~balai_puskesmas.services.PuskesmasError` naming all the fields at
fault, so nothing is added or changed when a rule fails; the caller commits.

Staff assignments decide who may read health data (see :mod:`balai_puskesmas.services`),
so assigning and removing write to the audit trail: ``staff.assign`` and
``staff.remove``, with the account id and the duty, never personal data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from balai.auth import User
from balai.i18n import N_
from balai_puskesmas.models import DUTIES, PROFESSIONS, Clinic, Facility, Staff
from balai_puskesmas.services import Actor, PuskesmasError, audit

__all__ = [
    "CODE_RE",
    "DAYS",
    "LATITUDE",
    "LONGITUDE",
    "STAFF_ROLES",
    "assign_staff",
    "check_hours",
    "create_clinic",
    "create_facility",
    "remove_staff",
    "set_facility_active",
    "update_clinic",
    "update_facility",
]


#: Codes of puskesmas and clinics: what citizens type in an SMS (``ANTRE CIPONDOH UMUM``).
CODE_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,19}")
#: ISO weekdays as the keys of :attr:`Facility.hours`: ``"1"`` Monday … ``"7"`` Sunday.
DAYS = tuple(str(day) for day in range(1, 8))
#: Indonesia, roughly: Rote (-11) to Sabang (6), Sabang (95) to Merauke (141).
LATITUDE = (-11.0, 6.0)
LONGITUDE = (95.0, 141.0)
#: Roles whose accounts may be given a duty at a puskesmas.
STAFF_ROLES = ("opd", "admin")

_TIME_RE = re.compile(r"([01]?[0-9]|2[0-3])[:.]([0-5][0-9])")
_PHONE_RE = re.compile(r"\+?[0-9 ()-]{6,30}")
_EXTERNAL_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")

Errors = dict[str, list[str]]


# -- puskesmas ----------------------------------------------------------------------


def create_facility(session: Session, data: Mapping[str, Any]) -> Facility:
    """Add a puskesmas from ``data`` (the keys of :class:`Facility`; ``hours`` as
    :func:`check_hours` takes it).

    :raises PuskesmasError: naming every field at fault; nothing is added.
    """
    values = _facility_values(session, data, None)
    facility = Facility(**values)
    _save(session, facility, {"code": N_("Another puskesmas already has this code.")})
    return facility


def update_facility(session: Session, facility: Facility, data: Mapping[str, Any]) -> Facility:
    """Change a puskesmas; keys missing from ``data`` keep their value.

    :raises PuskesmasError: naming every field at fault; nothing is changed.
    """
    values = _facility_values(session, data, facility)
    for name, value in values.items():
        setattr(facility, name, value)
    _save(session, facility, {"code": N_("Another puskesmas already has this code.")})
    return facility


def set_facility_active(session: Session, facility: Facility, active: bool) -> Facility:
    """Open (``True``) or close a puskesmas to new queue numbers; its records stay."""
    facility.active = bool(active)
    session.flush()
    return facility


def _facility_values(
    session: Session, data: Mapping[str, Any], current: Facility | None
) -> dict[str, Any]:
    def given(name: str, default: Any) -> Any:
        if name in data:
            return data[name]
        return getattr(current, name) if current is not None else default

    errors: Errors = {}
    values: dict[str, Any] = {}
    values["code"] = _code(given("code", ""), errors)
    if "code" not in errors and _facility_code_taken(session, values["code"], current):
        errors["code"] = [N_("Another puskesmas already has this code.")]
    values["name"] = _text(
        given("name", ""),
        "name",
        errors,
        limit=120,
        missing=N_("Enter the name of the puskesmas."),
        too_long=N_("The name is at most 120 characters."),
    )
    values["address"] = _text(
        given("address", ""),
        "address",
        errors,
        limit=300,
        too_long=N_("The address is at most 300 characters."),
    )
    phone = _clean(given("phone", ""))
    if phone and not _PHONE_RE.fullmatch(phone):
        errors["phone"] = [N_("Enter a phone number of digits, e.g. 021 5523 1234.")]
    values["phone"] = phone
    values["latitude"], values["longitude"] = _location(
        given("latitude", None), given("longitude", None), errors
    )
    try:
        values["hours"] = check_hours(given("hours", {}))
    except PuskesmasError as exc:
        errors.update(exc.errors)
    values["satusehat_org_id"] = _external_id(
        given("satusehat_org_id", ""),
        "satusehat_org_id",
        errors,
        N_("The SATUSEHAT organization id is at most 64 letters, digits, dots or hyphens."),
    )
    values["active"] = bool(given("active", True))
    if errors:
        raise PuskesmasError(errors)
    return values


def _facility_code_taken(session: Session, code: str, current: Facility | None) -> bool:
    taken = select(Facility.id).where(Facility.code == code)
    if current is not None and current.id is not None:
        taken = taken.where(Facility.id != current.id)
    return session.scalar(taken.limit(1)) is not None


def _location(latitude: Any, longitude: Any, errors: Errors) -> tuple[Any, Any]:
    lat = _number(latitude, "latitude", errors)
    lon = _number(longitude, "longitude", errors)
    if "latitude" in errors or "longitude" in errors:
        return None, None
    if (lat is None) != (lon is None):
        field = "longitude" if lon is None else "latitude"
        errors[field] = [N_("Give both the latitude and the longitude, or neither.")]
        return None, None
    if lat is not None and not LATITUDE[0] <= lat <= LATITUDE[1]:
        errors["latitude"] = [N_("The latitude must be between -11 and 6 (Indonesia).")]
    if lon is not None and not LONGITUDE[0] <= lon <= LONGITUDE[1]:
        errors["longitude"] = [N_("The longitude must be between 95 and 141 (Indonesia).")]
    return lat, lon


def _number(value: Any, field: str, errors: Errors) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        errors[field] = [N_("Enter a number, e.g. -6.1781.")]
        return None
    try:
        number = float(str(value).strip().replace(",", ".") if isinstance(value, str) else value)
    except (TypeError, ValueError):
        errors[field] = [N_("Enter a number, e.g. -6.1781.")]
        return None
    if number != number or number in (float("inf"), float("-inf")):
        errors[field] = [N_("Enter a number, e.g. -6.1781.")]
        return None
    return number


def check_hours(hours: Mapping[Any, Any] | None) -> dict[str, list[str]]:
    """Opening hours as stored: ISO weekday (``"1"`` … ``"7"``) → ``["07:30", "14:00"]``.

    ``hours`` maps a weekday (``1`` or ``"1"``) to ``(open, close)``; a missing day,
    ``None`` or two empty times mean closed. Times are ``HH:MM`` (``7.30`` is read as
    ``07:30``) and a day must close after it opens. Errors name the field
    ``hours_<day>``.

    :raises PuskesmasError: naming every day at fault.
    """
    errors: Errors = {}
    result: dict[str, list[str]] = {}
    if hours is None:
        return result
    if not isinstance(hours, Mapping):
        raise PuskesmasError({"hours": N_("Give the opening hours per day of the week.")})
    for key, times in hours.items():
        day = str(key)
        if day not in DAYS:
            errors["hours"] = [N_("Days of the week are numbered 1 (Monday) to 7 (Sunday).")]
            continue
        field = f"hours_{day}"
        if times is None:
            continue
        if isinstance(times, str) or not isinstance(times, Sequence) or len(times) != 2:
            errors[field] = [N_("Give an opening and a closing time, e.g. 07:30 and 14:00.")]
            continue
        opens, closes = (_clean(t) if isinstance(t, str) else t for t in times)
        if not opens and not closes:
            continue
        if not opens or not closes:
            errors[field] = [
                N_("Give both the opening and the closing time, or neither for a closed day.")
            ]
            continue
        start, end = _time(opens), _time(closes)
        if start is None or end is None:
            errors[field] = [N_("Enter times as HH:MM, e.g. 07:30.")]
            continue
        if start >= end:
            errors[field] = [N_("The closing time must be after the opening time.")]
            continue
        result[day] = [start, end]
    if errors:
        raise PuskesmasError(errors)
    return {day: result[day] for day in DAYS if day in result}


def _time(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    found = _TIME_RE.fullmatch(value.strip())
    if found is None:
        return None
    return f"{int(found.group(1)):02d}:{found.group(2)}"


# -- clinics ------------------------------------------------------------------------


def create_clinic(session: Session, facility: Facility, data: Mapping[str, Any]) -> Clinic:
    """Add a clinic to ``facility``; without a ``position`` it comes last.

    :raises PuskesmasError: naming every field at fault; nothing is added.
    """
    values = _clinic_values(session, facility.id, data, None)
    if values.get("position") is None:
        last = session.scalar(
            select(func.max(Clinic.position)).where(Clinic.facility_id == facility.id)
        )
        values["position"] = 0 if last is None else last + 1
    clinic = Clinic(facility_id=facility.id, **values)
    _save(session, clinic, {"code": N_("Another clinic of this puskesmas has this code.")})
    return clinic


def update_clinic(session: Session, clinic: Clinic, data: Mapping[str, Any]) -> Clinic:
    """Change a clinic; keys missing from ``data`` keep their value.

    :raises PuskesmasError: naming every field at fault; nothing is changed.
    """
    values = _clinic_values(session, clinic.facility_id, data, clinic)
    for name, value in values.items():
        setattr(clinic, name, value)
    _save(session, clinic, {"code": N_("Another clinic of this puskesmas has this code.")})
    return clinic


def _clinic_values(
    session: Session, facility_id: int, data: Mapping[str, Any], current: Clinic | None
) -> dict[str, Any]:
    def given(name: str, default: Any) -> Any:
        if name in data:
            return data[name]
        return getattr(current, name) if current is not None else default

    errors: Errors = {}
    values: dict[str, Any] = {}
    values["code"] = _code(given("code", ""), errors)
    if "code" not in errors:
        taken = select(Clinic.id).where(
            Clinic.facility_id == facility_id, Clinic.code == values["code"]
        )
        if current is not None:
            taken = taken.where(Clinic.id != current.id)
        if session.scalar(taken.limit(1)) is not None:
            errors["code"] = [N_("Another clinic of this puskesmas has this code.")]
    values["name"] = _text(
        given("name", ""),
        "name",
        errors,
        limit=120,
        missing=N_("Enter the name of the clinic."),
        too_long=N_("The name is at most 120 characters."),
    )
    values["minutes_per_patient"] = _whole(
        given("minutes_per_patient", 10),
        1,
        120,
        "minutes_per_patient",
        errors,
        N_("The minutes per patient are a whole number from 1 to 120."),
    )
    quota = given("daily_quota", None)
    values["daily_quota"] = (
        None
        if quota is None or (isinstance(quota, str) and not quota.strip())
        else _whole(
            quota,
            1,
            1000,
            "daily_quota",
            errors,
            N_("The daily quota is empty (no limit) or a whole number from 1 to 1000."),
        )
    )
    position = given("position", None)
    values["position"] = (
        None
        if position is None or (isinstance(position, str) and not position.strip())
        else _whole(
            position,
            0,
            9999,
            "position",
            errors,
            N_("The position is a whole number from 0 to 9999."),
        )
    )
    if current is not None and values["position"] is None:
        values["position"] = current.position
    values["satusehat_location_id"] = _external_id(
        given("satusehat_location_id", ""),
        "satusehat_location_id",
        errors,
        N_("The SATUSEHAT location id is at most 64 letters, digits, dots or hyphens."),
    )
    values["active"] = bool(given("active", True))
    if errors:
        raise PuskesmasError(errors)
    return values


def _whole(value: Any, low: int, high: int, field: str, errors: Errors, message: str) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        number = int(value.strip())
    if number is None or not low <= number <= high:
        errors[field] = [message]
        return low
    return number


# -- staff --------------------------------------------------------------------------


def assign_staff(
    session: Session,
    actor: Actor,
    facility: Facility,
    *,
    email: str,
    duty: str,
    profession: str | None = None,
    nakes_id: str = "",
    now: datetime,
) -> Staff:
    """Give the officer with ``email`` a ``duty`` at ``facility``.

    The account must be an active officer (``opd``) or admin of this region. A
    clinician needs a ``profession`` (and may have a SATUSEHAT practitioner id,
    ``nakes_id``); other duties have neither. An officer has one assignment per
    puskesmas: assigning again changes it. Written to the audit trail as
    ``staff.assign``.

    :raises PuskesmasError: naming every field at fault; nothing is changed.
    """
    errors: Errors = {}
    user = _officer(session, email, errors)
    duty = _clean(duty)
    if duty not in DUTIES:
        errors["duty"] = [N_("Choose a duty: registration desk, clinician or viewer.")]
    profession = _clean(profession) or None
    nakes_id = _clean(nakes_id)
    if duty == "clinician":
        if profession is None:
            errors["profession"] = [N_("Choose the clinician's profession.")]
        elif profession not in PROFESSIONS:
            errors["profession"] = [N_("Choose a profession from the list.")]
        if nakes_id and not _EXTERNAL_ID_RE.fullmatch(nakes_id):
            errors["nakes_id"] = [
                N_("The SATUSEHAT practitioner id is at most 64 letters, digits, dots or hyphens.")
            ]
    elif duty in DUTIES:
        if profession is not None:
            errors["profession"] = [N_("Only a clinician has a profession: leave it empty.")]
        if nakes_id:
            errors["nakes_id"] = [
                N_("Only a clinician has a SATUSEHAT practitioner id: leave it empty.")
            ]
    if errors or user is None:
        raise PuskesmasError(errors)
    staff = session.scalar(
        select(Staff).where(Staff.user_id == user.id, Staff.facility_id == facility.id)
    )
    before = f" (was {staff.duty})" if staff is not None else ""
    if staff is None:
        staff = Staff(user_id=user.id, facility_id=facility.id)
    staff.duty, staff.profession, staff.nakes_id = duty, profession, nakes_id
    _save(session, staff, {"email": N_("This officer already has a duty at this puskesmas.")})
    detail = f"user {user.id}: {duty}" + (f" ({profession})" if profession else "") + before
    audit(session, actor, "staff.assign", now, facility_id=facility.id, detail=detail)
    return staff


def remove_staff(session: Session, actor: Actor, staff: Staff, now: datetime) -> None:
    """End an officer's assignment; it is written to the audit trail as ``staff.remove``."""
    detail = f"user {staff.user_id}: {staff.duty}"
    facility_id = staff.facility_id
    session.delete(staff)
    session.flush()
    audit(session, actor, "staff.remove", now, facility_id=facility_id, detail=detail)


def _officer(session: Session, email: Any, errors: Errors) -> User | None:
    address = _clean(email).lower()
    if not address:
        errors["email"] = [N_("Enter the officer's e-mail address.")]
        return None
    # The session sees this region's accounts (and platform operators, whose role is
    # not a staff role): an account of another region is simply not found.
    user = session.scalar(
        select(User).where(func.lower(User.email) == address).order_by(User.id).limit(1)
    )
    if user is None or not user.active:
        errors["email"] = [N_("No active account of this region has this e-mail address.")]
        return None
    if user.role not in STAFF_ROLES:
        errors["email"] = [
            N_("Only officers (OPD) and region admins can be given a duty; this account is not.")
        ]
        return None
    return user


# -- shared -------------------------------------------------------------------------


def _clean(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _code(value: Any, errors: Errors) -> str:
    code = _clean(value).upper()
    if not code:
        errors["code"] = [N_("Enter the code.")]
    elif not CODE_RE.fullmatch(code):
        errors["code"] = [
            N_("The code is capital letters, digits and hyphens, at most 20 (e.g. CIPONDOH).")
        ]
    return code


def _text(
    value: Any,
    field: str,
    errors: Errors,
    *,
    limit: int,
    too_long: str,
    missing: str | None = None,
) -> str:
    text = _clean(value)
    if missing is not None and not text:
        errors[field] = [missing]
    elif len(text) > limit:
        errors[field] = [too_long]
    return text


def _external_id(value: Any, field: str, errors: Errors, message: str) -> str:
    text = _clean(value)
    if text and not _EXTERNAL_ID_RE.fullmatch(text):
        errors[field] = [message]
    return text


def _save(session: Session, row: Any, conflict: Mapping[str, str]) -> None:
    """Flush ``row`` in a savepoint: a unique constraint that another request won
    since the checks above becomes the same field error, and nothing is kept."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:
        if row in session and row in session.new:
            session.expunge(row)
        raise PuskesmasError(dict(conflict)) from exc
