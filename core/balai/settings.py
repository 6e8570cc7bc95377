"""Plugin settings: tenant value → deployment value → schema default.

A plugin declares a marshmallow schema (``register_settings_schema``). The region
admin's form writes tenant values; the operator's ``PLUGIN_SETTINGS`` config gives
deployment values; each field's ``load_default`` is the last resort.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, g
from marshmallow import Schema, ValidationError

__all__ = ["plugin_settings", "resolve_settings", "schema_for"]


def resolve_settings(
    schema: Schema, tenant: Mapping[str, Any], deployment: Mapping[str, Any]
) -> dict[str, Any]:
    """Resolve every field of ``schema``: tenant value, deployment value, then default.

    A stored value the schema no longer accepts (the plugin changed) is skipped,
    so the next source answers instead of the page failing.
    """
    resolved: dict[str, Any] = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        for source in (tenant, deployment):
            if key in source:
                try:
                    resolved[name] = field.deserialize(source[key], key, source)
                    break
                except ValidationError:
                    continue
        else:
            default = field.load_default
            resolved[name] = default() if callable(default) else default
    return resolved


def init_app(app: Flask, declared: list[tuple[str, type[Schema]]]) -> None:
    app.extensions["balai.settings"] = dict(declared)


def schema_for(name: str, app: Flask | None = None) -> type[Schema] | None:
    """The settings schema a plugin declared, if any."""
    return (app or current_app).extensions["balai.settings"].get(name)


def plugin_settings(name: str) -> dict[str, Any]:
    """The settings of plugin ``name`` for the current tenant."""
    schema_cls = schema_for(name)
    if schema_cls is None:
        return {}
    tenant = g.get("tenant")
    tenant_values = tenant.plugin_settings.get(name, {}) if tenant is not None else {}
    deployment = current_app.config["PLUGIN_SETTINGS"].get(name, {})
    return resolve_settings(schema_cls(), tenant_values, deployment)
