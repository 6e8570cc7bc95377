"""Row-level security travels with the first statement of each transaction (PostgreSQL)."""

from __future__ import annotations

import hello
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DataError

from balai.db import db

pytestmark = pytest.mark.balai_plugins(hello)
HelloNote = hello.HelloNote

SETTINGS = (
    "SELECT current_setting('balai.tenant_id', true), current_setting('balai.all_tenants', true)"
)


@pytest.fixture
def postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row-level security exists on PostgreSQL only")


@pytest.fixture
def sent(app):
    """The statements SQLAlchemy hands to the driver, in order."""
    statements: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    yield statements
    event.remove(db.engine, "before_cursor_execute", note)


@pytest.fixture
def notes(app, tenant, other_tenant):
    with db.tenant_session(tenant.id) as session:
        session.add_all([HelloNote(text="a1"), HelloNote(text="a2")])
    with db.tenant_session(other_tenant.id) as session:
        session.add(HelloNote(text="b1"))


def test_the_first_statement_reads_under_the_setting(postgresql, app, tenant):
    with db.tenant_session(tenant.id) as session:
        assert tuple(session.execute(text(SETTINGS)).one()) == (str(tenant.id), "off")
    with db.all_tenants() as session:
        assert tuple(session.execute(text(SETTINGS)).one()) == ("", "on")


def test_the_setting_is_no_statement_of_its_own(postgresql, app, tenant, notes, sent):
    """set_config goes to the server in the same exchange as the first statement."""
    with db.tenant_session(tenant.id) as session:
        rows = session.execute(text("SELECT text FROM hello_note ORDER BY text")).scalars()
        assert list(rows) == ["a1", "a2"]
        assert session.scalars(select(HelloNote.text).order_by(HelloNote.text)).all() == [
            "a1",
            "a2",
        ]
    assert len(sent) == 2
    assert not any("set_config" in statement for statement in sent)


def test_each_transaction_sets_its_own_tenant(postgresql, app, tenant, other_tenant, notes):
    with db.new_session(tenant.id) as session:
        assert sorted(session.execute(text("SELECT text FROM hello_note")).scalars()) == [
            "a1",
            "a2",
        ]
        session.commit()
        session.info["tenant_id"] = other_tenant.id  # the next transaction's tenant
        assert session.execute(text("SELECT text FROM hello_note")).scalars().all() == ["b1"]


def test_nothing_waits_after_a_transaction_without_statements(postgresql, app, tenant):
    """A transaction that ends before its first statement leaves no setting behind for
    whatever runs next on the pooled connection."""
    with db.new_session(tenant.id) as session:
        connection = session.connection()
        assert connection.__dict__.get("_balai_row_security") is not None
        session.commit()
        assert connection.__dict__.get("_balai_row_security") is None
    with db.engine.connect() as plain:  # no session: no tenant, no row security setting
        assert tuple(plain.execute(text(SETTINGS)).one()) in {("", ""), (None, None)}


def test_the_setting_does_not_outlive_its_transaction(postgresql, app, tenant):
    with db.tenant_session(tenant.id) as session:
        session.execute(text("SELECT 1"))
    with db.engine.connect() as plain:
        assert tuple(plain.execute(text(SETTINGS)).one()) in {("", ""), (None, None)}


def test_an_error_in_the_first_statement_is_sqlalchemys(postgresql, app, tenant):
    with db.new_session(tenant.id) as session:
        with pytest.raises(DataError, match="division by zero"):
            session.execute(text("SELECT 1 / 0"))
        session.rollback()
        assert session.execute(text(SETTINGS)).one()[0] == str(tenant.id)


def test_a_bulk_insert_first_is_under_the_setting(postgresql, app, tenant, other_tenant):
    from sqlalchemy import insert

    with db.tenant_session(tenant.id) as session:
        session.execute(
            insert(HelloNote), [{"text": "x", "tenant_id": tenant.id} for _ in range(3)]
        )
    with db.all_tenants() as session:
        assert session.scalar(select(HelloNote.tenant_id).distinct()) == tenant.id


def test_sqlite_keeps_nothing_waiting(app, tenant):
    if db.engine.dialect.name == "postgresql":
        pytest.skip("SQLite has no row-level security")
    with db.new_session(tenant.id) as session:
        assert "_balai_row_security" not in session.connection().__dict__


def test_several_commands_first_run_under_the_setting(postgresql, app, tenant):
    """SQL of several commands (no parameters) cannot go in a pipeline: the setting is
    sent on its own first, and the commands still run, under it."""
    with db.tenant_session(tenant.id) as session:
        result = session.connection().exec_driver_sql(SETTINGS + "; SELECT 1")
        assert tuple(result.one()) == (str(tenant.id), "off")
