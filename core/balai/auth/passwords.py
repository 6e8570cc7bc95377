"""Password hashing with Argon2id, and the checks a new password must pass."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

__all__ = ["check_password", "hash_password", "needs_rehash", "password_problem"]

_HASHERS = {
    # RFC 9106 "second recommended option" (64 MiB, 3 passes) is argon2-cffi's default.
    "strong": PasswordHasher(),
    # Only for test suites: the same algorithm with minimal cost.
    "fast": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}
MIN_LENGTH = 10


def _hasher_name() -> str:
    return str(current_app.config["PASSWORD_HASHING"])


def _hasher() -> PasswordHasher:
    return _HASHERS[_hasher_name()]


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` with this deployment's cost settings."""
    return _hasher().hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """Verify ``password``; with no stored hash, spend the same time and fail.

    Verifying against a dummy hash keeps an unknown account as slow as a wrong
    password, so timing does not reveal which e-mail addresses exist.
    """
    hasher = _hasher()
    try:
        return hasher.verify(stored_hash or _dummy_hash(), password) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether ``stored_hash`` was made with other cost settings than today's.

    A login with the right password then stores a new hash, so raising the cost
    reaches every active account without a reset.
    """
    try:
        return _hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


# One dummy hash per cost setting, made on first use and kept for the process.
_DUMMIES: dict[str, str] = {}


def _dummy_hash() -> str:
    name = _hasher_name()
    if name not in _DUMMIES:
        _DUMMIES[name] = _HASHERS[name].hash("balai-dummy-password")
    return _DUMMIES[name]


def password_problem(password: str, *, email: str = "") -> str | None:
    """Why ``password`` is not acceptable (translated), or ``None``."""
    if len(password) < MIN_LENGTH:
        return _("The password must be at least %(n)d characters long.", n=MIN_LENGTH)
    if len(password) > 1024:
        return _("The password is too long (at most 1024 characters).")
    if email and password.lower() == email.lower():
        return _("The password must not be the e-mail address.")
    if len(set(password)) < 4:
        return _("The password is too easy to guess.")
    return None
