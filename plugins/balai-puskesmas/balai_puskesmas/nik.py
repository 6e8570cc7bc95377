"""The national identity number (*Nomor Induk Kependudukan*, NIK) and its checks.

A NIK is 16 digits: province (2), regency or city (2), district (2), date of birth
``DDMMYY`` (women add 40 to the day), and a serial number (4). The check here is
plausibility, not proof: the parts must be possible, which catches typing mistakes
and made-up numbers before they reach the records or SATUSEHAT.
"""

from __future__ import annotations

import re
from datetime import date

from balai.i18n import N_

__all__ = [
    "PROVINCES",
    "NikError",
    "birth_date_of",
    "check_nik",
    "mismatches",
    "normalise_nik",
    "sex_of",
]


#: Province codes of the Ministry of Home Affairs (Kemendagri), Aceh (11) to Papua
#: Barat Daya (96).
PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53}
    | {61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96}
)

_SHAPE = re.compile(r"[0-9]{16}")
#: Digits in groups separated by single spaces, as a NIK is often typed or printed
#: (``3671 0115 0385 9901``): nothing before, after or between but one space.
_GROUPED = re.compile(r"[0-9]+(?: [0-9]+)+")


class NikError(ValueError):
    """A NIK that cannot be right; ``message`` is an English message id."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalise_nik(value: object) -> object:
    """``value`` with the single spaces between groups of digits removed
    (``3671 0115 0385 9901`` → ``3671011503859901``); anything else as it is, so that
    :func:`check_nik` refuses it (a space before or after, two spaces, a tab, a
    newline, a dash, non-Latin digits)."""
    if isinstance(value, str) and _GROUPED.fullmatch(value):
        return value.replace(" ", "")
    return value


def check_nik(value: object, *, today: date) -> str:
    """``value`` if it is a plausible NIK; nothing is trimmed or converted.

    ``today`` is the region's calendar day (a birth date may not lie after it).

    :raises NikError: naming the first part that is wrong.
    """
    if not isinstance(value, str) or not _SHAPE.fullmatch(value):
        # fullmatch: "…\n" and Arabic-Indic or full-width digits are refused too.
        raise NikError(
            N_(
                "A NIK is exactly 16 digits 0-9, with no other characters (groups of digits "
                "may be separated by single spaces)."
            )
        )
    if int(value[0:2]) not in PROVINCES:
        raise NikError(N_("The first two digits of the NIK are not a province code."))
    if value[2:4] == "00" or value[4:6] == "00":
        raise NikError(N_("Digits 3-6 of the NIK must be a regency and district code."))
    if birth_date_of(value, today=today) is None:
        raise NikError(N_("Digits 7-12 of the NIK are not a date of birth (DDMMYY)."))
    if value[12:] == "0000":
        raise NikError(N_("The last four digits of the NIK cannot be 0000."))
    return value


def birth_date_of(nik: str, *, today: date) -> date | None:
    """The date of birth a NIK encodes, or ``None`` if it encodes none.

    The century is the latest one that does not put the birth after ``today``, the
    region's calendar day.
    """
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > 40:
        day -= 40
    for century in (2000, 1900):
        try:
            born = date(century + year, month, day)
        except ValueError:
            continue
        if born <= today:
            return born
    return None


def sex_of(nik: str) -> str:
    """``female`` when the day of birth carries the +40, else ``male``."""
    return "female" if int(nik[6:8]) > 40 else "male"


def mismatches(nik: str, birth_date: date, sex: str, *, today: date) -> list[str]:
    """The fields that differ from what the (plausible) NIK encodes: ``birth_date``,
    ``sex``, both or none. A difference is usually a typing mistake, but not always:
    a date of birth corrected by the civil registry (Dukcapil) keeps the old NIK."""
    found = []
    if birth_date_of(nik, today=today) != birth_date:
        found.append("birth_date")
    if sex_of(nik) != sex:
        found.append("sex")
    return found
