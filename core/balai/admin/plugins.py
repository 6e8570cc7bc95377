"""Plugins page: switch a region's services on and off, and edit their settings."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields, validate
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from balai.admin import audit, bp
from balai.forms import validate_form
from balai.permissions import require
from balai.plugins import plugins as plugin_manager
from balai.settings import (
    limit_fields,
    open_secrets,
    resolve_settings,
    schema_for,
    secret_fields,
)
from balai.tenancy import TenancyError, disable_plugin, enable_plugin, save_plugin_settings


@bp.route("/plugin")
@require("balai.manage_plugins")
def plugins() -> str:
    """Every installed plugin (built-ins left out), grouped by category."""
    manager = plugin_manager()
    rows = sorted(
        (p for p in manager.installed.values() if not p.builtin),
        key=lambda p: ((p.manifest.category if p.manifest else ""), p.name),
    )
    allowed = current_app.config["ALLOWED_PLUGINS"]
    return render_template(
        "balai/admin/plugins.html", plugins=rows, allowed=allowed, schema_for=schema_for
    )


@bp.route("/plugin/<name>/aktifkan", methods=["POST"])
@require("balai.manage_plugins")
def enable(name: str) -> Response:
    return _switch(name, on=True)


@bp.route("/plugin/<name>/nonaktifkan", methods=["GET", "POST"])
@require("balai.manage_plugins")
def disable(name: str) -> Any:
    """GET asks for confirmation and says what happens to the service's data; POST
    switches it off."""
    if request.method == "POST":
        return _switch(name, on=False)
    info = plugin_manager().get(name)
    if info is None or info.builtin:
        abort(404)
    if name not in g.tenant.plugins:
        flash(_("%(title)s is already switched off.", title=info.title), "ok")
        return redirect(url_for("balai_admin.plugins"))
    needed_by = [
        other.title
        for other in plugin_manager().installed.values()
        if other.name in g.tenant.plugins and other.manifest and name in other.manifest.requires
    ]
    return render_template("balai/admin/plugin_disable.html", plugin=info, needed_by=needed_by)


def _switch(name: str, *, on: bool) -> Response:
    """Switch a plugin on or off; a refusal is flashed, not raised."""
    info = plugin_manager().get(name)
    title = info.title if info else name
    try:
        (enable_plugin if on else disable_plugin)(
            current_app, g.tenant, name, by=current_user.email
        )
    except TenancyError as exc:
        flash(str(exc), "error")
    else:
        audit("plugin.enabled" if on else "plugin.disabled", plugin=name)
        message = _("%(title)s is switched on.") if on else _("%(title)s is switched off.")
        flash(message % {"title": title}, "ok")
    return redirect(url_for("balai_admin.plugins"))


@bp.route("/plugin/<name>/pengaturan", methods=["GET", "POST"])
@require("balai.manage_plugins")
def plugin_settings(name: str) -> Any:
    """A form generated from the plugin's settings schema; values resolve as documented."""
    info = plugin_manager().get(name)
    schema_cls = schema_for(name)
    if info is None or info.builtin or schema_cls is None:
        abort(404)
    schema = schema_cls(unknown=EXCLUDE)  # the CSRF token and the buttons are not settings
    stored = g.tenant.plugin_settings.get(name, {})
    deployment = current_app.config["PLUGIN_SETTINGS"].get(name, {})
    secrets = secret_fields(schema)
    values = resolve_settings(schema, open_secrets(schema, stored, g.tenant.id), deployment)
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and request.form.get("reset"):
        save_plugin_settings(current_app, g.tenant, name, {}, by=current_user.email)
        audit("plugin.settings_reset", plugin=name)
        flash(_("The settings of %(title)s are back to their defaults.", title=info.title), "ok")
        return redirect(url_for("balai_admin.plugin_settings", name=name))
    if request.method == "POST":
        data, errors = validate_form(schema, _form_with_checkboxes(schema))
        if data is not None:
            typed = {secrets[n]: data.pop(n) for n in secrets if n in data}
            own = _differing(schema, data, resolve_settings(schema, {}, deployment))
            for key, value in typed.items():  # write-only: empty keeps what is stored
                if value:
                    own[key] = value
                elif key in stored:
                    own[key] = stored[key]
            save_plugin_settings(current_app, g.tenant, name, own, by=current_user.email)
            audit("plugin.settings_saved", plugin=name, fields=sorted(own))
            flash(_("The settings of %(title)s are saved.", title=info.title), "ok")
            return redirect(url_for("balai_admin.plugin_settings", name=name))
        values = {**values, **request.form.to_dict()}
    else:
        values = {**values, **{n: f.display(values[n]) for n, f in limit_fields(schema).items()}}
    page = render_template(
        "balai/admin/plugin_settings.html",
        plugin=info,
        schema=schema,
        values={k: v for k, v in values.items() if k not in secrets},  # never echoed
        secrets=secrets,
        secret_set={n: bool(stored.get(k) or deployment.get(k)) for n, k in secrets.items()},
        choices=_choices(schema),
        errors=errors,
    )
    return page, 400 if errors else 200


def _choices(schema: Schema) -> dict[str, list[tuple[str, str]]]:
    """The fields whose first validator is a ``OneOf``: ``(value, label)`` pairs for a
    select. A ``OneOf`` subclass may compute its choices (e.g. from the operator's
    configuration)."""
    found = {}
    for name, field in schema.fields.items():
        first = field.validators[0] if field.validators else None
        if isinstance(first, validate.OneOf):
            found[name] = [(str(value), str(label or value)) for value, label in first.options()]
    return found


def _differing(schema: Schema, data: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """Only the values the region chose itself: the others keep following the
    deployment's settings and the defaults, even when those change later."""
    dumped, defaults = schema.dump(data), schema.dump(base)
    return {key: value for key, value in dumped.items() if defaults.get(key) != value}


def _form_with_checkboxes(schema: Schema) -> MultiDict[str, str]:
    """An unticked checkbox sends nothing: count it as ``false``. A limit left empty
    is no limit (not its default, as another empty field would be)."""
    form = MultiDict(request.form)
    for name, field in schema.fields.items():
        if isinstance(field, fields.Boolean) and name not in form:
            form[name] = "false"
    for name in limit_fields(schema):
        if name in form and not form[name].strip():
            form[name] = "none"
    return form
