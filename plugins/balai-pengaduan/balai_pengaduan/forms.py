"""marshmallow schemas of the plugin's HTML forms and list filters.

Field messages are lazy translations, so an error reads in the visitor's language.
Rules that need the database (a known category, a free code) live in
:mod:`balai_pengaduan.services` and the views.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema

from balai.contacts import email_address
from balai.fields import Date, Id, Integer, PageNumber, Text
from balai.forms import FormSchema
from balai_pengaduan.services import PRIVACY
from balai_pengaduan.workflow import STATUSES

__all__ = [
    "ApiClientForm",
    "AreaForm",
    "AreaRouteForm",
    "CategoryForm",
    "ComplaintFilters",
    "OfficerFilters",
    "PageForm",
    "RatingForm",
    "ReopenForm",
    "SubmitForm",
    "TransitionForm",
]

CODE_RE = r"^[A-Z0-9_]{1,30}$"
INVALID_NUMBER = _l("Enter a number.")


class DecimalCommaFloat(fields.Float):
    """A number typed the Indonesian way (``-6,2101``) or the English way (``-6.2101``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and value.count(",") == 1 and "." not in value:
            value = value.replace(",", ".")
        return super()._deserialize(value, attr, data, **kwargs)


def _coordinate(low: int, high: int, message: Any) -> fields.Float:
    return DecimalCommaFloat(
        load_default=None,
        allow_nan=False,
        validate=validate.Range(min=low, max=high, error=message),
        error_messages={"invalid": INVALID_NUMBER, "special": INVALID_NUMBER},
    )


def _email_address(value: str) -> None:
    """An address mail is delivered to: printable ASCII (no look-alike letters)."""
    if email_address(value) is None:
        raise ValidationError(str(_l("Enter a valid e-mail address.")))


class SubmitForm(FormSchema):
    """A citizen's complaint (*formulir pengaduan*); photos are checked by :mod:`photos`."""

    category = Text(
        required=True,
        validate=validate.Length(max=30),
        error_messages={"required": _l("Choose a category.")},
    )
    description = Text(
        required=True,
        validate=validate.Length(max=5000, error=_l("At most 5000 characters.")),
        error_messages={"required": _l("Describe the problem.")},
    )
    address = Text(
        load_default="", validate=validate.Length(max=300, error=_l("At most 300 characters."))
    )
    latitude = _coordinate(-90, 90, _l("The latitude must be between -90 and 90."))
    longitude = _coordinate(-180, 180, _l("The longitude must be between -180 and 180."))
    privacy = Text(
        load_default="public",
        validate=validate.OneOf(PRIVACY, error=_l("Choose how your identity is handled.")),
    )
    reporter_name = Text(load_default=None, validate=validate.Length(max=200))
    reporter_email = Text(load_default=None, validate=_email_address)
    reporter_phone = Text(
        load_default=None,
        validate=validate.Regexp(
            r"^\+?[0-9 ()-]{6,30}$", error=_l("Enter a phone number, e.g. 0812 3456 7890.")
        ),
    )

    @validates_schema
    def _location(self, data: dict[str, Any], **_kwargs: Any) -> None:
        has_lat, has_lon = data.get("latitude") is not None, data.get("longitude") is not None
        if has_lat != has_lon:
            raise ValidationError(
                gettext("Give both latitude and longitude, or neither."), "latitude"
            )
        if not has_lat and not data.get("address", "").strip():
            raise ValidationError(
                gettext("Give the location: a point on the map or an address."), "address"
            )


class ReopenForm(FormSchema):
    """The reporter's reason to reopen a resolved complaint (*buka kembali*)."""

    kode = Text(required=True, validate=validate.Length(max=20))
    note = Text(
        required=True,
        validate=validate.Length(max=2000, error=_l("At most 2000 characters.")),
        error_messages={"required": _l("Say what is still wrong.")},
    )


class RatingForm(FormSchema):
    """The reporter's satisfaction with the result (*penilaian*): 1 to 5, a comment."""

    kode = Text(required=True, validate=validate.Length(max=20))
    rating = Integer(
        required=True,
        min=1,
        max=5,
        error=_l("Choose from 1 to 5 stars."),
        error_messages={
            "required": _l("Choose from 1 to 5 stars."),
            "invalid": _l("Choose from 1 to 5 stars."),
        },
    )
    comment = Text(
        load_default="", validate=validate.Length(max=2000, error=_l("At most 2000 characters."))
    )


class PageForm(FormSchema):
    """Only a page number (a list without filters)."""

    page = PageNumber(error_messages={"invalid": INVALID_NUMBER})


class TransitionForm(FormSchema):
    """An officer's move of a complaint (*tindak lanjut*)."""

    target = Text(
        required=True,
        validate=validate.OneOf(STATUSES, error=_l("Unknown status.")),
        error_messages={"required": _l("Unknown status.")},
    )
    note = Text(
        load_default="", validate=validate.Length(max=2000, error=_l("At most 2000 characters."))
    )
    department_id = Id(
        load_default=None, error_messages={"invalid": _l("Choose a department from the list.")}
    )
    duplicate_of = Text(load_default=None, validate=validate.Length(max=20))


def _code() -> Text:
    """A code people type (an SMS keyword's argument): capitals, digits, underscores."""
    return Text(
        required=True,
        validate=validate.Regexp(
            CODE_RE, error=_l("Use 1 to 30 capital letters, digits or underscores.")
        ),
        error_messages={"required": _l("Enter a code.")},
    )


def _name() -> Text:
    return Text(
        required=True,
        validate=validate.Length(max=120, error=_l("At most 120 characters.")),
        error_messages={"required": _l("Enter a name.")},
    )


class CategoryForm(FormSchema):
    """A complaint category as the region admin edits it (*kategori pengaduan*)."""

    code = _code()
    name = _name()
    description = Text(
        load_default="", validate=validate.Length(max=2000, error=_l("At most 2000 characters."))
    )
    group = Text(
        load_default="", validate=validate.Length(max=60, error=_l("At most 60 characters."))
    )
    department_id = Id(
        load_default=None, error_messages={"invalid": _l("Choose a department from the list.")}
    )
    active = fields.Boolean(load_default=False)
    position = Integer(
        load_default=100,
        min=0,
        max=10_000,
        error=_l("Enter a number from 0 to 10000."),
        error_messages={"invalid": INVALID_NUMBER},
    )


class AreaForm(FormSchema):
    """An area (*wilayah*, e.g. a kecamatan); the GeoJSON is checked by :mod:`geo`."""

    code = _code()
    name = _name()
    geojson = Text(
        load_default="", validate=validate.Length(max=2_000_000, error=_l("The area is too big."))
    )


class ApiClientForm(FormSchema):
    """An Open311 client application; its key is made by :mod:`balai_pengaduan.clients`."""

    name = Text(
        required=True,
        validate=validate.Length(min=1, max=100, error=_l("Use 1 to 100 characters.")),
        error_messages={"required": _l("Enter a name.")},
    )


class AreaRouteForm(FormSchema):
    """Within an area, complaints of a category go to another department."""

    category_id = Id(
        required=True,
        error_messages={
            "required": _l("Choose a category."),
            "invalid": _l("Choose a category."),
        },
    )
    area_id = Id(
        required=True,
        error_messages={"required": _l("Choose an area."), "invalid": _l("Choose an area.")},
    )
    department_id = Id(
        required=True,
        error_messages={
            "required": _l("Choose a department from the list."),
            "invalid": _l("Choose a department from the list."),
        },
    )


class ComplaintFilters(FormSchema):
    """Filters of the public list and map (query string)."""

    category = Text(load_default=None, validate=validate.Length(max=30))
    status = Text(load_default=None, validate=validate.OneOf(STATUSES, error=_l("Unknown status.")))
    area = Id(load_default=None, error_messages={"invalid": _l("Choose an area.")})
    since = Date(
        load_default=None, error_messages={"invalid": _l("Enter a date, e.g. 2025-08-17.")}
    )
    until = Date(
        load_default=None, error_messages={"invalid": _l("Enter a date, e.g. 2025-08-17.")}
    )
    page = PageNumber(error_messages={"invalid": INVALID_NUMBER})


class OfficerFilters(ComplaintFilters):
    """The officers' inbox filters: also overdue, a department and search words."""

    overdue = fields.Boolean(load_default=False)
    department = Id(
        load_default=None, error_messages={"invalid": _l("Choose a department from the list.")}
    )
    q = Text(load_default="", validate=validate.Length(max=100))
