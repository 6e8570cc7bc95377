"""Plugin names and versions as the registry keeps them: normalised, so they compare."""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

__all__ = [
    "MAX_NAME",
    "MAX_VERSION",
    "ordered_range",
    "plugin_name",
    "plugin_version",
    "version_of",
]

#: The longest name and (normalised) version kept: the sizes of their columns.
MAX_NAME = 100
MAX_VERSION = 64

# A distribution name as PEP 508 allows it.
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def plugin_name(name: str) -> str | None:
    """The normalised name (PEP 503) of a well-formed distribution name, else ``None``."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or not _NAME.match(name):
        return None
    return canonicalize_name(name)


def version_of(version: str) -> Version | None:
    """The PEP 440 version ``version`` spells, else ``None``; a text longer than
    :data:`MAX_VERSION` is never parsed (a number of thousands of digits would hit
    Python's limit on converting text to integers)."""
    version = version.strip()
    if not version or len(version) > MAX_VERSION:
        return None
    try:
        return Version(version)
    except ValueError:  # InvalidVersion is one
        return None


def plugin_version(version: str) -> str | None:
    """The normalised form (PEP 440) of a version, else ``None``."""
    parsed = version_of(version)
    normal = str(parsed) if parsed is not None else None
    return normal if normal is not None and len(normal) <= MAX_VERSION else None


#: How a range's specifiers are shown: lower bounds first, then upper bounds, then
#: exclusions (``>=0.1,<0.2``, not ``<0.2,>=0.1`` as ``SpecifierSet`` sorts them).
_OPERATOR_ORDER = {">=": 0, ">": 1, "==": 2, "~=": 3, "===": 4, "<": 5, "<=": 6, "!=": 7}


def ordered_range(text: str) -> str:
    """A version range (``<0.2,>=0.1``) as people read it: ``>=0.1,<0.2``; a text that
    is not a range as it is."""
    try:
        specifiers = SpecifierSet(text)
    except InvalidSpecifier:
        return text
    ordered = sorted(specifiers, key=lambda s: (_OPERATOR_ORDER.get(s.operator, 8), str(s)))
    return ",".join(str(s) for s in ordered)
