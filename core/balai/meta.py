"""Introspection: ``/-/plugins.json`` (health checks: :mod:`balai.health`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify
from flask_login import current_user

from balai.permissions import has_permission, public
from balai.plugins import plugins

bp = Blueprint("balai_meta", __name__)


@bp.route("/-/plugins.json")
@public
def plugins_json() -> Any:
    """Installed plugins: name, version, hooks, and whether this tenant enabled them."""
    tenant = g.tenant
    show_errors = current_user.is_authenticated and has_permission(
        current_user, "balai.manage_plugins"
    )
    rows = []
    for info in sorted(plugins().installed.values(), key=lambda p: p.name):
        if info.builtin:
            continue
        row = info.as_json()
        row["enabled"] = info.name in tenant.plugins
        row["broken"] = info.broken
        if not show_errors:
            row.pop("error")
        rows.append(row)
    return jsonify(rows)
