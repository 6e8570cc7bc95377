"""Fixtures for the registry tests, on top of those of ``balai.testing``."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from balai.tenancy import TenantInfo
from balai_registry import services
from balai_registry.models import SCOPES


@pytest.fixture
def enabled(enable_plugin: Callable[..., TenantInfo]) -> TenantInfo:
    """``tenant`` (the upstream region) with the registry switched on."""
    return enable_plugin("registry")


@pytest.fixture
def partner_token(db_session: Session) -> Callable[..., str]:
    """``partner_token(region="Kabupaten Lebak", scopes=SCOPES)``: issue a token of ``tenant``."""

    def issue(region: str = "Kabupaten Lebak", scopes: tuple[str, ...] = SCOPES) -> str:
        _partner, token = services.issue_partner(
            db_session, region, "diskominfo@lebak.example.id", list(scopes), None
        )
        db_session.commit()
        return token

    return issue


def basic(token: str, user: str = "__token__") -> dict[str, str]:
    """The ``Authorization`` header twine sends with a token."""
    encoded = base64.b64encode(f"{user}:{token}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}
