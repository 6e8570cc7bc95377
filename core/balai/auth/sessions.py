"""flask-login wiring: login sessions stored server-side, and bearer API tokens.

The signed session cookie carries a random login-session token. Each request
looks the token up together with its user in one query, so a session that was
revoked (logout, password change, account disabled) ends at once on every worker.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, g, request
from flask_login import LoginManager, login_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from balai.auth.models import ApiToken, LoginSession, User, hash_token, new_token
from balai.db import db, utcnow

__all__ = ["end_all_sessions", "end_session", "init_app", "start_session"]

login_manager = LoginManager()
login_manager.login_view = "balai_auth.login"
login_manager.login_message = None  # the login page explains itself
login_manager.session_protection = None  # the server-side session table does this job
TOUCH_EVERY = timedelta(minutes=5)


def _tenant_id() -> int | None:
    tenant = g.get("tenant")
    return tenant.id if tenant is not None else None


def _usable(user: User) -> bool:
    """Active, and belonging to this tenant (operators belong to all)."""
    return user.active and (user.tenant_id is None or user.tenant_id == _tenant_id())


@login_manager.user_loader
def load_user(token: str) -> User | None:
    if g.get("tenant") is None:
        return None
    row = db.session.execute(
        select(LoginSession, User)
        .join(User, LoginSession.user_id == User.id)
        .where(LoginSession.token_hash == hash_token(token), LoginSession.revoked_at.is_(None))
    ).first()
    if row is None or not _usable(row.User):
        return None
    login_session, user = row
    user.session_token = token  # type: ignore[attr-defined]
    g.login_session = login_session
    if utcnow() - login_session.last_seen_at > TOUCH_EVERY:
        login_session.last_seen_at = utcnow()
        db.session.commit()
    return user


@login_manager.request_loader
def load_user_from_token(req: object) -> User | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or g.get("tenant") is None:
        return None
    row = db.session.execute(
        select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(header[7:].strip()), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or not _usable(row.User):
        return None
    token, user = row
    g.api_token = token
    if token.last_used_at is None or utcnow() - token.last_used_at > TOUCH_EVERY:
        token.last_used_at = utcnow()
        db.session.commit()
    return user


def start_session(session: Session, user: User) -> None:
    """Log ``user`` in with a new server-side login session."""
    token = new_token()
    session.add(
        LoginSession(
            user_id=user.id,
            tenant_id=user.tenant_id,
            token_hash=hash_token(token),
            address=request.remote_addr,
            user_agent=(request.user_agent.string or "")[:300],
        )
    )
    session.commit()
    user.session_token = token  # type: ignore[attr-defined]
    login_user(user)


def end_session(session: Session) -> None:
    """Log out here: revoke this browser's login session."""
    current = g.get("login_session")
    if current is not None:
        current.revoked_at = utcnow()
        session.commit()
    logout_user()


def end_all_sessions(session: Session, user: User) -> None:
    """Revoke every login session of ``user`` (password change, account disabled)."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
