"""Encryption at rest and keyed hashes for personal identifiers (NIK, BPJS, phone).

Each region gets its own two keys, derived with HKDF-SHA256 from the deployment's
``PUSKESMAS_DATA_KEY`` (or ``SECRET_KEY`` when that is not set) and the tenant id:
one for AES-256-GCM encryption, one for HMAC-SHA256 lookup hashes. The same NIK
therefore hashes differently in two regions, and neither a database dump nor another
region's key reveals it. Losing or changing the key makes the stored identifiers
unreadable: keep it with the database backups (see the plugin's README).

Opening needs an :class:`~balai_puskesmas.services.AuditContext` of the same region,
which only :func:`~balai_puskesmas.services.audit` makes: every decryption has its
entry in the audit trail, and code that forgets it fails instead of leaking.

No Flask here: :func:`balai_puskesmas.runtime.vault` builds the request's vault.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from balai_puskesmas.services import AuditContext, check_audited

__all__ = ["Vault", "VaultError"]

_NONCE = 12
_VERSION = b"\x01"


class VaultError(Exception):
    """A ciphertext that this key cannot open (wrong key, or altered data)."""


@dataclass(frozen=True, slots=True)
class Vault:
    """Encrypts and hashes one region's identifiers."""

    tenant_id: int
    _enc: bytes
    _mac: bytes

    @classmethod
    def derive(cls, secret: str | bytes, tenant_id: int) -> Vault:
        """The vault of ``tenant_id`` under the deployment's ``secret``."""
        material = secret.encode() if isinstance(secret, str) else secret
        if not material:
            raise ValueError("an empty key cannot protect personal data")
        # cryptography is imported at the first use, not by every worker at start-up.
        from cryptography.hazmat.primitives.hashes import SHA256
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        keys = HKDF(
            algorithm=SHA256(),
            length=64,
            salt=b"balai-puskesmas/v1",
            info=f"tenant:{tenant_id}".encode(),
        ).derive(material)
        return cls(tenant_id, keys[:32], keys[32:])

    def encrypt(self, value: str) -> bytes:
        """``value`` sealed with AES-GCM; the tenant id is bound as associated data."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(_NONCE)
        sealed = AESGCM(self._enc).encrypt(nonce, value.encode(), self._aad)
        return _VERSION + nonce + sealed

    def decrypt(self, blob: bytes, audited: AuditContext) -> str:
        """The text sealed by :meth:`encrypt`, for the access ``audited`` recorded.

        :raises AuditRequired: ``audited`` is not an audit context of this region.
        :raises VaultError: the blob was made with another key or was altered.
        """
        check_audited(audited, self.tenant_id)
        data = bytes(blob)
        if not data.startswith(_VERSION) or len(data) < 1 + _NONCE + 16:
            raise VaultError("not a sealed value")
        nonce, sealed = data[1 : 1 + _NONCE], data[1 + _NONCE :]
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            return AESGCM(self._enc).decrypt(nonce, sealed, self._aad).decode()
        except Exception as exc:  # cryptography raises InvalidTag
            raise VaultError("cannot open a sealed value with this key") from exc

    def hash(self, value: str) -> str:
        """A keyed hash for exact lookup (hex, 64 characters)."""
        return hmac.new(self._mac, value.encode(), hashlib.sha256).hexdigest()

    def seal(self, value: str | None) -> tuple[bytes | None, str | None]:
        """``(ciphertext, hash)`` of ``value``, or ``(None, None)`` when it is empty."""
        if not value:
            return None, None
        return self.encrypt(value), self.hash(value)

    def open(self, blob: bytes | None, audited: AuditContext) -> str | None:
        """:meth:`decrypt` that passes ``None`` through (the context is checked anyway)."""
        check_audited(audited, self.tenant_id)
        return None if blob is None else self.decrypt(blob, audited)

    @property
    def _aad(self) -> bytes:
        return f"balai-puskesmas:{self.tenant_id}".encode()

    def __repr__(self) -> str:  # never show the keys
        return f"Vault(tenant_id={self.tenant_id})"
