"""Validating HTML form posts with marshmallow, the same way the API does.

Declare fields with :mod:`balai.fields` (``Text``, ``Integer``, ``Id``, ``PageNumber``),
never marshmallow's bare ``String``/``Integer``: they keep control characters out and
numbers within what the database holds.

Values read straight from ``request.args`` or ``request.form`` are clean too: the app's
:class:`CleanRequest` applies :func:`balai.text.clean_text` to every query and form
value (and name) as it parses them, so a view that reads one without a schema (a
search box, an SMS gateway's post, an Open311 client's form) gets no control characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Request
from marshmallow import EXCLUDE, Schema, ValidationError
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

from balai.i18n import translate_error
from balai.text import clean_text

__all__ = ["FormSchema", "validate_form"]


class CleanParameters(ImmutableMultiDict[str, str]):
    """Query or form parameters whose names and values went through :func:`clean_text`."""

    def __init__(self, mapping: Any = None) -> None:
        super().__init__([(_clean(k), _clean(v)) for k, v in _pairs(mapping)])


def _pairs(mapping: Any) -> Iterable[tuple[Any, Any]]:
    if mapping is None:
        return ()
    if isinstance(mapping, MultiDict):
        return mapping.items(multi=True)
    if isinstance(mapping, Mapping):
        return (
            (key, value)
            for key, values in mapping.items()
            for value in (values if isinstance(values, list | tuple) else [values])
        )
    return mapping


def _clean(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


class CleanRequest(Request):
    """The request class of a Balai app: ``args`` and ``form`` hold cleaned text."""

    parameter_storage_class = CleanParameters


class FormSchema(Schema):
    """Base for form schemas: unknown fields (``csrf_token``, buttons) are ignored."""

    class Meta:
        unknown = EXCLUDE


def validate_form(
    schema: Schema, form: MultiDict[str, str]
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """Load ``form`` with ``schema``: ``(data, {})`` or ``(None, errors by field)``.

    Empty strings count as missing, so optional fields can be left blank; so does a
    value of nothing but control characters, which :class:`balai.fields.Text` drops.
    """
    raw = {key: value for key, value in form.items() if clean_text(value).strip() != ""}
    try:
        return schema.load(raw), {}
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        return None, {key: _translated(value) for key, value in messages.items()}


def _translated(messages: Any) -> list[str]:
    found = messages if isinstance(messages, list) else [messages]
    return [translate_error(str(m)) for m in found]
