"""No route lets tenant B reach tenant A's rows: a crawl over every installed route.

Both tenants enable every installed plugin; A gets its demo data and some users,
B stays empty, so an id of A's rows can only ever mean A's row. Then every route
that takes object ids is called on B's host, with each method it accepts, as B's
region admin and as a visitor, with ids of A's rows. Anything but a refusal is a
leak, and A's data must be exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from filling import enable_all, fill
from sqlalchemy import func, select

from balai.auth.accounts import create_user
from balai.auth.models import Department, User
from balai.db import Base, TenantScoped, db
from balai.testing import PASSWORD

REFUSED = {400, 401, 403, 404, 405, 409, 422}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _tenant_models() -> list[type]:
    return [m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantScoped)]


def _ids_of(tenant_id: int, per_table: int = 5) -> set[int]:
    """A few ids of each of one tenant's tables, users included."""
    ids: set[int] = set()
    with db.tenant_session(tenant_id) as session:
        for model in [*_tenant_models(), User]:
            query = select(model.id).where(model.tenant_id == tenant_id).order_by(model.id)
            ids.update(session.scalars(query.limit(per_table)))
    return ids


def _user_ids(tenant_id: int) -> set[int]:
    with db.all_tenants() as session:
        return set(session.scalars(select(User.id).where(User.tenant_id == tenant_id)))


def _counts(tenant_id: int) -> dict[str, int]:
    with db.tenant_session(tenant_id) as session:
        return {
            m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0
            for m in _tenant_models()
        }


def _routes_with_ids(app) -> Iterator[tuple[str, str, list[str]]]:
    for rule in app.url_map.iter_rules():
        int_args = [name for name, conv in rule._converters.items() if conv.regex == r"\d+"]
        if int_args and len(int_args) == len(rule.arguments):
            for method in sorted(rule.methods & set(METHODS)):
                yield rule.rule, method, int_args


@pytest.fixture
def two_filled_tenants(app, tenant, other_tenant):
    enable_all(app, other_tenant)
    fill(app, enable_all(app, tenant))
    with db.tenant_session(tenant.id) as session:
        session.add(Department(code="ISOL", name="Dinas Isolasi"))
    with db.all_tenants() as session:
        for role in ("warga", "opd", "admin"):
            create_user(
                session,
                tenant_id=tenant.id,
                email=f"{role}@a.example",
                name=role,
                role=role,
                password=PASSWORD,
                department="ISOL" if role == "opd" else None,
            )
    return tenant, other_tenant


def _crawl(app, client, ids: list[int]) -> tuple[int, list[str]]:
    """Call every id-taking route with each of ``ids``; return (tried, leaks)."""
    tried, leaks = 0, []
    for path, method, args in _routes_with_ids(app):
        for object_id in ids:
            url = path
            for arg in args:
                url = url.replace(f"<int:{arg}>", str(object_id))
            response = client.open(url, method=method, data={})
            tried += 1
            if response.status_code not in REFUSED and not _to_login(response):
                leaks.append(f"{method} {url} -> {response.status_code}")
    return tried, leaks


def _targets(tenant_a, tenant_b) -> list[int]:
    # B's users are the only rows of B a route could rightly show by id.
    ids = sorted(_ids_of(tenant_a.id) - _user_ids(tenant_b.id))
    assert ids, "tenant A has no rows to aim at"
    return ids


@pytest.mark.parametrize("role", ["admin", "opd", None])
def test_no_route_reaches_another_tenants_rows(app, other_client, two_filled_tenants, login, role):
    tenant_a, tenant_b = two_filled_tenants
    if role:
        login(other_client, role=role, tenant=tenant_b)
    before = _counts(tenant_a.id)
    tried, leaks = _crawl(app, other_client, _targets(tenant_a, tenant_b))
    print(f"isolation crawl as {role or 'visitor'}: {tried} requests, {len(leaks)} leaks")
    assert tried > 50
    assert leaks == [], f"{len(leaks)} of {tried} requests reached tenant A: {leaks[:10]}"
    assert _counts(tenant_a.id) == before


@pytest.mark.balai_config(PROPAGATE_EXCEPTIONS=False)
def test_the_crawl_goes_red_without_the_tenant_filter(
    app, other_client, two_filled_tenants, login, monkeypatch
):
    """The crawl is only worth something if it notices a missing filter."""
    import balai.db

    tenant_a, tenant_b = two_filled_tenants
    login(other_client, role="admin", tenant=tenant_b)
    monkeypatch.setattr(balai.db, "_tenant_criteria", lambda tenant_id: ())
    if db.engine.dialect.name == "postgresql":
        pytest.skip("row-level security still stops the leak on PostgreSQL, as it should")
    _tried, leaks = _crawl(app, other_client, _targets(tenant_a, tenant_b))
    assert any(" -> 200" in leak for leak in leaks)


def _to_login(response) -> bool:
    return response.status_code == 302 and "/masuk" in response.headers.get("Location", "")
