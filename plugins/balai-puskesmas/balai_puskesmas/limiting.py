"""Limits on taking queue numbers from outside the puskesmas (web, app, SMS).

Anonymous channels are limited per client address (web and app; an SMS arrives from
the gateway's address, so not there) and per phone number (all three), counted by
:mod:`balai.ratelimit` before the number is taken, so parallel requests cannot get past
the limit. One person (NIK) holds at most one active number per clinic and day: that
rule is checked inside :func:`~balai_puskesmas.queue.take_number`, behind the clinic's
counter lock; its refusal counts against the limits like a number taken (a refusal
for any other reason is given back), so that asking which NIKs hold a number today
costs as much as taking one. The desk and the kiosk opened by the puskesmas' staff
are exempt.
The limits are the plugin's settings ``ticket_limit_address`` and
``ticket_limit_phone`` (an empty value switches one off).
"""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_babel import ngettext

from balai import ratelimit
from balai_puskesmas import runtime
from balai_puskesmas.queue import NumberHeld
from balai_puskesmas.services import PuskesmasError, mobile_number

__all__ = [
    "ADDRESS_LIMIT",
    "PHONE_LIMIT",
    "Reservation",
    "refusal_message",
    "refused_phone",
    "reserve",
]

#: The limits' names (:class:`balai.ratelimit.Limit`).
ADDRESS_LIMIT = "puskesmas.ticket-address"
PHONE_LIMIT = "puskesmas.ticket-phone"


class Reservation:
    """Hits counted for one take; given back when the take is refused by a rule."""

    def __init__(self, hits: list[tuple[ratelimit.Limit, tuple[object, ...]]]) -> None:
        self.hits = hits
        self.outcome = ratelimit.hit_all(*hits)

    @property
    def allowed(self) -> bool:
        return self.outcome.allowed

    def give_back(self) -> None:
        """The take was refused by a rule (closed, wrong NIK…): it does not count."""
        if self.allowed:
            for limit, identity in self.hits:
                ratelimit.refund(limit, *identity)

    def refused(self, exc: PuskesmasError) -> None:
        """The take was refused by ``exc``: given back, unless the refusal says that
        the NIK holds a number (:class:`~balai_puskesmas.queue.NumberHeld`), which
        counts like a number taken, so nobody learns for free who holds one."""
        if not isinstance(exc, NumberHeld):
            self.give_back()


def reserve(*, phone: str | None, by_address: bool = True) -> Reservation:
    """Count one take for this client's address (web, app) and for ``phone``."""
    settings = runtime.settings()
    hits: list[tuple[ratelimit.Limit, tuple[object, ...]]] = []
    spec = str(settings["ticket_limit_address"] or "").strip()
    if by_address and spec:
        limit = ratelimit.Limit(ADDRESS_LIMIT, spec)
        hits.append((limit, (ratelimit.client_key(request.remote_addr),)))
    spec = str(settings["ticket_limit_phone"] or "").strip()
    number = mobile_number(phone) or (phone or "").strip()
    if number and spec:
        hits.append((ratelimit.Limit(PHONE_LIMIT, spec), (number,)))
    return Reservation(hits)


def refused_phone(outcome: ratelimit.Outcome) -> bool:
    """Whether the refusal is the limit per phone number (not the client address's)."""
    return outcome.limit.name == PHONE_LIMIT


def refusal_message(outcome: ratelimit.Outcome) -> str:
    """Why no number was given (too many from this connection, or with this phone
    number), and when to try again: in minutes, or in hours past an hour."""
    minutes = max(1, -(-outcome.retry_after // 60))
    if minutes > 60:
        wait = ngettext("in %(num)d hour", "in %(num)d hours", -(-minutes // 60))
    else:
        wait = ngettext("in %(num)d minute", "in %(num)d minutes", minutes)
    if refused_phone(outcome):
        return _(
            "Too many queue numbers were taken with this mobile number. Try again "
            "%(wait)s, or take a number at the puskesmas.",
            wait=wait,
        )
    return _(
        "Too many queue numbers were taken from this connection. Try again %(wait)s, "
        "or take a number at the puskesmas.",
        wait=wait,
    )
