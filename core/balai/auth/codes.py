"""One-time codes that prove an address: registration and password reset.

A code is six digits, sent by e-mail or SMS through the region's outbox
(:func:`balai.channels.queue`, in the caller's transaction). Only an HMAC of it is
stored (keyed with ``SECRET_KEY``, so a copy of the database does not give the codes
away). A code ends when it is used, after ``ACCOUNT_CODE_MINUTES``, after
``ACCOUNT_CODE_ATTEMPTS`` wrong tries (each try is counted before the comparison,
so parallel guesses cannot get more), and when a newer one is sent for the same
account and purpose.

Sending is limited per recipient and per client address (:func:`send_allowed`),
counted whether an account exists or not, so the limits reveal nothing either.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app, g
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from balai import ratelimit
from balai.auth.models import AccountCode, User
from balai.channels import Message, queue
from balai.contacts import recipient_key
from balai.db import utcnow

__all__ = [
    "PURPOSES",
    "SOURCE",
    "check_code",
    "code_hash",
    "registration_open",
    "send_allowed",
    "send_code",
    "send_message",
]

PURPOSES = ("register", "reset")
SOURCE = "balai.accounts"
DIGITS = 6


def registration_open(tenant: object | None = None) -> bool:
    """Whether citizens may create their own account in the region (default: yes).

    A region setting (``self_registration`` in the region's settings), switched on
    the admin's appearance page.
    """
    tenant = tenant if tenant is not None else g.get("tenant")
    settings = getattr(tenant, "settings", None) or {}
    return bool(settings.get("self_registration", True))


def channel_of(kind: str) -> str:
    """The channel a login of ``kind`` (``"email"`` or ``"phone"``) is reached by."""
    return "sms" if kind == "phone" else "email"


def send_allowed(kind: str, address: str, client: str | None) -> ratelimit.Outcome:
    """Count one message to ``address`` from the client at ``client`` against
    ``ACCOUNT_CODE_LIMIT_RECIPIENT`` and ``ACCOUNT_CODE_LIMIT_ADDRESS``."""
    config = current_app.config
    hits = []
    if config["ACCOUNT_CODE_LIMIT_RECIPIENT"]:
        limit = ratelimit.Limit(
            "balai.account-code-recipient", config["ACCOUNT_CODE_LIMIT_RECIPIENT"]
        )
        hits.append((limit, (recipient_key(kind, address),)))
    if config["ACCOUNT_CODE_LIMIT_ADDRESS"]:
        limit = ratelimit.Limit("balai.account-code-address", config["ACCOUNT_CODE_LIMIT_ADDRESS"])
        hits.append((limit, (ratelimit.client_key(client),)))
    return ratelimit.hit_all(*hits)


def code_hash(user_id: int, purpose: str, code: str) -> str:
    """The stored form of ``code``: an HMAC with ``SECRET_KEY``, bound to the account
    and the purpose."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    text = f"balai.account-code\x1f{user_id}\x1f{purpose}\x1f{code.strip()}"
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def send_code(session: Session, user: User, purpose: str, kind: str, address: str) -> None:
    """Make a new code for ``user`` and ``purpose``, end the older ones, and queue it
    to ``address`` (an e-mail address or mobile number of kind ``kind``)."""
    assert purpose in PURPOSES
    code = f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
    now = utcnow()
    session.execute(
        delete(AccountCode)
        .where(AccountCode.user_id == user.id, AccountCode.purpose == purpose)
        .execution_options(synchronize_session=False)
    )
    minutes = int(current_app.config["ACCOUNT_CODE_MINUTES"])
    session.add(
        AccountCode(
            user_id=user.id,
            purpose=purpose,
            channel=channel_of(kind),
            code_hash=code_hash(user.id, purpose, code),
            attempts=0,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    region = g.tenant.name
    if purpose == "register":
        subject = _("Your code to create an account at %(region)s", region=region)
        body = _(
            "Your code to create your account at %(region)s is %(code)s. It is valid for"
            " %(minutes)d minutes. Do not give it to anyone.",
            region=region,
            code=code,
            minutes=minutes,
        )
    else:
        subject = _("Your code to reset your password at %(region)s", region=region)
        body = _(
            "Your code to set a new password at %(region)s is %(code)s. It is valid for"
            " %(minutes)d minutes. Do not give it to anyone. If you did not ask for it,"
            " ignore this message.",
            region=region,
            code=code,
            minutes=minutes,
        )
    send_message(session, kind, address, subject, body)


def send_message(session: Session, kind: str, address: str, subject: str, body: str) -> None:
    """Queue ``body`` to ``address`` by e-mail or SMS (``kind`` ``"email"``/``"phone"``)."""
    channel = channel_of(kind)
    queue(
        session,
        Message(channel, address, body, subject if channel == "email" else ""),
        source=SOURCE,
    )


def check_code(session: Session, user: User, purpose: str, code: str) -> bool:
    """Whether ``code`` is ``user``'s live code for ``purpose``; a right code is used up.

    Each try is counted before the comparison, and a code past its tries, expired
    or already used is refused like a wrong one. The caller commits either way (a
    wrong try must stay counted).
    """
    row = session.scalar(
        select(AccountCode)
        .where(
            AccountCode.user_id == user.id,
            AccountCode.purpose == purpose,
            AccountCode.used_at.is_(None),
        )
        .order_by(AccountCode.id.desc())
        .limit(1)
    )
    if row is None or row.expires_at <= utcnow():
        return False
    counted = session.execute(
        update(AccountCode)
        .where(
            AccountCode.id == row.id,
            AccountCode.used_at.is_(None),
            AccountCode.attempts < int(current_app.config["ACCOUNT_CODE_ATTEMPTS"]),
        )
        .values(attempts=AccountCode.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if counted.rowcount != 1:  # type: ignore[attr-defined]
        return False
    wanted = code_hash(user.id, purpose, "".join(code.split()))
    if not hmac.compare_digest(wanted, row.code_hash):
        return False
    used = session.execute(
        update(AccountCode)
        .where(AccountCode.id == row.id, AccountCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return used.rowcount == 1  # type: ignore[attr-defined]
