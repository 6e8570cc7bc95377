"""The one error shape of the API and the flattening of input errors into it."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from balai.fields import Text
from balai.i18n import translate_error


class ErrorDetailSchema(Schema):
    code = Text(required=True, metadata={"description": "Machine-readable code"})
    message = Text(required=True, metadata={"description": "Human-readable message"})
    fields = fields.Dict(
        keys=Text(),
        values=fields.List(Text()),
        required=True,
        metadata={"description": "Messages per invalid input field"},
    )


class ErrorSchema(Schema):
    """``{"error": {"code", "message", "fields"}}``: the body of every API error."""

    error = fields.Nested(ErrorDetailSchema, required=True)


def field_errors(data: Any) -> dict[str, list[str]]:
    """Flatten webargs' ``{"json": {"field": [...]}}`` into ``{"field": [...]}``."""
    messages = (data or {}).get("messages", {}) if isinstance(data, dict) else {}
    flat: dict[str, list[str]] = {}
    for by_field in messages.values():
        if isinstance(by_field, dict):
            for name, errors in by_field.items():
                flat[str(name)] = _strings(errors)
    return flat


def _strings(errors: Any) -> list[str]:
    if isinstance(errors, list):
        return [translate_error(str(e)) for e in errors]
    if isinstance(errors, dict):
        return [f"{k}: {'; '.join(_strings(v))}" for k, v in errors.items()]
    return [translate_error(str(errors))]
