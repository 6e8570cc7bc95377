"""Fixtures for the pengaduan tests, on top of those of ``balai.testing``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from io import BytesIO
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.auth import Department
from balai.calendar import WorkingCalendar
from balai.channels import Delivery, OutboxMessage, open_message
from balai.db import utcnow
from balai.tenancy import TenantInfo
from balai_pengaduan import services
from balai_pengaduan.models import Area, Category, Complaint
from balai_pengaduan.reporters import Contacts, contacts, reporter_sealer
from balai_pengaduan.settings import ComplaintSettings

SQUARE = {  # around Tangerang's city hall, roughly one kilometre wide
    "type": "Polygon",
    "coordinates": [
        [[106.62, -6.19], [106.64, -6.19], [106.64, -6.17], [106.62, -6.17], [106.62, -6.19]]
    ],
}
INSIDE = (-6.178, 106.630)  # latitude, longitude


def defaults() -> dict[str, Any]:
    """The plugin's default settings."""
    return ComplaintSettings().load({})


def make_context(
    now: datetime | None = None, *, tenant_id: int | None = None, **settings: Any
) -> services.Context:
    """A rules context with no holidays but the weekend; with ``tenant_id``, that
    region's key for reporters' contacts."""
    return services.Context(
        settings={**defaults(), **settings},
        calendar=WorkingCalendar({}),
        now=now or utcnow(),
        reporters=reporter_sealer(tenant_id) if tenant_id is not None else None,
    )


def jpeg(size: tuple[int, int] = (64, 48), *, gps: bool = False, fmt: str = "JPEG") -> bytes:
    """A small photo; with ``gps`` its EXIF says where it was taken."""
    image = Image.new("RGB", size, (200, 120, 40))
    out = BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "KameraUji"  # Make
        exif.get_ifd(0x8825)[2] = (6.0, 10.0, 41.0)  # GPSLatitude
        image.save(out, format=fmt, exif=exif)
    else:
        image.save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def enabled(enable_plugin: Callable[..., TenantInfo]) -> TenantInfo:
    """``tenant`` with the plugin switched on."""
    return enable_plugin("pengaduan")


@pytest.fixture
def both(enable_plugin: Callable[..., TenantInfo], other_tenant: TenantInfo) -> None:
    """The plugin switched on for ``tenant`` and ``other_tenant``."""
    enable_plugin("pengaduan")
    enable_plugin("pengaduan", tenant=other_tenant)


@pytest.fixture
def department(db_session: Session) -> Callable[..., Department]:
    """``department(code, name)``: add a department (OPD) to ``tenant``."""

    def make(code: str, name: str | None = None) -> Department:
        found = Department(code=code, name=name or f"Dinas {code}")
        db_session.add(found)
        db_session.commit()
        return found

    return make


@pytest.fixture
def dlh(department: Callable[..., Department]) -> Department:
    """Dinas Lingkungan Hidup: garbage."""
    return department("DLH", "Dinas Lingkungan Hidup")


@pytest.fixture
def pupr(department: Callable[..., Department]) -> Department:
    """Dinas Pekerjaan Umum dan Penataan Ruang: roads."""
    return department("PUPR", "Dinas PUPR")


@pytest.fixture
def category(db_session: Session) -> Callable[..., Category]:
    """``category(code, department, **fields)``: add a category to ``tenant``."""

    def make(code: str = "SAMPAH", department: Department | None = None, **fields: Any) -> Category:
        values = {"name": code.title(), "group": "", "active": True, "position": 100}
        values.update(fields)
        found = Category(code=code, department_id=department.id if department else None, **values)
        db_session.add(found)
        db_session.commit()
        return found

    return make


@pytest.fixture
def sampah(category: Callable[..., Category], dlh: Department) -> Category:
    """The garbage category, routed to DLH."""
    return category("SAMPAH", dlh, name="Sampah")


@pytest.fixture
def jalan(category: Callable[..., Category], pupr: Department) -> Category:
    """The roads category, routed to PUPR."""
    return category("JALAN", pupr, name="Jalan rusak")


@pytest.fixture
def area(db_session: Session) -> Area:
    """One kecamatan of ``tenant``: the square around ``INSIDE``."""
    found = Area(
        code="KEC1",
        name="Kecamatan Satu",
        geometry=SQUARE,
        min_lon=106.62,
        min_lat=-6.19,
        max_lon=106.64,
        max_lat=-6.17,
    )
    db_session.add(found)
    db_session.commit()
    return found


@pytest.fixture
def complaint(db_session: Session) -> Callable[..., Complaint]:
    """``complaint(category_code, **submission)``: submit one through the rules, committed."""

    def make(code: str = "SAMPAH", now: datetime | None = None, **fields: Any) -> Complaint:
        values: dict[str, Any] = {
            "description": "Sampah menumpuk di depan pasar sejak tiga hari.",
            "address": "Jl. Merdeka 1",
        }
        values.update(fields)
        submission = services.Submission(category_code=code, **values)
        context = make_context(now, tenant_id=db_session.info["tenant_id"])
        found = services.submit(db_session, submission, context)
        db_session.commit()
        return found

    return make


@pytest.fixture
def stored(db_session: Session) -> Callable[[], list[Complaint]]:
    """``stored()``: the complaints of ``tenant`` as the database holds them now."""

    def read() -> list[Complaint]:
        db_session.rollback()
        db_session.expire_all()
        return list(db_session.scalars(select(Complaint).order_by(Complaint.id)))

    return read


@pytest.fixture
def contacts_of() -> Callable[[Complaint], Contacts]:
    """``contacts_of(complaint)``: the reporter's e-mail address and phone, opened."""
    return contacts


@pytest.fixture
def outbox(db_session: Session) -> Callable[[], list[Delivery]]:
    """``outbox()``: the messages queued for ``tenant``, opened as for delivery."""

    def read() -> list[Delivery]:
        db_session.rollback()
        db_session.expire_all()
        rows = db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [open_message(row) for row in rows]

    return read


@pytest.fixture
def make_ctx() -> Callable[..., services.Context]:
    """``make_ctx(now=None, **settings)``: a rules context with only weekends off."""
    return make_context


@pytest.fixture
def make_jpeg() -> Callable[..., bytes]:
    """``make_jpeg(size=(64, 48), gps=False, fmt="JPEG")``: a small photo's bytes."""
    return jpeg


@pytest.fixture
def inside() -> tuple[float, float]:
    """A point (latitude, longitude) inside the ``area`` fixture."""
    return INSIDE


def post_big(client, data, photos_):
    """``post`` with the body made here: the test client spools a big upload to a
    temporary file it never closes."""
    boundary = "batas-uji"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in data.items()
    ]
    for raw, name in photos_:
        parts.append(
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="photos"; filename="{name}"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
            + raw
            + b"\r\n"
        )
    body = b"".join([*parts, f"--{boundary}--\r\n".encode()])
    return client.post(
        "/pengaduan/lapor", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
