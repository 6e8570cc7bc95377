"""Region admin pages (``/admin``): plugins, users, departments, roles, appearance.

Every page module registers its views on :data:`bp`; :mod:`balai.admin.views`
imports them all, and ``create_app`` mounts the blueprint at ``/admin``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, render_template
from flask_login import current_user

__all__ = ["refused"]

bp = Blueprint("balai_admin", __name__)


def audit(action: str, **details: Any) -> None:
    """Log an admin change with who made it and where; never pass secrets here."""
    who = current_user.login if current_user.is_authenticated else "-"
    tenant = g.get("tenant")
    described = " ".join(f"{key}={value!r}" for key, value in sorted(details.items()))
    current_app.logger.info(
        "admin %s tenant=%s by=%s %s", action, tenant.slug if tenant else "-", who, described
    )


def refused(
    reason: str, back: str, back_label: str, *, advice: str | None = None, **details: Any
) -> tuple[str, int]:
    """The 403 page of something the current user may not do, naming ``reason`` (a
    translated refusal such as :func:`balai.permissions.role_refusal` returns), with a
    link ``back``; the refusal is logged like a change.

    ``advice`` (translated) replaces the page's "ask a region admin": say what would
    open the page and where it is given, when the reader can do that themselves (a
    region admin refused a health record for want of a duty, for example).
    """
    audit("refused", reason=reason, **details)
    page = render_template(
        "balai/admin/refused.html", reason=reason, back=back, back_label=back_label, advice=advice
    )
    return page, 403
