"""JSON API of ``bank_sampah``, mounted at ``/api/v1/bank_sampah/``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_smorest import abort

from balai.api import ApiBlueprint, PageArgs, page_of
from balai.db import db, utcnow
from balai.permissions import public, require
from balai.rules import rule_errors
from balai_bank_sampah import services
from balai_bank_sampah.models import Deposit
from balai_bank_sampah.schemas import DepositInSchema, DepositSchema
from balai_bank_sampah.views import MANAGE, TITLE

blp = ApiBlueprint("bank_sampah_api", __name__, description=TITLE)

# The access decorator sits right under the route, so a request without the
# permission is refused (401/403) before its body is even validated (422).


@blp.route("/", methods=["GET"])
@public
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(DepositSchema))
def list_deposits(query: dict[str, Any]) -> Mapping[str, Any]:
    """The region's entries, newest first."""
    return services.list_deposits(db.session, query["page"], query["per_page"])


@blp.route("/", methods=["POST"])
@require(MANAGE)
@blp.arguments(DepositInSchema)
@blp.response(201, DepositSchema)
def create_deposit(data: dict[str, Any]) -> Deposit:
    """Add an entry (permission ``bank_sampah.manage_deposit``)."""
    try:
        created = services.add_deposit(db.session, data, utcnow())
    except services.DepositError as exc:
        abort(exc.status, messages={"json": rule_errors(exc)})
    db.session.commit()
    return created
