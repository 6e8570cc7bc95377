"""Login throttling per account and per client address, on :mod:`balai.ratelimit`.

Every attempt is **reserved** (counted atomically) before the password is checked, so
parallel attempts can never make more password checks than the limit. A successful
attempt gives its reservation back: the account's count is cleared and the address
gets its attempt back. Past the limit an attempt waits until the window ends: never a
permanent lock-out that an attacker could use against a real user.

An account is counted per region; a platform operator's address is counted once for
the whole deployment, since the operator logs in on every region.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy.orm import Session

from balai import ratelimit
from balai.auth.accounts import is_operator_address

__all__ = ["Attempt", "account_limit", "address_limit", "reserve"]


def _window() -> int:
    return int(current_app.config["LOGIN_WINDOW_SECONDS"])


def account_limit(cross_region: bool = False) -> ratelimit.Limit:
    """Attempts per account (``LOGIN_MAX_FAILURES_ACCOUNT`` per ``LOGIN_WINDOW_SECONDS``)."""
    spec = f"{current_app.config['LOGIN_MAX_FAILURES_ACCOUNT']} per {_window()} seconds"
    return ratelimit.Limit("balai.login-account", spec, cross_region=cross_region)


def address_limit() -> ratelimit.Limit:
    """Attempts per client address (``LOGIN_MAX_FAILURES_ADDRESS`` per window)."""
    spec = f"{current_app.config['LOGIN_MAX_FAILURES_ADDRESS']} per {_window()} seconds"
    return ratelimit.Limit("balai.login-address", spec)


@dataclass
class Attempt:
    """A reserved password check; ``outcome`` says whether it may go ahead."""

    account: tuple[ratelimit.Limit, tuple[object, ...]]
    address: tuple[ratelimit.Limit, tuple[object, ...]]
    outcome: ratelimit.Outcome

    @property
    def allowed(self) -> bool:
        return self.outcome.allowed

    def succeeded(self) -> None:
        """The password was right: forget the account's attempts, give the address its one."""
        limit, identity = self.account
        ratelimit.clear(limit, *identity)
        limit, identity = self.address
        ratelimit.refund(limit, *identity)


def reserve(session: Session, email: str, address: str | None) -> Attempt:
    """Count one password check for ``email`` and ``address`` before it is made.

    ``address`` is counted by its network (:func:`balai.ratelimit.client_key`): an
    IPv6 client cannot step through its ``/64`` for fresh attempts.

    Whether an account exists or not makes no difference, except that an operator's
    address is counted across regions.
    """
    email = email.strip().lower()
    account = (account_limit(is_operator_address(session, email)), (email,))
    by_address = (address_limit(), (ratelimit.client_key(address),))
    outcome = ratelimit.hit_all(account, by_address)
    return Attempt(account, by_address, outcome)
