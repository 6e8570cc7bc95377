"""Tables of the complaints plugin (``pengaduan_*``)."""

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
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from balai.auth import Department
from balai.db import Base, TenantScoped, utcnow

__all__ = [
    "ApiClient",
    "Area",
    "AreaRoute",
    "Category",
    "Complaint",
    "ComplaintEvent",
    "Photo",
    "Support",
]


class Category(TenantScoped, Base):
    """A kind of complaint (*kategori*), routed to one department (OPD) by default.

    ``code`` is what citizens type in an SMS (``ADUAN SAMPAH ...``) and the
    Open311 ``service_code``.
    """

    __tablename__ = "pengaduan_category"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    group: Mapped[str] = mapped_column(String(60), default="")
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("balai_department.id", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=100)

    department: Mapped[Department | None] = relationship(lazy="joined")


class Area(TenantScoped, Base):
    """An area of the region (e.g. a *kecamatan*) as a GeoJSON (Multi)Polygon.

    The bounding box lets a point lookup skip areas cheaply before the exact test.
    """

    __tablename__ = "pengaduan_area"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)


class AreaRoute(TenantScoped, Base):
    """Within ``area``, complaints of ``category`` go to ``department`` instead."""

    __tablename__ = "pengaduan_area_route"
    __table_args__ = (UniqueConstraint("tenant_id", "category_id", "area_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("pengaduan_category.id", ondelete="CASCADE")
    )
    area_id: Mapped[int] = mapped_column(ForeignKey("pengaduan_area.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(
        ForeignKey("balai_department.id", ondelete="CASCADE")
    )


class Complaint(TenantScoped, Base):
    """A public complaint (*pengaduan*) and where it stands.

    ``privacy``: ``public`` (name shown to officers), ``confidential`` (identity
    stored, hidden from officers: *rahasia*) or ``anonymous`` (no identity stored).
    The reporter's e-mail address and phone number are stored sealed
    (:mod:`balai_pengaduan.reporters`).
    Deadlines are dates in the region's calendar, counted in working days.
    """

    __tablename__ = "pengaduan_complaint"
    # Every list is newest first (``submitted_at DESC, id DESC``). Each index below
    # serves one filter and holds the ids in list order plus ``status`` (the public
    # lists hide rejected ones), so a page's ids and the total are read from the index
    # alone (``services.paginate``; measured in bench/README.md). ``INCLUDE`` is
    # PostgreSQL's; other databases index the key columns only.
    __table_args__ = (
        Index("ix_pengaduan_complaint_list", "tenant_id", "status", "submitted_at", "id"),
        Index(
            "ix_pengaduan_complaint_category",
            "tenant_id",
            "category_id",
            "submitted_at",
            "id",
            postgresql_include=["status"],
        ),
        Index("ix_pengaduan_complaint_department", "tenant_id", "department_id", "status"),
        Index(
            "ix_pengaduan_complaint_submitted",
            "tenant_id",
            "submitted_at",
            "id",
            postgresql_include=["status"],
        ),
        Index(
            "ix_pengaduan_complaint_area",
            "tenant_id",
            "area_id",
            "submitted_at",
            "id",
            postgresql_include=["status"],
        ),
        Index(
            "ix_pengaduan_complaint_department_time",
            "tenant_id",
            "department_id",
            "submitted_at",
            "id",
            postgresql_include=["status"],
        ),
        Index("ix_pengaduan_complaint_updated", "tenant_id", "updated_at", "id"),
        # "My complaints" (``/pengaduan/saya``): one reporter's, newest first.
        Index("ix_pengaduan_complaint_reporter", "tenant_id", "reporter_id", "submitted_at", "id"),
        # A form's one-time token makes one complaint at most (a second post finds it).
        Index("ix_pengaduan_complaint_submit_token", "tenant_id", "submit_token", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(20), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("pengaduan_category.id"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("balai_department.id", ondelete="SET NULL")
    )
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("pengaduan_area.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), default="received")
    privacy: Mapped[str] = mapped_column(String(20), default="public")
    channel: Mapped[str] = mapped_column(String(20), default="web")
    reporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("balai_user.id", ondelete="SET NULL")
    )
    reporter_name: Mapped[str | None] = mapped_column(String(200))
    # Sealed with the region's reporter key: open them with ``reporters.contacts``.
    reporter_email_sealed: Mapped[str | None] = mapped_column("reporter_email", Text)
    reporter_phone_sealed: Mapped[str | None] = mapped_column("reporter_phone", Text)
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("pengaduan_complaint.id", ondelete="SET NULL")
    )
    supporters: Mapped[int] = mapped_column(Integer, default=0)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    forwarded_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    forward_due: Mapped[date] = mapped_column(Date)
    followup_due: Mapped[date | None] = mapped_column(Date)
    # Set when work starts (``in_progress``): ``work_days`` working days from that day.
    work_due: Mapped[date | None] = mapped_column(Date)
    overdue_announced: Mapped[bool] = mapped_column(Boolean, default=False)
    api_client_id: Mapped[int | None] = mapped_column(
        ForeignKey("pengaduan_api_client.id", ondelete="SET NULL")
    )
    #: SHA-256 of the web form's one-time token (``views.submit``): posting the same
    #: form again shows this complaint instead of making another.
    submit_token: Mapped[str | None] = mapped_column(String(64))
    #: The reporter's satisfaction with the result (1 to 5), given once when resolved.
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column()

    category: Mapped[Category] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
    area: Mapped[Area | None] = relationship(lazy="joined")
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint",
        # Events of one transaction share ``at``: the id keeps them in the order made.
        order_by=lambda: (ComplaintEvent.at, ComplaintEvent.id),
        cascade="all, delete-orphan",
    )
    photos: Mapped[list[Photo]] = relationship(
        back_populates="complaint", order_by="Photo.id", cascade="all, delete-orphan"
    )
    #: The reporter's photos (``kind`` ``before``), and the officers' of the work done.
    before_photos: Mapped[list[Photo]] = relationship(
        primaryjoin=lambda: and_(Photo.complaint_id == Complaint.id, Photo.kind == "before"),
        order_by=lambda: Photo.id,
        viewonly=True,
    )
    after_photos: Mapped[list[Photo]] = relationship(
        primaryjoin=lambda: and_(Photo.complaint_id == Complaint.id, Photo.kind == "after"),
        order_by=lambda: Photo.id,
        viewonly=True,
    )


class ComplaintEvent(TenantScoped, Base):
    """One step of a complaint's timeline: who moved it, when, from what to what, why.

    ``action`` names the officer's verb (``workflow.ACTIONS``), ``submit`` or the
    reporter's ``reopen``; ``department_id`` is where a forwarded complaint went.
    Events recorded before they existed have neither.
    """

    __tablename__ = "pengaduan_event"
    __table_args__ = (Index("ix_pengaduan_event_complaint", "complaint_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("pengaduan_complaint.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("balai_user.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    action: Mapped[str | None] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("balai_department.id", ondelete="SET NULL")
    )

    complaint: Mapped[Complaint] = relationship(back_populates="events")
    department: Mapped[Department | None] = relationship(lazy="joined")


class Photo(TenantScoped, Base):
    """A photo attached to a complaint, re-encoded on upload (no EXIF location kept).

    ``kind``: ``before`` (the reporter's, of the problem) or ``after`` (an officer's,
    of the work done; ``added_by_id`` is that officer).
    """

    __tablename__ = "pengaduan_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("pengaduan_complaint.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(80))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(10), default="before", server_default="before")
    added_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("balai_user.id", ondelete="SET NULL")
    )

    complaint: Mapped[Complaint] = relationship(back_populates="photos")


class Support(TenantScoped, Base):
    """A citizen's "me too" (*dukungan*) for an open complaint, once per person."""

    __tablename__ = "pengaduan_support"
    __table_args__ = (UniqueConstraint("complaint_id", "supporter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("pengaduan_complaint.id", ondelete="CASCADE")
    )
    supporter: Mapped[str] = mapped_column(String(64))  # user id or a hash of the address
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiClient(TenantScoped, Base):
    """An Open311 client application and its API key (only the hash is stored)."""

    __tablename__ = "pengaduan_api_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
