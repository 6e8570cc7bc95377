"""Inbound SMS: the webhook ``POST /-/sms/masuk`` and routing by first keyword.

An SMS gateway posts each received message (fields ``from`` and ``text``, or
``From`` and ``Body``) to the region's host with the region's SMS token (header
``X-Balai-Sms-Token`` or field ``token``). The first word picks the plugin that
claimed it through ``register_sms_keywords`` (``ADUAN ...`` → pengaduan), among
the plugins the region has enabled; its handler's reply is queued as an SMS to
the sender and returned as the response body. An unknown keyword gets the list
of formats. The token is generated on ``/admin/sms`` and stored only hashed.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Blueprint, Flask, current_app, g, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFProtect

from balai.auth.models import hash_token, new_token
from balai.channels import Claims, InboundSms, Message, keywords, queue
from balai.db import db, utcnow
from balai.permissions import public
from balai.tenancy import Tenant, TenantInfo, bump_state, registry
from balai.web import error_response

__all__ = ["webhook_enabled"]

log = logging.getLogger(__name__)
bp = Blueprint("balai_sms", __name__)
TOKEN_HEADER = "X-Balai-Sms-Token"  # noqa: S105 - a header name, not a secret
TOKEN_SETTING = "sms_token_hash"  # noqa: S105 - a settings key, not a secret
MAX_TEXT = 1600  # ten concatenated SMS: more is not a text message


# -- the webhook -----------------------------------------------------------------


def _enabled_keywords(tenant: TenantInfo) -> Claims:
    return {word: claim for word, claim in keywords().items() if claim[0] in tenant.plugins}


@bp.route("/-/sms/masuk", methods=["POST"])
@public
def inbound() -> Any:
    """Answer one inbound SMS; authenticated by the region's SMS token, not a login."""
    if not _token_matches(g.tenant, request.headers.get(TOKEN_HEADER) or request.form.get("token")):
        return error_response(
            403, code="invalid_token", message=_("The SMS token is missing or wrong.")
        )
    sender = (request.form.get("from") or request.form.get("From") or "").strip()
    text = (request.form.get("text") or request.form.get("Body") or "").strip()
    problems = _input_problems(sender, text)
    if problems:
        return error_response(422, fields=problems, code="unprocessable_entity")
    source, reply, sensitive = _answer(g.tenant, sender, text)
    if reply:
        message = Message("sms", sender, reply, sensitive=sensitive)
        record = queue(db.session, message, source=source)
        if current_app.config["SMS_REPLY_IN_RESPONSE"]:
            # The gateway sends this response's body back: keep it on record, send it once.
            record.status, record.sent_at = "sent", utcnow()
    db.session.commit()
    return reply, 200, {"Content-Type": "text/plain; charset=utf-8"}


def _input_problems(sender: str, text: str) -> dict[str, list[str]]:
    problems = {}
    if not sender or len(sender) > 254 or not sender.isprintable():
        problems["from"] = [_("The sender's number is required.")]
    if len(text) > MAX_TEXT:
        problems["text"] = [_("At most %(n)d characters.", n=MAX_TEXT)]
    return problems


def _answer(tenant: TenantInfo, sender: str, text: str) -> tuple[str, str, bool]:
    """``(source, reply, sensitive)``: the keyword's plugin, its reply and whether the
    keyword's replies are sensitive; or the format help."""
    word, rest = [*text.split(maxsplit=1), "", ""][:2]
    claims = _enabled_keywords(tenant)
    claim = claims.get(word.upper())
    if claim is None:
        return "balai", _format_help(claims), False
    plugin, keyword = claim
    sms = InboundSms(
        sender=sender, text=text, keyword=keyword.keyword, args=rest.strip(), tenant=tenant
    )
    try:
        reply = keyword.handler(sms)
    except Exception:
        log.exception("SMS keyword %s of plugin %s failed", keyword.keyword, plugin)
        db.session.rollback()
        raise
    return plugin, str(reply or "").strip(), keyword.sensitive


def _format_help(claims: Claims) -> str:
    if not claims:
        return _("%(region)s does not receive SMS yet.", region=g.tenant.name)
    lines = [claims[word][1].help for word in sorted(claims)]
    return "\n".join([_("Unknown format. Send one of:"), *lines])


def _token_matches(tenant: TenantInfo, given: str | None) -> bool:
    stored = tenant.settings.get(TOKEN_SETTING)
    if not stored or not given:
        return False
    return hmac.compare_digest(hash_token(given), str(stored))


# -- the token ---------------------------------------------------------------------


def webhook_enabled(tenant: TenantInfo) -> bool:
    """Whether the region has an SMS token, i.e. its webhook accepts messages."""
    return bool(tenant.settings.get(TOKEN_SETTING))


def rotate_token(app: Flask, tenant: TenantInfo, *, remove: bool = False) -> str | None:
    """Give the region a new SMS token (the old one stops working) or none at all.

    :returns: the new token, to show once; only its hash is stored.
    """
    token = None if remove else new_token("sms_")
    with db.all_tenants() as session:
        row = session.get(Tenant, tenant.id)
        if row is None:
            raise LookupError(f"tenant {tenant.id} no longer exists")
        settings = {k: v for k, v in (row.settings or {}).items() if k != TOKEN_SETTING}
        if token is not None:
            settings[TOKEN_SETTING] = hash_token(token)
        row.settings = settings
        bump_state(session)
    registry(app).refresh(force=True)
    return token


def init_app(app: Flask, csrf: CSRFProtect) -> None:
    """Mount the webhook; a gateway sends no CSRF token, the SMS token stands in."""
    app.register_blueprint(bp)
    csrf.exempt(inbound)
