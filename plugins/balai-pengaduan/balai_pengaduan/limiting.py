"""Limits on new complaints from the public: per client address, and per recipient of
the confirmation (the e-mail address or phone number given on the form), so the form
cannot be used to send messages to anyone, without end.

Counted by :mod:`balai.ratelimit` first, before the fields are checked or a photo is
read, on the web form and Open311's ``POST requests``; given back when the fields or a
rule refuse the complaint. The limits are the plugin's settings
``submit_limit_address`` and ``submit_limit_recipient`` (empty: no limit).
"""

from __future__ import annotations

from flask import request
from flask_babel import ngettext

from balai import ratelimit
from balai.contacts import recipient_key
from balai_pengaduan import runtime

__all__ = ["Reservation", "refusal_message", "reserve"]


class Reservation:
    """The hits of one submission; given back when a rule refuses the complaint."""

    def __init__(self, hits: list[tuple[ratelimit.Limit, tuple[object, ...]]]) -> None:
        self.hits = hits
        self.outcome = ratelimit.hit_all(*hits)

    @property
    def allowed(self) -> bool:
        return self.outcome.allowed

    def give_back(self) -> None:
        if self.allowed:
            for limit, identity in self.hits:
                ratelimit.refund(limit, *identity)


def reserve(*, email: str | None, phone: str | None, anonymous: bool) -> Reservation:
    """Count one complaint for this client's address and for each recipient it names
    (an anonymous complaint sends no message)."""
    settings = runtime.settings()
    hits: list[tuple[ratelimit.Limit, tuple[object, ...]]] = []
    spec = str(settings["submit_limit_address"] or "").strip()
    if spec:
        limit = ratelimit.Limit("pengaduan.submit-address", spec)
        hits.append((limit, (ratelimit.client_key(request.remote_addr),)))
    spec = str(settings["submit_limit_recipient"] or "").strip()
    if spec and not anonymous:
        limit = ratelimit.Limit("pengaduan.submit-recipient", spec)
        for kind, value in (("email", email), ("phone", phone)):
            if value and value.strip():
                hits.append((limit, (recipient_key(kind, value),)))
    return Reservation(hits)


def refusal_message(outcome: ratelimit.Outcome) -> str:
    """Why the complaint was not accepted, and when to try again."""
    minutes = max(1, -(-outcome.retry_after // 60))
    return ngettext(
        "Too many complaints were sent from this connection or to this e-mail address "
        "or phone number. Try again in %(num)d minute.",
        "Too many complaints were sent from this connection or to this e-mail address "
        "or phone number. Try again in %(num)d minutes.",
        minutes,
    )
