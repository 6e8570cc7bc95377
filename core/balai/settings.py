"""Plugin settings: tenant value → deployment value → schema default.

A plugin declares a marshmallow schema (``register_settings_schema``). The region
admin's form writes tenant values; the operator's ``PLUGIN_SETTINGS`` config gives
deployment values; each field's ``load_default`` is the last resort.

**Secrets.** A field of type :class:`Secret` (a password, a client secret, an API
key) is stored sealed with the region's settings key (:mod:`balai.crypto`, derived
from ``SECRET_KEY``) as ``{"sealed": "v1:…"}``: :func:`seal_secrets` seals it when
the settings are saved, whoever saves them, and :func:`plugin_settings` opens it for
the plugin. The admin form never shows it: the field is empty, a note says a value
is set, and an empty field keeps the stored value. A deployment value (the
operator's ``PLUGIN_SETTINGS``) stays in the operator's configuration, unsealed.

**Rate limits.** A field of type :class:`LimitSetting` is a limit the region admin
sets (``"10 per jam"``, ``"5 per 15 minutes"``; empty: no limit). It is read in
English or Bahasa Indonesia, stored in one form (:func:`balai.ratelimit.parse_spec`:
``"5 per 15 minutes"``), shown on the settings form in the admin's language, and a
value that is no limit is refused with a message naming the field and an example.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app, g
from flask_babel import gettext
from marshmallow import Schema, ValidationError, missing

from balai.crypto import SealError, is_sealed, sealer
from balai.fields import Text
from balai.ratelimit import describe_spec, parse_spec

__all__ = ["LimitSetting", "Secret", "open_secrets", "plugin_settings", "seal_secrets"]

log = logging.getLogger(__name__)
#: The purpose the settings key is derived for (:func:`balai.crypto.sealer`).
SETTINGS_KEY = "settings"


class Secret(Text):
    """A setting that is a secret: sealed at rest, write-only in the admin form.

    Use it like :class:`balai.fields.Text`, with ``load_default=""``.
    """


class LimitSetting(Text):
    """A rate limit the region admin sets, e.g. ``"10 per jam"``; empty: no limit.

    Use it like :class:`balai.fields.Text`, with ``load_default`` a limit (or ``""``)::

        submit_limit_address = LimitSetting(
            load_default="10 per hour",
            metadata={"label": N_("New complaints per connection")},
        )

    Loading gives the stored form (``"10 per hour"``, ``""`` for none), which
    :class:`balai.ratelimit.Limit` takes as it is; :meth:`display` gives the form's
    text in the reader's language.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_spec(text)
        except ValueError:
            raise ValidationError(self._wrong_value()) from None

    def display(self, value: Any) -> str:
        """``value`` (a stored limit) as the settings form shows it."""
        return describe_spec(str(value or ""))

    def _wrong_value(self) -> str:
        label = self.metadata.get("label")
        return gettext(
            '%(field)s: write a limit such as "10 per hour" or "5 per 15 minutes" (units: '
            "second, minute, hour, day, week, month, year), or leave it empty for no limit.",
            field=gettext(label) if label else self.name,
        )


def limit_fields(schema: Schema) -> dict[str, LimitSetting]:
    """The schema's :class:`LimitSetting` fields by attribute name."""
    return {n: f for n, f in schema.fields.items() if isinstance(f, LimitSetting)}


def secret_fields(schema: Schema) -> dict[str, str]:
    """The schema's :class:`Secret` fields: attribute name → stored key."""
    return {
        name: field.data_key or name
        for name, field in schema.fields.items()
        if isinstance(field, Secret)
    }


def _is_sealed_value(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"sealed"} and is_sealed(value["sealed"])


def seal_secrets(
    schema: Schema, values: Mapping[str, Any], tenant_id: int, app: Flask | None = None
) -> dict[str, Any]:
    """``values`` (stored keys) with every secret in clear sealed for ``tenant_id``.

    Values already sealed, and empty ones, are kept as they are.
    """
    sealed = dict(values)
    keys = None
    for key in secret_fields(schema).values():
        value = sealed.get(key)
        if isinstance(value, str) and value:
            keys = keys or sealer(SETTINGS_KEY, tenant_id, app)
            sealed[key] = {"sealed": keys.seal(value)}
    return sealed


def open_secrets(
    schema: Schema, values: Mapping[str, Any], tenant_id: int, app: Flask | None = None
) -> dict[str, Any]:
    """``values`` with the sealed secrets opened, for :func:`resolve_settings`.

    A secret no key of the deployment opens is left out (and logged, without its
    value), so the deployment value or the default answers instead.
    """
    opened = dict(values)
    for key in secret_fields(schema).values():
        value = opened.get(key)
        if not _is_sealed_value(value):
            continue
        try:
            opened[key] = sealer(SETTINGS_KEY, tenant_id, app).open(value["sealed"])
        except SealError:
            log.warning("setting %s of tenant %s cannot be opened with this key", key, tenant_id)
            del opened[key]
    return opened


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


@functools.lru_cache(maxsize=256)
def _reader(schema_cls: type[Schema]) -> Schema:
    """One instance of a settings schema to read settings with (its fields only
    deserialize: nothing of one request stays in it), instead of one per call."""
    return schema_cls()


def plugin_settings(name: str) -> dict[str, Any]:
    """The settings of plugin ``name`` for the current tenant."""
    schema_cls = schema_for(name)
    if schema_cls is None:
        return {}
    schema = _reader(schema_cls)
    tenant = g.get("tenant")
    tenant_values = {}
    if tenant is not None:
        tenant_values = open_secrets(schema, tenant.plugin_settings.get(name, {}), tenant.id)
    deployment = current_app.config["PLUGIN_SETTINGS"].get(name, {})
    return resolve_settings(schema, tenant_values, deployment)
