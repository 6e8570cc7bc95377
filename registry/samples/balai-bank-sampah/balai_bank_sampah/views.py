"""Web pages of ``bank_sampah``: the public list and the officers' page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from balai.api import PageDict, past_the_end
from balai.db import db, utcnow
from balai.fields import int_arg
from balai.forms import validate_form
from balai.items import Widget
from balai.permissions import public, require
from balai.rules import rule_errors
from balai_bank_sampah import services
from balai_bank_sampah.schemas import DepositForm

PLUGIN = "bank_sampah"
TITLE = "Bank Sampah"
MANAGE = "bank_sampah.manage_deposit"
PER_PAGE = 20

bp = Blueprint(PLUGIN, __name__, url_prefix="/bank_sampah", template_folder="templates")


@bp.get("/")
@public
def index() -> str:
    """The region's entries, newest first, a page at a time (``?page=``)."""
    return render_template("bank_sampah/index.html", page=_page())


@bp.route("/kelola", methods=["GET", "POST"])
@require(MANAGE)
def manage() -> Any:
    """Officers add entries (*kelola*: manage)."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        data, errors = validate_form(DepositForm(), request.form)
        if data is not None:
            try:
                services.add_deposit(db.session, data, utcnow())
            except services.DepositError as exc:
                errors = rule_errors(exc)
            else:
                db.session.commit()
                flash(_("The entry is saved."), "ok")
                return redirect(url_for(".manage"))
    html = render_template(
        "bank_sampah/manage.html",
        page=_page(),
        values=values,
        errors=errors,
    )
    return html, 422 if errors else 200


def _page() -> PageDict:
    """The page of entries ``?page=`` asks for; 404 past the last one."""
    number = int_arg(request.args, "page") or 1
    found = services.list_deposits(db.session, number, PER_PAGE)
    if past_the_end(found):
        abort(404)
    return found


def dashboard_widget() -> Widget:
    """The number of entries, for officers who manage them."""
    return Widget(
        title=TITLE,
        template="bank_sampah/_widget.html",
        context={"count": services.count_deposits(db.session)},
        permission=MANAGE,
        order=50,
    )
