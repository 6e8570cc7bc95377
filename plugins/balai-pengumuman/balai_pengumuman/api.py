"""JSON API of announcements (*pengumuman*), mounted at ``/api/v1/pengumuman/``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_smorest import abort

from balai.api import ApiBlueprint, page_of, paginate
from balai.db import db, utcnow
from balai.permissions import public, require
from balai.rules import rule_errors
from balai_pengumuman import services
from balai_pengumuman.models import Announcement
from balai_pengumuman.schemas import (
    AnnouncementInSchema,
    AnnouncementQuery,
    AnnouncementSchema,
)
from balai_pengumuman.views import PUBLISH, may_publish, officer

blp = ApiBlueprint(
    "pengumuman_api",
    __name__,
    description="Public announcements (pengumuman) of the region and its departments",
)

# The access decorator sits right under the route, so a request without the
# permission is refused (401/403) before its body is even validated (422).


@blp.route("/", methods=["GET"])
@public
@blp.arguments(AnnouncementQuery, location="query")
@blp.response(200, page_of(AnnouncementSchema))
def list_announcements(query: dict[str, Any]) -> Mapping[str, Any]:
    """Current (or archived) announcements, newest first."""
    stmt = services.listing(utcnow(), query["status"], query.get("category"))
    return paginate(stmt, query["page"], query["per_page"])


@blp.route("/<int:announcement_id>", methods=["GET"])
@public
@blp.response(200, AnnouncementSchema)
def get_announcement(announcement_id: int) -> Announcement:
    """One announcement; a scheduled one only for officers."""
    announcement = services.get_announcement(db.session, announcement_id)
    if announcement is None or (announcement.status == "scheduled" and not may_publish()):
        abort(404)
    return announcement


@blp.route("/", methods=["POST"])
@require(PUBLISH)
@blp.arguments(AnnouncementInSchema)
@blp.response(201, AnnouncementSchema)
def create_announcement(data: dict[str, Any]) -> Announcement:
    """Publish an announcement (permission ``pengumuman.publish_announcement``)."""
    try:
        created = services.create_announcement(
            db.session, services.Draft(**data), officer(), utcnow()
        )
    except services.AnnouncementError as exc:
        abort(422, messages={"json": rule_errors(exc)})
    db.session.commit()
    return created
