"""The request-side glue shared by pages, APIs and Open311: the current rules context
and who may see what. Business rules stay in :mod:`balai_pengaduan.services`."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask_babel import get_timezone
from sqlalchemy import ColumnElement, false, true

from balai.calendar import WorkingCalendar, calendar_for
from balai.db import db, utcnow
from balai.permissions import has_permission
from balai.plugins import hooks
from balai.settings import plugin_settings
from balai_pengaduan.models import Complaint, ComplaintEvent
from balai_pengaduan.reporters import reporter_sealer
from balai_pengaduan.services import Context

__all__ = [
    "HANDLE",
    "MANAGE",
    "VERIFY",
    "VIEW",
    "VIEW_ALL",
    "announce_change",
    "announce_submitted",
    "calendar",
    "context",
    "settings",
    "visible_to",
]

VIEW = "pengaduan.view_complaint"
VIEW_ALL = "pengaduan.view_all"
VERIFY = "pengaduan.verify_complaint"
HANDLE = "pengaduan.handle_complaint"
MANAGE = "pengaduan.manage_categories"


def settings() -> dict[str, Any]:
    """This tenant's settings of the plugin (tenant → deployment → default)."""
    return plugin_settings("pengaduan")


def calendar() -> WorkingCalendar:
    """This tenant's working-day calendar around now (cached for the request)."""
    if "pengaduan_calendar" not in g:
        year = utcnow().year
        g.pengaduan_calendar = calendar_for(db.session, range(year - 1, year + 2))
    return g.pengaduan_calendar  # type: ignore[no-any-return]


def context() -> Context:
    """The rules context of this request: settings, calendar, now, the region's time zone
    and its key for reporters' contacts."""
    zone = str(get_timezone() or current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return Context(
        settings=settings(),
        calendar=calendar(),
        now=utcnow(),
        timezone=zone,
        reporters=reporter_sealer(g.tenant.id),
        region=g.tenant.name,
    )


def announce_submitted(complaint: Complaint) -> None:
    """Tell the enabled plugins (this one's notifications included) of a new complaint."""
    hooks().complaint_submitted(tenant=g.tenant, complaint=complaint, session=db.session)


def announce_change(complaint: Complaint, event: ComplaintEvent) -> None:
    """Tell the enabled plugins that a complaint changed status."""
    hooks().complaint_status_changed(
        tenant=g.tenant, complaint=complaint, event=event, session=db.session
    )


def visible_to(user: Any) -> ColumnElement[bool]:
    """Complaints an officer may see: their department's, or all with ``view_all``."""
    if has_permission(user, VIEW_ALL):
        return true()
    if not has_permission(user, VIEW) or getattr(user, "department_id", None) is None:
        return false()
    return Complaint.department_id == user.department_id
