"""Creating and changing accounts: the rules shared by the CLI, the admin pages,
self-registration and invitations.

An account logs in with its e-mail address or its Indonesian mobile number
(:func:`parse_login` tells which one a person typed).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from balai.auth.models import Department, User
from balai.auth.passwords import hash_password, password_problem
from balai.auth.sessions import end_all_sessions, revoke_all_tokens
from balai.contacts import email_address, mobile_number
from balai.db import utcnow
from balai.permissions import OPERATOR, ROLES

__all__ = [
    "AccountError",
    "check_not_reserved",
    "create_user",
    "find_account",
    "find_login_user",
    "is_operator_address",
    "normalise_email",
    "normalise_phone",
    "parse_login",
    "set_active",
    "set_password",
]


class AccountError(ValueError):
    """An account change was refused; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def normalise_email(email: str) -> str:
    """``email`` trimmed and lower-cased, the form every account is stored in
    (:func:`balai.contacts.email_address`: printable ASCII, nothing invisible)."""
    address = email_address(email)
    if address is None:
        shown = email.strip().encode("ascii", "backslashreplace").decode()
        raise AccountError(_("%(email)s is not a valid e-mail address.", email=shown), "email")
    return address


def normalise_phone(phone: str) -> str:
    """``phone`` as ``+628…`` (:func:`balai.contacts.mobile_number`), or an error naming
    the field ``phone``."""
    number = mobile_number(phone)
    if number is None:
        raise AccountError(
            _("%(phone)s is not an Indonesian mobile number (e.g. 0812 3456 7890).", phone=phone),
            "phone",
        )
    return number


def parse_login(text: str) -> tuple[str, str] | None:
    """What someone typed to name their account, as ``("email", address)`` or
    ``("phone", "+628…")``; ``None`` when it is neither."""
    value = (text or "").strip()
    if "@" in value:
        address = email_address(value)
        return ("email", address) if address else None
    number = mobile_number(value)
    return ("phone", number) if number else None


def create_user(
    session: Session,
    *,
    tenant_id: int | None,
    email: str | None = None,
    name: str,
    role: str,
    password: str,
    department: str | None = None,
    phone: str | None = None,
    verified: bool = False,
    pending: bool = False,
) -> User:
    """Add a user to ``tenant_id`` (None: a platform operator) after checking everything.

    The account logs in with ``email`` or ``phone`` (at least one); ``verified``
    records that the person proved they receive messages at them (a code, an
    invitation link); ``pending`` makes a self-registered account that cannot log
    in before its code is entered. Nothing is added when a check fails; the
    caller's transaction commits.
    """
    email = normalise_email(email) if email else None
    phone = normalise_phone(phone) if phone else None
    if email is None and phone is None:
        raise AccountError(_("An e-mail address or a mobile number is required."), "email")
    if phone is not None and tenant_id is None:
        raise AccountError(_("Platform operators log in with an e-mail address."), "phone")
    if role not in (*ROLES, OPERATOR):
        raise AccountError(_("Unknown role %(role)s.", role=role), "role")
    if (role == OPERATOR) != (tenant_id is None):
        raise AccountError(_("Only platform operators have no region."), "role")
    name = name.strip()
    if not name or len(name) > 200:
        raise AccountError(_("The name is required (at most 200 characters)."), "name")
    problem = password_problem(password, email=email or phone or "")
    if problem:
        raise AccountError(problem, "password")
    same_tenant = User.tenant_id == tenant_id if tenant_id else User.tenant_id.is_(None)
    if email and session.scalar(select(User.id).where(User.email == email, same_tenant)):
        raise AccountError(_("A user with this e-mail address already exists."), "email")
    if phone and session.scalar(select(User.id).where(User.phone == phone, same_tenant)):
        raise AccountError(_("A user with this mobile number already exists."), "phone")
    if email:
        check_not_reserved(session, tenant_id, email)
    department_id = None
    if department:
        department_id = session.scalar(
            select(Department.id).where(
                Department.tenant_id == tenant_id, Department.code == department
            )
        )
        if department_id is None:
            raise AccountError(_("Unknown department %(code)s.", code=department), "department")
    now = utcnow()
    user = User(
        tenant_id=tenant_id,
        email=email,
        phone=phone,
        email_verified_at=now if verified and email else None,
        phone_verified_at=now if verified and phone else None,
        pending=pending,
        name=name,
        role=role,
        password_hash=hash_password(password),
        department_id=department_id,
    )
    session.add(user)
    session.flush()
    return user


def is_operator_address(session: Session, email: str) -> bool:
    """Whether ``email`` is the address of a platform operator (active or not)."""
    wanted = email.strip().lower()
    found = session.scalar(
        select(User.id)
        .where(User.tenant_id.is_(None), User.role == OPERATOR, func.lower(User.email) == wanted)
        .limit(1)
    )
    return found is not None


def check_not_reserved(session: Session, tenant_id: int | None, email: str) -> None:
    """Refuse a region's account (new, or given a new address) with an operator's address.

    An operator logs in on every region with their address: a region account with the
    same address would compete with it. Every way of creating an account or changing
    its address goes through this check.

    :raises AccountError: on the field ``email``.
    """
    if tenant_id is not None and is_operator_address(session, email):
        raise AccountError(
            _(
                "%(email)s is reserved for a platform operator: choose another address.",
                email=email.strip().lower(),
            ),
            "email",
        )


def set_active(session: Session, user: User, active: bool) -> None:
    """Enable or disable an account; disabling ends every session and token for good.

    Disabling raises the user's credential version (see :class:`User`), so
    enabling the account again brings back none of them. The caller commits.
    """
    user.active = active
    if not active:
        _end_credentials(session, user)


def set_password(session: Session, user: User, password: str) -> None:
    """Give ``user`` a new password and end every login session and API token they have.

    The caller commits, then starts a new session if this browser should stay in.
    """
    problem = password_problem(password, email=user.login)
    if problem:
        raise AccountError(problem, "password")
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    _end_credentials(session, user)


def _end_credentials(session: Session, user: User) -> None:
    """Raise the credential version now and mark every visible session and token revoked.

    The flush writes the new version (:func:`balai.auth.models._new_credentials`)
    in the caller's transaction; the rows marked here are the ones this session
    can see, the rest (an operator's on other tenants) end by their version.
    """
    session.flush()
    end_all_sessions(session, user)
    revoke_all_tokens(session, user)


def find_login_user(session: Session, tenant_id: int, login: str) -> User | None:
    """The active, confirmed account that may log in on ``tenant_id`` as ``login``
    (an e-mail address or a mobile number); see :func:`find_account`."""
    user = find_account(session, tenant_id, login)
    return user if user is not None and user.active and not user.pending else None


def find_account(session: Session, tenant_id: int, login: str) -> User | None:
    """The account ``login`` (an e-mail address or a mobile number) names on
    ``tenant_id``, active or not.

    A platform operator wins over a region's account with the same address: operator
    addresses are reserved (:func:`check_not_reserved`), and an account that has such
    an address from before cannot take the operator's place on its region.
    Stored addresses are compared lower-cased too, so an account written before
    addresses were normalised can still log in. A mobile number names only a
    region's account. An active account comes before a disabled one.
    """
    parsed = parse_login(login)
    if parsed is None:
        wanted = login.strip().lower()
        if not wanted:
            return None
        parsed = ("email", wanted)  # an old address the checks of today would refuse
    kind, value = parsed
    if kind == "phone":
        return session.scalar(
            select(User).where(User.phone == value, User.tenant_id == tenant_id).limit(1)
        )
    users = session.scalars(
        select(User)
        .where(
            func.lower(User.email) == value,
            or_(
                User.tenant_id == tenant_id,
                User.tenant_id.is_(None) & (User.role == OPERATOR),
            ),
        )
        .order_by(User.active.desc(), User.tenant_id.is_not(None), User.id)
    ).all()
    return users[0] if users else None
