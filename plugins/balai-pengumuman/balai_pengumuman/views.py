"""Web pages of announcements (*pengumuman*): public lists and detail, officers' forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import to_user_timezone, to_utc
from werkzeug.wrappers import Response

from balai.api import past_the_end
from balai.auth import current_user
from balai.db import db, utcnow
from balai.fields import int_arg
from balai.forms import validate_form
from balai.i18n import format_datetime
from balai.items import SearchResult, Widget
from balai.pagecache import cached_page
from balai.permissions import has_permission, public, require
from balai.rules import rule_errors
from balai.settings import plugin_settings
from balai.static import serve_static
from balai_pengumuman import services
from balai_pengumuman.models import Announcement, Status
from balai_pengumuman.schemas import AnnouncementForm

PLUGIN = "pengumuman"
PUBLISH = "pengumuman.publish_announcement"
MANAGE = "pengumuman.manage_announcement"


bp = Blueprint(PLUGIN, __name__, url_prefix="/pengumuman", template_folder="templates")
serve_static(bp)  # the plugin's style sheet: url_for("pengumuman.static", filename=...)


def officer() -> services.Officer:
    """The logged-in user as the services see a publisher."""
    if not current_user.is_authenticated:
        return services.Officer(user_id=None)
    return services.Officer(
        user_id=current_user.id,
        department_id=current_user.department_id,
        manages_all=has_permission(current_user, MANAGE),
    )


def may_publish() -> bool:
    return current_user.is_authenticated and has_permission(current_user, PUBLISH)


def _settings() -> dict[str, Any]:
    return plugin_settings(PLUGIN)


# -- public pages ----------------------------------------------------------------


@bp.get("/")
@public
@cached_page
def index() -> str:
    """Current announcements, newest first."""
    return _listing("active")


@bp.get("/arsip")
@public
@cached_page
def archive() -> str:
    """Announcements that have ended (*arsip*)."""
    return _listing("archived")


def _listing(status: Status) -> str:
    category = request.args.get("category") or None
    if category is not None and category not in services.CATEGORIES:
        abort(404)
    settings, now = _settings(), utcnow()
    page = services.list_announcements(
        db.session,
        now=now,
        status=status,
        category=category,
        page=int_arg(request.args, "page") or 1,
        per_page=settings["page_size"],
    )
    if past_the_end(page):
        abort(404)
    scheduled = []
    if status == "active" and may_publish():
        scheduled = services.scheduled_announcements(db.session, now)
    return render_template(
        "pengumuman/index.html",
        status=status,
        page=page,
        category=category,
        categories=services.CATEGORIES,
        scheduled=scheduled,
        new_since=now - timedelta(days=settings["new_days"]),
        may_publish=may_publish(),
    )


@bp.get("/<int:announcement_id>")
@public
@cached_page
def detail(announcement_id: int) -> str:
    """One announcement; a scheduled one only for officers."""
    announcement = _visible_or_404(announcement_id)
    return render_template(
        "pengumuman/detail.html",
        announcement=announcement,
        paragraphs=services.paragraphs(announcement.body),
        categories=services.CATEGORIES,
        may_edit=may_publish() and services.may_edit(officer(), announcement),
        now=utcnow(),
    )


def _visible_or_404(announcement_id: int) -> Announcement:
    announcement = services.get_announcement(db.session, announcement_id)
    if announcement is None or (announcement.status == "scheduled" and not may_publish()):
        abort(404)
    return announcement


# -- officers' forms -------------------------------------------------------------


@bp.route("/baru", methods=["GET", "POST"])
@require(PUBLISH)
def create() -> Any:
    """Write and publish a new announcement."""
    values: dict[str, Any] = {"category": "umum", "department_id": current_user.department_id}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        draft, errors = _draft_from_form()
        if draft is not None:
            now = utcnow()
            try:
                created = services.create_announcement(db.session, draft, officer(), now)
            except services.AnnouncementError as exc:
                errors = rule_errors(exc)
            else:
                db.session.commit()
                flash(_published_message(created, now), "ok")
                return redirect(url_for(".detail", announcement_id=created.id))
    return _form_page(None, values, errors)


def _published_message(announcement: Announcement, now: datetime) -> str:
    if announcement.status_at(now) != "scheduled":
        return _("The announcement is published.")
    when = format_datetime(announcement.published_at, "d MMMM y, HH.mm z")
    return _("The announcement is scheduled and will be published on %(date)s.", date=when)


@bp.route("/<int:announcement_id>/ubah", methods=["GET", "POST"])
@require(PUBLISH)
def edit(announcement_id: int) -> Any:
    """Change an announcement the officer may edit."""
    announcement = _editable_or_403(announcement_id)
    values, errors = _form_values(announcement), {}
    if request.method == "POST":
        values = request.form.to_dict()
        draft, errors = _draft_from_form()
        if draft is not None:
            try:
                services.update_announcement(db.session, announcement, draft, officer(), utcnow())
            except services.AnnouncementError as exc:
                errors = rule_errors(exc)
            else:
                db.session.commit()
                flash(_("The changes are saved."), "ok")
                return redirect(url_for(".detail", announcement_id=announcement.id))
    return _form_page(announcement, values, errors)


@bp.post("/<int:announcement_id>/arsipkan")
@require(PUBLISH)
def archive_one(announcement_id: int) -> Response:
    """End an announcement now: it moves to the archive."""
    announcement = _editable_or_403(announcement_id)
    services.archive_announcement(db.session, announcement, officer(), utcnow())
    db.session.commit()
    flash(_("The announcement is archived."), "ok")
    return redirect(url_for(".detail", announcement_id=announcement.id))


def _editable_or_403(announcement_id: int) -> Announcement:
    announcement = services.get_announcement(db.session, announcement_id)
    if announcement is None:
        abort(404)
    if not services.may_edit(officer(), announcement):
        abort(403)
    return announcement


def _draft_from_form() -> tuple[services.Draft | None, dict[str, list[str]]]:
    data, errors = validate_form(AnnouncementForm(), request.form)
    if data is None:
        return None, errors
    data["published_at"] = _from_local(data["published_at"])
    data["expires_at"] = _from_local(data["expires_at"])
    return services.Draft(**data), {}


def _from_local(value: datetime | None) -> datetime | None:
    """A form's local time (the region's time zone) as an aware UTC time."""
    return None if value is None else to_utc(value).replace(tzinfo=UTC)


def _to_local(value: datetime | None) -> str:
    """An aware time as the value of a ``datetime-local`` input."""
    return "" if value is None else to_user_timezone(value).strftime("%Y-%m-%dT%H:%M")


def _form_values(announcement: Announcement) -> dict[str, Any]:
    return {
        "title": announcement.title,
        "body": announcement.body,
        "category": announcement.category,
        "department_id": announcement.department_id,
        "published_at": _to_local(announcement.published_at),
        "expires_at": _to_local(announcement.expires_at),
    }


def _form_page(
    announcement: Announcement | None, values: dict[str, Any], errors: dict[str, list[str]]
) -> tuple[str, int]:
    html = render_template(
        "pengumuman/form.html",
        announcement=announcement,
        values=values,
        errors=errors,
        category_options=[(code, _(label)) for code, label in services.CATEGORIES.items()],
        departments=services.departments_for(db.session, officer()),
    )
    return html, 422 if errors else 200


# -- what the hooks return -------------------------------------------------------


def search_results(query: str) -> list[SearchResult]:
    """Published announcements matching ``query``, for the platform search."""
    found = services.search_announcements(db.session, query, utcnow())
    return [
        SearchResult(
            title=a.title,
            url=url_for("pengumuman.detail", announcement_id=a.id),
            summary=_excerpt(a.body),
            kind=_("Announcement"),
        )
        for a in found
    ]


def _excerpt(text: str, length: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rsplit(" ", 1)[0] + "…"


def dashboard_widget() -> Widget:
    """Counts of current, new and scheduled announcements."""
    numbers = services.counts(db.session, utcnow(), _settings()["new_days"])
    return Widget(
        title=_("Announcements"),
        template="pengumuman/_widget.html",
        context=numbers,
        order=30,
    )
