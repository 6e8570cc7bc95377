"""Plugin settings: tenant value → deployment value → schema default.

A plugin declares a marshmallow schema (``register_settings_schema``). The region
admin's form writes tenant values; the operator's ``PLUGIN_SETTINGS`` config gives
deployment values; each field's ``load_default`` is the last resort.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app, g
from marshmallow import Schema, ValidationError, missing

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


def init_app(
    app: Flask, declared: list[tuple[str, Any]], broken: Callable[[str, str], None]
) -> None:
    """Keep each plugin's settings schema; a schema that cannot resolve makes it ``broken``."""
    schemas: dict[str, type[Schema]] = {}
    for plugin, schema_cls in declared:
        problem = _problem(schema_cls)
        if problem:
            broken(plugin, f"register_settings_schema: {problem}")
        else:
            schemas[plugin] = schema_cls
    app.extensions["balai.settings"] = schemas


def _problem(schema_cls: Any) -> str | None:
    """Why a declared settings schema is unusable, or ``None``."""
    if not (isinstance(schema_cls, type) and issubclass(schema_cls, Schema)):
        return f"{schema_cls!r} is not a marshmallow Schema class"
    no_default = [n for n, f in schema_cls().fields.items() if f.load_default is missing]
    if no_default:
        return f"fields without load_default: {', '.join(sorted(no_default))}"
    return None


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
