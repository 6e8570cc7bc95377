"""Login throttling per account, per known device and per client address, on
:mod:`balai.ratelimit`.

Every attempt is **reserved** (counted atomically) before the password is checked, so
parallel attempts can never make more password checks than the limit. A successful
attempt gives its reservation back: the account's (or device's) count is cleared and
the address gets its attempt back. Past the limit an attempt waits until the window
ends: never a permanent lock-out.

**Device cookies** (:mod:`balai.auth.device`, OWASP's scheme). An attempt from a
browser that presents a valid device cookie for the account is counted per device
cookie, not in the account's counter: someone guessing the password from elsewhere
fills the account's counter, which then throttles every *untrusted* client, while
the owner on a browser they logged in from before keeps their own allowance and can
still log in. Every attempt also counts against the client's address.

An account is counted per region; a platform operator's account is counted once for
the whole deployment, since the operator logs in on every region.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy.orm import Session

from balai import ratelimit
from balai.auth.accounts import is_operator_address, parse_login
from balai.auth.models import User

__all__ = ["Attempt", "account_limit", "address_limit", "device_limit", "reserve"]


def _window() -> int:
    return int(current_app.config["LOGIN_WINDOW_SECONDS"])


def account_limit(cross_region: bool = False) -> ratelimit.Limit:
    """Attempts per account from untrusted clients (``LOGIN_MAX_FAILURES_ACCOUNT``
    per ``LOGIN_WINDOW_SECONDS``)."""
    spec = f"{current_app.config['LOGIN_MAX_FAILURES_ACCOUNT']} per {_window()} seconds"
    return ratelimit.Limit("balai.login-account", spec, cross_region=cross_region)


def device_limit(cross_region: bool = False) -> ratelimit.Limit:
    """Attempts per device cookie (``LOGIN_MAX_FAILURES_DEVICE`` per window)."""
    spec = f"{current_app.config['LOGIN_MAX_FAILURES_DEVICE']} per {_window()} seconds"
    return ratelimit.Limit("balai.login-device", spec, cross_region=cross_region)


def address_limit() -> ratelimit.Limit:
    """Attempts per client address (``LOGIN_MAX_FAILURES_ADDRESS`` per window)."""
    spec = f"{current_app.config['LOGIN_MAX_FAILURES_ADDRESS']} per {_window()} seconds"
    return ratelimit.Limit("balai.login-address", spec)


@dataclass
class Attempt:
    """A reserved password check; ``outcome`` says whether it may go ahead.

    ``account`` is the counter the attempt was charged to: the account's, or the
    device cookie's when the browser presented one for the account.
    """

    account: tuple[ratelimit.Limit, tuple[object, ...]]
    address: tuple[ratelimit.Limit, tuple[object, ...]]
    outcome: ratelimit.Outcome

    @property
    def allowed(self) -> bool:
        return self.outcome.allowed

    def succeeded(self) -> None:
        """The password was right: forget the counter's attempts, give the address its one."""
        limit, identity = self.account
        ratelimit.clear(limit, *identity)
        limit, identity = self.address
        ratelimit.refund(limit, *identity)


def reserve(
    session: Session,
    login: str,
    address: str | None,
    *,
    user: User | None = None,
    device: str | None = None,
) -> Attempt:
    """Count one password check for an account and ``address`` before it is made.

    The account is ``user`` when ``login`` (what was typed: an e-mail address or a
    mobile number) names one, so its e-mail address and its number share one
    counter; otherwise ``login`` normalised (:func:`balai.auth.accounts.parse_login`),
    so an unknown account is counted like a known one, every spelling of it in one
    counter. ``device`` is the nonce of a device cookie the browser presented for
    ``user`` (:func:`balai.auth.device.trusted_nonce`): the attempt is then counted
    for that device only.

    ``address`` is counted by its network (:func:`balai.ratelimit.client_key`): an
    IPv6 client cannot step through its ``/64`` for fresh attempts.
    """
    parsed = parse_login(login)
    # An unknown account is counted in the one spelling a known one is found by
    # (``+628…``, a lower-cased address): other spellings of the same number or
    # address share its counter, as they share a real account's.
    login = parsed[1] if parsed else login.strip().lower()
    if user is not None:
        cross_region = user.is_operator
        identity: tuple[object, ...] = ("user", user.id)
    else:
        cross_region = is_operator_address(session, login)
        identity = ("login", login)
    if user is not None and device:
        counted = (device_limit(cross_region), ("device", user.id, device))
    else:
        counted = (account_limit(cross_region), identity)
    by_address = (address_limit(), (ratelimit.client_key(address),))
    outcome = ratelimit.hit_all(counted, by_address)
    return Attempt(counted, by_address, outcome)
