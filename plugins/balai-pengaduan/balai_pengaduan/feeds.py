"""The public GeoJSON feed, the map layer and the command-centre widgets.

The feed ``/pengaduan/peta.geojson`` takes the public list's filters and shows
what the public pages show: where, what and how far along, never who.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from balai.auth import Department
from balai.db import db
from balai.geojson import feature_collection, point
from balai.items import MapLayer, Widget
from balai.permissions import public
from balai_pengaduan import runtime, services
from balai_pengaduan.cors import allow_reading
from balai_pengaduan.models import Category, Complaint
from balai_pengaduan.views import filters_from, public_condition
from balai_pengaduan.workflow import OPEN_STATUSES, STATUS_LABELS, STATUSES

__all__ = ["MAX_FEATURES", "bp", "map_layers", "satisfaction_summary", "widgets"]

bp = Blueprint("pengaduan_feeds", __name__, url_prefix="/pengaduan", template_folder="templates")
MAX_FEATURES = 2000  # the newest; a map of more is unreadable and slow on a phone
bp.after_request(allow_reading)  # a map on another site may read the feed


@bp.get("/peta.geojson")
@public
def geojson() -> Any:
    """A FeatureCollection of the public complaints with a point, newest first."""
    filters, errors, _page = filters_from(MultiDict(request.args.items(multi=True)))
    if filters is None:
        error = {
            "code": "bad_request",
            "message": _("Some filters are not valid."),
            "fields": errors,
        }
        return jsonify({"error": error}), 400
    columns = select(
        Complaint.id,
        Complaint.status,
        Complaint.latitude,
        Complaint.longitude,
        Complaint.submitted_at,
        Category.code,
        Category.name,
    ).join(Category, Category.id == Complaint.category_id)
    stmt = services.filtered(filters, columns).where(
        Complaint.latitude.is_not(None),
        Complaint.longitude.is_not(None),
        public_condition(),
    )
    return feature_collection(_feature(row) for row in db.session.execute(stmt.limit(MAX_FEATURES)))


def _feature(row: Any) -> dict[str, Any]:
    return point(
        row.id,
        row.latitude,
        row.longitude,
        {
            "status": row.status,
            "status_label": _(STATUS_LABELS[row.status]),
            "category": row.code,
            "category_name": row.name,
            "submitted_at": row.submitted_at.isoformat(),
            "url": url_for("pengaduan.detail", complaint_id=row.id),
        },
    )


# -- what the hooks return ---------------------------------------------------------------


def map_layers() -> list[MapLayer]:
    """The complaints as one layer of the region's map."""
    return [
        MapLayer(name="pengaduan", title=_("Complaints"), url=url_for("pengaduan_feeds.geojson"))
    ]


def widgets() -> list[Widget]:
    """Complaints by status with the overdue ones, and the open ones by department."""
    counts = status_counts()
    today = runtime.context().today
    overdue = db.session.scalar(
        select(func.count()).select_from(Complaint).where(services.overdue_condition(today))
    )
    status = Widget(
        title=_("Complaints"),
        template="pengaduan/widgets/status.html",
        context={
            "counts": [(_(STATUS_LABELS[s]), counts.get(s, 0)) for s in STATUSES],
            "open": sum(counts.get(s, 0) for s in OPEN_STATUSES),
            "overdue": overdue or 0,
        },
        permission=runtime.VIEW,
        order=40,
    )
    satisfaction = Widget(
        title=_("Citizen satisfaction"),
        template="pengaduan/widgets/satisfaction.html",
        context=satisfaction_summary(),
        permission=runtime.VIEW,
        order=42,
    )
    departments = Widget(
        title=_("Open complaints by department"),
        template="pengaduan/widgets/departments.html",
        context={"rows": open_by_department()},
        permission=runtime.VIEW_ALL,
        order=41,
    )
    return [status, departments, satisfaction]


def satisfaction_summary() -> dict[str, Any]:
    """The reporters' ratings of resolved complaints: how many, their average (1 to 5)
    and how many gave each number of stars (``stars``), also as labelled rows for
    the bar chart (``rows``)."""
    rows = dict(
        db.session.execute(
            select(Complaint.rating, func.count())
            .where(Complaint.rating.is_not(None))
            .group_by(Complaint.rating)
        ).all()
    )
    count = sum(rows.values())
    total = sum(stars * n for stars, n in rows.items())
    return {
        "count": count,
        "average": round(total / count, 1) if count else None,
        "stars": [(stars, rows.get(stars, 0)) for stars in range(5, 0, -1)],
        "rows": [
            (ngettext("%(num)d star", "%(num)d stars", stars), rows.get(stars, 0))
            for stars in range(5, 0, -1)
        ],
    }


def status_counts() -> Mapping[str, int]:
    """How many of the region's complaints are in each status."""
    rows = db.session.execute(select(Complaint.status, func.count()).group_by(Complaint.status))
    return {status: count for status, count in rows}


def open_by_department() -> list[tuple[str, int]]:
    """Open complaints per department, most first; unrouted ones under "no department"."""
    stmt = (
        select(Department.name, func.count(Complaint.id))
        .select_from(Complaint)
        .outerjoin(Department, Department.id == Complaint.department_id)
        .where(Complaint.status.in_(sorted(OPEN_STATUSES)))
        .group_by(Department.name)
        .order_by(func.count(Complaint.id).desc(), Department.name)
    )
    return [(name or _("No department"), count) for name, count in db.session.execute(stmt)]
