"""The marshmallow fields every form, query and API schema of Balai is built from.

``marshmallow.fields.String`` and ``Integer`` accept what a database or an XML
reader will not: an ESC in a complaint makes the region's Open311 feed unreadable,
and ``?page=99999999999999999999`` overflows the database's integers. The core and
every plugin therefore declare input with these instead (a test checks every schema):

:class:`Text`
    a string cleaned by :func:`balai.text.clean_text`: carriage returns become
    newlines; other control characters, lone surrogates, U+FFFE and U+FFFF are dropped.
:class:`Integer`
    a whole number within bounds, by default what a database ``INTEGER`` column holds
    (``-2**31`` to ``2**31 - 1``), written in ASCII digits.
:class:`Url`, :class:`Email`
    :class:`Text` that must be an absolute URL or an e-mail address.
:class:`Id`
    a row's id: from 1 to the largest ``INTEGER``.
:class:`PageNumber`
    a page of a list: from 1 to :data:`MAX_PAGE`.
:class:`Date`, :class:`DateTime`, :class:`AwareDateTime`, :class:`NaiveDateTime`
    a day, or a date and time, from :data:`MIN_DATE` to :data:`MAX_DATE` (1900 to
    2199): ``9999-12-31`` parses, but a day after it overflows.

Their bounds are in the OpenAPI document (``minimum``/``maximum``), so API clients and
the fuzzers see them. For a number read outside a schema, :func:`load_int` and
:func:`int_arg` use the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate

from balai.contacts import email_address
from balai.text import clean_text

__all__ = [
    "INT_MAX",
    "INT_MIN",
    "MAX_DATE",
    "MAX_PAGE",
    "MIN_DATE",
    "AwareDateTime",
    "Date",
    "DateTime",
    "Email",
    "Id",
    "Integer",
    "NaiveDateTime",
    "PageNumber",
    "Text",
    "Url",
    "in_date_range",
    "int_arg",
    "load_int",
]

MIN_DATE = date(1900, 1, 1)  # the first and last day a date field takes
MAX_DATE = date(2199, 12, 31)
INT_MIN = -(2**31)  # the range of a database INTEGER column (SQLite, PostgreSQL)
INT_MAX = 2**31 - 1
MAX_PAGE = 1_000_000  # the last page of any list: far beyond what anyone pages through
_DIGITS = re.compile(r"[+-]?[0-9]{1,100}")  # longer is not a number anyone means


class Text(fields.String):
    """A string without control characters (tab and newline stay; CR becomes newline)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return clean_text(super()._deserialize(value, attr, data, **kwargs))


class Url(Text, fields.Url):
    """An absolute URL, cleaned like :class:`Text` (a settings page shows a URL input)."""


class Email(Text, fields.Email):
    """An e-mail address of printable ASCII (:func:`balai.contacts.email_address`), trimmed:
    no spaces, no invisible or look-alike characters (a settings page shows an e-mail input)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if text and email_address(text) is None:
            raise self.make_error("invalid")
        return text


class _Dated:
    """Bounds for a date or a date and time: from :data:`MIN_DATE` to :data:`MAX_DATE`.

    Beyond them a day cannot be shown, stored or have a day added without overflow
    (``9999-12-31`` plus one day raises ``OverflowError``), and no one means them.
    """

    default_error_messages = {"range": _l("Enter a date from {min} to {max}.")}

    def _bounded(self, value: Any) -> Any:
        day = value.date() if isinstance(value, datetime) else value
        if isinstance(day, date) and not MIN_DATE <= day <= MAX_DATE:
            message = str(self.error_messages["range"])  # type: ignore[attr-defined]
            raise ValidationError(message.format(min=MIN_DATE, max=MAX_DATE))
        return value


class Date(_Dated, fields.Date):
    """A day (ISO 8601, ``2026-08-17``) from :data:`MIN_DATE` to :data:`MAX_DATE`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        return self._bounded(super()._deserialize(value, attr, data, **kwargs))


class DateTime(_Dated, fields.DateTime):
    """A date and time whose day is from :data:`MIN_DATE` to :data:`MAX_DATE`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        return self._bounded(super()._deserialize(value, attr, data, **kwargs))


class AwareDateTime(_Dated, fields.AwareDateTime):
    """:class:`DateTime` with a time zone (or the field's ``default_timezone``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        return self._bounded(super()._deserialize(value, attr, data, **kwargs))


class NaiveDateTime(_Dated, fields.NaiveDateTime):
    """:class:`DateTime` without a time zone (a local time the caller places)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        return self._bounded(super()._deserialize(value, attr, data, **kwargs))


def in_date_range(value: date | datetime) -> bool:
    """Whether ``value`` (a day, or an instant's day) is within the fields' bounds."""
    day = value.date() if isinstance(value, datetime) else value
    return MIN_DATE <= day <= MAX_DATE


class Integer(fields.Integer):
    """A whole number from ``min`` to ``max`` (by default the range of an ``INTEGER``).

    ``error`` replaces the range's message (placeholders ``{min}``, ``{max}``,
    ``{input}``). Text must be ASCII digits (at most 100) with an optional sign; a
    number with a fraction, a boolean, ``1e3`` or ``٣`` is not a whole number here.
    """

    def __init__(
        self, *, min: int = INT_MIN, max: int = INT_MAX, error: Any = None, **kwargs: Any
    ) -> None:
        given = kwargs.pop("validate", None)
        extra = [] if given is None else list(given) if isinstance(given, list | tuple) else [given]
        self.min, self.max = min, max
        super().__init__(validate=[validate.Range(min=min, max=max, error=error), *extra], **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, str):
            value = value.strip()
            if not _DIGITS.fullmatch(value):
                raise self.make_error("invalid", input=value)
        elif isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Id(Integer):
    """The id of a row: from 1 to the largest ``INTEGER``; beyond it no row can exist.

    The range's message is the field's ``invalid`` message when one is given
    (e.g. "Choose an area."), as an id out of range is as wrong as a word.
    """

    def __init__(self, **kwargs: Any) -> None:
        invalid = (kwargs.get("error_messages") or {}).get("invalid")
        kwargs.setdefault("error", invalid)
        super().__init__(min=1, max=INT_MAX, **kwargs)


class PageNumber(Integer):
    """A page of a list, from 1 to :data:`MAX_PAGE`."""

    def __init__(self, **kwargs: Any) -> None:
        if not kwargs.get("required"):
            kwargs.setdefault("load_default", 1)
        kwargs.setdefault("error", _l("Enter a page number from {min} to {max}."))
        super().__init__(min=1, max=MAX_PAGE, **kwargs)


def load_int(raw: str | None, field: Integer | None = None) -> int | None:
    """``raw`` loaded by ``field`` (default :class:`PageNumber`); None if missing or invalid.

    For the few numbers read without a schema, where a wrong value simply means the
    default or "not found"::

        page = int_arg(request.args, "page") or 1
        complaint_id = load_int(text, Id())
    """
    if raw is None:
        return None
    try:
        value = (field or PageNumber()).deserialize(raw)
    except ValidationError:
        return None
    return value if isinstance(value, int) else None


def int_arg(args: Mapping[str, str], name: str, field: Integer | None = None) -> int | None:
    """:func:`load_int` of the query argument ``name`` (e.g. ``request.args``)."""
    return load_int(args.get(name), field)
