"""Tenant isolation in the ORM and the database, and tenant resolution by host."""

from __future__ import annotations

import hello
import pytest
from sqlalchemy import delete, func, select, text, update

from balai.db import TenantContextError, db
from balai.tenancy import TenancyError, create_tenant, normalise_host, registry

pytestmark = pytest.mark.balai_plugins(hello)
HelloNote = hello.HelloNote


@pytest.fixture
def notes(app, tenant, other_tenant):
    """Two notes in tenant A, one in tenant B."""
    with db.tenant_session(tenant.id) as session:
        session.add_all([HelloNote(text="a1"), HelloNote(text="a2")])
    with db.tenant_session(other_tenant.id) as session:
        session.add(HelloNote(text="b1"))


def texts(session):
    return sorted(session.scalars(select(HelloNote.text)))


def test_reads_are_filtered_to_the_session_tenant(notes, tenant, other_tenant):
    with db.tenant_session(tenant.id) as session:
        assert texts(session) == ["a1", "a2"]
        assert session.scalar(select(func.count()).select_from(HelloNote)) == 2
    with db.tenant_session(other_tenant.id) as session:
        assert texts(session) == ["b1"]


def test_get_by_id_of_another_tenant_finds_nothing(notes, tenant, other_tenant):
    with db.all_tenants() as session:
        b_id = session.scalar(select(HelloNote.id).where(HelloNote.text == "b1"))
    with db.tenant_session(tenant.id) as session:
        assert session.get(HelloNote, b_id) is None


def test_querying_without_a_tenant_raises(notes):
    with db.new_session() as session, pytest.raises(TenantContextError, match="HelloNote"):
        session.scalars(select(HelloNote)).all()


def test_all_tenants_must_be_said_explicitly(notes):
    with db.all_tenants() as session:
        assert texts(session) == ["a1", "a2", "b1"]


def test_new_rows_get_the_session_tenant(app, tenant):
    with db.tenant_session(tenant.id) as session:
        note = HelloNote(text="new")
        session.add(note)
    assert note.tenant_id == tenant.id


def test_a_new_row_needs_a_tenant(app):
    with pytest.raises(TenantContextError), db.new_session() as session:
        session.add(HelloNote(text="orphan"))
        session.flush()


def test_writing_another_tenants_row_is_refused(app, tenant, other_tenant):
    with pytest.raises(TenantContextError), db.tenant_session(tenant.id) as session:
        session.add(HelloNote(text="smuggled", tenant_id=other_tenant.id))


def test_bulk_update_and_delete_touch_only_the_tenant(notes, tenant, other_tenant):
    with db.tenant_session(tenant.id) as session:
        session.execute(update(HelloNote).values(text="changed"))
        session.execute(delete(HelloNote).where(HelloNote.text == "changed"))
    with db.all_tenants() as session:
        assert texts(session) == ["b1"]


def test_row_security_hides_other_tenants_from_raw_sql(app, notes, tenant):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row-level security exists on PostgreSQL only")
    with db.tenant_session(tenant.id) as session:
        rows = session.execute(text("SELECT text FROM hello_note ORDER BY text")).scalars()
        assert list(rows) == ["a1", "a2"]
    with db.new_session() as session:
        assert session.execute(text("SELECT count(*) FROM hello_note")).scalar() == 0


def test_row_security_refuses_raw_inserts_for_another_tenant(app, tenant, other_tenant):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row-level security exists on PostgreSQL only")
    from sqlalchemy.exc import ProgrammingError

    insert = text("INSERT INTO hello_note (text, tenant_id) VALUES ('x', :t)")
    with (
        pytest.raises(ProgrammingError, match="row-level security"),
        db.tenant_session(tenant.id) as session,
    ):
        session.execute(insert, {"t": other_tenant.id})


def test_requests_see_only_their_tenant(app, client, other_client, notes, enable_plugin, tenant):
    assert client.get("/hello/").status_code == 404  # not enabled yet
    enable_plugin("hello")
    assert client.get("/hello/").status_code == 200
    assert other_client.get("/hello/").status_code == 404


# -- resolving the tenant of a request ----------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("Kota-A.Test", "kota-a.test"),
        ("kota-a.test:8080", "kota-a.test"),
        ("kota-a.test.", "kota-a.test"),
        ("[::1]:5000", "[::1]"),
    ],
)
def test_normalise_host(host, expected):
    assert normalise_host(host) == expected


def test_host_resolution_ignores_case_and_port(app, tenant):
    client = app.test_client()
    assert client.get("/", base_url="http://KOTA-A.test:8000").status_code == 200


def test_unknown_host_gets_a_clear_error_page(app, tenant):
    response = app.test_client().get("/", base_url="http://elsewhere.test")
    assert response.status_code == 404
    assert "elsewhere.test" in response.text


def test_unknown_host_gets_json_error_on_the_api(app, tenant):
    response = app.test_client().get("/api/v1/me", base_url="http://elsewhere.test")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "unknown_host"


@pytest.mark.balai_config(TENANCY="single")
def test_single_mode_serves_its_one_tenant_on_any_host(app, tenant):
    response = app.test_client().get("/", base_url="http://10.0.0.5")
    assert response.status_code == 200
    assert "Kota A" in response.text


@pytest.mark.balai_config(TENANCY="single")
def test_single_mode_with_two_tenants_resolves_by_host(app, tenant, other_tenant):
    client = app.test_client()
    assert "Kota B" in client.get("/", base_url="http://kota-b.test").text
    assert client.get("/", base_url="http://elsewhere.test").status_code == 404


def test_health_needs_no_tenant(app):
    response = app.test_client().get("/-/health", base_url="http://anything.test")
    assert response.json == {"status": "ok", "database": "ok", "storage": "ok"}


# -- creating tenants -------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "name", "domains", "field"),
    [
        ("Kota A", "Kota", ["x.test"], "slug"),
        ("-kota", "Kota", ["x.test"], "slug"),
        ("kota-c", "", ["x.test"], "name"),
        ("kota-c", "Kota C", ["bad host!"], "domain"),
        ("kota-a", "Kota A again", ["x.test"], "slug"),
        ("kota-c", "Kota C", ["kota-a.test"], "domain"),
    ],
)
def test_create_tenant_refuses_bad_input(app, tenant, slug, name, domains, field):
    before = len(registry(app).all())
    with pytest.raises(TenancyError) as error:
        create_tenant(app, slug, name, domains)
    assert error.value.field == field
    assert len(registry(app).all()) == before


def test_no_tenant_sees_no_rows_even_in_subqueries(notes):
    inner = select(HelloNote).subquery()
    with db.new_session() as session:
        assert session.scalar(select(func.count()).select_from(inner)) == 0


def test_a_tenant_table_reached_only_through_a_where_is_refused(notes, tenant):
    """The loader criteria cannot see such a table: better an error than a leak."""
    from sqlalchemy import and_, or_

    leaky = select(func.count()).where(
        or_(and_(HelloNote.text.in_(("a1", "b1")), HelloNote.id > 0), HelloNote.id < 0)
    )
    with db.tenant_session(tenant.id) as session:
        with pytest.raises(TenantContextError, match="select_from"):
            session.scalar(leaky)
        with pytest.raises(TenantContextError, match="hello_note"):
            session.scalar(select(func.count()).select_from(HelloNote.__table__))
        explicit = select(func.count()).select_from(HelloNote).where(leaky.whereclause)
        assert session.scalar(explicit) == 1


def test_a_statement_built_once_serves_each_tenant_its_own_rows(notes, tenant, other_tenant):
    """The filtered copy of a statement kept and run again is per tenant: taking turns
    between two tenants (and back) on the same statement object never mixes them."""
    query = select(HelloNote.text).order_by(HelloNote.text)
    for _turn in range(3):
        for tenant_id, expected in ((tenant.id, ["a1", "a2"]), (other_tenant.id, ["b1"])):
            with db.tenant_session(tenant_id) as session:
                assert list(session.scalars(query)) == expected
    with db.new_session() as session, pytest.raises(TenantContextError):
        session.scalars(query).all()


def test_the_tenant_filter_works_out_a_statement_shape_once(notes, tenant, monkeypatch):
    """The bare-table check and SQLAlchemy share the filtered statement's cache key:
    one per statement run, none for a statement built once and run again."""
    from sqlalchemy.sql.cache_key import HasCacheKey

    computed = []
    original = HasCacheKey._generate_cache_key

    def counting(self):
        computed.append(type(self).__name__)
        return original(self)

    monkeypatch.setattr(HasCacheKey, "_generate_cache_key", counting)
    query = select(HelloNote).where(HelloNote.text == "a1")
    with db.tenant_session(tenant.id) as session:
        session.scalars(select(HelloNote).where(HelloNote.text == "a2")).all()  # warm up
        computed.clear()
        assert [n.text for n in session.scalars(query)] == ["a1"]
        assert len(computed) == 1
        computed.clear()
        assert [n.text for n in session.scalars(query)] == ["a1"]
        assert computed == []


def test_filtered_copies_go_with_their_statements(notes, tenant):
    """A statement built per request leaves nothing behind once it is gone."""
    import gc

    from balai import db as db_module

    with db.tenant_session(tenant.id) as session:
        for n in range(50):
            session.scalars(select(HelloNote).where(HelloNote.id > n)).all()
        gc.collect()
        before = len(db_module._FILTERED)
        for n in range(50):
            session.scalars(select(HelloNote).where(HelloNote.id > n)).all()
        gc.collect()
        assert len(db_module._FILTERED) <= before
