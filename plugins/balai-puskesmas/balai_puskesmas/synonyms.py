"""The region's own ICD-10 synonyms (no Flask here).

ICD-10 descriptions are English; the plugin ships common Indonesian terms
(:data:`balai_puskesmas.icd10.SYNONYMS`). A region admin adds its own terms (a local
language, an abbreviation its clinicians use) or gives a shipped term other codes: a
region's term replaces the shipped one it equals. Each change is written to the audit
trail (``icd10.synonym_save``, ``icd10.synonym_remove``) in the caller's transaction;
the caller commits, or rolls back on :class:`~balai_puskesmas.services.PuskesmasError`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.api import PageDict, paginate
from balai.i18n import N_
from balai_puskesmas import icd10
from balai_puskesmas.models import Icd10Synonym
from balai_puskesmas.services import Actor, PuskesmasError, audit

__all__ = ["MAX_CODES", "TERM_MAX", "listing", "region", "remove", "save"]


TERM_MAX = 60
MAX_CODES = 5
#: Letters (any script), digits, spaces, and the hyphen, dot and apostrophe of terms
#: such as "anyang-anyangan" or "dr." — no markup, no separators of a code list.
_TERM = re.compile(r"[^\W_]+(?:[ \-.'][^\W_]+)*\.?")
_SEPARATORS = re.compile(r"[\s,;]+")


def region(session: Session) -> dict[str, tuple[str, ...]]:
    """The region's terms and their codes (for :func:`balai_puskesmas.icd10.merged`)."""
    rows = session.execute(select(Icd10Synonym.term, Icd10Synonym.codes)).all()
    return {term: tuple(c for c in codes.split(",") if c) for term, codes in rows}


def listing(session: Session, page: int, per_page: int) -> PageDict:
    """One page of the region's terms, alphabetically."""
    terms = select(Icd10Synonym).order_by(Icd10Synonym.term, Icd10Synonym.id)
    return paginate(terms, page, per_page, session=session)


def check(term: str, codes: str) -> tuple[str, list[str], dict[str, list[str]], dict[str, Any]]:
    """The term and codes as they are stored, the problems by field, and the
    placeholder values of their messages."""
    errors: dict[str, list[str]] = {}
    params: dict[str, Any] = {}
    key = icd10.term_key(term)
    if not key:
        errors["term"] = [N_("Write the term, for example demam or anyang-anyangan.")]
    elif len(key) > TERM_MAX:
        errors["term"] = [N_("The term can have at most 60 characters.")]
    elif not _TERM.fullmatch(key):
        errors["term"] = [
            N_("The term may hold letters, digits, spaces, hyphens and apostrophes only.")
        ]
    typed = [c for c in _SEPARATORS.split(codes or "") if c]
    normal = list(dict.fromkeys(icd10.normalise(c) for c in typed))
    if not typed:
        errors["codes"] = [N_("Give at least one ICD-10 code, for example R50.9.")]
    elif len(normal) > MAX_CODES:
        errors["codes"] = [N_("Give at most 5 codes.")]
    else:
        unknown = [t[:12] for t in typed if not icd10.is_leaf(icd10.normalise(t))]
        if unknown:
            params["codes"] = ", ".join(dict.fromkeys(unknown))
            errors["codes"] = [
                N_(
                    "Not an ICD-10 code that can be recorded: %(codes)s. Use a category "
                    "such as I10 or a subcategory such as J06.9, not a chapter or a block."
                )
            ]
    return key, normal, errors, params


def save(session: Session, actor: Actor, term: str, codes: str, now: datetime) -> Icd10Synonym:
    """Add the term, or give it new codes if the region has it already; audited.

    :raises PuskesmasError: 422 naming each field at fault (nothing is written).
    """
    key, normal, errors, params = check(term, codes)
    if errors:
        raise PuskesmasError(errors, params=params)
    found = session.scalar(select(Icd10Synonym).where(Icd10Synonym.term == key))
    shipped = key in icd10.SYNONYMS
    if found is None:
        found = Icd10Synonym(term=key)
        session.add(found)
    found.codes = ",".join(normal)
    found.updated_at = now
    found.updated_by = actor.label[:260]
    session.flush()
    audit(
        session,
        actor,
        "icd10.synonym_save",
        now,
        detail=f"term {key!r}: {found.codes}" + ("; replaces the shipped term" if shipped else ""),
    )
    return found


def remove(session: Session, actor: Actor, synonym_id: int, now: datetime) -> Icd10Synonym:
    """Remove one of the region's terms (a shipped term with that name comes back);
    audited.

    :raises PuskesmasError: 404 for an unknown term.
    """
    found = session.get(Icd10Synonym, synonym_id)
    if found is None:
        raise PuskesmasError(N_("There is no such term."), status=404)
    session.delete(found)
    session.flush()
    audit(
        session,
        actor,
        "icd10.synonym_remove",
        now,
        detail=f"term {found.term!r}: {found.codes}",
    )
    return found
