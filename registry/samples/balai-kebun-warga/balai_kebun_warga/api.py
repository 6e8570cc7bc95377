"""JSON API of ``kebun_warga``, mounted at ``/api/v1/kebun_warga/``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_smorest import abort

from balai.api import ApiBlueprint, PageArgs, page_of
from balai.db import db, utcnow
from balai.permissions import public, require
from balai.rules import rule_errors
from balai_kebun_warga import services
from balai_kebun_warga.models import Plot
from balai_kebun_warga.schemas import PlotInSchema, PlotSchema
from balai_kebun_warga.views import MANAGE, TITLE

blp = ApiBlueprint("kebun_warga_api", __name__, description=TITLE)

# The access decorator sits right under the route, so a request without the
# permission is refused (401/403) before its body is even validated (422).


@blp.route("/", methods=["GET"])
@public
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(PlotSchema))
def list_plots(query: dict[str, Any]) -> Mapping[str, Any]:
    """The region's entries, newest first."""
    return services.list_plots(db.session, query["page"], query["per_page"])


@blp.route("/", methods=["POST"])
@require(MANAGE)
@blp.arguments(PlotInSchema)
@blp.response(201, PlotSchema)
def create_plot(data: dict[str, Any]) -> Plot:
    """Add an entry (permission ``kebun_warga.manage_plot``)."""
    try:
        created = services.add_plot(db.session, data, utcnow())
    except services.PlotError as exc:
        abort(exc.status, messages={"json": rule_errors(exc)})
    db.session.commit()
    return created
