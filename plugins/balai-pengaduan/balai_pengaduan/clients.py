"""Open311 client applications and their API keys (*kunci API*).

A region admin gives each application that submits complaints over Open311
(a city app, a partner's portal) its own key, shown once; only its SHA-256 is
stored, so a leaked database holds no usable key, and one application's key can
be revoked without touching the others. No Flask here: the callers pass the
session, bound to the tenant, and commit.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.db import utcnow
from balai_pengaduan.models import ApiClient

__all__ = ["KEY_PREFIX", "create_client", "find_client", "hash_key", "revoke_client"]

KEY_PREFIX = "o311_"  # recognisable in logs and secret scanners
MAX_KEY = 200  # longer than any key we issue: refuse without hashing megabytes


def hash_key(key: str) -> str:
    """SHA-256 of a key: enough for 256-bit random secrets, and fast to look up."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_client(session: Session, name: str) -> tuple[ApiClient, str]:
    """Register an application; returns it and its key, which is never shown again.

    :raises ValueError: the name is empty or longer than 100 characters.
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("the name of an Open311 client must have 1 to 100 characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(name=name, key_hash=hash_key(key), created_at=utcnow())
    session.add(client)
    session.flush()
    return client, key


def revoke_client(session: Session, client_id: int) -> ApiClient | None:
    """Stop accepting a client's key (the row stays, for the record); None if unknown."""
    client = session.get(ApiClient, client_id)
    if client is None:
        return None
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        session.flush()
    return client


def find_client(session: Session, key: str | None) -> ApiClient | None:
    """The live client holding ``key`` in the session's tenant, or None (unknown or revoked)."""
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY:
        return None
    return session.scalar(
        select(ApiClient).where(ApiClient.key_hash == hash_key(key), ApiClient.revoked_at.is_(None))
    )
