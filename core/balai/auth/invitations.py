"""Invitations: an admin invites someone by e-mail or mobile number; they set their
own password through a link with a single-use token, so nobody ever carries a
password from the admin to the new user.

The token is 256 random bits, shown only in the message; the database keeps its
SHA-256. An invitation is open until it is accepted, withdrawn, or its
``INVITATION_DAYS`` have passed; sending it again gives a new token (the old link
stops working) and a new expiry. Accepting creates the account with the role and
department the admin chose, and marks the address it went to as verified.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session

from balai.auth.accounts import AccountError, check_not_reserved, create_user
from balai.auth.codes import send_message
from balai.auth.models import AccountCode, Invitation, User, hash_token, new_token
from balai.db import utcnow
from balai.tenancy import external_url

__all__ = ["accept", "invite", "is_open", "open_invitation", "resend", "withdraw"]

#: Roles an invitation by mobile number may give: staff need an e-mail address
#: (their departments' notices go there).
PHONE_ROLES = ("warga",)


def is_open(invitation: Invitation) -> bool:
    """Not accepted, not withdrawn, not expired."""
    return (
        invitation.accepted_at is None
        and invitation.withdrawn_at is None
        and invitation.expires_at > utcnow()
    )


def _unanswered() -> ColumnElement[bool]:
    return Invitation.accepted_at.is_(None) & Invitation.withdrawn_at.is_(None)


def invite(
    session: Session,
    *,
    email: str | None,
    phone: str | None,
    name: str,
    role: str,
    department_id: int | None,
    invited_by: str,
) -> Invitation:
    """Record an invitation to the current region and queue its link; the caller commits.

    :raises AccountError: the address is taken by an account (a self-registration
        still waiting for its code does not count) or by another
        invitation still unanswered, is an operator's, or a mobile number for staff.
    """
    tenant_id = g.tenant.id
    if phone and role not in PHONE_ROLES:
        raise AccountError(
            _("Staff are invited by e-mail: their notices are sent there."), "address"
        )
    column, value = (User.email, email) if email else (User.phone, phone)
    # A self-registration still waiting for its code is no account yet: accepting the
    # invitation replaces it (:func:`accept`).
    taken = select(User.id).where(column == value, User.tenant_id == tenant_id, ~User.pending)
    if session.scalar(taken):
        raise AccountError(_("An account with this address already exists."), "address")
    icolumn = Invitation.email if email else Invitation.phone
    if session.scalar(select(Invitation.id).where(icolumn == value, _unanswered())):
        raise AccountError(
            _("This address already has an invitation: send it again from the users page."),
            "address",
        )
    if email:
        try:
            check_not_reserved(session, tenant_id, email)
        except AccountError as exc:
            raise AccountError(str(exc), "address") from None
    invitation = Invitation(
        email=email, phone=phone, name=name, role=role, department_id=department_id,
        invited_by=invited_by, token_hash="", created_at=utcnow(),
    )  # fmt: skip
    session.add(invitation)
    _send(session, invitation)
    return invitation


def resend(session: Session, invitation: Invitation) -> None:
    """A new link (the old one stops working) and a new expiry; the caller commits."""
    _send(session, invitation)


def withdraw(invitation: Invitation) -> None:
    """The link stops working; the caller commits."""
    invitation.withdrawn_at = utcnow()


def _send(session: Session, invitation: Invitation) -> None:
    token = new_token()
    now = utcnow()
    days = int(current_app.config["INVITATION_DAYS"])
    invitation.token_hash = hash_token(token)
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=days)
    session.flush()
    link = external_url(g.tenant, "balai_auth.invitation", token=token)
    region = g.tenant.name
    subject = _("Invitation to %(region)s", region=region)
    body = _(
        "%(name)s, you are invited to an account at %(region)s. Set your password at"
        " %(link)s (valid for %(days)d days).",
        name=invitation.name,
        region=region,
        link=link,
        days=days,
    )
    send_message(
        session, "email" if invitation.email else "phone", invitation.address, subject, body
    )


def open_invitation(session: Session, token: str) -> Invitation | None:
    """The open invitation whose link carries ``token``, or ``None``."""
    if not token or len(token) > 100:
        return None
    invitation = session.scalar(
        select(Invitation).where(Invitation.token_hash == hash_token(token))
    )
    return invitation if invitation is not None and is_open(invitation) else None


def accept(session: Session, invitation: Invitation, password: str) -> User:
    """Create the invited account with ``password`` and close the invitation, once.

    The invitation is claimed with a conditional UPDATE first, so two submissions of
    the same link create one account. A self-registration of the address still
    waiting for its code is deleted first: the link proves the address. The caller
    commits.

    :raises AccountError: the password is refused, the address was taken meanwhile,
        or the invitation was used or withdrawn meanwhile.
    """
    claimed = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, _unanswered(), Invitation.expires_at > utcnow())
        .values(accepted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise AccountError(_("This invitation has already been used or withdrawn."), "_form")
    _replace_pending(session, invitation)
    department = invitation.department.code if invitation.department else None
    user = create_user(
        session,
        tenant_id=g.tenant.id,
        email=invitation.email,
        phone=invitation.phone,
        name=invitation.name,
        role=invitation.role,
        password=password,
        department=department,
        verified=True,
    )
    session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id)
        .values(user_id=user.id)
        .execution_options(synchronize_session=False)
    )
    return user


def _replace_pending(session: Session, invitation: Invitation) -> None:
    """Delete a self-registration of the invited address still waiting for its code
    (with its codes), in the caller's transaction: the invitation proves the address
    and the invitee's account takes its place."""
    column, value = (
        (User.email, invitation.email) if invitation.email else (User.phone, invitation.phone)
    )
    pending = session.scalar(
        select(User).where(column == value, User.tenant_id == g.tenant.id, User.pending)
    )
    if pending is not None:
        session.execute(
            delete(AccountCode)
            .where(AccountCode.user_id == pending.id)
            .execution_options(synchronize_session=False)
        )
        session.delete(pending)
        session.flush()
