"""Business rules of the registry, without Flask: partners and their tokens.

Every function takes the session (bound to the upstream region) and, where it
matters, the current time; messages are English message ids marked with
:func:`~balai.i18n.N_`, translated by the caller where it shows them.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.contacts import email_address
from balai.i18n import N_
from balai_registry.models import SCOPES, Partner

__all__ = [
    "TOKEN_PREFIX",
    "PartnerError",
    "hash_token",
    "issue_partner",
    "list_partners",
    "partner_for_token",
    "revoke_partner",
]

#: Every registry token starts so, which tells it apart from a user's API token.
TOKEN_PREFIX = "balai-reg-"  # noqa: S105  (a prefix, not a secret)


class PartnerError(ValueError):
    """Input the rules refuse; ``errors`` maps each field to its message ids."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def list_partners(session: Session) -> list[Partner]:
    """The region's partners, live ones first, newest first."""
    stmt = select(Partner).order_by(Partner.revoked_at.is_not(None), Partner.id.desc())
    return list(session.scalars(stmt))


def issue_partner(
    session: Session, region: str, email: str, scopes: list[str], by: int | None
) -> tuple[Partner, str]:
    """Add a partner region and its new token; the token is returned only here.

    :raises PartnerError: with the problems of every field at fault.
    """
    problems: dict[str, list[str]] = {}
    region = " ".join(region.split())
    if not region or len(region) > 200:
        problems["region"] = [N_("Enter the name of the partner region.")]
    address = email_address(email)
    if address is None:
        problems["email"] = [N_("Enter a contact e-mail address.")]
    chosen = [s for s in SCOPES if s in scopes]
    if not chosen or len(chosen) != len(set(scopes)):
        problems["scopes"] = [N_("Choose at least one of the listed permissions.")]
    if problems:
        raise PartnerError(problems)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    partner = Partner(
        region=region,
        email=address or "",
        token_hash=hash_token(token),
        token_prefix=token[: len(TOKEN_PREFIX) + 4],
        scopes=" ".join(chosen),
        created_by_id=by,
    )
    session.add(partner)
    session.flush()
    return partner, token


def revoke_partner(session: Session, partner: Partner, now: datetime) -> None:
    """End the partner's token at once; its submissions stay."""
    if partner.revoked_at is None:
        partner.revoked_at = now
        session.flush()


def partner_for_token(session: Session, token: str) -> Partner | None:
    """The live partner holding ``token``, or ``None``."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    stmt = select(Partner).where(
        Partner.token_hash == hash_token(token), Partner.revoked_at.is_(None)
    )
    return session.scalars(stmt).first()
