"""Validating HTML form posts with marshmallow, the same way the API does."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError
from werkzeug.datastructures import MultiDict

from balai.i18n import translate_error

__all__ = ["FormSchema", "validate_form"]


class FormSchema(Schema):
    """Base for form schemas: unknown fields (``csrf_token``, buttons) are ignored."""

    class Meta:
        unknown = EXCLUDE


def validate_form(
    schema: Schema, form: MultiDict[str, str]
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """Load ``form`` with ``schema``: ``(data, {})`` or ``(None, errors by field)``.

    Empty strings count as missing, so optional fields can be left blank.
    """
    raw = {key: value for key, value in form.items() if value.strip() != ""}
    try:
        return schema.load(raw), {}
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        return None, {key: _translated(value) for key, value in messages.items()}


def _translated(messages: Any) -> list[str]:
    found = messages if isinstance(messages, list) else [messages]
    return [translate_error(str(m)) for m in found]
