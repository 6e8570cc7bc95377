"""Migrations: they build exactly the tables the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from balai import schema
from balai.db import Base, db
from balai.plugins import plugins


def _migrated_prefixes(app) -> tuple[str, ...]:
    names = [p.name for p in plugins(app).working() if p.migrations is not None]
    return ("balai_", *(f"{name}_" for name in names))


def test_migrations_match_the_models(app):
    prefixes = _migrated_prefixes(app)

    def include(obj, name, type_, reflected, compare_to):
        table = obj if type_ == "table" else getattr(obj, "table", None)
        table_name = name if type_ == "table" else getattr(table, "name", "")
        return bool(table_name) and table_name.startswith(prefixes)

    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_object": include,
                "compare_type": True,
                "version_table": schema.VERSION_TABLE,
            },
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_every_branch_is_at_its_head(app):
    assert schema.is_current(app, "balai")
    for info in plugins(app).working():
        if info.migrations is not None:
            assert schema.is_current(app, info.name), info.name


def test_every_tenant_scoped_table_is_known_to_row_security():
    tables = schema.tenant_tables()
    assert tables["balai_plugin_state"] is False
    assert tables["balai_user"] is True  # operators are global users
    assert "balai_tenant" not in tables
