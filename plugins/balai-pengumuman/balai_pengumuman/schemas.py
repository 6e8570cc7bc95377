"""marshmallow schemas at the edge: settings, the web form and the JSON API.

Field messages are lazy translations, so a form error reads in the visitor's language;
the rules that need the database live in :mod:`balai_pengumuman.services`.
"""

from __future__ import annotations

from datetime import UTC

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from balai.api import PageArgs
from balai.fields import AwareDateTime, Id, Integer, NaiveDateTime, Text
from balai.forms import FormSchema
from balai.i18n import N_
from balai_pengumuman.services import CATEGORIES

__all__ = [
    "AnnouncementForm",
    "AnnouncementInSchema",
    "AnnouncementQuery",
    "AnnouncementSchema",
    "AnnouncementSettings",
]


class AnnouncementSettings(Schema):
    """Per-region settings of the plugin (*pengaturan pengumuman*)."""

    page_size = Integer(
        load_default=20,
        min=5,
        max=100,
        error=_l("Enter a number from {min} to {max}."),
        metadata={
            "label": N_("Announcements per page"),
            "description": N_("How many announcements a list page shows."),
        },
    )
    new_days = Integer(
        load_default=3,
        min=0,
        max=30,
        error=_l("Enter a number from {min} to {max}."),
        metadata={
            "label": N_("Days an announcement counts as new"),
            "description": N_("Announcements published within this many days are marked new."),
        },
    )


class _NotBlank(validate.Validator):
    """Refuse an empty or whitespace-only string with ``error``.

    ``Length(min=1)`` would report an empty value with its "too long" message.
    """

    def __init__(self, error: str) -> None:
        self.error = error

    def __call__(self, value: str) -> str:
        if not value.strip():
            raise ValidationError(str(self.error))
        return value


NO_TITLE = _l("Give the announcement a title.")
NO_BODY = _l("Enter the text of the announcement.")


def _title() -> Text:
    return Text(
        required=True,
        validate=[
            _NotBlank(NO_TITLE),
            validate.Length(max=200, error=_l("The title is too long (at most 200 characters).")),
        ],
        error_messages={"required": NO_TITLE},
        metadata={"description": "Headline, at most 200 characters"},
    )


def _body() -> Text:
    return Text(
        required=True,
        validate=[
            _NotBlank(NO_BODY),
            validate.Length(max=20_000, error=_l("The text is too long.")),
        ],
        error_messages={"required": NO_BODY},
        metadata={"description": "Plain text; blank lines separate paragraphs"},
    )


def _category() -> Text:
    return Text(
        required=True,
        validate=validate.OneOf(list(CATEGORIES), error=_l("Choose one of the listed categories.")),
        error_messages={"required": _l("Choose a category.")},
        metadata={"description": "Category code", "enum": list(CATEGORIES)},
    )


NO_DEPARTMENT = _l("Choose a department from the list.")


def _department() -> Id:
    return Id(
        load_default=None,
        allow_none=True,
        error_messages={"invalid": NO_DEPARTMENT},
        metadata={"description": "Department (OPD) id; empty for the whole region"},
    )


INVALID_TIME = _l("Enter a date and time, for example 2025-08-17 08:00.")


class AnnouncementForm(FormSchema):
    """The officer's form; times are local (``datetime-local``), converted by the view."""

    title = _title()
    body = _body()
    category = _category()
    department_id = _department()
    published_at = NaiveDateTime(load_default=None, error_messages={"invalid": INVALID_TIME})
    expires_at = NaiveDateTime(load_default=None, error_messages={"invalid": INVALID_TIME})


class AnnouncementInSchema(Schema):
    """A new announcement sent to the API; a time without offset is taken as UTC."""

    title = _title()
    body = _body()
    category = _category()
    department_id = _department()
    published_at = AwareDateTime(
        load_default=None,
        allow_none=True,
        default_timezone=UTC,
        metadata={"description": "Publication time (ISO 8601); empty for now"},
    )
    expires_at = AwareDateTime(
        load_default=None,
        allow_none=True,
        default_timezone=UTC,
        metadata={"description": "When it stops being shown (ISO 8601); empty for never"},
    )


class DepartmentSchema(Schema):
    id = Id()
    code = Text()
    name = Text()


class AnnouncementSchema(Schema):
    """An announcement as the API returns it."""

    id = Id(dump_only=True)
    title = Text()
    body = Text()
    category = Text(metadata={"enum": list(CATEGORIES)})
    department = fields.Nested(DepartmentSchema, allow_none=True)
    published_at = AwareDateTime()
    expires_at = AwareDateTime(allow_none=True)
    status = Text(metadata={"enum": ["scheduled", "active", "archived"]})
    created_at = AwareDateTime()
    updated_at = AwareDateTime()


class AnnouncementQuery(PageArgs):
    """Query parameters of the API listing: ``page``, ``per_page`` and filters."""

    category = Text(
        validate=validate.OneOf(list(CATEGORIES)), metadata={"description": "Only this category"}
    )
    status = Text(
        load_default="active",
        validate=validate.OneOf(["active", "archived"]),
        metadata={"description": "Current announcements (default) or the archive"},
    )
