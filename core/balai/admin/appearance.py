"""Appearance page (*tampilan*): the region's name, theme, colours and logo, and
whether citizens may create their own account (``self_registration``).

Colours are stored only where they differ from the chosen theme's defaults, so
switching theme brings its colours unless the region picked its own.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from balai import storage
from balai.admin import audit, bp
from balai.admin.forms import COLOUR_NAMES, AppearanceForm
from balai.admin.logo import LogoError, check_logo, store_logo
from balai.admin.logo import remove_logo as delete_logo_file
from balai.auth.codes import registration_open
from balai.db import db
from balai.forms import validate_form
from balai.permissions import require
from balai.tenancy import DEFAULT_TIMEZONE, TIMEZONES, Tenant, bump_state
from balai.tenancy import registry as tenant_registry
from balai.themes import ThemedFlask, colours

Errors = dict[str, list[str]]
Logo = tuple[bytes, str] | None


def _app() -> ThemedFlask:
    """The current app, typed as the themed Flask that knows its themes."""
    app: ThemedFlask = current_app  # type: ignore[assignment]
    return app


@bp.route("/tampilan", methods=["GET", "POST"])
@require("balai.manage_appearance")
def appearance() -> Any:
    """Show and save the appearance form; bad input is refused and nothing is written."""
    errors: Errors = {}
    status = 400  # when errors are shown
    if request.method == "POST":
        data, errors = validate_form(AppearanceForm(_app().themes), request.form)
        logo, logo_errors = _uploaded_logo(request.files.get("logo"))
        errors = {**errors, **logo_errors}
        if data is not None and not errors:
            try:
                return _save(data, logo)
            except LogoError as exc:  # the disk is full: nothing was saved
                errors, status = {"logo": [str(exc)]}, 507
    values = request.form if request.method == "POST" else _current_values()
    page = render_template(
        "balai/admin/appearance.html",
        errors=errors,
        values=values,
        theme_options=sorted(((t.name, t.label) for t in _app().themes.values()), key=_label),
        timezone_options=[(name, _(label)) for name, label in TIMEZONES.items()],
        colour_names=COLOUR_NAMES,
        max_kb=current_app.config["LOGO_MAX_BYTES"] // 1024,
    )
    return page, status if errors else 200


@bp.route("/tampilan/logo/hapus", methods=["POST"])
@require("balai.manage_appearance")
def remove_logo() -> Response:
    """Remove the region's logo (its file too); the rest of the appearance is kept."""
    tenant = db.session.get(Tenant, g.tenant.id)
    assert tenant is not None
    old_file = tenant.logo
    if old_file:
        tenant.logo = None
        bump_state(db.session)
        db.session.commit()
        delete_logo_file(storage.for_tenant(tenant.id), old_file)
        tenant_registry().refresh(force=True)
        audit("appearance.logo_removed", logo=old_file)
        flash(_("The logo has been removed."), "ok")
    return redirect(url_for("balai_admin.appearance"))


def _label(option: tuple[str, str]) -> str:
    return option[1]


def _current_values() -> dict[str, Any]:
    """The form's starting values: the tenant's settings over its theme's colours."""
    shown = colours()
    values: dict[str, Any] = {
        "name": g.tenant.name,
        "theme": g.tenant.theme,
        "timezone": g.tenant.settings.get("timezone", DEFAULT_TIMEZONE),
        "self_registration": registration_open(g.tenant),
    }
    values.update({name: shown.get(name, "") for name in COLOUR_NAMES})
    return values


def _uploaded_logo(upload: FileStorage | None) -> tuple[Logo, Errors]:
    """The checked logo, if one was sent, or the error to show next to the field."""
    if upload is None or not upload.filename:
        return None, {}
    try:
        return check_logo(upload.stream, current_app.config["LOGO_MAX_BYTES"], upload.filename), {}
    except LogoError as exc:
        return None, {"logo": [str(exc)]}


def _colours_for(data: dict[str, Any]) -> dict[str, str]:
    """Colours that differ from the chosen theme; other stored keys are kept."""
    if data["reset_colours"]:
        return {}
    defaults = _app().themes[data["theme"]].colours
    kept = {k: v for k, v in g.tenant.colours.items() if k not in COLOUR_NAMES}
    chosen = {
        name: data[name]
        for name in COLOUR_NAMES
        if data.get(name) and data[name] != defaults.get(name, "").lower()
    }
    return {**kept, **chosen}


def _save(data: dict[str, Any], logo: Logo) -> Response:
    """Write the tenant row (and logo file), tell every worker, then drop the old file."""
    files = storage.for_tenant()
    new_file = store_logo(files, *logo) if logo else None
    try:
        tenant = db.session.get(Tenant, g.tenant.id)
        assert tenant is not None
        old_file = tenant.logo
        tenant.name, tenant.theme = data["name"], data["theme"]
        tenant.colours = _colours_for(data)
        tenant.settings = {
            **(tenant.settings or {}),
            "timezone": data["timezone"],
            "self_registration": data["self_registration"],
        }
        if new_file or data["remove_logo"]:
            tenant.logo = new_file
        bump_state(db.session)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        delete_logo_file(files, new_file)
        raise
    if tenant.logo != old_file:
        delete_logo_file(files, old_file)
    tenant_registry().refresh(force=True)
    audit(
        "appearance.changed",
        name=tenant.name,
        theme=tenant.theme,
        colours=tenant.colours,
        logo=tenant.logo != old_file,
        self_registration=data["self_registration"],
    )
    flash(_("The appearance has been saved."), "ok")
    return redirect(url_for("balai_admin.appearance"))
