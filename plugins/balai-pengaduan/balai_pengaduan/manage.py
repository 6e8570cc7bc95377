"""Region admin pages of the plugin (*kelola pengaduan*): categories, areas, routes
and the Open311 client applications.

Each category goes to a department (OPD); an area route sends a category's
complaints inside one area (e.g. a *kecamatan*) to another department.
"""

from __future__ import annotations

import json
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
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from balai.auth import Department
from balai.db import db
from balai.forms import validate_form
from balai.permissions import require
from balai_pengaduan import clients, geo
from balai_pengaduan.forms import ApiClientForm, AreaForm, AreaRouteForm, CategoryForm
from balai_pengaduan.models import ApiClient, Area, AreaRoute, Category, Complaint
from balai_pengaduan.runtime import MANAGE

__all__ = ["bp", "parse_area"]

bp = Blueprint("pengaduan_kelola", __name__, url_prefix="/pengaduan/kelola")
Errors = dict[str, list[str]]


@bp.get("/")
@require(MANAGE)
def index() -> str:
    """Categories, areas and area routes of the region on one page."""
    return _index_page({}, {})


def _index_page(errors: Errors, values: dict[str, Any]) -> str:
    return render_template(
        "pengaduan/manage/index.html",
        categories=db.session.scalars(
            select(Category).order_by(Category.group, Category.position, Category.name)
        ).all(),
        areas=db.session.scalars(select(Area).order_by(Area.name)).all(),
        routes=_routes(),
        departments=_departments(),
        errors=errors,
        values=values,
    )


def _routes() -> list[tuple[AreaRoute, Category, Area, Department]]:
    rows = db.session.execute(
        select(AreaRoute, Category, Area, Department)
        .join(Category, AreaRoute.category_id == Category.id)
        .join(Area, AreaRoute.area_id == Area.id)
        .join(Department, AreaRoute.department_id == Department.id)
        .order_by(Category.name, Area.name)
    )
    return [(r, c, a, d) for r, c, a, d in rows]


def _departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.name)))


def _department_exists(department_id: int | None) -> bool:
    if department_id is None:
        return True
    found = db.session.scalar(select(Department.id).where(Department.id == department_id))
    return found is not None


def _with_upper_code(form: MultiDict[str, str]) -> MultiDict[str, str]:
    copy = form.copy()
    copy["code"] = form.get("code", "").strip().upper()
    return copy


# -- categories --------------------------------------------------------------------


@bp.route("/kategori/baru", methods=["GET", "POST"])
@require(MANAGE)
def new_category() -> Any:
    """Add a category (*kategori*) and the department it goes to."""
    return _category_form(None)


@bp.route("/kategori/<int:category_id>", methods=["GET", "POST"])
@require(MANAGE)
def edit_category(category_id: int) -> Any:
    """Change a category; its code is what SMS senders type."""
    return _category_form(_get_or_404(Category, category_id))


def _category_form(category: Category | None) -> Any:
    values = _category_values(category)
    errors: Errors = {}
    if request.method == "POST":
        values = request.form.to_dict()
        data, errors = validate_form(CategoryForm(), _with_upper_code(request.form))
        if data is not None:
            errors = _category_problems(data, category)
        if not errors and data is not None:
            category = category or Category()
            for name, value in data.items():
                setattr(category, name, value)
            db.session.add(category)
            db.session.commit()
            flash(_("The category is saved."), "ok")
            return redirect(url_for(".index"))
    html = render_template(
        "pengaduan/manage/category.html",
        category=category,
        values=values,
        errors=errors,
        departments=_departments(),
    )
    return html, 422 if errors else 200


def _category_values(category: Category | None) -> dict[str, Any]:
    if category is None:
        return {"active": "y", "position": 100}
    names = ("code", "name", "description", "group", "department_id", "position")
    values: dict[str, Any] = {n: getattr(category, n) for n in names}
    values["active"] = "y" if category.active else ""
    return values


def _category_problems(data: dict[str, Any], category: Category | None) -> Errors:
    errors: Errors = {}
    taken = select(Category.id).where(func.upper(Category.code) == data["code"])
    if category is not None:
        taken = taken.where(Category.id != category.id)
    if db.session.scalar(taken) is not None:
        errors["code"] = [_("Another category already has this code.")]
    if not _department_exists(data["department_id"]):
        errors["department_id"] = [_("Choose a department from the list.")]
    return errors


@bp.post("/kategori/<int:category_id>/hapus")
@require(MANAGE)
def delete_category(category_id: int) -> Response:
    """Delete a category no complaint uses; one in use can only be made inactive."""
    category = _get_or_404(Category, category_id)
    used = db.session.scalar(select(Complaint.id).where(Complaint.category_id == category.id))
    if used is not None:
        flash(_("Complaints use this category: make it inactive instead."), "error")
        return redirect(url_for(".edit_category", category_id=category.id))
    db.session.delete(category)
    db.session.commit()
    flash(_("The category is deleted."), "ok")
    return redirect(url_for(".index"))


def _get_or_404(model: type[Any], row_id: int) -> Any:
    row = db.session.scalar(select(model).where(model.id == row_id))
    if row is None:
        abort(404)
    return row


# -- areas -------------------------------------------------------------------------


def parse_area(text: str) -> dict[str, Any]:
    """A (Multi)Polygon from GeoJSON text: a geometry, a Feature, or a one-feature collection.

    :raises geo.GeometryError: not JSON, or not one valid polygon area.
    """
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise geo.GeometryError("not valid JSON") from exc
    if isinstance(document, dict) and document.get("type") == "FeatureCollection":
        features = document.get("features") or []
        if len(features) != 1:
            raise geo.GeometryError("give exactly one feature")
        document = features[0]
    if isinstance(document, dict) and document.get("type") == "Feature":
        document = document.get("geometry")
    return geo.validate_geometry(document)


@bp.route("/wilayah/baru", methods=["GET", "POST"])
@require(MANAGE)
def new_area() -> Any:
    """Add an area (*wilayah*) from GeoJSON, pasted or uploaded."""
    return _area_form(None)


@bp.route("/wilayah/<int:area_id>", methods=["GET", "POST"])
@require(MANAGE)
def edit_area(area_id: int) -> Any:
    """Rename an area or replace its outline."""
    return _area_form(_get_or_404(Area, area_id))


def _area_form(area: Area | None) -> Any:
    values: dict[str, Any] = {"code": area.code, "name": area.name} if area else {}
    errors: Errors = {}
    if request.method == "POST":
        values = request.form.to_dict()
        data, errors = validate_form(AreaForm(), _with_upper_code(request.form))
        geometry, geometry_errors = _geometry_from_request(required=area is None)
        errors.update(geometry_errors)
        if data is not None and not errors:
            errors = _area_problems(data, area)
        if data is not None and not errors:
            _save_area(area or Area(), data, geometry)
            flash(_("The area is saved."), "ok")
            return redirect(url_for(".index"))
    html = render_template("pengaduan/manage/area.html", area=area, values=values, errors=errors)
    return html, 422 if errors else 200


def _geometry_from_request(*, required: bool) -> tuple[dict[str, Any] | None, Errors]:
    upload = request.files.get("geojson_file")
    text = upload.read().decode("utf-8", "replace") if upload and upload.filename else ""
    text = text or request.form.get("geojson", "")
    if not text.strip():
        if required:
            return None, {"geojson": [_("Paste or upload the area's GeoJSON.")]}
        return None, {}
    try:
        return parse_area(text), {}
    except geo.GeometryError as exc:
        message = _(
            "This is not a GeoJSON Polygon or MultiPolygon on the globe (%(reason)s).",
            reason=str(exc),
        )
        return None, {"geojson": [message]}


def _area_problems(data: dict[str, Any], area: Area | None) -> Errors:
    taken = select(Area.id).where(Area.code == data["code"])
    if area is not None:
        taken = taken.where(Area.id != area.id)
    if db.session.scalar(taken) is not None:
        return {"code": [_("Another area already has this code.")]}
    return {}


def _save_area(area: Area, data: dict[str, Any], geometry: dict[str, Any] | None) -> None:
    area.code, area.name = data["code"], data["name"]
    if geometry is not None:
        area.geometry = geometry
        area.min_lon, area.min_lat, area.max_lon, area.max_lat = geo.bounding_box(geometry)
    db.session.add(area)
    db.session.commit()


@bp.post("/wilayah/<int:area_id>/hapus")
@require(MANAGE)
def delete_area(area_id: int) -> Response:
    """Delete an area and its routes; its complaints keep their department."""
    db.session.delete(_get_or_404(Area, area_id))
    db.session.commit()
    flash(_("The area is deleted."), "ok")
    return redirect(url_for(".index"))


# -- area routes -------------------------------------------------------------------


@bp.post("/rute")
@require(MANAGE)
def add_route() -> Any:
    """Send a category's complaints inside an area to another department."""
    data, errors = validate_form(AreaRouteForm(), request.form)
    if data is not None:
        errors = _route_problems(data)
    if data is None or errors:
        return _index_page(errors, request.form.to_dict()), 422
    db.session.add(AreaRoute(**data))
    db.session.commit()
    flash(_("The route is saved."), "ok")
    return redirect(url_for(".index"))


def _route_problems(data: dict[str, Any]) -> Errors:
    errors: Errors = {}
    if db.session.scalar(select(Category.id).where(Category.id == data["category_id"])) is None:
        errors["category_id"] = [_("Choose a category.")]
    if db.session.scalar(select(Area.id).where(Area.id == data["area_id"])) is None:
        errors["area_id"] = [_("Choose an area.")]
    if not _department_exists(data["department_id"]):
        errors["department_id"] = [_("Choose a department from the list.")]
    if not errors and _route_exists(data["category_id"], data["area_id"]):
        errors["area_id"] = [_("This area already has a route for this category.")]
    return errors


def _route_exists(category_id: int, area_id: int) -> bool:
    found = db.session.scalar(
        select(AreaRoute.id).where(
            AreaRoute.category_id == category_id, AreaRoute.area_id == area_id
        )
    )
    return found is not None


@bp.post("/rute/<int:route_id>/hapus")
@require(MANAGE)
def delete_route(route_id: int) -> Response:
    """Remove an area route: the category's own department answers there again."""
    db.session.delete(_get_or_404(AreaRoute, route_id))
    db.session.commit()
    flash(_("The route is deleted."), "ok")
    return redirect(url_for(".index"))


# -- Open311 client applications -------------------------------------------------------


@bp.get("/kunci-api")
@require(MANAGE)
def api_clients() -> str:
    """The applications that may submit over Open311, live and revoked."""
    return _api_clients_page({}, {}, None)


def _api_clients_page(
    errors: Errors, values: dict[str, Any], new_key: tuple[str, str] | None
) -> str:
    """The list and the form; ``new_key`` is ``(name, key)`` of a client just made."""
    return render_template(
        "pengaduan/manage/api_clients.html",
        clients=db.session.scalars(select(ApiClient).order_by(ApiClient.created_at.desc())).all(),
        errors=errors,
        values=values,
        new_key=new_key,
    )


@bp.post("/kunci-api")
@require(MANAGE)
def create_api_client() -> Response | tuple[str, int]:
    """Register an application and show its key, once: only its hash is stored."""
    data, errors = validate_form(ApiClientForm(), request.form)
    if data is None:
        return _api_clients_page(errors, request.form.to_dict(), None), 422
    client, key = clients.create_client(db.session, data["name"])
    db.session.commit()
    response = make_response(_api_clients_page({}, {}, (client.name, key)))
    # The key must not outlive this page in a cache or the browser's history.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/kunci-api/<int:client_id>/cabut")
@require(MANAGE)
def revoke_api_client(client_id: int) -> Response:
    """Stop accepting an application's key; its complaints stay."""
    if clients.revoke_client(db.session, client_id) is None:
        abort(404)
    db.session.commit()
    flash(_("The key is revoked."), "ok")
    return redirect(url_for(".api_clients"))
