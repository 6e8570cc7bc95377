"""Who a request comes from: a partner region presenting its registry token.

``Authorization: Bearer <token>`` (the JSON API) or HTTP Basic with the user
``__token__`` and the token as password (the legacy upload API, as twine sends it).
Every part of the registry asks :func:`authenticate` for the partner of a request.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.exceptions import Forbidden, Unauthorized

from balai import ratelimit
from balai.db import db
from balai.settings import plugin_settings
from balai_registry import services
from balai_registry.models import Partner

__all__ = [
    "API_LIMIT",
    "REALM",
    "UPLOAD_LIMIT",
    "PartnerRefused",
    "authenticate",
    "presented_token",
    "throttle",
]

#: The names of the limits per registry token, and the setting that gives each.
UPLOAD_LIMIT = "registry.upload"
API_LIMIT = "registry.partner-api"
_SETTING = {UPLOAD_LIMIT: "upload_limit", API_LIMIT: "api_limit"}

REALM = "Balai registry"


class PartnerRefused(Unauthorized):
    """401 with a challenge for both ways of presenting a registry token."""

    def __init__(self, description: str) -> None:
        super().__init__(description)

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [
            *super().get_headers(*args, **kwargs),
            ("WWW-Authenticate", f'Basic realm="{REALM}"'),
            ("WWW-Authenticate", f'Bearer realm="{REALM}"'),
        ]


def presented_token(authorization: str) -> str | None:
    """The registry token an ``Authorization`` header carries, or ``None``."""
    scheme, _sep, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _sep, password = decoded.partition(":")
    return password if user == "__token__" and password else None


def authenticate(scope: str) -> Partner:
    """The partner whose live token this request presents, with ``scope``.

    Aborts 401 (with ``WWW-Authenticate``) when no valid token is presented, and
    403 when the token lacks ``scope`` (``upload``, ``feedback`` or ``report``).
    """
    token = presented_token(request.headers.get("Authorization", ""))
    if token is None:
        raise PartnerRefused(_("Send your registry token: user __token__ and the token."))
    partner = services.partner_for_token(db.session, token)
    if partner is None:
        raise PartnerRefused(_("The registry token is unknown or revoked."))
    if not partner.allows(scope):
        raise Forbidden(_("The registry token does not allow %(scope)s.", scope=scope))
    return partner


def throttle(partner: Partner, name: str) -> None:
    """Count one call of ``partner``'s token against limit ``name`` (:data:`UPLOAD_LIMIT`
    or :data:`API_LIMIT`, set by the registry's settings; empty: no limit).

    :raises ratelimit.TooManyRequests: 429 with ``Retry-After``, once over the limit.
    """
    spec = str(plugin_settings("registry").get(_SETTING[name]) or "").strip()
    if not spec:
        return
    outcome = ratelimit.hit(ratelimit.Limit(name, spec), "partner", partner.id)
    if not outcome:
        minutes = max(1, -(-outcome.retry_after // 60))
        message = ngettext(
            "Too many requests with this registry token. Try again in %(num)d minute.",
            "Too many requests with this registry token. Try again in %(num)d minutes.",
            minutes,
        )
        raise ratelimit.TooManyRequests(outcome, message)
