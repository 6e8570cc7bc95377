"""Citizens' pages of complaints (*pengaduan*): submit, follow by tracking code,
support, the public list and map. Nothing here shows who reported a complaint."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import get_timezone
from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from balai import ratelimit
from balai.auth import current_user
from balai.db import db, utcnow
from balai.forms import validate_form
from balai.items import MenuItem, SearchResult
from balai.permissions import public
from balai.text import clean_text
from balai_pengaduan import limiting, photos, runtime, services
from balai_pengaduan.forms import ComplaintFilters, ReopenForm, SubmitForm, rule_errors
from balai_pengaduan.models import Area, Category, Complaint, Photo
from balai_pengaduan.workflow import OPEN_STATUSES, STATUS_LABELS, STATUSES

__all__ = ["bp", "filters_from", "menu_items", "normalise_code", "search_results"]

bp = Blueprint("pengaduan", __name__, url_prefix="/pengaduan", template_folder="templates")
STATIC = Path(__file__).parent / "static"
PAGE_SIZE = 20
HIDDEN_STATUSES = ("rejected",)  # spam and abuse stay off the public pages
SUBMIT_FIELDS = (
    "category",
    "description",
    "address",
    "latitude",
    "longitude",
    "privacy",
    "reporter_name",
    "reporter_email",
    "reporter_phone",
)
Errors = dict[str, list[str]]


@bp.get("/pengaduan.css")
@public
def stylesheet() -> Response:
    """The plugin's few styles (the CSP allows style sheets from this site only)."""
    return send_from_directory(STATIC, "pengaduan.css", max_age=3600)


@bp.get("/")
@public
def index() -> str:
    """The home of the complaint service: how to report, follow, and recent reports."""
    newest = _public_select().order_by(Complaint.submitted_at.desc(), Complaint.id.desc())
    recent = db.session.scalars(newest.limit(5)).all()
    return render_template("pengaduan/index.html", recent=recent, labels=STATUS_LABELS)


# -- submitting --------------------------------------------------------------------


@bp.route("/lapor", methods=["GET", "POST"])
@public
def submit() -> Any:
    """The complaint form; a nearby open complaint is offered before a new one is made."""
    if request.method == "GET":
        start: dict[str, Any] = {"privacy": "public"}
        if current_user.is_authenticated:  # shown, so the reporter sees who they report as
            start |= {"reporter_name": current_user.name, "reporter_email": current_user.email}
        return _submit_page(start, {})
    values = {k: request.form.get(k, "") for k in SUBMIT_FIELDS}
    # Cheapest refusal first: the limits, then the fields, and only then the photos,
    # whose decoding is the costly part of a request.
    reservation = _reserve()
    if not reservation.allowed:
        outcome = reservation.outcome
        page, _status = _submit_page(values, {"_form": [limiting.refusal_message(outcome)]})
        return page, 429, {"Retry-After": str(outcome.retry_after)}
    data, errors = validate_form(SubmitForm(), request.form)
    if data is None:
        reservation.give_back()
        return _submit_page(values, errors)
    if not request.form.get("anyway"):
        nearby = _possible_duplicates(data)
        if nearby:  # photos are chosen again on that page: none is read here
            reservation.give_back()
            return render_template(
                "pengaduan/duplicates.html", nearby=nearby, values=values, labels=STATUS_LABELS
            )
    prepared, photo_errors = _photos_from_request()
    if prepared is None:  # the photos were read, so the hit stays counted
        return _submit_page(values, photo_errors)
    try:
        complaint = _store(data, prepared)
    except services.ComplaintError as exc:
        reservation.give_back()
        return _submit_page(values, rule_errors(exc))
    except photos.PhotoError as exc:  # the disk is full: nothing was saved
        reservation.give_back()
        page, _status = _submit_page(values, {"photos": [_(str(exc), **exc.values)]})
        return page, 507
    return redirect(url_for(".submitted", kode=complaint.tracking_code))


def _reserve() -> limiting.Reservation:
    """Count this request against the limits before its fields are checked: the
    recipients as the form will read them (cleaned like :class:`balai.fields.Text`)."""
    form = {k: clean_text(request.form.get(k, "")) for k in SUBMIT_FIELDS}
    user = current_user if current_user.is_authenticated else None
    return limiting.reserve(
        email=form["reporter_email"] or (user.email if user else None),
        phone=form["reporter_phone"],
        anonymous=(form["privacy"] or "public") == "anonymous",
    )


def _submit_page(values: dict[str, Any], errors: Errors) -> tuple[str, int]:
    settings = runtime.settings()
    html = render_template(
        "pengaduan/submit.html",
        values=values,
        errors=errors,
        groups=_category_groups(),
        max_photos=settings["max_photos"],
        max_photo_kb=settings["max_photo_kb"],
    )
    return html, 422 if errors else 200


def _category_groups() -> list[tuple[str, list[Category]]]:
    """Active categories by group, in the admin's order."""
    rows = db.session.scalars(
        select(Category)
        .where(Category.active.is_(True))
        .order_by(Category.group, Category.position, Category.name)
    ).all()
    groups: dict[str, list[Category]] = {}
    for category in rows:
        groups.setdefault(category.group, []).append(category)
    return list(groups.items())


def _photos_from_request() -> tuple[list[photos.PreparedPhoto] | None, Errors]:
    settings = runtime.settings()
    try:
        prepared = photos.prepare(
            request.files.getlist("photos"),
            max_photos=settings["max_photos"],
            max_kb=settings["max_photo_kb"],
        )
    except photos.PhotoError as exc:
        return None, {"photos": [_(str(exc), **exc.values)]}
    return prepared, {}


def _possible_duplicates(data: dict[str, Any]) -> list[tuple[Complaint, float]]:
    if data["latitude"] is None:
        return []
    category = _category_by_code(data["category"])
    if category is None:
        return []
    return services.nearby_open(
        db.session, category.id, data["latitude"], data["longitude"], runtime.context()
    )


def _category_by_code(code: str) -> Category | None:
    return db.session.scalar(
        select(Category).where(
            func.upper(Category.code) == code.strip().upper(), Category.active.is_(True)
        )
    )


def _submission(data: dict[str, Any]) -> services.Submission:
    user = current_user if current_user.is_authenticated else None
    return services.Submission(
        category_code=data["category"],
        description=data["description"],
        address=data["address"],
        latitude=data["latitude"],
        longitude=data["longitude"],
        privacy=data["privacy"],
        channel="web",
        reporter_id=user.id if user else None,
        reporter_name=data["reporter_name"] or (user.name if user else None),
        reporter_email=data["reporter_email"] or (user.email if user else None),
        reporter_phone=data["reporter_phone"],
    )


def _store(data: dict[str, Any], prepared: list[photos.PreparedPhoto]) -> Complaint:
    """Record the complaint and its photos in one transaction; no stray file if it fails."""
    session = db.session
    directory = photos.folder(current_app.instance_path, g.tenant.id)
    written: list[str] = []
    try:
        complaint = services.submit(session, _submission(data), runtime.context())
        for photo in prepared:
            name = photos.write(directory, photo)
            written.append(name)
            complaint.photos.append(_photo_row(name, photo))
        session.flush()
        runtime.announce_submitted(complaint)
        session.commit()
    except BaseException:
        session.rollback()
        photos.remove(directory, written)
        raise
    return complaint


def _photo_row(name: str, photo: photos.PreparedPhoto) -> Photo:
    return Photo(
        filename=name,
        content_type=photo.content_type,
        size=len(photo.data),
        width=photo.width,
        height=photo.height,
        created_at=utcnow(),
    )


@bp.get("/terkirim")
@public
def submitted() -> str:
    """Confirmation with the tracking code, the one thing the reporter must keep."""
    complaint = _by_code_or_404(request.args.get("kode", ""))
    return render_template("pengaduan/submitted.html", complaint=complaint)


# -- following by tracking code ----------------------------------------------------


def normalise_code(code: str) -> str:
    """``adu 2345 6789a`` or ``ADU23456789AB`` → ``ADU-23456-789AB``."""
    compact = "".join(ch for ch in code.upper() if ch.isalnum())
    if len(compact) == 13 and compact.startswith("ADU"):
        return f"ADU-{compact[3:8]}-{compact[8:]}"
    return code.strip().upper()[:20]


def _by_code(code: str) -> Complaint | None:
    if not code.strip():
        return None
    return db.session.scalar(
        select(Complaint).where(Complaint.tracking_code == normalise_code(code))
    )


def _by_code_or_404(code: str) -> Complaint:
    complaint = _by_code(code)
    if complaint is None:
        abort(404)
    return complaint


@bp.get("/lacak")
@public
def track() -> Any:
    """Follow a complaint with its tracking code (*lacak pengaduan*), no account needed."""
    code = request.args.get("kode", "").strip()
    complaint = _by_code(code)
    if code and complaint is None:
        return _track_page(None, code, {"kode": [_("No complaint has this tracking code.")]}, 404)
    return _track_page(complaint, code, {})


def _track_page(
    complaint: Complaint | None, code: str, errors: Errors, status: int = 200, note: str = ""
) -> tuple[str, int]:
    html = render_template(
        "pengaduan/track.html",
        complaint=complaint,
        code=code,
        errors=errors,
        note=note,
        labels=STATUS_LABELS,
        reopen_until=_reopen_until(complaint) if complaint else None,
    )
    return html, status


def _reopen_until(complaint: Complaint) -> datetime | None:
    """Until when the reporter may reopen, if the complaint is resolved and still may be."""
    days = int(runtime.settings()["reopen_days"])
    if complaint.status != "resolved" or complaint.resolved_at is None or days == 0:
        return None
    until = complaint.resolved_at + timedelta(days=days)
    return until if until > utcnow() else None


@bp.post("/lacak/buka-kembali")
@public
def reopen() -> Any:
    """The reporter says a resolved complaint is not fixed; the code proves it is theirs."""
    data, errors = validate_form(ReopenForm(), request.form)
    complaint = _by_code_or_404(request.form.get("kode", ""))
    note = request.form.get("note", "")
    if data is None:
        return _track_page(complaint, complaint.tracking_code, errors, 422, note)
    try:
        event = services.reopen(db.session, complaint, runtime.context(), note=data["note"])
    except services.ComplaintError as exc:
        db.session.rollback()
        return _track_page(complaint, complaint.tracking_code, rule_errors(exc), 422, note)
    runtime.announce_change(complaint, event)
    db.session.commit()
    flash(_("The complaint is open again; the department will follow it up."), "ok")
    return redirect(url_for(".track", kode=complaint.tracking_code))


# -- public pages ------------------------------------------------------------------


def _public_select() -> Select[Any]:
    return select(Complaint).where(Complaint.status.not_in(HIDDEN_STATUSES))


def _public_or_404(complaint_id: int) -> Complaint:
    complaint = db.session.scalar(_public_select().where(Complaint.id == complaint_id))
    if complaint is None:
        abort(404)
    return complaint


@bp.get("/<int:complaint_id>")
@public
def detail(complaint_id: int) -> str:
    """A complaint as anyone may see it: what, where, its status and timeline; never who."""
    complaint = _public_or_404(complaint_id)
    return render_template(
        "pengaduan/detail.html",
        complaint=complaint,
        labels=STATUS_LABELS,
        may_support=complaint.status in OPEN_STATUSES and complaint.duplicate_of_id is None,
    )


@bp.post("/<int:complaint_id>/dukung")
@public
def support(complaint_id: int) -> Response:
    """Add one's support (*dukung*) to an open complaint instead of repeating it."""
    complaint = _public_or_404(complaint_id)
    try:
        added = services.support(db.session, complaint, _supporter())
    except services.ComplaintError as exc:
        db.session.rollback()
        flash(rule_errors(exc)[exc.field or "_form"][0], "error")
        return redirect(url_for(".detail", complaint_id=complaint.id))
    db.session.commit()
    if added:
        flash(_("Thank you: your support is counted."), "ok")
    else:
        flash(_("You already support this complaint."), "ok")
    return redirect(url_for(".detail", complaint_id=complaint.id))


def _supporter() -> str:
    """The user, or a keyed hash of the visitor's address: counted once, never stored plain."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    key = str(current_app.config["SECRET_KEY"]).encode()
    address = ratelimit.client_key(request.remote_addr).encode()
    return "addr:" + hashlib.blake2b(address, key=key[:64], digest_size=24).hexdigest()


@bp.get("/daftar")
@public
def listing() -> tuple[str, int]:
    """Every public complaint, filtered and a page at a time."""
    return _filtered_page("pengaduan/list.html", _public_select())


@bp.get("/peta")
@public
def map_page() -> tuple[str, int]:
    """Complaints with a map point, as a list that needs no script or tiles."""
    statement = _public_select().where(Complaint.latitude.is_not(None))
    return _filtered_page("pengaduan/map.html", statement, feed_url=_feed_url())


def _feed_url() -> str | None:
    """The GeoJSON feed of :mod:`balai_pengaduan.feeds`, if it is mounted."""
    endpoint = "pengaduan_feeds.geojson"
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **request.args.to_dict())


def _filtered_page(template: str, statement: Select[Any], **extra: Any) -> tuple[str, int]:
    args = MultiDict((k, v) for k, v in request.args.items(multi=True))
    filters, errors, page = filters_from(args)
    found: services.Page = {"items": [], "page": 1, "per_page": PAGE_SIZE, "total": 0, "pages": 0}
    if filters is not None:
        found = services.paginate(
            db.session, services.filtered(filters, statement), page, PAGE_SIZE
        )
        if page > max(found["pages"], 1):
            abort(404)
    html = render_template(
        template,
        found=found,
        errors=errors,
        args={k: v for k, v in args.items() if k != "page" and v},
        categories=db.session.scalars(select(Category).order_by(Category.name)).all(),
        areas=db.session.scalars(select(Area).order_by(Area.name)).all(),
        statuses=[s for s in STATUSES if s not in HIDDEN_STATUSES],
        labels=STATUS_LABELS,
        **extra,
    )
    return html, 400 if errors else 200


def filters_from(args: MultiDict[str, str]) -> tuple[services.Filters | None, Errors, int]:
    """The list filters from the query string, or the problems with it."""
    data, errors = validate_form(ComplaintFilters(), args)
    if data is None:
        return None, errors, 1
    filters = services.Filters(
        statuses=(data["status"],) if data["status"] else (),
        area_id=data["area"],
        submitted_from=_start_of(data["since"]),
        submitted_until=_start_of(data["until"] + timedelta(days=1) if data["until"] else None),
    )
    if data["category"]:
        category = db.session.scalar(
            select(Category).where(func.upper(Category.code) == data["category"].upper())
        )
        if category is None:
            return None, {"category": [_("Unknown category.")]}, 1
        filters.category_ids = (category.id,)
    return filters, {}, data["page"]


def _start_of(day: date | None) -> datetime | None:
    """Midnight of a day in the region's time zone, in UTC."""
    if day is None:
        return None
    zone = ZoneInfo(str(get_timezone()))
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


@bp.get("/foto/<int:photo_id>")
@public
def photo(photo_id: int) -> Response:
    """A photo of a complaint that is public, or that the officer may see."""
    found = db.session.scalar(select(Photo).where(Photo.id == photo_id))
    if found is None or not _photo_visible(found.complaint):
        abort(404)
    directory = photos.folder(current_app.instance_path, found.tenant_id)
    response = send_from_directory(directory, found.filename, mimetype=found.content_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _photo_visible(complaint: Complaint) -> bool:
    if complaint.status not in HIDDEN_STATUSES:
        return True
    if not current_user.is_authenticated:
        return False
    visible = select(Complaint.id).where(
        Complaint.id == complaint.id, runtime.visible_to(current_user)
    )
    return db.session.scalar(visible) is not None


# -- what the hooks return ---------------------------------------------------------


def menu_items(user: Any) -> list[MenuItem]:
    """The service for everyone; the inbox for officers; categories for the admin."""
    return [
        MenuItem(_("Complaints"), url_for("pengaduan.index"), order=25),
        MenuItem(
            _("Complaint inbox"),
            url_for("pengaduan_petugas.inbox"),
            section="user",
            permission=runtime.VIEW,
        ),
        MenuItem(
            _("Complaint categories"),
            url_for("pengaduan_kelola.index"),
            section="admin",
            permission=runtime.MANAGE,
            order=60,
        ),
    ]


def search_results(query: str) -> list[SearchResult]:
    """Public complaints whose text or tracking code matches ``query``."""
    statement = services.filtered(services.Filters(query=query), _public_select()).limit(10)
    return [
        SearchResult(
            title=f"{c.category.name}: {excerpt(c.description, 80)}",
            url=url_for("pengaduan.detail", complaint_id=c.id),
            summary=excerpt(c.description),
            kind=_("Complaint"),
        )
        for c in db.session.scalars(statement)
    ]


def excerpt(text: str, length: int = 160) -> str:
    """The first words of ``text``, cut at a word."""
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rsplit(" ", 1)[0] + "…"
