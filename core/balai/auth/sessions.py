"""flask-login wiring: login sessions stored server-side, and bearer API tokens.

The signed session cookie carries a random login-session token, never a user id.
Each request looks the token up together with its user in one query, so a
session that was revoked (logout, password change, account disabled) ends at
once on every worker. A login session belongs to the tenant whose host it was
made on and is worthless on any other host, even for an operator.

Login sessions and API tokens carry the credential version of their user at the
moment they were issued (:attr:`User.credential_version`), and that same query
honours them only while it is unchanged. A password change or a disabled account
raises the version in its own transaction, which ends every session and token,
on every tenant, including the one a login still in flight writes after the
change: it copies the version it read with the hash it verified.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import Flask, current_app, g, request, session
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin, LoginManager, current_user, login_user, logout_user
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session
from werkzeug.exceptions import Unauthorized
from werkzeug.wrappers import Request

from balai.auth.models import ApiToken, LoginSession, User, hash_token, new_token
from balai.db import db, utcnow
from balai.permissions import checks_own_credentials
from balai.text import clean_text

__all__ = [
    "AnonymousUser",
    "end_all_sessions",
    "end_session",
    "init_app",
    "revoke_all_tokens",
    "start_session",
]

# Writing last_seen_at on every request would turn every page view into a write.
TOUCH_EVERY = timedelta(minutes=5)
API_PATH_PREFIX = "/api/"


class AnonymousUser(AnonymousUserMixin):
    """The visitor who has not logged in; answers the same questions a :class:`User` does."""

    id = None
    tenant_id = None
    role = None
    email = None
    name = None
    locale = None
    department = None
    is_operator = False


def _tenant_id() -> int | None:
    tenant = g.get("tenant")
    return tenant.id if tenant is not None else None


def _usable(user: User) -> bool:
    """Active, and belonging to this tenant (operators belong to all)."""
    return user.active and (user.is_operator or user.tenant_id == _tenant_id())


def _session_valid(login_session: LoginSession) -> bool:
    """Not older than the session lifetime."""
    lifetime: timedelta = current_app.permanent_session_lifetime
    return utcnow() - login_session.created_at < lifetime


@cache
def _session_query() -> Select[Any]:
    """A login session and its user, by token hash and tenant: built once, run with
    the values as parameters (building a statement costs more than running it)."""
    return (
        select(LoginSession, User)
        .join(User, LoginSession.user_id == User.id)
        .where(
            LoginSession.token_hash == bindparam("token_hash"),
            LoginSession.tenant_id == bindparam("tenant_id"),
            LoginSession.revoked_at.is_(None),
            # Also ends an operator's sessions on other tenants, whose rows a
            # tenant-bound database session cannot revoke.
            LoginSession.credential_version == User.credential_version,
        )
    )


@cache
def _token_query() -> Select[Any]:
    """An API token and its user, by token hash and tenant (see :func:`_session_query`)."""
    return (
        select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == bindparam("token_hash"),
            ApiToken.tenant_id == bindparam("tenant_id"),
            ApiToken.revoked_at.is_(None),
            ApiToken.credential_version == User.credential_version,
        )
    )


def load_user(token: str) -> User | None:
    """The user of the login session ``token`` on this tenant, or ``None``."""
    tenant_id = _tenant_id()
    if tenant_id is None:
        return None
    if request.path.startswith(API_PATH_PREFIX) and "Authorization" in request.headers:
        return None  # an API request with credentials is judged by them alone
    with db.session.no_autoflush:  # never write the view's unfinished work from here
        row = db.session.execute(
            _session_query(), {"token_hash": hash_token(token), "tenant_id": tenant_id}
        ).first()
    if row is None:
        return None
    login_session, user = row
    if not (_usable(user) and _session_valid(login_session)):
        return None
    user.session_token = token  # type: ignore[attr-defined]
    g.login_session = login_session
    return user


def load_user_from_token(req: Request) -> User | None:
    """The user of an ``Authorization: Bearer`` API token, on API paths only.

    Elsewhere a token is ignored, so it cannot change the password or make more tokens.
    """
    scheme, _sep, secret = req.headers.get("Authorization", "").partition(" ")
    tenant_id = _tenant_id()
    if scheme.lower() != "bearer" or not secret.strip() or tenant_id is None:
        return None
    if not req.path.startswith(API_PATH_PREFIX):
        return None
    with db.session.no_autoflush:
        row = db.session.execute(
            _token_query(), {"token_hash": hash_token(secret.strip()), "tenant_id": tenant_id}
        ).first()
    if row is None or not _usable(row.User):
        return None
    token, user = row
    g.api_token = token
    return user


class InvalidToken(Unauthorized):
    """401 for an API request whose ``Authorization`` header does not verify (RFC 6750)."""

    def __init__(self) -> None:
        super().__init__()
        self.data = {"message": _("The Authorization header does not hold a valid API token.")}

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [
            *super().get_headers(*args, **kwargs),
            ("WWW-Authenticate", 'Bearer error="invalid_token"'),
        ]


def _refuse_unverified_credentials() -> None:
    """An API request that presents credentials which do not verify gets 401.

    Public endpoints too: a wrong, unknown, revoked or malformed token, or another
    scheme than ``Bearer``, is refused rather than served as an anonymous request,
    so a client learns at once that its token is no good.
    """
    presented = request.path.startswith(API_PATH_PREFIX) and "Authorization" in request.headers
    if presented and g.get("api_token") is None:
        if checks_own_credentials(current_app, request.endpoint, request.method):
            return  # a plugin's own token (a registry token): its view judges it
        raise InvalidToken()


def _record_use() -> None:
    """Note when the login session or API token of this request was last used.

    Runs before the view, in a database session of its own, so it never commits
    or waits on the view's work; at most once per :data:`TOUCH_EVERY`.
    """
    login_session: LoginSession | None = g.get("login_session")
    if login_session is not None and _stale(login_session.last_seen_at):
        _touch(LoginSession, login_session.id, "last_seen_at")
    token: ApiToken | None = g.get("api_token")
    if token is not None and _stale(token.last_used_at):
        _touch(ApiToken, token.id, "last_used_at")


def _stale(when: datetime | None) -> bool:
    return when is None or utcnow() - when > TOUCH_EVERY


def _touch(model: type[LoginSession] | type[ApiToken], row_id: int, column: str) -> None:
    with db.new_session(_tenant_id()) as own, own.begin():
        own.execute(update(model).where(model.id == row_id).values({column: utcnow()}))


def start_session(db_session: Session, user: User, credential_version: int) -> None:
    """Log ``user`` in on this tenant with a new server-side login session; commits.

    ``credential_version`` is the one read in the same row as the password hash
    that was verified. If the password changed (or the account was disabled) since,
    the session is written already dead: a login that raced a password change can
    never outlive it.
    """
    token = new_token()
    db_session.add(
        LoginSession(
            user_id=user.id,
            tenant_id=_tenant_id(),
            credential_version=credential_version,
            token_hash=hash_token(token),
            address=request.remote_addr,
            user_agent=clean_text(request.user_agent.string or "")[:300],
        )
    )
    db_session.commit()
    session.clear()  # nothing from before the login survives it (session fixation)
    user.session_token = token  # type: ignore[attr-defined]
    login_user(user)


def end_session(db_session: Session) -> None:
    """Log out here: revoke this browser's login session and forget the cookie's contents."""
    current = g.get("login_session")
    if current is not None:
        current.revoked_at = utcnow()
        db_session.commit()
    logout_user()
    session.clear()


def end_all_sessions(db_session: Session, user: User) -> None:
    """Revoke every login session of ``user`` that ``db_session`` can see.

    The caller commits. Sessions on other tenants (an operator's) are refused by
    :func:`load_user` anyway once the password changed or the account is disabled:
    their credential version is no longer the user's.
    """
    _revoke_all(db_session, LoginSession, user)


def revoke_all_tokens(db_session: Session, user: User) -> None:
    """Revoke every API token of ``user`` that ``db_session`` can see; the caller commits.

    Tokens on other tenants end by their credential version, as sessions do.
    """
    _revoke_all(db_session, ApiToken, user)


def _revoke_all(
    db_session: Session, model: type[LoginSession] | type[ApiToken], user: User
) -> None:
    db_session.execute(
        update(model)
        .where(model.user_id == user.id, model.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _load_user_first() -> None:
    """Load the user before the view runs, so a revoked session never reaches it."""
    if g.get("tenant") is not None:
        current_user._get_current_object()  # type: ignore[attr-defined]
        _refuse_unverified_credentials()
        _record_use()


def init_app(app: Flask) -> None:
    """Attach a login manager of this app's own; call after tenancy is set up."""
    manager = LoginManager()
    manager.login_view = "balai_auth.login"
    manager.login_message = None  # type: ignore[assignment]  # the login page explains itself
    manager.session_protection = None  # type: ignore[assignment]  # the session table does this
    manager.anonymous_user = AnonymousUser
    manager.user_loader(load_user)
    manager.request_loader(load_user_from_token)
    manager.init_app(app)
    app.before_request(_load_user_first)
