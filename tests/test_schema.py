"""Migrations: they build exactly the tables the models describe, on both databases."""

from __future__ import annotations

import pytest
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


def test_enabling_a_plugin_brings_its_schema_up_to_date(app, tenant):
    """A plugin installed after ``balai db upgrade`` gets its tables when first enabled."""
    from alembic import command
    from sqlalchemy import inspect

    from balai.tenancy import enable_plugin

    migrated = [p for p in plugins(app).working() if p.migrations is not None]
    if not migrated:
        pytest.skip("no installed plugin carries migrations")
    name = migrated[0].name
    command.downgrade(schema.alembic_config(app), f"{name}@base")
    try:
        assert not schema.is_current(app, name)
        enable_plugin(app, tenant, name)
        assert schema.is_current(app, name)
        tables = inspect(db.engine).get_table_names()
        assert any(t.startswith(f"{name}_") for t in tables)
    finally:
        schema.upgrade(app)


def test_enabling_from_the_admin_page_migrates_without_deadlock(app, client, tenant, login):
    """The admin's request holds locks on user tables while the migration secures tables."""
    from alembic import command

    migrated = [p for p in plugins(app).working() if p.migrations is not None]
    if not migrated:
        pytest.skip("no installed plugin carries migrations")
    name = migrated[0].name
    login(client, role="admin")
    command.downgrade(schema.alembic_config(app), f"{name}@base")
    try:
        response = client.post(f"/admin/plugin/{name}/aktifkan")
        assert response.status_code == 302
        assert schema.is_current(app, name)
        assert "error" not in client.get("/admin/plugin").text.split("flash")[0]
    finally:
        schema.upgrade(app)


def test_a_broken_plugin_does_not_block_migrations(make_app, monkeypatch):
    """Its revisions are applied already: Alembic must still find them."""
    import importlib_metadata

    import balai.plugins

    real = balai.plugins.entry_points

    def entry_points(group):
        found = real(group)
        if group != "balai.plugins":
            return found
        broken = [
            importlib_metadata.EntryPoint(ep.name, f"{ep.module}_missing", ep.group)
            if ep.name == "pengumuman"
            else ep
            for ep in found
        ]
        return importlib_metadata.EntryPoints(broken)

    monkeypatch.setattr(balai.plugins, "entry_points", entry_points)
    app = make_app()
    info = plugins(app).get("pengumuman")
    if info is None:
        pytest.skip("balai-pengumuman is not installed")
    assert info.broken and info.migrations is not None
    with app.app_context():
        schema.upgrade(app)  # no "Can't locate revision"


def test_credential_version_migration_ends_what_the_new_rule_would_have_ended(app, tenant):
    """Upgrading must not bring back a session or token made before a password change,
    nor one of a disabled account: the version alone would honour them."""
    from datetime import UTC, datetime, timedelta

    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import select

    from balai.auth.accounts import create_user
    from balai.auth.models import ApiToken, LoginSession, User

    changed = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    before, after = changed - timedelta(hours=1), changed + timedelta(minutes=1)
    with db.all_tenants() as session:
        owner, disabled = (
            create_user(
                session,
                tenant_id=tenant.id,
                email=email,
                name="x",
                role="warga",
                password="kata-sandi-uji-123",
            )
            for email in ("a@example.test", "b@example.test")
        )
        owner.password_changed_at = disabled.password_changed_at = changed
        disabled.active = False
        rows = [(owner, before, "old"), (owner, after, "new"), (disabled, after, "off")]
        for user, at, key in rows:
            common = {"user_id": user.id, "tenant_id": tenant.id, "created_at": at}
            session.add(LoginSession(token_hash=f"s-{key}", **common))
            session.add(ApiToken(token_hash=f"t-{key}", name=key, prefix=key, **common))

    config = schema.alembic_config(app)
    previous = ScriptDirectory.from_config(config).get_revision("0003_credential_version")
    command.downgrade(config, str(previous.down_revision))
    schema.upgrade(app)

    with db.all_tenants() as session:
        live = {
            row.token_hash
            for model in (LoginSession, ApiToken)
            for row in session.scalars(select(model).where(model.revoked_at.is_(None)))
        }
        users = session.scalars(select(User).order_by(User.id)).all()
    assert live == {"s-new", "t-new"}
    assert [u.email for u in users] == ["a@example.test", "b@example.test"]  # nothing lost
