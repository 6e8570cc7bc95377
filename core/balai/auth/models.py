"""Users, departments, login sessions and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, event, false, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from balai.db import Base, TenantOptional, TenantScoped, utcnow
from balai.permissions import OPERATOR

if TYPE_CHECKING:
    from balai.tenancy.models import CustomRole

__all__ = [
    "AccountCode",
    "ApiToken",
    "Department",
    "Invitation",
    "LoginSession",
    "User",
    "hash_token",
]


def hash_token(token: str) -> str:
    """SHA-256 of a random token: enough for high-entropy secrets, and fast to look up."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str = "") -> str:
    """A fresh random secret (256 bits), optionally with a recognisable prefix."""
    return prefix + secrets.token_urlsafe(32)


class Department(TenantScoped, Base):
    """A region's department (*Organisasi Perangkat Daerah*, OPD), e.g. Dinas Kesehatan."""

    __tablename__ = "balai_department"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))


class User(TenantOptional, Base):
    """A person who logs in: a citizen (*warga*), an officer, a region admin, or an operator.

    ``tenant_id`` is NULL only for platform operators, who work across tenants.

    An account logs in with its e-mail address or its Indonesian mobile number
    (``phone``, always ``+628…``, :func:`balai.contacts.mobile_number`); it has at
    least one of them, and each is unique in its region. ``email_verified_at`` and
    ``phone_verified_at`` say when the person proved they receive messages there (a
    code or an invitation link). ``pending`` is an account a citizen registered
    (``/daftar``) that waits for the code sent to its address: it cannot log in.

    ``credential_version`` goes up, in the same UPDATE, whenever the password hash
    is changed or the account is disabled through the ORM (see
    :func:`_new_credentials`). Every login session and API token carries the version
    it was issued under and is honoured only while the two are equal, so a change
    ends them all, on every tenant, and re-enabling an account brings none back.
    """

    __tablename__ = "balai_user"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        UniqueConstraint("tenant_id", "phone"),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="login"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    email_verified_at: Mapped[datetime | None] = mapped_column()
    phone_verified_at: Mapped[datetime | None] = mapped_column()
    pending: Mapped[bool] = mapped_column(default=False, server_default=false())
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="warga")
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("balai_department.id", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    credential_version: Mapped[int] = mapped_column(default=0, server_default="0")

    department: Mapped[Department | None] = relationship(lazy="joined")
    # The region's custom roles this user holds besides ``role`` (given on the users
    # page through RoleMember rows); read once per request, when first needed.
    custom_roles: Mapped[list[CustomRole]] = relationship(
        secondary="balai_role_member", viewonly=True, order_by="CustomRole.name"
    )

    # flask-login's user protocol
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def login(self) -> str:
        """What the account logs in with and is shown as: its e-mail address, else
        its mobile number."""
        return self.email or self.phone or ""

    @property
    def is_operator(self) -> bool:
        """A platform operator: no tenant of their own, may log in on every tenant."""
        return self.tenant_id is None and self.role == OPERATOR

    def get_id(self) -> str:
        """The login-session token flask-login keeps in the cookie.

        The cookie carries the login session, not the user: ending the session ends it.
        """
        token: str | None = getattr(self, "session_token", None)
        if token is None:
            raise RuntimeError("User.get_id() outside a login session")
        return token


class LoginSession(TenantOptional, Base):
    """One login on one browser; revoked by logout, password change or account disable.

    ``tenant_id`` is the tenant whose host the login happened on, also for an
    operator: the cookie is refused on every other host.
    """

    __tablename__ = "balai_login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("balai_user.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # The user's credential version read with the password hash that was verified.
    credential_version: Mapped[int] = mapped_column(default=0, server_default="0")

    user: Mapped[User] = relationship()


class ApiToken(TenantOptional, Base):
    """A per-user API token; only its hash is stored, shown once when created.

    ``tenant_id`` is the tenant it was created on; it is refused on every other host.
    """

    __tablename__ = "balai_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("balai_user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    # The credential version of the login session it was created from.
    credential_version: Mapped[int] = mapped_column(default=0, server_default="0")

    user: Mapped[User] = relationship()

    def is_live(self, user: User) -> bool:
        """Not revoked, and issued under ``user``'s current credentials."""
        return self.revoked_at is None and self.credential_version == user.credential_version


class AccountCode(TenantScoped, Base):
    """A one-time numeric code sent to prove an address: registration or password reset.

    Only an HMAC of the code is stored (:func:`balai.auth.codes.code_hash`). A code
    ends when it is used, when it expires, after ``ACCOUNT_CODE_ATTEMPTS`` wrong
    tries, and when a newer code for the same account and purpose is sent.
    ``address`` is the e-mail address or mobile number it went to (the account may
    have both).
    """

    __tablename__ = "balai_account_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("balai_user.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class Invitation(TenantScoped, Base):
    """An admin's invitation to join the region with a role: the invitee sets their
    own password through a link with a single-use token (only its hash is stored).

    Open while neither ``accepted_at`` nor ``withdrawn_at`` is set and ``expires_at``
    has not passed; sending it again gives a new token and a new expiry.
    """

    __tablename__ = "balai_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("balai_department.id", ondelete="SET NULL")
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column()
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    user_id: Mapped[int | None] = mapped_column(ForeignKey("balai_user.id", ondelete="SET NULL"))

    department: Mapped[Department | None] = relationship(lazy="joined")

    @property
    def address(self) -> str:
        """The e-mail address or mobile number the invitation goes to."""
        return self.email or self.phone or ""


@event.listens_for(User, "before_update")
def _new_credentials(mapper: Mapper[User], connection: Connection, user: User) -> None:
    """A new password hash or a disabled account: every credential issued so far ends.

    The version is raised by the UPDATE itself (``credential_version + 1``), so two
    changes at the same moment both count, and a login that verified the old hash
    (and copies the old version into its session) can never produce a live session.
    A rehash of the same password on login is a conditional bulk UPDATE that does
    not pass through here.
    """
    state = inspect(user)
    disabled = state.attrs.active.history.has_changes() and not user.active
    if state.attrs.password_hash.history.has_changes() or disabled:
        user.credential_version = User.credential_version + 1  # type: ignore[assignment]
