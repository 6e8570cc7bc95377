"""Business rules of announcements (*pengumuman*): what is valid, listed and found.

No Flask here: every function takes the session and the current time, so pages,
the API, the demo data and tests share one set of rules. Messages are English
message ids marked with :func:`~balai.i18n.N_`; the caller translates them where it
shows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from balai.api import PageDict, paginate
from balai.auth import Department
from balai.i18n import N_
from balai.rules import RuleError
from balai_pengumuman.models import Announcement, Status

__all__ = [
    "CATEGORIES",
    "AnnouncementError",
    "Draft",
    "NotAllowed",
    "Officer",
    "archive_announcement",
    "counts",
    "create_announcement",
    "departments_for",
    "get_announcement",
    "list_announcements",
    "listing",
    "may_edit",
    "paragraphs",
    "scheduled_announcements",
    "search_announcements",
    "update_announcement",
]


CATEGORIES: dict[str, str] = {
    "layanan": N_("Public services"),
    "kesehatan": N_("Health"),
    "lalu-lintas": N_("Roads and traffic"),
    "bencana": N_("Emergencies and disasters"),
    "kegiatan": N_("Events"),
    "umum": N_("General"),
}
"""Category code (stored, used in URLs) → English label (a message id)."""

TITLE_MAX = 200

_BLANK_LINE = re.compile(r"\n\s*\n")


class AnnouncementError(RuleError):
    """Input the rules refuse; ``errors`` maps each field to its message ids."""


class NotAllowed(Exception):
    """The officer may not change this announcement."""


@dataclass(frozen=True)
class Draft:
    """The fields an officer writes; ``published_at`` None means now."""

    title: str
    body: str
    category: str
    published_at: datetime | None = None
    expires_at: datetime | None = None
    department_id: int | None = None


@dataclass(frozen=True)
class Officer:
    """Who publishes: a user, their department (OPD), and whether they manage all."""

    user_id: int | None
    department_id: int | None = None
    manages_all: bool = False


# -- listing ---------------------------------------------------------------------


def _where(status: Status, now: datetime) -> ColumnElement[bool]:
    not_expired = or_(Announcement.expires_at.is_(None), Announcement.expires_at > now)
    if status == "archived":
        return Announcement.expires_at <= now
    if status == "scheduled":
        return (Announcement.published_at > now) & not_expired
    return (Announcement.published_at <= now) & not_expired


def _ordered(status: Status, stmt: Select[tuple[Announcement]]) -> Select[tuple[Announcement]]:
    # The archive reads like the main list: newest first by the publication time each card shows.
    if status == "scheduled":
        return stmt.order_by(Announcement.published_at, Announcement.id)
    return stmt.order_by(Announcement.published_at.desc(), Announcement.id.desc())


def listing(
    now: datetime, status: Status = "active", category: str | None = None
) -> Select[tuple[Announcement]]:
    """The query of one listing: a status (and category), in the order it is shown."""
    condition = _where(status, now)
    if category is not None:
        condition = condition & (Announcement.category == category)
    return _ordered(status, select(Announcement).where(condition))


def list_announcements(
    session: Session,
    *,
    now: datetime,
    status: Status = "active",
    category: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> PageDict:
    """One page of a listing, with the number of announcements on all pages."""
    return paginate(listing(now, status, category), page, per_page, session=session)


def scheduled_announcements(session: Session, now: datetime, limit: int = 50) -> list[Announcement]:
    """Announcements waiting for their publication time, soonest first."""
    return list(session.scalars(listing(now, "scheduled").limit(limit)))


def paragraphs(body: str) -> list[str]:
    """The paragraphs of an announcement's text: blank lines separate them."""
    parts = _BLANK_LINE.split(_plain_newlines(body).strip())
    return [part.strip() for part in parts if part.strip()]


def _plain_newlines(text: str) -> str:
    # Browsers send a textarea's lines ending in CR LF; store and split on LF alone.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def get_announcement(session: Session, announcement_id: int) -> Announcement | None:
    """One announcement of the session's tenant, by id."""
    return session.scalar(select(Announcement).where(Announcement.id == announcement_id))


def search_announcements(
    session: Session, query: str, now: datetime, limit: int = 10
) -> list[Announcement]:
    """Published announcements (active or archived) whose title or body holds ``query``."""
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    matches = or_(
        Announcement.title.ilike(pattern, escape="\\"),
        Announcement.body.ilike(pattern, escape="\\"),
    )
    stmt = (
        select(Announcement)
        .where(matches, Announcement.published_at <= now)
        .order_by(Announcement.published_at.desc(), Announcement.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def counts(session: Session, now: datetime, new_days: int) -> dict[str, int]:
    """Numbers for the command-centre widget: active, new among them, scheduled."""
    recent = _where("active", now) & (Announcement.published_at >= now - timedelta(days=new_days))

    def count(condition: ColumnElement[bool]) -> int:
        return session.scalar(select(func.count(Announcement.id)).where(condition)) or 0

    return {
        "active": count(_where("active", now)),
        "new": count(recent),
        "scheduled": count(_where("scheduled", now)),
    }


def departments_for(session: Session, officer: Officer) -> list[Department]:
    """The departments (OPD) an officer may publish for."""
    stmt = select(Department).order_by(Department.name)
    if not officer.manages_all:
        if officer.department_id is None:
            return []
        stmt = stmt.where(Department.id == officer.department_id)
    return list(session.scalars(stmt))


# -- changing --------------------------------------------------------------------


def may_edit(officer: Officer, announcement: Announcement) -> bool:
    """Managers edit every announcement; officers their own and their department's."""
    if officer.manages_all:
        return True
    if officer.user_id is not None and announcement.author_id == officer.user_id:
        return True
    return officer.department_id is not None and (
        announcement.department_id == officer.department_id
    )


def _problems(
    session: Session, draft: Draft, officer: Officer, now: datetime
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not draft.title.strip():
        problems["title"] = [N_("Give the announcement a title.")]
    elif len(draft.title.strip()) > TITLE_MAX:
        problems["title"] = [N_("The title is too long (at most 200 characters).")]
    if not draft.body.strip():
        problems["body"] = [N_("Enter the text of the announcement.")]
    if draft.category not in CATEGORIES:
        problems["category"] = [N_("Choose one of the listed categories.")]
    published = draft.published_at or now
    if draft.expires_at is not None and draft.expires_at <= published:
        problems["expires_at"] = [N_("The end must come after the publication time.")]
    department = _department_problem(session, draft.department_id, officer)
    if department:
        problems["department_id"] = [department]
    return problems


def _department_problem(
    session: Session, department_id: int | None, officer: Officer
) -> str | None:
    if department_id is None:
        return None
    if session.scalar(select(Department.id).where(Department.id == department_id)) is None:
        return N_("Choose a department from the list.")
    if not officer.manages_all and department_id != officer.department_id:
        return N_("You may publish only for your own department.")
    return None


def _apply(announcement: Announcement, draft: Draft, now: datetime) -> None:
    announcement.title = draft.title.strip()
    announcement.body = _plain_newlines(draft.body).strip()
    announcement.category = draft.category
    announcement.department_id = draft.department_id
    announcement.published_at = draft.published_at or now
    announcement.expires_at = draft.expires_at


def create_announcement(
    session: Session, draft: Draft, officer: Officer, now: datetime
) -> Announcement:
    """Add an announcement written by ``officer``; nothing is added if a rule fails.

    :raises AnnouncementError: with the problems of every field at fault.
    """
    problems = _problems(session, draft, officer, now)
    if problems:
        raise AnnouncementError(problems)
    announcement = Announcement(author_id=officer.user_id)
    _apply(announcement, draft, now)
    session.add(announcement)
    session.flush()
    return announcement


def update_announcement(
    session: Session, announcement: Announcement, draft: Draft, officer: Officer, now: datetime
) -> None:
    """Change an announcement; nothing changes if a rule fails.

    :raises NotAllowed: the officer may not edit it.
    :raises AnnouncementError: with the problems of every field at fault.
    """
    if not may_edit(officer, announcement):
        raise NotAllowed
    problems = _problems(session, draft, officer, now)
    if problems:
        raise AnnouncementError(problems)
    _apply(announcement, draft, now)
    session.flush()


def archive_announcement(
    session: Session, announcement: Announcement, officer: Officer, now: datetime
) -> None:
    """End an announcement now; a scheduled one is withdrawn before it appears.

    :raises NotAllowed: the officer may not edit it.
    """
    if not may_edit(officer, announcement):
        raise NotAllowed
    if announcement.status_at(now) == "archived":
        return
    if announcement.published_at > now:
        announcement.published_at = now
    announcement.expires_at = now
    session.flush()
