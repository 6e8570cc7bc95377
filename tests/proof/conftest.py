"""The proof harness: every test here records its figures (see ``figures.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from figures import figures_fixture, print_summary
from filling import enable_all, fill

from balai.auth.models import Department
from balai.db import db
from balai.demo import DEPARTMENTS

__all__ = ["figures_fixture", "full_tenant"]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    print_summary(terminalreporter, config)


@pytest.fixture
def full_tenant(app, tenant):
    """``tenant`` with its departments, every installed plugin on and the demo data."""
    with db.tenant_session(tenant.id) as session:
        session.add_all(Department(code=c, name=n) for c, n in DEPARTMENTS.items())
    current = enable_all(app, tenant)
    fill(app, current)
    return current
