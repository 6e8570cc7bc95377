"""Small value types that plugins return from hooks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["MapLayer", "MenuItem", "SearchResult", "Widget"]


@dataclass(frozen=True)
class MenuItem:
    """A link in the navigation.

    ``section`` is ``"main"`` (top navigation), ``"user"`` (account menu) or
    ``"admin"`` (region admin pages). ``permission`` hides it from users without it.
    """

    label: str
    url: str
    section: Literal["main", "user", "admin"] = "main"
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class Widget:
    """A dashboard widget for the region's command centre, rendered from a template."""

    title: str
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class MapLayer:
    """A GeoJSON layer for the region's map view (``url`` returns a FeatureCollection)."""

    name: str
    title: str
    url: str
    permission: str | None = None


@dataclass(frozen=True)
class SearchResult:
    """One hit of the platform search."""

    title: str
    url: str
    summary: str = ""
    kind: str = ""
