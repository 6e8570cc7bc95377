"""The audit trail's details and channels in the reader's language.

An entry's ``detail`` is written in English, in a fixed shape that stays the same in
every language (the CSV export keeps it as written, for tools): segments separated
by ``"; "``, each a phrase with ids (``"ticket 12: the NIK given with the number, to
register"``) or ``"key: values"`` (``"identity checked: ktp"``). The audit page shows
it through :func:`detail_text`, segment by segment; a segment of an unknown shape (an
entry written by an older version) is shown as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _

from balai.i18n import N_

__all__ = ["channel_text", "detail_text"]

#: Phrases with ids: the pattern, and the message id it reads as (same placeholders).
PHRASES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"visit (?P<id>\d+): FHIR bundle built for SATUSEHAT"),
        N_("visit %(id)s: FHIR bundle built for SATUSEHAT"),
    ),
    (
        re.compile(r"visit (?P<id>\d+): FHIR bundle built again to send"),
        N_("visit %(id)s: FHIR bundle built again to send"),
    ),
    (
        re.compile(r"export (?P<id>\d+): FHIR bundle opened to send to SATUSEHAT"),
        N_("export %(id)s: FHIR bundle opened to send to SATUSEHAT"),
    ),
    (
        re.compile(r"visit (?P<id>\d+): FHIR bundle downloaded"),
        N_("visit %(id)s: FHIR bundle downloaded"),
    ),
    (
        re.compile(r"ticket (?P<id>\d+): the phone given with the number, to send the call by SMS"),
        N_("queue number %(id)s: the phone given with the number, to send the call by SMS"),
    ),
    (
        re.compile(r"ticket (?P<id>\d+): the NIK given with the number, to register"),
        N_("queue number %(id)s: the NIK given with the number, to register its holder"),
    ),
    (
        re.compile(r"suggested by the NIK given with ticket (?P<id>\d+): identity to check"),
        N_("suggested by the NIK given with queue number %(id)s: identity to check"),
    ),
    (
        re.compile(r"by name: (?P<results>\d+) results, (?P<shown>\d+) shown"),
        N_("by name: %(results)s results, %(shown)s shown"),
    ),
    (
        re.compile(r"flagged for review: (?P<results>\d+) results, (?P<shown>\d+) shown"),
        N_("waiting for a review: %(results)s results, %(shown)s shown"),
    ),
    (
        re.compile(r"reviewed: (?P<results>\d+) results, (?P<shown>\d+) shown"),
        N_("reviewed: %(results)s results, %(shown)s shown"),
    ),
    (re.compile(r"flagged for review"), N_("flagged for review")),
    (re.compile(r"reviewed"), N_("reviewed")),
    (re.compile(r"visit (?P<id>\d+)"), N_("visit %(id)s")),
    (re.compile(r"ticket (?P<id>\d+)"), N_("queue number %(id)s")),
]
#: ``"user 9: clinician (doctor) (was viewer)"``: a duty given, changed or removed.
DUTY = re.compile(
    r"user (?P<id>\d+): (?P<duty>[a-z]+)"
    r"(?: \((?P<profession>[a-z]+)\))?(?: \(was (?P<was>[a-z]+)\))?"
)
#: The keys of ``"key: values"`` segments.
KEYS = {
    "given": N_("given"),
    "changed": N_("changed"),
    "tickets suggested": N_("queue numbers suggested"),
    "link": N_("link"),
    "identity checked": N_("identity checked on"),
    "suggestion": N_("suggestion"),
    "nik on ticket": N_("NIK given with the number"),
    "by nik": N_("by NIK"),
    "diagnoses": N_("diagnoses"),
    "vitals": N_("vital signs"),
    "shown": N_("shown"),
    "visits shown": N_("visits shown"),
    "facilities": N_("puskesmas"),
    "patients": N_("patients"),
    "differs from nik": N_("differs from the NIK"),
}
#: Words among the values (field names, outcomes, documents, duties).
VALUES = {
    "none": N_("none"),
    "found": N_("found"),
    "not found": N_("not found"),
    "new": N_("new"),
    "replaced": N_("replaced"),
    "confirmed": N_("confirmed"),
    "set aside": N_("set aside"),
    "matches": N_("matches"),
    "differs": N_("differs"),
    "ktp": N_("identity card (KTP)"),
    "kk": N_("family card (KK)"),
    "nik": N_("NIK"),
    "name": N_("name"),
    "birth_date": N_("date of birth"),
    "sex": N_("sex"),
    "address": N_("address"),
    "phone": N_("mobile number"),
    "bpjs": N_("BPJS card number"),
    "account": N_("citizen account"),
    "systolic": N_("systolic pressure"),
    "diastolic": N_("diastolic pressure"),
    "heart_rate": N_("heart rate"),
    "respiratory_rate": N_("respiratory rate"),
    "temperature": N_("temperature"),
    "weight": N_("weight"),
    "height": N_("height"),
    "oxygen_saturation": N_("oxygen saturation"),
}
DUTIES = {
    "registration": N_("Registration desk"),
    "clinician": N_("Clinician"),
    "viewer": N_("Viewer"),
}
PROFESSIONS = {
    "doctor": N_("Doctor"),
    "nurse": N_("Nurse"),
    "midwife": N_("Midwife"),
    "dentist": N_("Dentist"),
}
CHANNELS = {
    "web": N_("web"),
    "kiosk": N_("kiosk"),
    "sms": N_("SMS"),
    "desk": N_("desk"),
    "api": N_("app"),
    "cli": N_("command line"),
}
_OF = re.compile(r"(?P<shown>\d+) of (?P<total>\d+)")


def detail_text(detail: str | None, translate: Callable[..., str] = _) -> str:
    """An entry's detail in the reader's language (see the module's docstring)."""
    if not detail:
        return ""
    return "; ".join(_segment(part, translate) for part in detail.split("; "))


def channel_text(channel: str, translate: Callable[..., str] = _) -> str:
    """How a channel reads: ``web``, ``app`` (the API), ``SMS``, … ."""
    return translate(CHANNELS[channel]) if channel in CHANNELS else channel


def _segment(text: str, translate: Callable[..., str]) -> str:
    for pattern, message in PHRASES:
        found = pattern.fullmatch(text)
        if found:
            return translate(message, **found.groupdict())
    duty = DUTY.fullmatch(text)
    if duty and duty["duty"] in DUTIES:
        label = _word(duty["duty"], translate)
        shown = translate(N_("user %(id)s: %(duty)s"), id=duty["id"], duty=label)
        if duty["profession"]:
            shown += f" ({_word(duty['profession'], translate)})"
        if duty["was"]:
            was = _word(duty["was"], translate)
            shown += " (" + translate(N_("was %(duty)s"), duty=was) + ")"
        return shown
    key, sep, values = text.partition(": ")
    if sep and key in KEYS:
        return f"{translate(KEYS[key])}: {_values(values, translate)}"
    return text


def _values(text: str, translate: Callable[..., str]) -> str:
    of = _OF.fullmatch(text)
    if of:
        return translate(N_("%(shown)s of %(total)s"), **of.groupdict())
    return ", ".join(_word(value, translate) for value in text.split(", "))


def _word(value: str, translate: Callable[..., str]) -> str:
    for table in (VALUES, DUTIES, PROFESSIONS):
        if value in table:
            return translate(table[value])
    return value  # a number, an ICD-10 code, an id
