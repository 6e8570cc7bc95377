"""marshmallow schemas at the edge: the web form and the JSON API.

Field messages are lazy translations, so a form error reads in the visitor's language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, validate

from balai.fields import AwareDateTime, Id, Text
from balai.forms import FormSchema

__all__ = ["PlotForm", "PlotInSchema", "PlotSchema"]

NO_TITLE = _l("Give the entry a title.")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError(str(NO_TITLE))


def _title() -> Text:
    return Text(
        required=True,
        validate=[
            _not_blank,
            validate.Length(max=200, error=_l("The title is too long (at most 200 characters).")),
        ],
        error_messages={"required": NO_TITLE},
        metadata={"description": "Title, at most 200 characters"},
    )


class PlotForm(FormSchema):
    """The officer's form."""

    title = _title()


class PlotInSchema(Schema):
    """A new entry sent to the API."""

    title = _title()


class PlotSchema(Schema):
    """An entry as the API returns it."""

    id = Id(dump_only=True)
    title = Text()
    created_at = AwareDateTime()
