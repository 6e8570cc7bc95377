"""What SATUSEHAT needs before a visit can be sent (no Flask here).

SATUSEHAT files an Encounter only when it refers to resources it holds: the
puskesmas's ``Organization``, the clinic's ``Location`` and the clinician's
``Practitioner``, each by the id SATUSEHAT gave it; a reference by name alone is
refused. The region enters those ids on the puskesmas, clinic and duty pages.

:func:`missing_ids` lists what the region has not entered yet (the export page shows
it, and sending cannot be switched on until it is empty); :func:`hold_reasons` says
why one visit cannot be sent as it stands, so its export is *held* with that reason
instead of being sent to be refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from balai_puskesmas.models import Clinic, Facility, Staff, Visit

__all__ = [
    "HOLD_LOCATION",
    "HOLD_ORGANIZATION",
    "HOLD_PRACTITIONER",
    "ID_HOLDS",
    "Missing",
    "hold_reasons",
    "missing_ids",
]

#: Why an export is held: the puskesmas has no SATUSEHAT Organization id...
HOLD_ORGANIZATION = "organization"
#: ...the clinic has no Location id...
HOLD_LOCATION = "location"
#: ...the clinician who recorded the visit has no Practitioner id (or is unknown).
HOLD_PRACTITIONER = "practitioner"
#: The reasons an admin resolves by entering ids; the sender releases those exports
#: by itself once the ids are there.
ID_HOLDS = (HOLD_ORGANIZATION, HOLD_LOCATION, HOLD_PRACTITIONER)


def _empty(value: str | None) -> bool:
    return not (value or "").strip()


@dataclass
class Missing:
    """The SATUSEHAT ids the region has not entered: active puskesmas without an
    Organization id, active clinics (of active puskesmas) without a Location id, and
    clinician duties (at active puskesmas) without a Practitioner id."""

    facilities: list[Facility] = field(default_factory=list)
    clinics: list[Clinic] = field(default_factory=list)
    clinicians: list[Staff] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.facilities or self.clinics or self.clinicians)


def missing_ids(session: Session) -> Missing:
    """What the region must still enter before its visits can be sent."""
    facilities = session.scalars(
        select(Facility).where(Facility.active.is_(True)).order_by(Facility.name, Facility.id)
    ).all()
    active = {f.id for f in facilities}
    clinics = session.scalars(
        select(Clinic)
        .where(Clinic.active.is_(True), Clinic.facility_id.in_(sorted(active)))
        .order_by(Clinic.facility_id, Clinic.position, Clinic.id)
    ).all()
    clinicians = session.scalars(
        select(Staff)
        .where(Staff.duty == "clinician", Staff.facility_id.in_(sorted(active)))
        .order_by(Staff.facility_id, Staff.id)
    ).all()
    return Missing(
        facilities=[f for f in facilities if _empty(f.satusehat_org_id)],
        clinics=[c for c in clinics if _empty(c.satusehat_location_id)],
        clinicians=[s for s in clinicians if _empty(s.nakes_id)],
    )


def hold_reasons(session: Session, visit: Visit) -> list[str]:
    """Why ``visit`` cannot be sent as it stands (:data:`ID_HOLDS`), in that order;
    empty when its puskesmas, clinic and clinician all have their SATUSEHAT ids."""
    reasons = []
    facility = session.get(Facility, visit.facility_id)
    if facility is None or _empty(facility.satusehat_org_id):
        reasons.append(HOLD_ORGANIZATION)
    clinic = session.get(Clinic, visit.clinic_id)
    if clinic is None or _empty(clinic.satusehat_location_id):
        reasons.append(HOLD_LOCATION)
    clinician = None
    if visit.clinician_id is not None:
        clinician = session.scalar(
            select(Staff).where(
                Staff.user_id == visit.clinician_id, Staff.facility_id == visit.facility_id
            )
        )
    if clinician is None or _empty(clinician.nakes_id):
        reasons.append(HOLD_PRACTITIONER)
    return reasons
