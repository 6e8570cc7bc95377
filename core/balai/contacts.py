"""Phone numbers and e-mail addresses as people type them, in one canonical form.

The same person writes ``0812-3456-7890``, ``+62 812 3456 7890`` and ``62812…``; a
limit per recipient, a match against a patient's number or a notification needs one
spelling. E-mail addresses are kept to what mail servers deliver to: ASCII, no spaces,
no invisible characters, so an address cannot look like another one on a page.

:func:`mobile_number`
    an Indonesian mobile number as ``+628…``, or None.
:func:`email_address`
    an e-mail address trimmed and lower-cased, or None when it is not one.
:func:`recipient_key`
    what identifies the phone or mailbox a message goes to, for rate limits:
    ``alamat+apa.saja@contoh.id`` and ``alamat@contoh.id`` reach the same mailbox.
"""

from __future__ import annotations

import re

__all__ = ["email_address", "mobile_number", "recipient_key"]

EMAIL_MAX = 254  # RFC 5321's longest forward path, less its angle brackets
_DOTS_IGNORED = frozenset({"gmail.com", "googlemail.com"})  # one mailbox, any dots
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_MOBILE = re.compile(r"(?:\+62|62|0)?(8[0-9]{8,11})")
# Printable ASCII only: no spaces, controls, zero-width or look-alike letters.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"  # RFC 5322's atext
_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[a-z0-9-]+(?:\.[a-z0-9-]+)+", re.IGNORECASE)


def mobile_number(value: str | None) -> str | None:
    """An Indonesian mobile number as ``+628…`` (from ``0812-3456-7890``, ``62812…``,
    ``+62 812…``, ``812…``), or ``None`` when ``value`` is not one."""
    found = _MOBILE.fullmatch(_PHONE_SEPARATORS.sub("", value or ""))
    return "+62" + found.group(1) if found else None


def email_address(value: str | None) -> str | None:
    """``value`` trimmed and lower-cased if it is an e-mail address of printable ASCII
    (at most :data:`EMAIL_MAX` characters, a dotted domain), else ``None``."""
    email = (value or "").strip().lower()
    if len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email):
        return None
    return email


def recipient_key(kind: str, value: str) -> str:
    """What identifies the recipient of a message: ``phone:+628…`` or ``email:…`` with
    the mailbox's ``+tag`` dropped (and, at Gmail, which ignores them, the dots of its
    local part). A value that is neither is keyed as written."""
    if kind == "phone":
        return f"phone:{mobile_number(value) or value.strip()}"
    email = email_address(value) or value.strip().lower()
    local, at, domain = email.rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in _DOTS_IGNORED:  # Gmail delivers k.o.r.b.a.n@ to korban@
        local, domain = local.replace(".", "") or local, "gmail.com"
    return f"email:{local}{at}{domain}"
