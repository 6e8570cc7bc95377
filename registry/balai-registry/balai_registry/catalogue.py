"""The catalogue, without Flask: published plugins, each as its newest release says.

Everything shown is read from the uploaded files (their core metadata) and from the
check's inspection of them; nothing is typed in by hand.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import nh3
from markupsafe import Markup, escape
from packaging.version import Version
from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from balai_registry import distribution
from balai_registry.models import Submission
from balai_registry.names import version_of
from balai_registry.services import Page

__all__ = ["Entry", "Release", "entry", "plugin_page", "render_readme", "search"]

#: The tags a README may keep: nh3's safe set without images (they would load from
#: anywhere, and the Content-Security-Policy refuses them anyway).
README_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}
URL_SCHEMES = {"http", "https", "mailto"}


@dataclass
class Release:
    """One published version of a plugin, with its files."""

    version: str
    files: list[Submission] = field(default_factory=list)

    @property
    def newest(self) -> Submission:
        return max(self.files, key=lambda s: s.id)

    @property
    def yanked(self) -> bool:
        return all(f.yanked_at is not None for f in self.files)

    @property
    def yanked_reason(self) -> str:
        return next((f.yanked_reason for f in self.files if f.yanked_at is not None), "")

    @property
    def published_at(self) -> datetime | None:
        times = [f.decided_at for f in self.files if f.decided_at is not None]
        return min(times) if times else None

    @property
    def requires_core(self) -> str:
        return self.newest.requires_core

    @property
    def core_range(self) -> str:
        """The core range as pages show it, lower bounds first."""
        return self.newest.core_range


@dataclass
class Entry:
    """A plugin (or theme) in the catalogue: its releases, newest version first."""

    project: str
    releases: list[Release]

    @property
    def latest(self) -> Release:
        """The newest release that is not yanked (the newest of all if every one is)."""
        return next((r for r in self.releases if not r.yanked), self.releases[0])

    @property
    def current(self) -> Submission:
        return self.latest.newest

    def matches(self, words: list[str]) -> bool:
        haystack = f"{self.project} {self.current.name} {self.current.summary}".lower()
        return all(word in haystack for word in words)


def _sort_key(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except ValueError:  # InvalidVersion, or a number beyond Python's digit limit
        return (0, version)


def _entries(session: Session, project: str | None = None) -> list[Entry]:
    stmt = (
        select(Submission)
        .where(Submission.status == "published")
        .options(defer(Submission.metadata_text), defer(Submission.report))
    )
    if project is not None:
        stmt = stmt.where(Submission.project == project)
    # One release per version as PEP 440 compares them ("0.2" is "0.2.0"), spelt as
    # its first file has it.
    grouped: dict[str, dict[Version | str, Release]] = defaultdict(dict)
    for found in session.scalars(stmt.order_by(Submission.id)):
        releases = grouped[found.project]
        key = version_of(found.version) or found.version
        releases.setdefault(key, Release(found.version)).files.append(found)
    return [
        Entry(name, sorted(rs.values(), key=lambda r: _sort_key(r.version), reverse=True))
        for name, rs in sorted(grouped.items())
    ]


def search(session: Session, query: str = "", *, page: int = 1, per_page: int = 20) -> Page:
    """Published plugins whose name or summary holds every word of ``query``."""
    words = query.lower().split()
    found = [e for e in _entries(session) if e.matches(words)]
    start = (page - 1) * per_page
    return Page(found[start : start + per_page], page, per_page, len(found))


def entry(session: Session, project: str) -> Entry | None:
    """One published plugin, or ``None``."""
    found = _entries(session, project)
    return found[0] if found else None


def plugin_page(session: Session, project: str) -> dict[str, Any] | None:
    """What the plugin page shows: the entry, its README and the check's inspection."""
    found = entry(session, project)
    if found is None:
        return None
    current = session.get(Submission, found.current.id)
    assert current is not None
    metadata = distribution.parse_metadata(current.metadata_text)
    return {
        "entry": found,
        "current": current,
        "readme": render_readme(metadata.description, metadata.description_content_type),
        "inspection": current.inspection,
    }


def render_readme(text: str, content_type: str) -> Markup:
    """A README as safe HTML: Markdown rendered then sanitised, anything else as text."""
    if not text.strip():
        return Markup("")
    if content_type.split(";")[0].strip().lower() == "text/markdown":
        from markdown_it import MarkdownIt  # here: only a plugin's page needs it

        html = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
        cleaned = nh3.clean(
            html,
            tags=README_TAGS,
            url_schemes=URL_SCHEMES,
            link_rel="noopener noreferrer nofollow",
        )
        return Markup(cleaned)  # noqa: S704  (sanitised by nh3 just above)
    return Markup('<pre class="readme-text">%s</pre>') % escape(text)
