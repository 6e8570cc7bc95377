"""Web pages of ``kebun_warga``: the public list and the officers' page."""

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
from balai_kebun_warga import services
from balai_kebun_warga.schemas import PlotForm

PLUGIN = "kebun_warga"
TITLE = "Kebun Warga"
MANAGE = "kebun_warga.manage_plot"
PER_PAGE = 20

bp = Blueprint(PLUGIN, __name__, url_prefix="/kebun_warga", template_folder="templates")


@bp.get("/")
@public
def index() -> str:
    """The region's entries, newest first, a page at a time (``?page=``)."""
    return render_template("kebun_warga/index.html", page=_page())


@bp.route("/kelola", methods=["GET", "POST"])
@require(MANAGE)
def manage() -> Any:
    """Officers add entries (*kelola*: manage)."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        data, errors = validate_form(PlotForm(), request.form)
        if data is not None:
            try:
                services.add_plot(db.session, data, utcnow())
            except services.PlotError as exc:
                errors = rule_errors(exc)
            else:
                db.session.commit()
                flash(_("The entry is saved."), "ok")
                return redirect(url_for(".manage"))
    html = render_template(
        "kebun_warga/manage.html",
        page=_page(),
        values=values,
        errors=errors,
    )
    return html, 422 if errors else 200


def _page() -> PageDict:
    """The page of entries ``?page=`` asks for; 404 past the last one."""
    number = int_arg(request.args, "page") or 1
    found = services.list_plots(db.session, number, PER_PAGE)
    if past_the_end(found):
        abort(404)
    return found


def dashboard_widget() -> Widget:
    """The number of entries, for officers who manage them."""
    return Widget(
        title=TITLE,
        template="kebun_warga/_widget.html",
        context={"count": services.count_plots(db.session)},
        permission=MANAGE,
        order=50,
    )
