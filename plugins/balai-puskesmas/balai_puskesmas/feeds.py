"""The map layer of puskesmas locations and the command-centre widgets.

The GeoJSON feed ``/puskesmas/puskesmas.geojson`` lists the active puskesmas that have
coordinates: name, code, address, opening hours and the display board's address. The
widgets count today's visits, the numbers waiting at each clinic, and the average
wait; figures only, never a patient.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from balai.db import db
from balai.geojson import feature_collection, point
from balai.items import MapLayer, Widget
from balai.permissions import public
from balai_puskesmas import queue
from balai_puskesmas.models import Facility
from balai_puskesmas.views import opening_hours, today, zone

__all__ = ["MAX_FEATURES", "bp", "map_layers", "widgets"]

bp = Blueprint("puskesmas_feeds", __name__, url_prefix="/puskesmas", template_folder="templates")
MAX_FEATURES = 2000
WIDGET_ROWS = 15  # the busiest clinics; the rest are counted


@bp.get("/puskesmas.geojson")
@public
def geojson() -> Response:
    """A FeatureCollection of the region's active puskesmas with a location."""
    facilities = db.session.scalars(
        select(Facility)
        .where(
            Facility.active.is_(True),
            Facility.latitude.is_not(None),
            Facility.longitude.is_not(None),
        )
        .order_by(Facility.name, Facility.id)
        .limit(MAX_FEATURES)
    )
    return feature_collection(_feature(f) for f in facilities)


def _feature(facility: Facility) -> dict[str, Any]:
    return point(
        facility.id,
        facility.latitude,
        facility.longitude,
        {
            "name": facility.name,
            "code": facility.code,
            "address": facility.address,
            "phone": facility.phone,
            "hours": {day: list(span) for day, span in sorted((facility.hours or {}).items())},
            "hours_text": "; ".join(f"{days} {times}" for days, times in opening_hours(facility)),
            "clinics": [c.name for c in facility.clinics if c.active],
            "board_url": url_for("puskesmas.board", facility_id=facility.id),
            "take_url": url_for("puskesmas.take"),
        },
    )


# -- what the hooks return ---------------------------------------------------------------


def map_layers() -> list[MapLayer]:
    """The puskesmas as one layer of the region's map."""
    return [MapLayer("puskesmas", _("Puskesmas"), url_for("puskesmas_feeds.geojson"))]


def widgets(user: Any = None) -> list[Widget]:
    """Today's visits, the numbers waiting per clinic, and the average wait, for the
    whole region (the dashboard is for the region's command centre)."""
    figures = queue.stats(db.session, today(), timezone=zone())
    busiest = sorted((row for row in figures.waiting if row[2]), key=lambda row: -row[2])
    return [
        Widget(
            title=_("Puskesmas visits today"),
            template="puskesmas/widgets/visits.html",
            context={"visits": figures.visits, "called": figures.called},
            order=50,
        ),
        Widget(
            title=_("Waiting at puskesmas clinics"),
            template="puskesmas/widgets/waiting.html",
            context={
                "rows": busiest[:WIDGET_ROWS],
                "more": max(len(busiest) - WIDGET_ROWS, 0),
                "total": figures.waiting_total,
            },
            order=51,
        ),
        Widget(
            title=_("Average wait at puskesmas"),
            template="puskesmas/widgets/wait_time.html",
            context={"minutes": figures.average_wait, "called": figures.called},
            order=52,
        ),
    ]
