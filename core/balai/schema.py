"""Schema migrations (Alembic): the core's branch plus one branch per plugin.

``balai db upgrade`` brings every installed plugin's schema up to date; enabling a
plugin upgrades its own branch first. On PostgreSQL every tenant-scoped table
then gets row-level security on ``tenant_id``, as a second line behind the ORM
filter: :func:`apply_row_security`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy import Connection, text

from balai.db import Base, TenantOptional, TenantScoped, db
from balai.plugins import plugins

if TYPE_CHECKING:  # Alembic is imported when migrating: web workers never need it
    from alembic.config import Config

__all__ = ["alembic_config", "apply_row_security", "is_current", "upgrade", "upgrade_plugin"]

CORE_MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "balai_alembic_version"


def alembic_config(app: Flask) -> Config:
    """An Alembic config whose version locations are the core's and every plugin's."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(CORE_MIGRATIONS))
    locations = [CORE_MIGRATIONS / "versions"]
    # Broken plugins too: their revisions may be applied already, and Alembic must know them.
    found = {p.migrations for p in plugins(app).installed.values() if p.migrations is not None}
    locations += sorted(found)
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    cfg.attributes["app"] = app
    return cfg


def upgrade(app: Flask, target: str = "heads") -> None:
    """Upgrade the database to ``target`` (default: every branch's head)."""
    from alembic import command

    command.upgrade(alembic_config(app), target)
    apply_row_security(app)


def is_current(app: Flask, branch: str) -> bool:
    """Whether ``branch`` (``balai`` or a plugin name) is at its head revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(app))
    heads = {script.get_revision(f"{branch}@head").revision}
    with db.engine_for(app).connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        applied = set(context.get_current_heads())
    return bool(heads & applied) or any(
        heads & {r.revision for r in script.iterate_revisions(head, "base")} for head in applied
    )


def upgrade_plugin(app: Flask, name: str) -> None:
    """Bring one plugin's branch to its head if it has migrations and is behind.

    Called while a request may hold a transaction (and its locks) on the same
    tables the migration alters: that transaction is ended first, or the two
    connections would wait on each other.
    """
    info = plugins(app).get(name)
    if info is None or info.migrations is None or is_current(app, name):
        return
    db.end_request_transaction()
    upgrade(app, f"{name}@head")


def tenant_tables() -> dict[str, bool]:
    """Tenant-scoped table names, each with whether a NULL tenant (global row) is allowed."""
    tables: dict[str, bool] = {}
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if issubclass(cls, TenantScoped | TenantOptional) and mapper.local_table is not None:
            tables[str(mapper.local_table.name)] = issubclass(cls, TenantOptional)
    return tables


SECURED_TABLES = text(
    """
    SELECT c.relname FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
    JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = 'balai_tenant'
    WHERE c.relrowsecurity AND c.relforcerowsecurity
    """
)


def apply_row_security(app: Flask) -> None:
    """On PostgreSQL, add the tenant policy to every tenant-scoped table that lacks it.

    Tables already secured are left alone, so an upgrade under live traffic takes
    no lock on them; a lock that cannot be had quickly fails the upgrade instead
    of queueing every request behind it.
    """
    engine = db.engine_for(app)
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '10s'"))
        existing = set(
            connection.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
        )
        secured = set(connection.scalars(SECURED_TABLES))
        for table, optional in tenant_tables().items():
            if table in existing and table not in secured:
                _secure_table(connection, table, optional)


def _secure_table(connection: Connection, table: str, optional: bool) -> None:
    check = (
        "current_setting('balai.all_tenants', true) = 'on' OR "
        "tenant_id = NULLIF(current_setting('balai.tenant_id', true), '')::integer"
    )
    if optional:
        check += " OR tenant_id IS NULL"
    quoted = connection.dialect.identifier_preparer.quote(table)
    connection.execute(text(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY"))
    connection.execute(text(f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY"))
    connection.execute(text(f"DROP POLICY IF EXISTS balai_tenant ON {quoted}"))
    connection.execute(
        text(f"CREATE POLICY balai_tenant ON {quoted} USING ({check}) WITH CHECK ({check})")
    )
