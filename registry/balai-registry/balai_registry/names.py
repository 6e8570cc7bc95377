"""Plugin names and versions as the registry keeps them: normalised, so they compare."""

from __future__ import annotations

import re

from packaging.utils import canonicalize_name
from packaging.version import Version

__all__ = ["MAX_NAME", "MAX_VERSION", "plugin_name", "plugin_version", "version_of"]

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
