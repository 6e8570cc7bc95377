"""Tables of the e-Puskesmas plugin (``puskesmas_*``).

Personal identifiers (NIK, BPJS number, phone) are stored encrypted with the
region's key (``*_cipher``), next to a keyed hash for exact lookup (``*_hash``):
see :mod:`balai_puskesmas.vault`. Names, birth dates and clinical notes are not
searchable by hash and stay readable to the database, as in any health record.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from balai.auth import User
from balai.db import Base, TenantScoped, utcnow

__all__ = [
    "DUTIES",
    "PROFESSIONS",
    "SEXES",
    "TICKET_STATUSES",
    "AuditEntry",
    "Clinic",
    "Diagnosis",
    "Export",
    "Facility",
    "Icd10Synonym",
    "Patient",
    "Prescription",
    "QueueCounter",
    "Referral",
    "Staff",
    "Ticket",
    "Visit",
]

#: What an officer does at a puskesmas (*tugas*).
DUTIES = ("registration", "clinician", "viewer")
#: A clinician's profession, for the FHIR Practitioner role.
PROFESSIONS = ("doctor", "nurse", "midwife", "dentist")
#: FHIR ``AdministrativeGender`` values used for patients.
SEXES = ("male", "female")
#: Where a queue ticket stands.
TICKET_STATUSES = ("waiting", "called", "served", "skipped", "cancelled")


class Facility(TenantScoped, Base):
    """A community health centre (*puskesmas*).

    ``hours`` maps ISO weekdays (``"1"`` = Monday … ``"7"``) to ``["07:30", "14:00"]``;
    a missing day is closed. ``satusehat_org_id`` is the Organization id the Ministry's
    SATUSEHAT platform gave this puskesmas.
    """

    __tablename__ = "puskesmas_facility"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    satusehat_org_id: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    clinics: Mapped[list[Clinic]] = relationship(
        back_populates="facility", order_by=lambda: (Clinic.position, Clinic.id)
    )


class Clinic(TenantScoped, Base):
    """A clinic (*poli*) of a puskesmas: umum, gigi, KIA, ...

    ``code`` is what citizens type in an SMS (``ANTRE <puskesmas> <poli>``);
    ``minutes_per_patient`` estimates the wait; ``daily_quota`` caps the numbers of a
    day (``None``: no cap). ``satusehat_location_id`` is its SATUSEHAT Location id.
    """

    __tablename__ = "puskesmas_clinic"
    __table_args__ = (UniqueConstraint("tenant_id", "facility_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("puskesmas_facility.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    minutes_per_patient: Mapped[int] = mapped_column(Integer, default=10)
    daily_quota: Mapped[int | None] = mapped_column(Integer)
    satusehat_location_id: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=100)

    facility: Mapped[Facility] = relationship(back_populates="clinics", lazy="joined")


class Staff(TenantScoped, Base):
    """An officer's assignment to a puskesmas with a duty (*penugasan*).

    ``duty``: ``registration`` (registration desk: patients and the queue),
    ``clinician`` (records visits; ``profession`` says doctor, nurse, midwife or
    dentist) or ``viewer`` (reads records). ``nakes_id`` is the clinician's
    SATUSEHAT Practitioner id, if known.
    """

    __tablename__ = "puskesmas_staff"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", "facility_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("balai_user.id", ondelete="CASCADE"))
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("puskesmas_facility.id", ondelete="CASCADE"), index=True
    )
    duty: Mapped[str] = mapped_column(String(20))
    profession: Mapped[str | None] = mapped_column(String(20))
    nakes_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
    facility: Mapped[Facility] = relationship(lazy="joined")


class Patient(TenantScoped, Base):
    """A patient of the region's puskesmas, one per NIK.

    ``user_id`` links a citizen account (set at the registration desk), so the citizen
    sees their own visits. ``sex`` is ``male`` or ``female``.

    ``ihs_cipher`` is the patient's IHS number (SATUSEHAT's Patient id), sealed like
    the NIK, as SATUSEHAT's Patient search by NIK answered on ``ihs_checked_at`` for
    the NIK whose hash is ``ihs_nik_hash``: the answer stands only while the NIK is
    that one. A search that found nobody leaves ``ihs_cipher`` empty
    (``ihs_ambiguous`` when it found several).

    ``nik_mismatch`` names what the desk registered although it differs from the NIK
    (a date of birth corrected by the civil registry keeps the old NIK), with the
    reason it gave; such a patient is flagged (``flagged_at``) until someone at a
    registration desk reviewed it (``reviewed_at``).
    """

    __tablename__ = "puskesmas_patient"
    __table_args__ = (
        UniqueConstraint("tenant_id", "nik_hash"),
        Index("ix_puskesmas_patient_name", "tenant_id", "name"),
        Index("ix_puskesmas_patient_bpjs", "tenant_id", "bpjs_hash"),
        Index("ix_puskesmas_patient_phone", "tenant_id", "phone_hash"),
        Index("ix_puskesmas_patient_user", "tenant_id", "user_id"),
        Index("ix_puskesmas_patient_flagged", "tenant_id", "flagged_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nik_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    nik_hash: Mapped[str] = mapped_column(String(64))
    bpjs_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    bpjs_hash: Mapped[str | None] = mapped_column(String(64))
    phone_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(300), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("balai_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    ihs_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    ihs_nik_hash: Mapped[str | None] = mapped_column(String(64))
    ihs_checked_at: Mapped[datetime | None] = mapped_column()
    ihs_ambiguous: Mapped[bool] = mapped_column(Boolean, default=False)
    #: What differs from the NIK and was registered anyway, with the desk's reason
    #: (``"birth_date"``, ``"sex"`` or ``"birth_date,sex"``; empty: nothing differs).
    nik_mismatch: Mapped[str] = mapped_column(String(30), default="")
    mismatch_reason: Mapped[str] = mapped_column(String(300), default="")
    #: When the difference was recorded (flagged for review) and when it was reviewed.
    flagged_at: Mapped[datetime | None] = mapped_column()
    reviewed_at: Mapped[datetime | None] = mapped_column()


class QueueCounter(TenantScoped, Base):
    """The last number given at a clinic on a day.

    Taking a number increments this row and inserts the ticket in one transaction:
    concurrent takers wait for the row, and a rolled-back take gives its number back,
    so numbers are never duplicated nor skipped.
    """

    __tablename__ = "puskesmas_queue_counter"
    __table_args__ = (UniqueConstraint("tenant_id", "clinic_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("puskesmas_clinic.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(TenantScoped, Base):
    """A queue number (*nomor antrean*) at a clinic on a day.

    ``code`` is the unguessable token of the page where its holder follows it.
    ``patient_id`` is the patient the desk has linked after checking the holder's KTP
    or KK (or registered); only then can a visit be recorded with the ticket.
    ``suggested_patient_id`` is the patient whose NIK was given with the number: a
    suggestion for the desk, since anyone can type someone else's NIK. A NIK that no
    patient has is kept encrypted for registering the holder.
    """

    __tablename__ = "puskesmas_ticket"
    __table_args__ = (
        UniqueConstraint("tenant_id", "clinic_id", "day", "number"),
        Index("ix_puskesmas_ticket_board", "tenant_id", "facility_id", "day", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("puskesmas_facility.id", ondelete="CASCADE")
    )
    clinic_id: Mapped[int] = mapped_column(ForeignKey("puskesmas_clinic.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    channel: Mapped[str] = mapped_column(String(20), default="web")
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("puskesmas_patient.id", ondelete="SET NULL"), index=True
    )
    suggested_patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("puskesmas_patient.id", ondelete="SET NULL")
    )
    nik_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    nik_hash: Mapped[str | None] = mapped_column(String(64))
    phone_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("balai_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    called_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    called_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("balai_user.id", ondelete="SET NULL")
    )
    recalls: Mapped[int] = mapped_column(Integer, default=0)

    clinic: Mapped[Clinic] = relationship(lazy="joined")


class Visit(TenantScoped, Base):
    """An encounter (*kunjungan*) of a patient with a clinician at a clinic.

    Vital signs are optional; units are fixed: mmHg, beats and breaths per minute,
    degrees Celsius, kilograms, centimetres, percent.
    """

    __tablename__ = "puskesmas_visit"
    __table_args__ = (
        Index("ix_puskesmas_visit_patient", "tenant_id", "patient_id", "started_at"),
        Index("ix_puskesmas_visit_facility", "tenant_id", "facility_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("puskesmas_patient.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("puskesmas_facility.id"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("puskesmas_clinic.id"))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("puskesmas_ticket.id", ondelete="SET NULL")
    )
    clinician_id: Mapped[int | None] = mapped_column(
        ForeignKey("balai_user.id", ondelete="SET NULL")
    )
    clinician_name: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
    complaint: Mapped[str] = mapped_column(Text, default="")
    systolic: Mapped[int | None] = mapped_column(Integer)
    diastolic: Mapped[int | None] = mapped_column(Integer)
    heart_rate: Mapped[int | None] = mapped_column(Integer)
    respiratory_rate: Mapped[int | None] = mapped_column(Integer)
    temperature: Mapped[float | None] = mapped_column(Float)
    weight: Mapped[float | None] = mapped_column(Float)
    height: Mapped[float | None] = mapped_column(Float)
    oxygen_saturation: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[Patient] = relationship(lazy="joined")
    clinic: Mapped[Clinic] = relationship(lazy="joined")
    diagnoses: Mapped[list[Diagnosis]] = relationship(
        back_populates="visit",
        order_by="Diagnosis.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    prescriptions: Mapped[list[Prescription]] = relationship(
        back_populates="visit",
        order_by="Prescription.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    referral: Mapped[Referral | None] = relationship(
        back_populates="visit", cascade="all, delete-orphan", lazy="selectin", uselist=False
    )


class Diagnosis(TenantScoped, Base):
    """An ICD-10 diagnosis of a visit; ``position`` 0 is the primary one."""

    __tablename__ = "puskesmas_diagnosis"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(
        ForeignKey("puskesmas_visit.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(10))
    display: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)

    visit: Mapped[Visit] = relationship(back_populates="diagnoses")


class AuditEntry(TenantScoped, Base):
    """One access to health data: who, when, what, from where (*jejak audit*).

    ``action`` is a verb such as ``patient.read`` or ``visit.create``; ``detail`` names
    what was touched (field names, counts), never the personal data itself.
    Entries are only ever added.
    """

    __tablename__ = "puskesmas_audit"
    __table_args__ = (
        Index("ix_puskesmas_audit_at", "tenant_id", "at", "id"),
        Index("ix_puskesmas_audit_patient", "tenant_id", "patient_id", "at"),
        Index("ix_puskesmas_audit_user", "tenant_id", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("balai_user.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(260), default="")
    action: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("puskesmas_patient.id", ondelete="SET NULL")
    )
    facility_id: Mapped[int | None] = mapped_column(
        ForeignKey("puskesmas_facility.id", ondelete="SET NULL")
    )
    detail: Mapped[str] = mapped_column(String(500), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(20), default="web")


class Export(TenantScoped, Base):
    """A FHIR Bundle waiting for, or sent to, the SATUSEHAT-compatible server.

    ``status``: ``pending`` (to send at ``next_attempt_at``), ``held`` (cannot be sent
    as it stands: ``hold_reason`` lists why, comma-separated, e.g. ``practitioner``),
    ``sent``, or ``failed`` (gave up after the last attempt; an admin can retry it).
    The bundle is kept as built, so a failure never loses a record, **sealed** with the
    region's key (``bundle_sealed``: it holds the NIK), and deleted
    ``bundle_retention_days`` after it was sent (``purged_at``); the row, its outcome
    and ``resource_types`` (what the bundle held, without the data) stay.
    """

    __tablename__ = "puskesmas_export"
    __table_args__ = (
        Index("ix_puskesmas_export_due", "tenant_id", "status", "next_attempt_at"),
        Index("ix_puskesmas_export_purge", "tenant_id", "purged_at", "status", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(
        ForeignKey("puskesmas_visit.id", ondelete="CASCADE"), index=True
    )
    bundle_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    resource_types: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    hold_reason: Mapped[str] = mapped_column(String(100), default="")
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    purged_at: Mapped[datetime | None] = mapped_column()


class Prescription(TenantScoped, Base):
    """One drug prescribed at a visit (*resep*), ``position`` 0 first.

    ``dose`` of ``unit`` (``tablet``, ``capsule``, ``ml``, ``mg``, ``drop``, ...),
    ``frequency`` times a day for ``days`` days, by ``route`` (``oral``, ...);
    ``kfa_code`` is the drug's code in the Ministry's KFA dictionary, when known.
    """

    __tablename__ = "puskesmas_prescription"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(
        ForeignKey("puskesmas_visit.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    drug: Mapped[str] = mapped_column(String(200))
    kfa_code: Mapped[str] = mapped_column(String(20), default="")
    dose: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))
    frequency: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    route: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(String(300), default="")

    visit: Mapped[Visit] = relationship(back_populates="prescriptions")


class Referral(TenantScoped, Base):
    """A referral (*rujukan*) written at a visit: at most one per visit.

    ``urgency`` is a FHIR request priority: ``routine``, ``urgent``, ``asap`` or
    ``stat`` (an emergency).
    """

    __tablename__ = "puskesmas_referral"
    __table_args__ = (UniqueConstraint("tenant_id", "visit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(
        ForeignKey("puskesmas_visit.id", ondelete="CASCADE"), index=True
    )
    destination: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(10), default="routine")

    visit: Mapped[Visit] = relationship(back_populates="referral")


class Icd10Synonym(TenantScoped, Base):
    """A term of the region (in Indonesian or a local language) that finds ICD-10 codes
    in the search, besides the list shipped with the plugin (which it overrides for
    the same term). ``codes`` are leaf codes, comma-separated."""

    __tablename__ = "puskesmas_icd10_synonym"
    __table_args__ = (UniqueConstraint("tenant_id", "term"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(60))
    codes: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(260), default="")
