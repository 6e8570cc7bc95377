"""``paginate`` on any session, one shape for an empty list, and the page past the end."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from balai.api import PageDict, paginate, past_the_end
from balai.auth.models import Department
from balai.db import db
from balai.tenancy import TenantInfo

DEPARTMENTS = select(Department).order_by(Department.code, Department.id)


def _add(tenant: TenantInfo, *codes: str) -> None:
    with db.tenant_session(tenant.id) as session:
        session.add_all(Department(code=code, name=f"Dinas {code}") for code in codes)


def test_a_service_paginates_on_its_own_session(app: Flask, tenant: TenantInfo) -> None:
    _add(tenant, "A", "B", "C")
    with db.tenant_session(tenant.id) as session:
        found = paginate(DEPARTMENTS, 2, 2, session=session)
        assert [d.code for d in found["items"]] == ["C"]
    assert {k: v for k, v in found.items() if k != "items"} == {
        "page": 2,
        "per_page": 2,
        "total": 3,
        "pages": 2,
    }


def test_an_empty_list_has_no_pages_and_answers_page_one(app: Flask, tenant: TenantInfo) -> None:
    with db.tenant_session(tenant.id) as session:
        found = paginate(DEPARTMENTS, 1, 20, session=session)
    assert found == {"items": [], "page": 1, "per_page": 20, "total": 0, "pages": 0}
    assert not past_the_end(found)


def test_a_page_below_one_is_page_one(app: Flask, tenant: TenantInfo) -> None:
    _add(tenant, "A")
    with db.tenant_session(tenant.id) as session:
        assert paginate(DEPARTMENTS, 0, 20, session=session)["page"] == 1


def _page(page: int, pages: int) -> PageDict:
    return {"items": [], "page": page, "per_page": 10, "total": pages * 10, "pages": pages}


@pytest.mark.parametrize(
    ("page", "pages", "past"),
    [(1, 0, False), (2, 0, True), (1, 1, False), (2, 1, True), (3, 3, False), (4, 3, True)],
)
def test_past_the_end(page: int, pages: int, past: bool) -> None:
    assert past_the_end(_page(page, pages)) is past


def test_without_a_session_it_runs_on_the_request_session(tenant: TenantInfo, app: Flask) -> None:
    _add(tenant, "A", "B")
    with app.test_request_context("/", base_url=f"http://{tenant.domains[0]}"):
        app.preprocess_request()
        found = paginate(DEPARTMENTS, 1, 1)
        assert [d.code for d in found["items"]] == ["A"]
        assert found["pages"] == 2
