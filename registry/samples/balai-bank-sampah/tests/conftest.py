"""Fixtures for the bank_sampah tests, on top of those of ``balai.testing``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.db import utcnow
from balai.tenancy import TenantInfo
from balai_bank_sampah.models import Deposit


@pytest.fixture
def enabled(enable_plugin: Callable[..., TenantInfo]) -> TenantInfo:
    """``tenant`` with the plugin switched on."""
    return enable_plugin("bank_sampah")


@pytest.fixture
def add(db_session: Session) -> Callable[..., Deposit]:
    """``add(title)``: store an entry of ``tenant`` and commit."""

    def make(title: str = "Jadwal posyandu") -> Deposit:
        entry = Deposit(title=title, created_at=utcnow())
        db_session.add(entry)
        db_session.commit()
        return entry

    return make


@pytest.fixture
def stored(db_session: Session) -> Callable[[], list[Deposit]]:
    """``stored()``: the entries of ``tenant`` as the database holds them now."""

    def read() -> list[Deposit]:
        db_session.rollback()  # end any snapshot, so rows written by requests show
        db_session.expire_all()
        return list(db_session.scalars(select(Deposit).order_by(Deposit.id)))

    return read
