"""The admin's view of sending to SATUSEHAT (*kirim*): what SATUSEHAT still needs
(the ids of puskesmas, clinics and clinicians), the outbox, one export's outcome or
the reason it is held, sending a failed or held one again, and a visit's FHIR bundle
as a download.

The outbox pages show no personal data (dates, puskesmas, statuses, errors, hold
reasons, the resource types of a bundle), so ``EXPORT`` is enough for them. The bundle
download reveals the patient's IHS number, name and clinical data: it also needs a
duty that lets the officer read visits at that puskesmas, and it is written to the
audit trail.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import validate
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from balai.db import db, utcnow
from balai.fields import PageNumber, Text
from balai.forms import FormSchema, validate_form
from balai.permissions import require
from balai.rules import rule_errors
from balai_puskesmas import export, fhir, readiness, runtime, services
from balai_puskesmas.models import Clinic, Export, Facility, Visit
from balai_puskesmas.runtime import EXPORT

__all__ = ["HOLD_LABELS", "PAGE_SIZE", "STATUS_LABELS", "bp", "hold_labels"]

bp = Blueprint("puskesmas_kirim", __name__, url_prefix="/puskesmas/kirim")

PAGE_SIZE = 25
STATUSES = ("pending", export.HELD, "sent", "failed")
STATUS_LABELS = {
    "pending": _l("Waiting"),
    export.HELD: _l("Held"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
}
#: Why an export is held (``Export.hold_reason``), as the admin reads it.
HOLD_LABELS = {
    readiness.HOLD_ORGANIZATION: _l("The puskesmas has no SATUSEHAT Organization id."),
    readiness.HOLD_LOCATION: _l("The clinic has no SATUSEHAT Location id."),
    readiness.HOLD_PRACTITIONER: _l(
        "The clinician who recorded the visit has no SATUSEHAT Practitioner id."
    ),
    export.HOLD_PATIENT: _l(
        "SATUSEHAT has no patient with this NIK: the registration desk should check the "
        "NIK against the KTP or KK and correct it. SATUSEHAT is asked again once it is "
        "changed, and every day."
    ),
    export.HOLD_PATIENT_AMBIGUOUS: _l(
        "SATUSEHAT has more than one patient with this NIK: ask SATUSEHAT's help desk to "
        "merge them. SATUSEHAT is asked again every day."
    ),
}


def hold_labels(reason: str) -> list[str]:
    """The reasons of a held export, translated (an unknown code as it is)."""
    return [str(HOLD_LABELS.get(code, code)) for code in reason.split(",") if code]


class ExportFilters(FormSchema):
    """The outbox's filters."""

    status = Text(
        load_default=None,
        validate=validate.OneOf(STATUSES, error=_l("Choose a status from the list.")),
    )
    page = PageNumber(error_messages={"invalid": _l("Enter a number.")})


def _sending_state() -> dict[str, bool]:
    settings = runtime.settings()
    return {
        "enabled": bool(settings["export_enabled"]),
        "configured": bool(settings["satusehat_client_id"] and settings["satusehat_client_secret"]),
    }


@bp.get("/")
@require(EXPORT)
def index() -> tuple[str, int]:
    """Exports newest first, with the number in each status and a status filter."""
    data, errors = validate_form(ExportFilters(), request.args)
    rows: list[Any] = []
    total = 0
    page = 1
    if data is not None:
        page = data["page"]
        condition = Export.status == data["status"] if data["status"] else None
        count = select(func.count(Export.id))
        listing = (
            select(Export, Visit.started_at, Facility.name)
            .join(Visit, Visit.id == Export.visit_id)
            .join(Facility, Facility.id == Visit.facility_id)
            .order_by(Export.id.desc())
        )
        if condition is not None:
            count, listing = count.where(condition), listing.where(condition)
        total = db.session.scalar(count) or 0
        if page > max(math.ceil(total / PAGE_SIZE), 1):
            abort(404)
        rows = list(db.session.execute(listing.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    html = render_template(
        "puskesmas/exports/index.html",
        rows=rows,
        counts=export.counts(db.session),
        status=data["status"] if data else None,
        page=page,
        pages=math.ceil(total / PAGE_SIZE),
        total=total,
        errors=errors,
        labels=STATUS_LABELS,
        statuses=STATUSES,
        hold_labels=hold_labels,
        sending=_sending_state(),
        missing=readiness.missing_ids(db.session),
    )
    return html, 400 if errors else 200


def _export_or_404(export_id: int) -> tuple[Export, Visit, Facility, Clinic]:
    row = db.session.execute(
        select(Export, Visit, Facility, Clinic)
        .join(Visit, Visit.id == Export.visit_id)
        .join(Facility, Facility.id == Visit.facility_id)
        .join(Clinic, Clinic.id == Visit.clinic_id)
        .where(Export.id == export_id)
    ).first()
    if row is None:
        abort(404)
    return row[0], row[1], row[2], row[3]


@bp.get("/<int:export_id>")
@require(EXPORT)
def detail(export_id: int) -> str:
    """One export: its visit's date and puskesmas, attempts, the last error, the
    server's answer and the resource types of its bundle (not their content)."""
    found, visit, facility, clinic = _export_or_404(export_id)
    return render_template(
        "puskesmas/exports/detail.html",
        export=found,
        visit_started=visit.started_at,
        visit_id=visit.id,
        facility=facility,
        clinic=clinic,
        types=[tuple(pair) for pair in found.resource_types or []],
        labels=STATUS_LABELS,
        held_because=hold_labels(found.hold_reason) if found.status == export.HELD else [],
        may_download=services.can_read_visits_at(runtime.actor(), visit.facility_id),
        sending=_sending_state(),
    )


@bp.post("/<int:export_id>/ulang")
@require(EXPORT)
def send_again(export_id: int) -> Response:
    """Send a failed or held export again, its bundle built anew from the visit; a held
    one stays held while the SATUSEHAT ids it needs are missing."""
    try:
        export.retry(
            db.session,
            export_id,
            utcnow(),
            vault=runtime.vault(),
            actor=runtime.actor(),
            zone=str(get_timezone()),
        )
    except services.PuskesmasError as exc:
        if exc.status == 404:
            abort(404)
        db.session.commit()  # keeps the reason a rebuild failed, if so
        for messages in rule_errors(exc).values():
            for message in messages:
                flash(message, "error")
    else:
        db.session.commit()
        flash(_("The export will be sent again within a minute."), "ok")
    return redirect(url_for(".detail", export_id=export_id))


@bp.get("/kunjungan/<int:visit_id>.json")
@require(EXPORT)
def visit_bundle(visit_id: int) -> Response:
    """The visit's FHIR R4 bundle as it would be sent now, as a download.

    It holds the patient's IHS number, name and clinical data: only for an officer whose
    duty lets them read the visit, and written to the audit trail. A visit whose
    patient has not been looked up in SATUSEHAT yet has no bundle to show (422).
    """
    visit = db.session.get(Visit, visit_id)
    if visit is None:
        abort(404)
    actor = runtime.actor()
    if not services.can_read_visits_at(actor, visit.facility_id):
        abort(403, description=_("You have no duty at this puskesmas that allows this."))
    audited = services.audit(
        db.session,
        actor,
        "visit.export",
        utcnow(),
        patient_id=visit.patient_id,
        facility_id=visit.facility_id,
        detail=f"visit {visit.id}: FHIR bundle downloaded",
    )
    try:
        bundle = export.build_bundle(
            db.session, runtime.vault(), visit, audited, zone=str(get_timezone())
        )
    except fhir.FhirError as exc:
        db.session.rollback()  # nothing was shown: no entry
        html = render_template("puskesmas/exports/unbuildable.html", reason=str(exc))
        return Response(html, status=422, mimetype="text/html")
    db.session.commit()
    body = json.dumps(bundle, ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/fhir+json")
    response.headers["Content-Disposition"] = f'attachment; filename="kunjungan-{visit.id}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response
