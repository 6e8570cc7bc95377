"""Citizens' queue pages (*antrean puskesmas*): the list of puskesmas, taking a number,
following it, the lobby kiosk and the display board. No login is needed anywhere here,
and nothing shows who holds a number: a ticket is reached only by its unguessable code.
The rules are in :mod:`balai_puskesmas.queue`."""

from __future__ import annotations

import re
from datetime import date
from math import ceil
from typing import Any

from babel.dates import get_day_names
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from marshmallow import validate
from sqlalchemy import select
from werkzeug.wrappers import Response

from balai.api import paginate, past_the_end
from balai.auth import current_user
from balai.db import db, utcnow
from balai.fields import Date, Id, Text, int_arg
from balai.forms import FormSchema, validate_form
from balai.pagecache import cached_page
from balai.permissions import public, require
from balai.rules import rule_errors
from balai.sms import webhook_enabled
from balai.static import serve_static
from balai_puskesmas import limiting, queue, runtime
from balai_puskesmas.models import Clinic, Facility, Ticket
from balai_puskesmas.services import PuskesmasError

__all__ = [
    "PAGE_SIZE",
    "KioskForm",
    "TakeForm",
    "active_facility_or_404",
    "bp",
    "opening_hours",
    "tel_uri",
    "today",
    "zone",
]

bp = Blueprint("puskesmas", __name__, url_prefix="/puskesmas", template_folder="templates")
serve_static(bp)  # style sheets and scripts: url_for("puskesmas.static", filename=...)
PAGE_SIZE = 20
TAKE_FIELDS = ("clinic", "day", "nik", "phone")
DASH = "\u2013"  # an en dash between the first and last day, the opening and closing time
#: A waiting ticket's page reloads itself this often, unless opened with ``?segar=0``.
TICKET_RELOAD_SECONDS = 30
KIOSK_RETURN_SECONDS = 45  # the kiosk's ticket page goes back to the buttons by itself
#: The kiosk's buttons (and a refusal shown on them) go back to a clean start by
#: themselves: a NIK typed and left on the screen is gone, the counts are fresh.
KIOSK_IDLE_SECONDS = 90
KIOSK_SHOWN = "puskesmas_kiosk_ticket"  # session key: the kiosk's ticket not shown yet
KIOSK_DEVICE = "puskesmas_kiosk"  # session key: [tenant id, facility id] of an opened kiosk
Errors = dict[str, list[str]]


# -- forms -------------------------------------------------------------------------


def _nik_field() -> Text:
    return Text(
        load_default=None,
        validate=validate.Length(max=32, error=_l("A NIK is exactly 16 digits.")),
    )


def _phone_field() -> Text:
    return Text(
        load_default=None,
        validate=validate.Length(
            max=30, error=_l("Enter an Indonesian mobile number, e.g. 0812 3456 7890.")
        ),
    )


def _clinic_field() -> Id:
    return Id(
        required=True,
        error_messages={
            "required": _l("Choose a clinic."),
            "invalid": _l("Choose a clinic from the list."),
        },
    )


class TakeForm(FormSchema):
    """Taking a number on the web (*ambil nomor antrean*)."""

    clinic = _clinic_field()
    day = Date(
        required=True,
        error_messages={
            "required": _l("Choose a day."),
            "invalid": _l("Choose a day from the list."),
        },
    )
    nik = _nik_field()
    phone = _phone_field()


class KioskForm(FormSchema):
    """A button pressed at the lobby kiosk (today, optional NIK)."""

    clinic = _clinic_field()
    nik = _nik_field()


class DeskTakeForm(FormSchema):
    """A walk-in's number given at the desk (today, optional NIK and phone)."""

    nik = _nik_field()
    phone = _phone_field()


# -- helpers shared with the desk, the SMS handler and the feeds -----------------------


def zone() -> str:
    """The region's time zone name."""
    return str(get_timezone() or current_app.config["BABEL_DEFAULT_TIMEZONE"])


def today() -> date:
    """The region's calendar day now."""
    return queue.region_today(utcnow(), zone())


def region_today_of(now: Any) -> date:
    """The region's calendar day at ``now``."""
    return queue.region_today(now, zone())


def active_facility_or_404(facility_id: int) -> Facility:
    facility = db.session.scalar(select(Facility).where(Facility.id == facility_id))
    if facility is None or not facility.active:
        abort(404)
    return facility


def _active_clinics(facility_id: int | None = None) -> list[Clinic]:
    stmt = (
        select(Clinic)
        .join(Facility, Facility.id == Clinic.facility_id)
        .where(Clinic.active.is_(True), Facility.active.is_(True))
        .order_by(Facility.name, Facility.id, Clinic.position, Clinic.id)
    )
    if facility_id is not None:
        stmt = stmt.where(Clinic.facility_id == facility_id)
    return list(db.session.scalars(stmt))


def opening_hours(facility: Facility) -> list[tuple[str, str]]:
    """``[("Senin-Jumat", "07:30-14:00"), ("Sabtu", "07:30-12:00")]``: consecutive days
    with the same hours grouped, in the visitor's language."""
    names = get_day_names("wide", locale=get_locale())  # 0 = Monday
    hours = facility.hours or {}
    groups: list[tuple[int, int, str]] = []
    for day in range(1, 8):
        span = hours.get(str(day))
        if not span:
            continue
        text = DASH.join(str(part) for part in span)
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == text:
            groups[-1] = (groups[-1][0], day, text)
        else:
            groups.append((day, day, text))
    return [
        (names[a - 1] if a == b else f"{names[a - 1]}{DASH}{names[b - 1]}", text)
        for a, b, text in groups
    ]


def number_size(number: str) -> str:
    """The style class that sizes a ticket's number to its card by its length (the
    number is never broken over two lines): ``UMUM-012`` needs none."""
    for chars in (8, 11, 15):
        if len(number) <= chars:
            return "" if chars == 8 else f"chars-{chars}"
    return "chars-24"


@bp.app_template_filter("number_size")
def _number_size_filter(number: str) -> str:
    return number_size(number)


def qr_svg(text: str, title: str) -> Markup:
    """``text`` as a QR code, an inline SVG drawn on the server (no script, no request
    to another site), sized by the style sheet (class ``kiosk-qr``). ``segno`` is
    imported here: only the kiosk's ticket needs it, not every start of the app."""
    import segno

    code = segno.make(text, error="m", micro=False)
    svg = code.svg_inline(
        scale=1,
        border=2,
        dark="#000",
        light="#fff",
        svgclass="kiosk-qr",
        title=title,
        omitsize=True,
    )
    return Markup(svg)  # noqa: S704 - segno's own SVG; the title is escaped by segno


def tel_uri(phone: str) -> str:
    """A ``tel:`` address for a phone number as typed: ``(021) 552-3456`` → ``tel:0215523456``;
    a leading ``+`` is kept."""
    digits = re.sub(r"[^0-9]", "", phone)
    return "tel:" + ("+" if phone.strip().startswith("+") else "") + digits


def private(body: Any, status: int | None = None) -> Response:
    """A page that must not be kept by the browser or a proxy: it carries a ticket's code,
    which lets its holder (and anyone with it) cancel the number; on a shared kiosk the
    next person must not get it back with the Back button."""
    response = make_response(body) if status is None else make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


# -- the list of puskesmas -----------------------------------------------------------


@bp.get("/")
@public
def index() -> str:
    """The region's active puskesmas, their clinics and how many wait today."""
    active = select(Facility).where(Facility.active.is_(True)).order_by(Facility.name, Facility.id)
    found = paginate(active, int_arg(request.args, "page") or 1, PAGE_SIZE)
    if past_the_end(found):
        abort(404)
    facilities = found["items"]
    day = today()
    clinic_ids = [c.id for f in facilities for c in f.clinics if c.active]
    return render_template(
        "puskesmas/index.html",
        facilities=facilities,
        waiting=queue.waiting_counts(db.session, day, clinic_ids),
        day=day,
        page=found["page"],
        pages=found["pages"],
        opening_hours=opening_hours,
        tel=tel_uri,
        sms_number=sms_number(),
    )


def sms_number() -> str | None:
    """Where citizens send ``ANTRE`` messages, once the region can receive them: its SMS
    webhook is set up and the setting ``sms_number`` says where to send; else ``None``
    (the page then says nothing of SMS)."""
    number = str(runtime.settings().get("sms_number") or "").strip()
    return number if number and webhook_enabled(g.tenant) else None


# -- taking a number on the web ----------------------------------------------------------


@bp.route("/antrean/ambil", methods=["GET", "POST"])
@public
def take() -> Any:
    """The form to take a number: puskesmas and clinic, the day, optional NIK and phone."""
    if request.method == "GET":
        start = {"clinic": request.args.get("poli", ""), "day": ""}  # the first open day
        return _take_page(start, {})
    values = {name: request.form.get(name, "") for name in TAKE_FIELDS}
    data, errors = validate_form(TakeForm(), request.form)
    if data is None:
        return _take_page(values, errors)
    reservation = limiting.reserve(phone=data["phone"])
    if not reservation.allowed:
        # Not a mistake in the form: say so, and when to try again. Only the limit
        # per phone number points at a field (another number, or none, is allowed).
        outcome = reservation.outcome
        phone = [_("Too many queue numbers with this mobile number for now.")]
        html, _status = _take_page(
            values,
            {"phone": phone} if limiting.refused_phone(outcome) else {},
            limited=limiting.refusal_message(outcome),
        )
        return html, 429, {"Retry-After": str(outcome.retry_after)}
    try:
        ticket = queue.take_number(
            db.session,
            runtime.vault(),
            data["clinic"],
            data["day"],
            utcnow(),
            channel="web",
            days_ahead=int(runtime.settings()["days_ahead"]),
            closed_on_holidays=runtime.settings()["closed_on_holidays"],
            timezone=zone(),
            nik=data["nik"],
            phone=data["phone"],
            user_id=_user_id(),
            one_per_person=bool(runtime.settings()["one_number_per_person"]),
            desk_share_percent=int(runtime.settings()["desk_share_percent"]),
        )
    except PuskesmasError as exc:
        db.session.rollback()
        reservation.refused(exc)
        return _take_page(values, rule_errors(exc))
    db.session.commit()
    return redirect(url_for(".ticket", code=ticket.code))


def _take_page(
    values: dict[str, Any], errors: Errors, *, limited: str | None = None
) -> tuple[str, int]:
    """The form; ``limited``: why no number was given now (a limit, not a mistake)."""
    clinics = _active_clinics()
    groups: dict[int, tuple[Facility, list[Clinic]]] = {}
    for clinic in clinics:
        groups.setdefault(clinic.facility_id, (clinic.facility, []))[1].append(clinic)
    # Only the days a number can be had: of the chosen clinic's puskesmas once one is
    # chosen (``?poli=`` or the form sent back), else of any puskesmas.
    chosen = next((c for c in clinics if str(c.id) == str(values.get("clinic", ""))), None)
    now = utcnow()
    settings = runtime.settings()
    days = queue.open_days(
        db.session,
        [chosen.facility] if chosen is not None else [f for f, _c in groups.values()],
        queue.bookable_days(now, zone(), int(settings["days_ahead"])),
        now,
        zone(),
        closed_on_holidays=bool(settings["closed_on_holidays"]),
    )
    html = render_template(
        "puskesmas/take.html",
        groups=list(groups.values()),
        days=days,
        chosen=chosen,
        today=region_today_of(now),
        values=values,
        errors=errors,
        limited=limited,
        logged_in=current_user.is_authenticated,
    )
    return html, 400 if errors else 200


# -- following a number ----------------------------------------------------------------


def _ticket_or_404(code: str) -> Ticket:
    ticket = queue.ticket_by_code(db.session, code)
    if ticket is None:
        abort(404)
    return ticket


@bp.get("/antrean/saya")
@require()
def my_tickets() -> Response:
    """The numbers the citizen took on the web or in the app while logged in, latest day
    first, each with its status and a link to its page."""
    page = int_arg(request.args, "page") or 1
    tickets, total = queue.my_tickets(db.session, current_user.id, page=page, per_page=PAGE_SIZE)
    pages = ceil(total / PAGE_SIZE)
    if page > max(pages, 1):
        abort(404)
    html = render_template(
        "puskesmas/my_tickets.html",
        tickets=tickets,
        total=total,
        page=page,
        pages=pages,
        today=today(),
        labels=queue.STATUS_LABELS,
        display_number=queue.display_number,
    )
    return private(html)


@bp.get("/antrean/<code>")
@public
def ticket(code: str) -> Response:
    """The holder's page: the number, how many are ahead, the estimated wait."""
    return _ticket_page(_ticket_or_404(code), {})


def _ticket_page(ticket: Ticket, errors: Errors, status: int = 200) -> Response:
    ahead, minutes = queue.estimate(db.session, ticket)
    now = utcnow()
    day = region_today_of(now)
    live = ticket.status == "waiting" and ticket.day == day
    reload_off = request.args.get("segar") == "0"
    html = render_template(
        "puskesmas/ticket.html",
        ticket=ticket,
        number=queue.display_number(ticket),
        ahead=ahead,
        minutes=minutes,
        called_at=queue.estimated_call(db.session, ticket, now, zone()),
        own=current_user.is_authenticated and ticket.user_id == current_user.id,
        logged_in=current_user.is_authenticated,
        serving=queue.current_called(db.session, ticket.clinic_id, ticket.day),
        labels=queue.STATUS_LABELS,
        errors=errors,
        refresh=None if reload_off or not live else TICKET_RELOAD_SECONDS,
        reload_off=reload_off and live,
        reload_seconds=TICKET_RELOAD_SECONDS,
        is_today=ticket.day == day,
        display_number=queue.display_number,
    )
    return private(html, status)


@bp.get("/antrean/<code>/batal")
@public
def confirm_cancel(code: str) -> Response:
    """Ask before cancelling (no script needed): the page's button posts to :func:`cancel`.
    A number that no longer waits goes back to its page, which says why."""
    ticket = _ticket_or_404(code)
    if ticket.status != "waiting":
        return redirect(url_for(".ticket", code=ticket.code))
    html = render_template(
        "puskesmas/cancel.html", ticket=ticket, number=queue.display_number(ticket)
    )
    return private(html)


@bp.post("/antrean/<code>/batal")
@public
def cancel(code: str) -> Any:
    """The holder gives the number up (only while it waits)."""
    try:
        ticket = queue.cancel_by_holder(db.session, code, utcnow())
    except PuskesmasError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        return _ticket_page(_ticket_or_404(code), rule_errors(exc), exc.status)
    db.session.commit()
    flash(_("Your number %(number)s is cancelled.", number=queue.display_number(ticket)), "ok")
    return redirect(url_for(".ticket", code=ticket.code))


# -- the kiosk in the lobby ------------------------------------------------------------


@bp.route("/<int:facility_id>/kios", methods=["GET", "POST"])
@public
def kiosk(facility_id: int) -> Any:
    """A big button per clinic: a number for today, printed or read off the screen.

    Only on a device the puskesmas' staff opened as its kiosk (``desk.open_kiosk``):
    the kiosk is exempt from the limits on taking numbers, so it must not be a way
    around them for anyone on the internet."""
    facility = active_facility_or_404(facility_id)
    if session.get(KIOSK_DEVICE) != [g.tenant.id, facility.id]:
        html = render_template("puskesmas/kiosk_closed.html", facility=facility, minimal=True)
        return private(html, 403)
    clinics = _active_clinics(facility.id)
    if request.method == "GET":
        return _kiosk_page(facility, clinics, {}, "")
    data, errors = validate_form(KioskForm(), request.form)
    nik = request.form.get("nik", "")
    if data is None:
        return _kiosk_page(facility, clinics, errors, nik)
    if data["clinic"] not in {c.id for c in clinics}:
        unknown = {"clinic": [_("Choose a clinic from the list.")]}
        return _kiosk_page(facility, clinics, unknown, nik)
    try:
        ticket = queue.take_number(
            db.session,
            runtime.vault(),
            data["clinic"],
            today(),
            utcnow(),
            channel="kiosk",
            days_ahead=0,
            closed_on_holidays=runtime.settings()["closed_on_holidays"],
            timezone=zone(),
            nik=data["nik"],
        )
    except PuskesmasError as exc:
        db.session.rollback()
        return _kiosk_page(facility, clinics, rule_errors(exc), nik)
    db.session.commit()
    session[KIOSK_SHOWN] = ticket.code
    return redirect(url_for(".kiosk_ticket", facility_id=facility.id, code=ticket.code))


def _kiosk_page(facility: Facility, clinics: list[Clinic], errors: Errors, nik: str) -> Response:
    html = render_template(
        "puskesmas/kiosk.html",
        refresh=KIOSK_IDLE_SECONDS,
        refresh_url=url_for(".kiosk", facility_id=facility.id),
        facility=facility,
        clinics=clinics,
        waiting=queue.waiting_counts(db.session, today(), [c.id for c in clinics]),
        open_today=bool((facility.hours or {}).get(str(today().isoweekday()))),
        errors=errors,
        nik=nik,
        minimal=True,
    )
    return private(html, 400 if errors else 200)


@bp.get("/<int:facility_id>/kios/<code>")
@public
def kiosk_ticket(facility_id: int, code: str) -> Response:
    """The number just taken, big enough to read from afar and to print.

    Shown once, to the kiosk that took it: shown again (the next person pressing Back, or
    an address typed in), it goes back to the kiosk's buttons. The holder follows the
    number on the ticket's own page."""
    facility = active_facility_or_404(facility_id)
    ticket = _ticket_or_404(code)
    if ticket.facility_id != facility.id:
        abort(404)
    if session.pop(KIOSK_SHOWN, None) != ticket.code:
        return private(redirect(url_for(".kiosk", facility_id=facility.id)))
    ahead, minutes = queue.estimate(db.session, ticket)
    link = url_for(".ticket", code=ticket.code, _external=True)
    now = utcnow()
    html = render_template(
        "puskesmas/kiosk_ticket.html",
        called_at=queue.estimated_call(db.session, ticket, now, zone()),
        facility=facility,
        ticket=ticket,
        number=queue.display_number(ticket),
        ahead=ahead,
        minutes=minutes,
        link=link,
        qr=qr_svg(link, _("QR code of the address to follow the number")),
        refresh=KIOSK_RETURN_SECONDS,
        refresh_url=url_for(".kiosk", facility_id=facility.id),
        minimal=True,
    )
    return private(html)


# -- the display board ---------------------------------------------------------------


@bp.get("/<int:facility_id>/layar")
@public
@cached_page
def board(facility_id: int) -> str:
    """The waiting room's screen: each clinic's current number, large; reloads itself."""
    facility = active_facility_or_404(facility_id)
    return render_template(
        "puskesmas/board.html",
        facility=facility,
        rows=queue.board(db.session, facility.id, today()),
        refresh=int(runtime.settings()["board_refresh_seconds"]),
        updated=utcnow(),
        display_number=queue.display_number,
        minimal=True,
    )
