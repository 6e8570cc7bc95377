"""Holidays page (*hari libur*): the year's national holidays and the region's own days off.

National holidays and joint leave days come from :mod:`balai.calendar` and are
read-only here; a region adds its own (a local holiday, a regional *cuti
bersama*) so that deadlines counted in working days skip them too.
"""

from __future__ import annotations

from datetime import date
from math import ceil
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import post_load
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from balai.admin import audit, bp
from balai.admin.forms import REQUIRED, text
from balai.calendar import Holiday, local_date, national_holidays
from balai.db import db, utcnow
from balai.fields import Date, Integer, int_arg
from balai.forms import FormSchema, validate_form
from balai.permissions import require
from balai.tenancy import select_timezone

PAGE_SIZE = 20
YEARS_AROUND = 3  # the year selector offers this many years before and after this one
FIRST_YEAR, LAST_YEAR = 1950, 2100  # any year in between may be asked for by address
Errors = dict[str, list[str]]


class HolidayForm(FormSchema):
    """A region's own day off: the date and what it is."""

    day = Date(
        required=True,
        error_messages={**REQUIRED, "invalid": _l("Enter a date such as 2025-12-24.")},
    )
    name = text(120)

    @post_load
    def _strip(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["name"] = data["name"].strip()
        return data


def _this_year() -> int:
    return local_date(utcnow(), select_timezone()).year


def _years(chosen: int) -> list[int]:
    """The selector's years: a few around this one, and the one shown."""
    now = _this_year()
    return sorted({*range(now - YEARS_AROUND, now + YEARS_AROUND + 1), chosen})


def _chosen_year() -> int:
    """The year asked for (``?year=``) if it is a sensible one; otherwise this year."""
    year = int_arg(request.args, "year", Integer(min=FIRST_YEAR, max=LAST_YEAR))
    return year if year is not None else _this_year()


def _national(year: int) -> list[tuple[Any, str]]:
    language = "en_US" if str(get_locale()) == "en" else "id"
    return sorted(national_holidays([year], language=language).items())


def _own(year: int, page: int) -> tuple[list[Holiday], int, int]:
    """One page of the region's own holidays of ``year``: rows, total, pages."""
    in_year = (
        Holiday.tenant_id == g.tenant.id,
        Holiday.day.between(date(year, 1, 1), date(year, 12, 31)),
    )
    total = db.session.scalar(select(func.count(Holiday.id)).where(*in_year)) or 0
    pages = max(1, ceil(total / PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = db.session.scalars(
        select(Holiday)
        .where(*in_year)
        .order_by(Holiday.day)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return list(rows), total, pages


@bp.route("/libur", methods=["GET", "POST"])
@require("balai.manage_calendar")
def holidays() -> Any:
    """The year's national holidays, the region's own, and a form to add one."""
    year = _chosen_year()
    errors: Errors = {}
    if request.method == "POST":
        data, errors = validate_form(HolidayForm(), request.form)
        if data is not None:
            errors = _add(data)
            if not errors:
                flash(_("%(name)s has been added as a holiday.", name=data["name"]), "ok")
                return redirect(url_for("balai_admin.holidays", year=data["day"].year))
    page = int_arg(request.args, "page") or 1
    own, total, pages = _own(year, page)
    body = render_template(
        "balai/admin/holidays.html",
        year=year,
        years=_years(year),
        national=_national(year),
        own=own,
        total=total,
        page=min(max(page, 1), pages),
        pages=pages,
        errors=errors,
        values=request.form,
    )
    return body, 400 if errors else 200


def _add(data: dict[str, Any]) -> Errors:
    """Add the region's holiday unless the region already has one that day."""
    taken = {"day": [_("The region already has a holiday on that day.")]}
    exists = db.session.scalar(
        select(Holiday.id).where(Holiday.tenant_id == g.tenant.id, Holiday.day == data["day"])
    )
    if exists is not None:
        return taken
    db.session.add(Holiday(day=data["day"], name=data["name"]))
    try:
        db.session.commit()
    except IntegrityError:  # added by someone else a moment ago
        db.session.rollback()
        return taken
    audit("holiday.added", day=data["day"].isoformat(), name=data["name"])
    return {}


@bp.route("/libur/<int:holiday_id>/hapus", methods=["POST"])
@require("balai.manage_calendar")
def delete_holiday(holiday_id: int) -> Response:
    """Remove one of the region's own holidays."""
    holiday = db.session.scalar(
        select(Holiday).where(Holiday.id == holiday_id, Holiday.tenant_id == g.tenant.id)
    )
    if holiday is None:
        abort(404)
    day, name = holiday.day, holiday.name
    db.session.delete(holiday)
    db.session.commit()
    audit("holiday.deleted", day=day.isoformat(), name=name)
    flash(_("%(name)s is no longer a holiday.", name=name), "ok")
    return redirect(url_for("balai_admin.holidays", year=day.year))
