"""SMS and outbox page: the inbound SMS webhook, its token, and the region's outbox.

The SMS token authenticates the region's gateway on ``POST /-/sms/masuk``. It
is shown once when generated and stored only as a hash; generating a new one
stops the old one at once. The outbox (*kotak keluar*) lists every message the
region's services queued, e-mail and SMS, with its delivery status. Recipients are
shown masked (``+62812****7890``) and the bodies of sensitive (health) messages not
at all: the page never opens what the outbox keeps sealed.
"""

from __future__ import annotations

from math import ceil
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, select
from werkzeug.wrappers import Response

from balai.admin import audit, bp
from balai.channels import STATUSES, OutboxMessage, channels
from balai.db import db
from balai.fields import int_arg
from balai.permissions import require
from balai.sms import TOKEN_HEADER, rotate_token, webhook_enabled

PAGE_SIZE = 25
STATUS_LABELS = {
    "pending": _l("waiting"),
    "sent": _l("sent"),
    "failed": _l("failed"),
    "stored": _l("stored"),
}
CHANNEL_LABELS = {"email": _l("E-mail"), "sms": _l("SMS")}


def _filters() -> dict[str, str]:
    """The list's filters from the query string, unknown values dropped."""
    wanted = {"channel": request.args.get("channel", ""), "status": request.args.get("status", "")}
    allowed = {"channel": set(channels()), "status": set(STATUSES)}
    return {key: value for key, value in wanted.items() if value in allowed[key]}


def _conditions(filters: dict[str, str]) -> list[ColumnElement[bool]]:
    conditions = [OutboxMessage.tenant_id == g.tenant.id]
    if "channel" in filters:
        conditions.append(OutboxMessage.channel == filters["channel"])
    if "status" in filters:
        conditions.append(OutboxMessage.status == filters["status"])
    return conditions


def _outbox(filters: dict[str, str]) -> dict[str, Any]:
    """One page of the outbox, newest first, with what the template needs to page it."""
    conditions = _conditions(filters)
    total = db.session.scalar(select(func.count(OutboxMessage.id)).where(*conditions)) or 0
    pages = max(1, ceil(total / PAGE_SIZE))
    page = min(max(int_arg(request.args, "page") or 1, 1), pages)
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(*conditions)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return {"messages": rows, "total": total, "page": page, "pages": pages}


def _page(created: str | None = None) -> str:
    """The page; ``created`` is a token just generated (this request's tenant predates it)."""
    filters = _filters()
    return render_template(
        "balai/admin/sms.html",
        created=created,
        enabled=created is not None or webhook_enabled(g.tenant),
        webhook_url=url_for("balai_sms.inbound", _external=True),
        token_header=TOKEN_HEADER,
        channel_names=sorted(channels()),
        channel_labels=CHANNEL_LABELS,
        statuses=STATUSES,
        status_labels=STATUS_LABELS,
        filters=filters,
        **_outbox(filters),
    )


@bp.route("/sms")
@require("balai.manage_plugins")
def sms() -> str:
    """The webhook's address and token state, and the outbox."""
    return _page()


@bp.route("/sms/token", methods=["POST"])
@require("balai.manage_plugins")
def rotate_sms_token() -> str:
    """Generate a new SMS token and show it once; the previous one stops working."""
    token = rotate_token(current_app, g.tenant)
    audit("sms.token_rotated")
    return _page(created=token)


@bp.route("/sms/token/hapus", methods=["POST"])
@require("balai.manage_plugins")
def remove_sms_token() -> Response:
    """Remove the SMS token: the webhook refuses every message until a new one is made."""
    rotate_token(current_app, g.tenant, remove=True)
    audit("sms.token_removed")
    flash(_("The SMS token has been removed; inbound SMS are refused."), "ok")
    return redirect(url_for("balai_admin.sms"))
