"""The ``balai`` command: a Flask CLI group (so ``run``, ``shell`` and ``routes`` work too).

Every command that changes something validates first and exits non-zero with one
clear line, having changed nothing, when the input is wrong.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from balai import schema
from balai.auth.accounts import AccountError, create_user, normalise_email
from balai.db import db
from balai.permissions import OPERATOR, ROLES
from balai.plugins import plugins as plugin_manager
from balai.tenancy import (
    TenancyError,
    TenantInfo,
    create_tenant,
    disable_plugin,
    enable_plugin,
    registry,
)


def instance_path() -> Path:
    """The instance folder: ``BALAI_INSTANCE_PATH`` or ``./instance``."""
    return Path(os.environ.get("BALAI_INSTANCE_PATH") or "instance").resolve()


def _create_app() -> Flask:
    from balai.app import create_app

    os.environ.setdefault("BALAI_INSTANCE_PATH", str(instance_path()))
    return create_app()


cli = FlaskGroup(
    name="balai",
    create_app=_create_app,
    add_version_option=True,
    load_dotenv=False,
    set_debug_flag=False,
    help="Balai: a platform of public-service apps for Indonesian regions.",
)


def main() -> None:
    cli.main(prog_name="balai")


def _tenant(slug: str) -> TenantInfo:
    tenant = registry().by_slug(slug)
    if tenant is None:
        raise click.ClickException(f"unknown tenant {slug!r} (see 'balai tenants list')")
    return tenant


# -- init and database ---------------------------------------------------------


def write_instance_config(path: Path, database_url: str | None = None) -> bool:
    """Create ``balai.cfg`` with a fresh secret key unless it exists; True if written."""
    path.mkdir(parents=True, exist_ok=True)
    cfg = path / "balai.cfg"
    if cfg.exists():
        return False
    lines = [
        "# Balai instance settings. Environment variables BALAI_* override these.",
        f"SECRET_KEY = {secrets.token_hex(32)!r}",
    ]
    if database_url:
        lines.append(f"DATABASE_URL = {database_url!r}")
    cfg.write_text("\n".join(lines) + "\n")
    cfg.chmod(0o600)
    return True


@cli.command("init")
@click.option("--database-url", help="Database URL (default: an SQLite file in the instance).")
def init_command(database_url: str | None) -> None:
    """Create the instance folder, its config and the database."""
    path = instance_path()
    if write_instance_config(path, database_url):
        click.echo(f"wrote {path / 'balai.cfg'}")
    app = _create_app()
    with app.app_context():
        schema.upgrade(app)
    click.echo(f"database ready: {app.config['DATABASE_URL']}")


@cli.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Bring the core and every installed plugin's schema up to date."""
    schema.upgrade(current_app)  # type: ignore[arg-type]
    click.echo("database is up to date")


# -- tenants ---------------------------------------------------------------------


@cli.group("tenants")
def tenants_group() -> None:
    """Regions served by this deployment."""


@tenants_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The region's name, e.g. 'Kota Tangerang'.")
@click.option("--domain", "domains", multiple=True, help="A host name serving it (repeatable).")
@with_appcontext
def tenants_create(slug: str, name: str, domains: tuple[str, ...]) -> None:
    """Create a tenant (region)."""
    try:
        tenant = create_tenant(current_app, slug, name, list(domains))  # type: ignore[arg-type]
    except TenancyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created tenant {tenant.slug} ({tenant.name})")


@tenants_group.command("list")
@with_appcontext
def tenants_list() -> None:
    """List tenants with their domains and enabled plugins."""
    tenants = registry().all()
    if not tenants:
        click.echo("no tenants yet: balai tenants create SLUG --name NAME --domain HOST")
    for t in tenants:
        click.echo(
            f"{t.slug}\t{t.name}\t{','.join(t.domains) or '-'}\t{','.join(sorted(t.plugins)) or '-'}"
        )


# -- plugins ---------------------------------------------------------------------


@cli.group("plugins")
def plugins_group() -> None:
    """Installed plugins, and switching them per tenant."""


@plugins_group.command("list")
@with_appcontext
def plugins_list() -> None:
    """List installed plugins, broken ones with the reason, and where each is enabled."""
    manager = plugin_manager()
    tenants = registry().all()
    infos = sorted((p for p in manager.installed.values() if not p.builtin), key=lambda p: p.name)
    if not infos:
        click.echo("no plugins installed")
    for info in infos:
        if info.broken:
            click.echo(f"{info.name}\t{info.version}\tBROKEN\t{info.error}")
            continue
        enabled = [t.slug for t in tenants if info.name in t.plugins]
        click.echo(f"{info.name}\t{info.version}\tok\tenabled: {', '.join(enabled) or '-'}")


@plugins_group.command("enable")
@click.argument("name")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@with_appcontext
def plugins_enable(name: str, slug: str) -> None:
    """Switch a plugin on for a tenant."""
    try:
        enable_plugin(current_app, _tenant(slug), name, by="cli")  # type: ignore[arg-type]
    except TenancyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{name} enabled for {slug}")


@plugins_group.command("disable")
@click.argument("name")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@with_appcontext
def plugins_disable(name: str, slug: str) -> None:
    """Switch a plugin off for a tenant (its data is kept)."""
    try:
        disable_plugin(current_app, _tenant(slug), name, by="cli")  # type: ignore[arg-type]
    except TenancyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{name} disabled for {slug}")


# -- users -----------------------------------------------------------------------


@cli.group("users")
def users_group() -> None:
    """User accounts."""


@users_group.command("create")
@click.argument("email")
@click.option("--tenant", "slug", help="The tenant's slug (omit only for --role operator).")
@click.option("--role", type=click.Choice([*ROLES, OPERATOR]), default="warga", show_default=True)
@click.option("--name", help="Full name (default: the part of the e-mail before @).")
@click.option("--department", help="Department code, for officers (role opd).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(
    email: str,
    slug: str | None,
    role: str,
    name: str | None,
    department: str | None,
    password_stdin: bool,
) -> None:
    """Create a user; the password comes from a prompt or --password-stdin."""
    try:
        email = normalise_email(email)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    if (role == OPERATOR) != (slug is None):
        raise click.ClickException("--tenant is required, except for --role operator")
    tenant = _tenant(slug) if slug else None
    password = _read_password(password_stdin)
    try:
        with db.all_tenants() as session:
            user = create_user(
                session,
                tenant_id=tenant.id if tenant else None,
                email=email,
                name=name or email.split("@")[0],
                role=role,
                password=password,
                department=department,
            )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {role} {user.email}" + (f" in {slug}" if slug else ""))


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _register_demo() -> None:
    from balai.demo import demo_command

    cli.add_command(demo_command)


_register_demo()
