"""Fixtures for the pengumuman tests, on top of those of ``balai.testing``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.auth import Department
from balai.db import utcnow
from balai.tenancy import TenantInfo
from balai_pengumuman.models import Announcement


@pytest.fixture
def enabled(enable_plugin: Callable[..., TenantInfo]) -> TenantInfo:
    """``tenant`` with the plugin switched on."""
    return enable_plugin("pengumuman")


@pytest.fixture
def add(db_session: Session) -> Callable[..., Announcement]:
    """``add(title=..., **fields)``: store an announcement of ``tenant`` and commit."""

    def make(title: str = "Pemadaman listrik terjadwal", **fields: Any) -> Announcement:
        values: dict[str, Any] = {
            "body": "Pemadaman di Kecamatan Utara pukul 09.00 sampai 12.00 WIB.",
            "category": "layanan",
            "published_at": utcnow() - timedelta(hours=1),
        }
        values.update(fields)
        announcement = Announcement(title=title, **values)
        db_session.add(announcement)
        db_session.commit()
        return announcement

    return make


@pytest.fixture
def department(db_session: Session) -> Callable[[str, str], Department]:
    """``department(code, name)``: add a department (OPD) to ``tenant``."""

    def make(code: str, name: str) -> Department:
        found = Department(code=code, name=name)
        db_session.add(found)
        db_session.commit()
        return found

    return make


@pytest.fixture
def stored(db_session: Session) -> Callable[[], list[Announcement]]:
    """``stored()``: the announcements of ``tenant`` as the database holds them now."""

    def read() -> list[Announcement]:
        db_session.rollback()  # end any snapshot, so rows written by requests show
        db_session.expire_all()
        return list(db_session.scalars(select(Announcement).order_by(Announcement.id)))

    return read
