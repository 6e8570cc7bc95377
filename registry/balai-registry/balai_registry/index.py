"""What the simple index lists, without Flask: published files grouped by project.

Only published submissions are listed; a yanked one stays, marked (PEP 592).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from packaging.version import Version
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from balai_registry.models import Submission
from balai_registry.names import version_of

__all__ = ["IndexFile", "file_of", "files_of", "metadata_sha256", "projects", "versions"]


@dataclass(frozen=True)
class IndexFile:
    """A published file as an index page shows it."""

    filename: str
    sha256: str
    size: int
    requires_python: str
    metadata_sha256: str | None  # PEP 658: only wheels have a metadata file
    yanked: str | None  # the reason, or None when not yanked
    version: str
    uploaded_at: datetime


def metadata_sha256(submission: Submission) -> str:
    return hashlib.sha256(submission.metadata_text.encode()).hexdigest()


def _published() -> Select[tuple[Submission]]:
    return select(Submission).where(Submission.status == "published")


def projects(session: Session) -> list[str]:
    """The normalised names of every project with a published file, sorted."""
    stmt = select(Submission.project).where(Submission.status == "published").distinct()
    return sorted(session.scalars(stmt))


def files_of(session: Session, project: str) -> list[IndexFile]:
    """The published files of ``project``, oldest version first."""
    found = session.scalars(_published().where(Submission.project == project))
    return sorted((_entry(s) for s in found), key=lambda f: (_order(f.version), f.filename))


def versions(files: list[IndexFile]) -> list[str]:
    """The versions of ``files``, each release once (``0.2`` and ``0.2.0`` are one)."""
    seen: dict[Version | str, str] = {}
    for found in files:
        seen.setdefault(version_of(found.version) or found.version, found.version)
    return list(seen.values())


def file_of(session: Session, sha256: str, filename: str) -> Submission | None:
    """The published file with this hash and name, if any."""
    stmt = _published().where(Submission.sha256 == sha256, Submission.filename == filename)
    return session.scalars(stmt).first()


def _entry(submission: Submission) -> IndexFile:
    wheel = submission.filetype == "bdist_wheel"
    return IndexFile(
        filename=submission.filename,
        sha256=submission.sha256,
        size=submission.size,
        requires_python=submission.requires_python,
        metadata_sha256=metadata_sha256(submission) if wheel else None,
        yanked=(submission.yanked_reason or "") if submission.yanked_at else None,
        version=submission.version,
        uploaded_at=submission.created_at,
    )


def _order(version: str) -> tuple[int, Version | str]:
    try:
        return (0, Version(version))
    except ValueError:  # InvalidVersion, or a number beyond Python's digit limit
        return (1, version)
