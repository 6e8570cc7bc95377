"""Web pages of the registry: the catalogue, and the maintainer's pages (*kelola*)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from balai.auth import current_user
from balai.db import db, utcnow
from balai.permissions import public, require
from balai_registry import services
from balai_registry.models import SCOPES, Partner

PLUGIN = "registry"
REVIEW = "registry.review_submissions"

bp = Blueprint(PLUGIN, __name__, url_prefix="/registry", template_folder="templates")

Errors = dict[str, list[str]]


@bp.get("/")
@public
def index() -> str:
    """The catalogue of published plugins."""
    return render_template("registry/index.html")


# -- partners and their tokens (maintainers) --------------------------------------


@bp.get("/kelola/mitra")
@require(REVIEW)
def partners() -> str:
    """Partner regions and their tokens, live and revoked."""
    return _partners_page({}, {"scopes": list(SCOPES)}, None)


def _partners_page(errors: Errors, values: dict[str, Any], new: tuple[Partner, str] | None) -> str:
    return render_template(
        "registry/partners.html",
        partners=services.list_partners(db.session),
        scopes=SCOPES,
        errors=errors,
        values=values,
        new=new,
    )


@bp.post("/kelola/mitra")
@require(REVIEW)
def create_partner() -> Response | tuple[str, int]:
    """Issue a token to a partner region and show it, once: only its hash is kept."""
    scopes = request.form.getlist("scopes")
    try:
        partner, token = services.issue_partner(
            db.session,
            request.form.get("region", ""),
            request.form.get("email", ""),
            scopes,
            current_user.id,
        )
    except services.PartnerError as exc:
        errors = {k: [_(m) for m in v] for k, v in exc.errors.items()}
        values = {**request.form.to_dict(), "scopes": scopes}
        return _partners_page(errors, values, None), 422
    db.session.commit()
    response = make_response(_partners_page({}, {"scopes": list(SCOPES)}, (partner, token)))
    # The token must not outlive this page in a cache or the browser's history.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/kelola/mitra/<int:partner_id>/cabut")
@require(REVIEW)
def revoke_partner(partner_id: int) -> Response:
    """End a partner's token at once; what it sent stays."""
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        abort(404)
    services.revoke_partner(db.session, partner, utcnow())
    db.session.commit()
    flash(_("The token of %(region)s is revoked.", region=partner.region), "ok")
    return redirect(url_for(".partners"))
