"""The registration desk's queue (*loket antrean*): call the next number, call again,
pass over, mark served, and give walk-ins a number.

Every page needs the permission :data:`~balai_puskesmas.runtime.SERVE` and a
registration or clinician duty at the clinic's puskesmas: an unknown clinic or ticket
(another region's included) answers 404, one of a puskesmas without the officer's
duty 403. The desk shows numbers, never who holds them.
"""

from __future__ import annotations

from math import ceil
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from balai.api import past_the_end
from balai.auth import current_user, end_session
from balai.db import db, utcnow
from balai.fields import int_arg
from balai.forms import validate_form
from balai.permissions import has_permission, require
from balai.plugins import hooks
from balai.rules import rule_errors
from balai_puskesmas import patients, queue, runtime
from balai_puskesmas.models import Clinic, Facility, Ticket
from balai_puskesmas.runtime import READ, RECORD, REGISTER, SERVE
from balai_puskesmas.services import PuskesmasError, facilities_with, require_duty
from balai_puskesmas.views import KIOSK_DEVICE, DeskTakeForm, today, zone

__all__ = ["PER_PAGE", "bp"]

bp = Blueprint(
    "puskesmas_loket", __name__, url_prefix="/puskesmas/loket", template_folder="templates"
)
PER_PAGE = 50  # waiting numbers shown at once
REVIEW_PAGE = 20  # flagged patients shown at once
Errors = dict[str, list[str]]


def _clinic_or_abort(clinic_id: int) -> Clinic:
    try:
        return queue.desk_clinic(db.session, runtime.actor(), clinic_id)
    except PuskesmasError as exc:
        runtime.abort_for(exc)
        raise  # abort_for always raises


def _announce(ticket: Ticket) -> None:
    """Tell the enabled plugins (this one's SMS to the holder included) of the call."""
    hooks().ticket_called(tenant=g.tenant, ticket=ticket, session=db.session)


# -- the officer's clinics -------------------------------------------------------------


@bp.get("/")
@require(SERVE)
def index() -> str:
    """The clinics of the puskesmas where the officer has a desk duty, with today's queue."""
    facility_ids = facilities_with(runtime.actor(), *queue.DESK_DUTIES)
    facilities = (
        db.session.scalars(
            select(Facility)
            .where(Facility.id.in_(sorted(facility_ids)), Facility.active.is_(True))
            .order_by(Facility.name, Facility.id)
        ).all()
        if facility_ids
        else []
    )
    day = today()
    clinics = [c for f in facilities for c in f.clinics if c.active]
    return render_template(
        "puskesmas/desk/index.html",
        facilities=facilities,
        waiting=queue.waiting_counts(db.session, day, [c.id for c in clinics]),
        current={c.id: queue.current_called(db.session, c.id, day) for c in clinics},
        display_number=queue.display_number,
        day=day,
    )


# -- one clinic's queue -------------------------------------------------------------------


@bp.get("/<int:clinic_id>")
@require(SERVE)
def clinic(clinic_id: int) -> tuple[str, int]:
    """Today's queue of the clinic: called, waiting (a page at a time), skipped, counts."""
    return _clinic_page(_clinic_or_abort(clinic_id), {}, {})


def _clinic_page(
    clinic: Clinic, errors: Errors, values: dict[str, str], status: int = 200
) -> tuple[str, int]:
    page = int_arg(request.args, "page") or 1
    day = today()
    found = queue.clinic_queue(db.session, clinic, day, page=page, per_page=PER_PAGE)
    duty = runtime.actor().duties.get(clinic.facility_id)
    html = render_template(
        "puskesmas/desk/clinic.html",
        clinic=clinic,
        queue=found,
        day=day,
        page=page,
        pages=ceil(found.waiting_total / PER_PAGE),
        errors=errors,
        values=values,
        channels=queue.CHANNEL_LABELS,
        display_number=queue.display_number,
        # what the officer's duty here leads to for a called number: recording the
        # visit is the clinician's; registering a patient the registration desk's.
        can_record=duty == "clinician" and has_permission(current_user, RECORD),
        can_register=duty == "registration" and has_permission(current_user, REGISTER),
        can_find=has_permission(current_user, READ),
    )
    return html, status


def _refused(exc: PuskesmasError, clinic_id: int) -> tuple[str, int]:
    """A move the rules refused: 403 and 404 as error pages, 409 on the queue's page."""
    db.session.rollback()
    if exc.status in (403, 404):
        runtime.abort_for(exc)
    return _clinic_page(_clinic_or_abort(clinic_id), rule_errors(exc), {}, exc.status)


def _back(clinic_id: int) -> Response:
    return redirect(url_for(".clinic", clinic_id=clinic_id))


@bp.post("/<int:clinic_id>/panggil")
@require(SERVE)
def call(clinic_id: int) -> Any:
    """Call the lowest waiting number."""
    try:
        ticket = queue.call_next(db.session, runtime.actor(), clinic_id, today(), utcnow())
    except PuskesmasError as exc:
        return _refused(exc, clinic_id)
    if ticket is None:
        db.session.rollback()
        flash(_("Nobody is waiting."), "error")
        return _back(clinic_id)
    _announce(ticket)
    db.session.commit()
    flash(_("%(number)s called.", number=queue.display_number(ticket)), "ok")
    return _back(clinic_id)


def _ticket_clinic(ticket_id: int) -> int:
    """The clinic of a ticket the rules just refused to move (it exists: 409)."""
    clinic_id = db.session.scalar(select(Ticket.clinic_id).where(Ticket.id == ticket_id))
    return int(clinic_id or 0)


@bp.post("/tiket/<int:ticket_id>/ulang")
@require(SERVE)
def recall(ticket_id: int) -> Any:
    """Call a called or passed-over number again."""
    try:
        ticket = queue.recall(db.session, runtime.actor(), ticket_id, utcnow())
    except PuskesmasError as exc:
        return _refused(exc, _ticket_clinic(ticket_id))
    _announce(ticket)
    db.session.commit()
    flash(_("%(number)s called again.", number=queue.display_number(ticket)), "ok")
    return _back(ticket.clinic_id)


@bp.post("/tiket/<int:ticket_id>/lewati")
@require(SERVE)
def skip(ticket_id: int) -> Any:
    """Pass over a number whose holder is not there."""
    try:
        ticket = queue.skip(db.session, runtime.actor(), ticket_id, utcnow())
    except PuskesmasError as exc:
        return _refused(exc, _ticket_clinic(ticket_id))
    db.session.commit()
    flash(_("%(number)s passed over.", number=queue.display_number(ticket)), "ok")
    return _back(ticket.clinic_id)


@bp.post("/tiket/<int:ticket_id>/selesai")
@require(SERVE)
def finish(ticket_id: int) -> Any:
    """Mark a called number served."""
    try:
        ticket = queue.finish(db.session, runtime.actor(), ticket_id, utcnow())
    except PuskesmasError as exc:
        return _refused(exc, _ticket_clinic(ticket_id))
    db.session.commit()
    flash(_("%(number)s served.", number=queue.display_number(ticket)), "ok")
    return _back(ticket.clinic_id)


@bp.post("/kios/<int:facility_id>")
@require(SERVE)
def open_kiosk(facility_id: int) -> Response:
    """Make this browser the lobby kiosk of the puskesmas, and log the officer out of it.

    The kiosk gives numbers without the limits of the web form, so only staff with a
    desk duty there may open one; the device then holds no officer's login. It stays
    a kiosk until its browser is closed or someone logs in on it.
    """
    facility = db.session.scalar(
        select(Facility).where(Facility.id == facility_id, Facility.active.is_(True))
    )
    if facility is None:
        abort(404)
    try:
        require_duty(runtime.actor(), facility.id, *queue.DESK_DUTIES)
    except PuskesmasError as exc:
        runtime.abort_for(exc)
    end_session(db.session)
    session[KIOSK_DEVICE] = [g.tenant.id, facility.id]
    return redirect(url_for("puskesmas.kiosk", facility_id=facility.id))


@bp.post("/<int:clinic_id>/ambil")
@require(SERVE)
def take(clinic_id: int) -> Any:
    """A number for today for someone at the desk (optional NIK and phone)."""
    clinic = _clinic_or_abort(clinic_id)
    values = {name: request.form.get(name, "") for name in ("nik", "phone")}
    data, errors = validate_form(DeskTakeForm(), request.form)
    if data is None:
        return _clinic_page(clinic, errors, values, 400)
    try:
        ticket = queue.take_number(
            db.session,
            runtime.vault(),
            clinic.id,
            today(),
            utcnow(),
            channel="desk",
            days_ahead=0,
            closed_on_holidays=runtime.settings()["closed_on_holidays"],
            timezone=zone(),
            nik=data["nik"],
            phone=data["phone"],
        )
    except PuskesmasError as exc:
        db.session.rollback()
        return _clinic_page(_clinic_or_abort(clinic_id), rule_errors(exc), values, 400)
    db.session.commit()
    flash(_("Number %(number)s given.", number=queue.display_number(ticket)), "ok")
    return _back(clinic.id)


# -- patients registered with data that differ from their NIK ---------------------------


@bp.get("/tinjau")
@require(REGISTER)
def flagged() -> Any:
    """The patients registered with a date of birth or sex that differs from the NIK
    (with the desk's reason), waiting for a review; ``?status=reviewed``: those reviewed.
    The registration desk's (a registration duty somewhere); the read is audited."""
    reviewed = request.args.get("status") == "reviewed"
    page = int_arg(request.args, "page") or 1
    try:
        found = patients.flagged(
            db.session,
            runtime.actor(),
            utcnow(),
            reviewed=reviewed,
            page=page,
            per_page=REVIEW_PAGE,
        )
    except PuskesmasError as exc:
        db.session.rollback()
        runtime.abort_for(exc)
    if past_the_end(found):
        db.session.rollback()
        abort(404)
    db.session.commit()
    return render_template("puskesmas/desk/flagged.html", found=found, reviewed=reviewed)


@bp.post("/tinjau/<int:patient_id>")
@require(REGISTER)
def review(patient_id: int) -> Response:
    """Mark a flagged patient reviewed (audited)."""
    try:
        patient = patients.review(db.session, runtime.actor(), patient_id, utcnow())
    except PuskesmasError as exc:
        db.session.rollback()
        if exc.status in (403, 404):
            runtime.abort_for(exc)
        for messages in rule_errors(exc).values():
            for message in messages:
                flash(message, "error")
        return redirect(url_for(".flagged"))
    db.session.commit()
    flash(_("%(name)s is marked as reviewed.", name=patient.name), "ok")
    return redirect(url_for(".flagged"))
