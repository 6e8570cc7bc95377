"""Device cookies: the browsers an account has logged in from before.

A successful login gives the browser a signed cookie naming the account (and the
region, and the account's credential version) with a fresh random nonce. A later
login attempt for that account that presents a valid entry is counted per device
(by its nonce) instead of in the account's shared counter (:mod:`balai.auth.throttle`),
so someone guessing passwords elsewhere throttles only the clients that never logged
in, and the owner on their usual browser can still log in. This is OWASP's
*Slow Down Online Guessing Attacks with Device Cookies*.

One cookie holds up to :data:`MAX_ENTRIES` accounts (a family computer). An entry
is trusted only on its region and while the account's credential version is the one
it was issued under: a password change or a disabled account ends the trust of every
browser but the one the change was made from. The cookie is signed with
``SECRET_KEY`` (``SECRET_KEY_FALLBACKS`` still verify) and expires after
``LOGIN_DEVICE_DAYS``.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import after_this_request, current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from balai.auth.models import User

__all__ = ["COOKIE", "remember", "trusted_nonce"]

COOKIE = "balai_device"
MAX_ENTRIES = 10
_SALT = "balai.device-cookie"

Entry = tuple[int, int, int, str]  # tenant id, user id, credential version, nonce


def _serializer() -> URLSafeTimedSerializer:
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or []), current_app.secret_key]
    return URLSafeTimedSerializer(keys, salt=_SALT)


def _lifetime() -> int:
    return int(current_app.config["LOGIN_DEVICE_DAYS"]) * 24 * 60 * 60


def _entries() -> list[Entry]:
    """The valid entries of the cookie this request presents (none if it is forged,
    expired or malformed)."""
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 4000:
        return []
    try:
        loaded: Any = _serializer().loads(raw, max_age=_lifetime())
    except BadSignature:
        return []
    entries: list[Entry] = []
    for item in loaded if isinstance(loaded, list) else []:
        if (
            isinstance(item, list)
            and len(item) == 4
            and all(isinstance(part, int) for part in item[:3])
            and isinstance(item[3], str)
        ):
            entries.append((item[0], item[1], item[2], item[3]))
    return entries[:MAX_ENTRIES]


def _tenant_id() -> int:
    return int(g.tenant.id)


def trusted_nonce(user: User | None) -> str | None:
    """The nonce of this browser's device cookie for ``user`` on this region, if it
    has a valid one issued under the account's current credentials."""
    if user is None:
        return None
    for tenant_id, user_id, version, nonce in _entries():
        if (tenant_id, user_id, version) == (_tenant_id(), user.id, user.credential_version):
            return nonce
    return None


def remember(user: User, credential_version: int) -> None:
    """Give this browser a new device cookie entry for ``user`` with the response."""
    entry: Entry = (_tenant_id(), user.id, credential_version, secrets.token_urlsafe(16))
    kept = [e for e in _entries() if (e[0], e[1]) != entry[:2]]
    entries = [entry, *kept][:MAX_ENTRIES]
    value = _serializer().dumps([list(e) for e in entries])

    @after_this_request
    def _set(response: Response) -> Response:
        response.set_cookie(
            COOKIE,
            value,
            max_age=_lifetime(),
            path="/",
            secure=request.is_secure or bool(current_app.config["SESSION_COOKIE_SECURE"]),
            httponly=True,
            samesite="Lax",
        )
        return response
