"""Plugin names and versions as the registry keeps them: normalised, so they compare."""

from __future__ import annotations

import re

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

__all__ = ["plugin_name", "plugin_version"]

# A distribution name as PEP 508 allows it.
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def plugin_name(name: str) -> str | None:
    """The normalised name (PEP 503) of a well-formed distribution name, else ``None``."""
    name = name.strip()
    if not name or len(name) > 100 or not _NAME.match(name):
        return None
    return canonicalize_name(name)


def plugin_version(version: str) -> str | None:
    """The normalised form (PEP 440) of a version, else ``None``."""
    try:
        normal = str(Version(version.strip()))
    except InvalidVersion:
        return None
    return normal if len(normal) <= 64 else None
