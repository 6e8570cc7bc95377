"""Citizens' pages of complaints (*pengaduan*): submit, follow by tracking code,
support, the public list and map. Nothing here shows who reported a complaint."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_timezone
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from balai import ratelimit, storage
from balai.api import PageDict, past_the_end
from balai.auth import current_user
from balai.db import db, utcnow
from balai.forms import validate_form
from balai.items import MenuItem, SearchResult
from balai.pagecache import cached_page
from balai.permissions import public, require
from balai.rules import rule_errors, rule_message
from balai.static import serve_static
from balai.storage import TenantFiles
from balai.text import clean_text
from balai_pengaduan import limiting, photos, runtime, services, sms
from balai_pengaduan.forms import (
    ComplaintFilters,
    PageForm,
    RatingForm,
    ReopenForm,
    SubmitForm,
)
from balai_pengaduan.models import Area, Category, Complaint, Photo
from balai_pengaduan.workflow import OPEN_STATUSES, STATUS_LABELS, STATUSES

__all__ = [
    "bp",
    "filters_from",
    "menu_items",
    "normalise_code",
    "own_menu_items",
    "progress",
    "public_condition",
    "search_results",
    "token_digest",
]

bp = Blueprint("pengaduan", __name__, url_prefix="/pengaduan", template_folder="templates")
serve_static(bp)  # the plugin's style sheet: url_for("pengaduan.static", filename=...)
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


@bp.get("/")
@public
def index() -> str:
    """The home of the complaint service: how to report, follow, and recent reports."""
    newest = _public_select().order_by(Complaint.submitted_at.desc(), Complaint.id.desc())
    recent = db.session.scalars(newest.limit(5)).all()
    return render_template(
        "pengaduan/index.html", recent=recent, labels=STATUS_LABELS, sms=sms.instructions()
    )


# -- submitting --------------------------------------------------------------------


@bp.route("/lapor", methods=["GET", "POST"])
@public
def submit() -> Any:
    """The complaint form. Similar open complaints nearby are offered on a review step
    before a new one is made; one form (its one-time ``token``) makes one complaint."""
    if request.method == "GET":
        start: dict[str, Any] = {"privacy": "public"}
        if current_user.is_authenticated:  # shown, so the reporter sees who they report as
            start |= {"reporter_name": current_user.name, "reporter_email": current_user.email}
        return _submit_page(start, {}, _new_token())
    token = _form_token()
    done = _by_token(token)
    if done is not None:  # sent twice (back, then send again): the first one, nothing new
        return redirect(url_for(".submitted", kode=done.tracking_code), 303)
    kept = photos.Pending(_photo_folder(), token)
    kept.discard(request.form.getlist("remove_photo"))
    values = {k: request.form.get(k, "") for k in SUBMIT_FIELDS}
    # Cheapest refusal first: the limits, then the fields and the photos, whose
    # decoding is the costly part of a request.
    reservation = _reserve()
    if not reservation.allowed:
        outcome = reservation.outcome
        errors = {"_form": [limiting.refusal_message(outcome)]}
        page, _status = _submit_page(values, errors, token)
        return page, 429, {"Retry-After": str(outcome.retry_after)}
    data, errors = validate_form(SubmitForm(), request.form)
    if data is not None:
        errors = _location_errors(data)
    try:
        read, photo_errors = _keep_photos(kept)
    except photos.StorageFull as exc:  # the disk is full: nothing was kept or saved
        reservation.give_back()
        page, _status = _submit_page(values, rule_errors(exc), token)
        return page, 507

    def not_sent() -> None:
        """Nothing is made: the hit goes back, unless photos were read (the costly part)."""
        if not read:
            reservation.give_back()

    if errors or photo_errors or data is None:
        not_sent()
        return _submit_page(values, {**errors, **photo_errors}, token)
    if request.form.get("edit"):  # "change my report" on the review step
        not_sent()
        return _submit_page(values, {}, token)
    if not request.form.get("anyway"):
        nearby = _possible_duplicates(data)
        if nearby:
            not_sent()
            return _review_page(values, token, nearby)
    try:
        complaint = _store(data, kept.load(), token)
    except _AlreadySent as sent:
        reservation.give_back()
        return redirect(url_for(".submitted", kode=sent.complaint.tracking_code), 303)
    except services.ComplaintError as exc:
        not_sent()
        return _submit_page(values, rule_errors(exc), token)
    except photos.PhotoError as exc:  # the disk is full: nothing was saved
        reservation.give_back()
        page, _status = _submit_page(values, rule_errors(exc), token)
        return page, 507
    kept.clear()
    return redirect(url_for(".submitted", kode=complaint.tracking_code))


TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")


def _new_token() -> str:
    """A form's one-time token: sent with it, it makes one complaint at most."""
    return secrets.token_urlsafe(24)


def _form_token() -> str:
    """The posted form's token; a form without one (an old page) gets a fresh one."""
    token = request.form.get("token", "")
    return token if TOKEN_RE.match(token) else _new_token()


def token_digest(token: str) -> str:
    """What is stored of a form's token (``Complaint.submit_token``)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _by_token(token: str) -> Complaint | None:
    return db.session.scalar(select(Complaint).where(Complaint.submit_token == token_digest(token)))


class _AlreadySent(Exception):
    """The same form was stored by a request running at the same moment."""

    def __init__(self, complaint: Complaint) -> None:
        super().__init__(complaint.tracking_code)
        self.complaint = complaint


def _photo_folder() -> TenantFiles:
    return photos.files()


def _location_errors(data: dict[str, Any]) -> Errors:
    """A point outside the region's known boundary, named as the rules name it."""
    if data["latitude"] is None:
        return {}
    refusal = services.outside_region(
        db.session, runtime.context(), data["latitude"], data["longitude"]
    )
    return rule_errors(refusal) if refusal is not None else {}


def _keep_photos(kept: photos.Pending) -> tuple[bool, Errors]:
    """Check the photos chosen in this request and keep them with the form's others;
    ``(whether any was read, errors)``. A form with a field in error keeps them too."""
    files = photos.chosen(request.files.getlist("photos"))
    if not files:
        return False, {}
    settings = runtime.settings()
    room = int(settings["max_photos"]) - len(kept.names())
    try:
        prepared = photos.prepare(files, max_photos=max(room, 0), max_mb=_photo_mb(settings))
        kept.add(prepared)
    except photos.StorageFull:
        raise
    except photos.PhotoError as exc:
        return True, rule_errors(exc)
    return True, {}


def _photo_mb(settings: dict[str, Any]) -> int:
    """The largest photo file, in MB: the setting, within what one request may carry."""
    return max(1, min(int(settings["max_photo_mb"]), _request_mb()))


def _request_mb() -> int:
    """What one request may carry in all (the app's ``MAX_CONTENT_LENGTH``), in MB."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or photos.MAX_UPLOAD_MB * photos.MB
    return max(1, int(limit) // photos.MB)


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


def _submit_page(values: dict[str, Any], errors: Errors, token: str) -> tuple[str, int]:
    settings = runtime.settings()
    kept = photos.Pending.for_page(_photo_folder(), token)
    html = render_template(
        "pengaduan/submit.html",
        values=values,
        errors=errors,
        token=token,
        kept=kept,
        groups=_category_groups(),
        max_photos=settings["max_photos"],
        max_photo_mb=_photo_mb(settings),
        request_mb=_request_mb(),
        sms=sms.instructions(),
    )
    return html, 422 if errors else 200


def _review_page(values: dict[str, Any], token: str, nearby: list[tuple[Complaint, float]]) -> str:
    """The step before sending: similar open complaints nearby, each with "support
    this one"; the form's photos are kept, so sending one's own needs nothing again."""
    settings = runtime.settings()
    return render_template(
        "pengaduan/review.html",
        nearby=nearby,
        values=values,
        token=token,
        kept=photos.Pending(_photo_folder(), token),
        category=_category_by_code(values["category"]),
        labels=STATUS_LABELS,
        max_photos=settings["max_photos"],
        max_photo_mb=_photo_mb(settings),
        radius=settings["duplicate_radius_m"],
        days=settings["duplicate_days"],
    )


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


def _submission(data: dict[str, Any], token: str) -> services.Submission:
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
        submit_token=token_digest(token),
    )


def _store(data: dict[str, Any], prepared: list[photos.PreparedPhoto], token: str) -> Complaint:
    """Record the complaint and its photos in one transaction; no stray file if it fails.

    :raises _AlreadySent: a request running at the same moment stored this form.
    """
    session = db.session
    directory = _photo_folder()
    written: list[str] = []
    try:
        complaint = services.submit(session, _submission(data, token), runtime.context())
        for photo in prepared:
            name = photos.write(directory, photo)
            written.append(name)
            complaint.photos.append(_photo_row(name, photo))
        session.flush()
        runtime.announce_submitted(complaint)
        session.commit()
    except IntegrityError:
        session.rollback()
        photos.remove(directory, written)
        first = _by_token(token)
        if first is None:
            raise
        raise _AlreadySent(first) from None
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


@bp.get("/lapor/foto/<key>/<name>")
@public
def kept_photo(key: str, name: str) -> Response:
    """A photo chosen in a form not sent yet (its thumbnail), by the form's key."""
    kept = photos.Pending.at(_photo_folder(), key)
    found = kept.file(name) if kept is not None else None
    if kept is None or found is None:
        abort(404)
    mimetype = photos.CONTENT_TYPES[found.rsplit(".", 1)[1]]
    return storage.send(kept.path, found, mimetype=mimetype, cache_control="private, max-age=600")


@bp.get("/terkirim")
@public
def submitted() -> str:
    """Confirmation with the tracking code, the one thing the reporter must keep; a
    logged-in reporter also finds the complaint under "My complaints"."""
    complaint = _by_code_or_404(request.args.get("kode", ""))
    return render_template("pengaduan/submitted.html", complaint=complaint, own=_is_own(complaint))


def _is_own(complaint: Complaint) -> bool:
    """Whether the complaint is linked to the logged-in user's account."""
    return bool(
        current_user.is_authenticated
        and complaint.reporter_id is not None
        and complaint.reporter_id == current_user.id
    )


# -- a citizen's own complaints ----------------------------------------------------


@bp.get("/saya")
@require()
def mine() -> tuple[str, int]:
    """The complaints the logged-in user filed while logged in (*pengaduan saya*),
    newest first, whatever their status: each links to its tracking page."""
    data, _errors = validate_form(PageForm(), request.args)
    if data is None:
        abort(404)
    statement = select(Complaint).where(Complaint.reporter_id == current_user.id)
    found = services.paginate(
        db.session,
        statement.order_by(Complaint.submitted_at.desc(), Complaint.id.desc()),
        data["page"],
        PAGE_SIZE,
    )
    if past_the_end(found):
        abort(404)
    return render_template("pengaduan/mine.html", found=found, labels=STATUS_LABELS), 200


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
    complaint: Complaint | None,
    code: str,
    errors: Errors,
    status: int = 200,
    note: str = "",
    rating_values: dict[str, str] | None = None,
) -> tuple[str, int]:
    html = render_template(
        "pengaduan/track.html",
        complaint=complaint,
        code=code,
        errors=errors,
        note=note,
        labels=STATUS_LABELS,
        reopen_until=_reopen_until(complaint) if complaint else None,
        may_rate=complaint is not None
        and complaint.status in services.RATED_STATUSES
        and complaint.rated_at is None,
        steps=progress(complaint) if complaint else None,
        rating_values=rating_values or {},
        own=_is_own(complaint) if complaint else False,
        # What no field of the page shows (a rule's refusal) goes on top.
        alerts=[m for k, ms in errors.items() if k not in TRACK_FIELDS for m in ms]
        if complaint
        else [],
    )
    return html, status


TRACK_FIELDS = ("kode", "note", "rating", "comment")


STEPS = ("received", "verified", "forwarded", "in_progress", "resolved")


def progress(complaint: Complaint) -> list[tuple[str, str]] | None:
    """The stepper of the tracking page: ``(status, "done" | "current" | "todo" |
    "skipped")`` per step of the usual path; ``None`` for a complaint that left it
    (rejected, duplicate). A complaint its routed department worked on without
    forwarding it skipped the "forwarded" step: it is not shown as done."""
    status = "resolved" if complaint.status == "closed" else complaint.status
    if status not in STEPS:
        return None
    at = STEPS.index(status)
    done_all = complaint.status == "closed"
    skipped = {"forwarded"} if complaint.forwarded_at is None else set()

    def state(n: int, step: str) -> str:
        if n < at or done_all:
            return "skipped" if step in skipped else "done"
        return "current" if n == at else "todo"

    return [(step, state(n, step)) for n, step in enumerate(STEPS)]


@bp.post("/lacak/nilai")
@public
def rate() -> Any:
    """The reporter rates the result of a resolved complaint (1 to 5, once); the
    tracking code proves it is theirs."""
    complaint = _by_code_or_404(request.form.get("kode", ""))
    values = {"rating": request.form.get("rating", ""), "comment": request.form.get("comment", "")}
    data, errors = validate_form(RatingForm(), request.form)
    if data is None:
        return _track_page(complaint, complaint.tracking_code, errors, 422, rating_values=values)
    try:
        services.rate(
            db.session,
            complaint,
            runtime.context(),
            rating=data["rating"],
            comment=data["comment"],
        )
    except services.ComplaintError as exc:
        db.session.rollback()
        errors = rule_errors(exc)
        return _track_page(complaint, complaint.tracking_code, errors, 422, rating_values=values)
    db.session.commit()
    flash(_("Thank you for rating the result."), "ok")
    return redirect(url_for(".track", kode=complaint.tracking_code))


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


def public_condition() -> ColumnElement[bool]:
    """SQL: the complaints anyone may see. Never rejected ones (spam, abuse); with the
    setting ``verify_before_public``, only those an officer has verified. Used by the
    pages, the feeds and Open311 alike."""
    hidden = set(HIDDEN_STATUSES)
    if runtime.settings().get("verify_before_public"):
        hidden |= services.UNVERIFIED_STATUSES
    return Complaint.status.not_in(sorted(hidden))


def _public_select() -> Select[Any]:
    return select(Complaint).where(public_condition())


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
    """Add one's support (*dukung*) to an open complaint instead of repeating it; from
    the review step, the photos kept for the form not sent are forgotten."""
    complaint = _public_or_404(complaint_id)
    token = request.form.get("token", "")
    if TOKEN_RE.match(token):
        photos.Pending(_photo_folder(), token).clear()
    try:
        added = services.support(db.session, complaint, _supporter())
    except services.ComplaintError as exc:
        db.session.rollback()
        flash(rule_message(exc), "error")
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
@cached_page
def listing() -> tuple[str, int]:
    """Every public complaint, filtered and a page at a time."""
    return _filtered_page("pengaduan/list.html", _public_select())


@bp.get("/peta")
@public
@cached_page
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
    found: PageDict = {"items": [], "page": 1, "per_page": PAGE_SIZE, "total": 0, "pages": 0}
    if filters is not None:
        found = services.paginate(
            db.session, services.filtered(filters, statement), page, PAGE_SIZE
        )
        if past_the_end(found):
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
    """A photo of a complaint that is public, that the officer may see, or whose
    tracking code is given (``?kode=``: the reporter, before verification)."""
    found = db.session.scalar(select(Photo).where(Photo.id == photo_id))
    if found is None or not _photo_visible(found.complaint):
        abort(404)
    return storage.send(
        photos.files(found.tenant_id),
        found.filename,
        mimetype=found.content_type,
        cache_control="private, max-age=3600",
    )


def _photo_visible(complaint: Complaint) -> bool:
    public_ = db.session.scalar(
        select(Complaint.id).where(Complaint.id == complaint.id, public_condition())
    )
    if public_ is not None or _is_own(complaint):
        return True
    code = request.args.get("kode", "")
    if code and normalise_code(code) == complaint.tracking_code:
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


def own_menu_items(user: Any) -> list[MenuItem]:
    """ "My complaints" in the account menu, for anyone logged in."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return [MenuItem(_("My complaints"), url_for("pengaduan.mine"), section="user", order=30)]


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
