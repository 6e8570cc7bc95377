"""Fixtures for the kebun_warga tests, on top of those of ``balai.testing``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.db import utcnow
from balai.tenancy import TenantInfo
from balai_kebun_warga.models import Plot


@pytest.fixture
def enabled(enable_plugin: Callable[..., TenantInfo]) -> TenantInfo:
    """``tenant`` with the plugin switched on."""
    return enable_plugin("kebun_warga")


@pytest.fixture
def add(db_session: Session) -> Callable[..., Plot]:
    """``add(title)``: store an entry of ``tenant`` and commit."""

    def make(title: str = "Jadwal posyandu") -> Plot:
        entry = Plot(title=title, created_at=utcnow())
        db_session.add(entry)
        db_session.commit()
        return entry

    return make


@pytest.fixture
def stored(db_session: Session) -> Callable[[], list[Plot]]:
    """``stored()``: the entries of ``tenant`` as the database holds them now."""

    def read() -> list[Plot]:
        db_session.rollback()  # end any snapshot, so rows written by requests show
        db_session.expire_all()
        return list(db_session.scalars(select(Plot).order_by(Plot.id)))

    return read
