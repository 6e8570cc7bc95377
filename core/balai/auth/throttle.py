"""Login throttling per account and per address, shared by every worker.

Failures are counted in the database over a sliding window. Past the limit a
login waits until the oldest counted failure leaves the window: never a
permanent lock-out that an attacker could use against a real user.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from balai.auth.models import LoginFailure
from balai.db import utcnow

__all__ = ["account_key", "address_key", "clear", "record_failure", "retry_after"]


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def account_key(tenant_id: int | None, email: str) -> str:
    """The throttle key of an e-mail address on a tenant, whether an account exists or not."""
    return _key("account", f"{tenant_id}:{email.strip().lower()}")


def address_key(address: str | None) -> str:
    """The throttle key of a client address."""
    return _key("address", address or "-")


def _window() -> timedelta:
    return timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])


def retry_after(session: Session, account: str, address: str) -> int:
    """Seconds to wait before another attempt is allowed (0: go ahead)."""
    now = utcnow()
    since = now - _window()
    waits = [0]
    limits = (
        (account, current_app.config["LOGIN_MAX_FAILURES_ACCOUNT"]),
        (address, current_app.config["LOGIN_MAX_FAILURES_ADDRESS"]),
    )
    for key, limit in limits:
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(
                LoginFailure.key == key, LoginFailure.at > since
            )
        ).one()
        if count >= limit and oldest is not None:
            waits.append(int((oldest + _window() - now).total_seconds()) + 1)
    return max(waits)


def record_failure(session: Session, account: str, address: str) -> None:
    """Count one failure against both keys and drop rows that left the window; caller commits."""
    now = utcnow()
    session.add_all([LoginFailure(key=account, at=now), LoginFailure(key=address, at=now)])
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - _window()))


def clear(session: Session, account: str) -> None:
    """Forget an account's failures after a successful login."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == account))
