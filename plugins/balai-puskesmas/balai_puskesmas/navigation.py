"""Menu items and search results of the plugin (the core's request hooks)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from balai.db import db
from balai.items import MenuItem, SearchResult
from balai_puskesmas import queue, runtime
from balai_puskesmas.models import Facility

__all__ = ["menu_items", "search_results"]


def menu_items(user: Any) -> list[MenuItem]:
    """Queue numbers for everyone; own visits for citizens; the desk for officers with a
    registration or clinician duty at a puskesmas, the patients for any duty (a viewer
    reads records but works no queue); the admin pages by permission."""
    items = [MenuItem(_("Puskesmas queue"), url_for("puskesmas.index"), order=30)]
    if user is not None and user.role == "warga":
        items.append(
            MenuItem(_("My health visits"), url_for("puskesmas_rekam.my_visits"), section="user")
        )
    duties = runtime.actor().duties if user is not None and user.role != "warga" else {}
    if any(duty in queue.DESK_DUTIES for duty in duties.values()):
        items.append(
            MenuItem(
                _("Queue desk"),
                url_for("puskesmas_loket.index"),
                section="user",
                permission=runtime.SERVE,
                order=40,
            )
        )
    if duties:
        items.append(
            MenuItem(
                _("Patients"),
                url_for("puskesmas_rekam.patients"),
                section="user",
                permission=runtime.READ,
                order=41,
            )
        )
    items += [
        MenuItem(
            _("Puskesmas and clinics"),
            url_for("puskesmas_kelola.index"),
            section="admin",
            permission=runtime.MANAGE,
            order=61,
        ),
        MenuItem(
            _("Health records audit trail"),
            url_for("puskesmas_kelola.audit"),
            section="admin",
            permission=runtime.VIEW_AUDIT,
            order=62,
        ),
        MenuItem(
            _("Sending to SATUSEHAT"),
            url_for("puskesmas_kirim.index"),
            section="admin",
            permission=runtime.EXPORT,
            order=63,
        ),
    ]
    return items


def search_results(query: str) -> list[SearchResult]:
    """Active puskesmas whose name, code or address matches ``query`` (never patients)."""
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    matches = db.session.scalars(
        select(Facility)
        .where(
            Facility.active.is_(True),
            Facility.name.ilike(pattern, escape="\\")
            | Facility.code.ilike(pattern, escape="\\")
            | Facility.address.ilike(pattern, escape="\\"),
        )
        .order_by(Facility.name, Facility.id)
        .limit(10)
    )
    return [
        SearchResult(
            title=facility.name,
            url=url_for("puskesmas.board", facility_id=facility.id),
            summary=facility.address,
            kind=_("Puskesmas"),
        )
        for facility in matches
    ]
