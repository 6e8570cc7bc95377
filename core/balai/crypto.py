"""Encryption at rest for what the core keeps of a region: message recipients in the
outbox, secret plugin settings.

Each region gets its own key for each purpose (``"outbox"``, ``"settings"``),
derived with HKDF-SHA256 from the deployment's ``SECRET_KEY``, the purpose and the
tenant id; values are sealed with AES-256-GCM, the purpose and the tenant id bound as
associated data, so a value copied into another region's row, or into another kind of
field, does not open. A sealed value is text (``v1:`` and URL-safe base64), so it fits a
text column or a JSON document.

Keys from ``SECRET_KEY_FALLBACKS`` (Flask's list of previous secret keys) still open
what they sealed, so the secret key can be rotated: values sealed before stay readable
as long as the old key is listed there. A value sealed under a key that is neither
current nor listed cannot be opened: keep ``SECRET_KEY`` with the database backups.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from dataclasses import dataclass

from flask import Flask, current_app

# cryptography is imported at the first seal or open, not by every worker at start-up.

__all__ = ["SealError", "Sealer", "is_sealed", "sealer"]

PREFIX = "v1:"
_NONCE = 12
_TAG = 16


class SealError(Exception):
    """A sealed value that no key of this deployment opens (wrong key, or altered)."""


def is_sealed(value: object) -> bool:
    """Whether ``value`` looks like a value sealed by :meth:`Sealer.seal`."""
    return isinstance(value, str) and value.startswith(PREFIX)


def _key(secret: str | bytes, purpose: str, tenant_id: int) -> bytes:
    material = secret.encode() if isinstance(secret, str) else bytes(secret)
    if not material:
        raise ValueError("an empty secret key cannot protect anything")
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(
        algorithm=SHA256(),
        length=32,
        salt=b"balai/v1",
        info=f"{purpose}:tenant:{tenant_id}".encode(),
    ).derive(material)


@dataclass(frozen=True, slots=True)
class Sealer:
    """Seals and opens one region's values for one purpose.

    ``keys[0]`` seals; every key is tried to open (the current one first).
    """

    purpose: str
    tenant_id: int
    _keys: tuple[bytes, ...]

    @classmethod
    def derive(
        cls, secrets: str | bytes | Sequence[str | bytes], purpose: str, tenant_id: int
    ) -> Sealer:
        """The sealer of ``tenant_id`` for ``purpose`` under the deployment's secret key(s),
        the current one first."""
        given = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
        keys = tuple(_key(secret, purpose, tenant_id) for secret in given if secret)
        if not keys:
            raise ValueError("an empty secret key cannot protect anything")
        return cls(purpose, tenant_id, keys)

    @property
    def _aad(self) -> bytes:
        return f"balai:{self.purpose}:{self.tenant_id}".encode()

    def seal(self, value: str) -> str:
        """``value`` encrypted with the current key, as text."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(_NONCE)
        sealed = AESGCM(self._keys[0]).encrypt(nonce, value.encode(), self._aad)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, token: str) -> str:
        """The text sealed in ``token``.

        :raises SealError: not a sealed value, altered, or sealed under another key,
            region or purpose.
        """
        if not is_sealed(token):
            raise SealError("not a sealed value")
        try:
            data = base64.urlsafe_b64decode(token[len(PREFIX) :].encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            raise SealError("not a sealed value") from exc
        if len(data) < _NONCE + _TAG:
            raise SealError("not a sealed value")
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce, sealed = data[:_NONCE], data[_NONCE:]
        for key in self._keys:
            try:
                return AESGCM(key).decrypt(nonce, sealed, self._aad).decode()
            except InvalidTag:
                continue
        raise SealError("no key of this deployment opens this value")

    def __repr__(self) -> str:  # never show the keys
        return f"Sealer(purpose={self.purpose!r}, tenant_id={self.tenant_id})"


def sealer(purpose: str, tenant_id: int, app: Flask | None = None) -> Sealer:
    """The sealer of ``tenant_id`` for ``purpose`` from the app's ``SECRET_KEY`` (and
    ``SECRET_KEY_FALLBACKS``, to open values sealed before a key rotation)."""
    config = (app or current_app).config
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or []
    return Sealer.derive([config["SECRET_KEY"], *fallbacks], purpose, tenant_id)
