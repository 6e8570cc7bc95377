"""The ``balai`` command: a Flask CLI group (so ``run``, ``shell`` and ``routes`` work too).

Every command that changes something validates first and exits non-zero with one
clear line, having changed nothing, when the input is wrong. The instance folder
is ``BALAI_INSTANCE_PATH`` or ``./instance``; ``balai init`` creates it.
"""

from __future__ import annotations

import functools
import os
import secrets
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, NoAppException, ScriptInfo
from sqlalchemy import func, make_url, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from balai import __version__, schema
from balai.app import instance_path as app_instance_path
from balai.auth.accounts import AccountError, create_user, normalise_email
from balai.auth.models import User
from balai.channels import deliver_pending
from balai.db import db
from balai.demo import demo_command
from balai.jobs.cli import jobs_group, scheduler_command, worker_command
from balai.permissions import OPERATOR, ROLES
from balai.plugincheck._cli import check_command as plugin_check_command
from balai.plugins import PluginInfo
from balai.plugins import plugins as plugin_manager
from balai.scaffold.commands import new_command, revision_command
from balai.storage.migrate import files_group
from balai.tenancy import (
    TenancyError,
    TenantInfo,
    create_tenant,
    disable_plugin,
    enable_plugin,
    normalise_host,
    registry,
)
from balai.tenancy.commands import commands as archive_commands
from balai.tenancy.models import Tenant
from balai.upstream.cli import PLUGIN_COMMANDS, registry_group

__all__ = [
    "InstanceError",
    "cli",
    "create_cli_app",
    "instance_path",
    "main",
    "new_instance_settings",
    "print_table",
    "refusing",
    "write_instance_config",
]

F = TypeVar("F", bound=Callable[..., Any])


def instance_path() -> Path:
    """The instance folder: ``BALAI_INSTANCE_PATH`` or ``./instance`` (as ``create_app``)."""
    return Path(app_instance_path())


class InstanceError(NoAppException):
    """The instance cannot be loaded (no secret key, bad setting): one line, no usage text."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.ClickException.show(self, file)


def create_cli_app(path: Path | None = None, overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app of the instance at ``path``; a configuration problem is one line."""
    from balai.app import create_app

    settings = {**(overrides or {}), "INSTANCE_PATH": str(path or instance_path())}
    try:
        return create_app(settings)
    except (RuntimeError, ValueError, SQLAlchemyError) as exc:
        raise InstanceError(_first_line(exc)) from exc


class BalaiGroup(FlaskGroup):
    """Flask's group, except that a command the app adds (``openapi``, a plugin's), asked
    for while the instance cannot be loaded, is refused with the instance's problem alone:
    Flask prints that, then "No such command", as though the command did not exist."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._load_plugin_commands()  # Flask's own step, so that those count as the core's
        completing = ctx.resilient_parsing  # shell completion: never an error, as Flask does
        if not completing and click.Group.get_command(self, ctx, name) is None:
            ctx.ensure_object(ScriptInfo).load_app()  # raises InstanceError; else kept
        return super().get_command(ctx, name)


cli = BalaiGroup(
    name="balai",
    create_app=create_cli_app,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
    help="Balai: a platform of public-service apps for Indonesian regions.",
)
# Balai builds its own app: Flask's --app and --env-file options would only mislead.
cli.params = [p for p in cli.params if p.name not in {"app", "env_file"}]
click.version_option(__version__, "--version", prog_name="balai")(cli)


def main() -> None:
    """Entry point of the ``balai`` console script."""
    cli.main(prog_name="balai")


# -- helpers ---------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def refusing(*errors: type[Exception]) -> Callable[[F], F]:
    """Turn ``errors`` raised by a command into one ``Error: ...`` line and exit 1."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except errors as exc:
                raise click.ClickException(_first_line(exc)) from exc

        return wrapper  # type: ignore[return-value]

    return decorate


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print ``rows`` as left-aligned columns under ``headers``."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)]
        click.echo("  ".join(cells).rstrip())


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _tenant(slug: str) -> TenantInfo:
    tenant = registry().by_slug(slug)
    if tenant is None:
        raise click.ClickException(f"unknown tenant {slug!r} (see 'balai tenants list')")
    return tenant


def _plugin(name: str) -> PluginInfo:
    info = plugin_manager().get(name)
    if info is None or info.builtin:
        raise click.ClickException(f"unknown plugin {name!r} (see 'balai plugins list')")
    return info


# -- init and database -------------------------------------------------------------


def write_instance_config(path: Path, settings: Mapping[str, Any]) -> bool:
    """Create ``path/balai.cfg`` (mode 600) holding ``settings``; False if it exists."""
    path.mkdir(parents=True, exist_ok=True)
    lines = ["# Balai instance settings. Environment variables BALAI_* override these."]
    lines += [f"{key} = {value!r}" for key, value in settings.items()]
    try:
        fd = os.open(path / "balai.cfg", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as cfg:
        cfg.write("\n".join(lines) + "\n")
    return True


def new_instance_settings(database_url: str | None = None) -> dict[str, Any]:
    """The settings a new instance starts with: a fresh secret key, maybe a database."""
    settings: dict[str, Any] = {"SECRET_KEY": secrets.token_hex(32)}
    if database_url:
        settings["DATABASE_URL"] = database_url
    return settings


def migrate(app: Flask) -> None:
    """Upgrade ``app``'s database; an unreachable or broken database is one line."""
    try:
        with app.app_context():
            schema.upgrade(app)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"database error: {_first_line(exc)}") from exc
    finally:
        db.engine_for(app).dispose()


@contextmanager
def _removed_on_error(path: Path) -> Iterator[None]:
    """Remove ``path`` again if it is new and the block fails before filling it."""
    existed = path.exists()
    try:
        yield
    except Exception:
        if not existed and path.is_dir() and not any(path.iterdir()):
            path.rmdir()
        raise


@cli.command("init", with_appcontext=False)
@click.option("--database-url", help="Database URL (default: an SQLite file in the instance).")
def init_command(database_url: str | None) -> None:
    """Create the instance folder, its config (balai.cfg) and the database.

    Safe to run again: an existing balai.cfg is kept and the database upgraded.
    """
    path = instance_path()
    cfg = path / "balai.cfg"
    if cfg.exists():
        if database_url:
            click.echo(f"note: {cfg} exists, --database-url ignored (edit the file)")
        app = create_cli_app(path)
        migrate(app)
        click.echo(f"kept {cfg}")
    else:
        settings = new_instance_settings(database_url)
        with _removed_on_error(path):  # a bad --database-url leaves nothing behind
            app = create_cli_app(path, settings)
            migrate(app)
        write_instance_config(path, settings)
        click.echo(f"wrote {cfg}")
    shown = make_url(app.config["DATABASE_URL"]).render_as_string(hide_password=True)
    click.echo(f"database ready: {shown}")


@cli.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@refusing(SQLAlchemyError)
def db_upgrade() -> None:
    """Bring the core's and every installed plugin's schema up to date."""
    from alembic.util import CommandError  # Alembic is imported by the commands using it

    try:
        schema.upgrade(_app())
    except CommandError as exc:
        raise click.ClickException(_first_line(exc)) from exc
    click.echo("database is up to date")


# -- tenants -----------------------------------------------------------------------


@cli.group("tenants")
def tenants_group() -> None:
    """Regions (tenants) served by this deployment."""


@tenants_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The region's name, e.g. 'Kota Tangerang'.")
@click.option("--domain", "domains", multiple=True, help="A host name serving it (repeatable).")
@refusing(TenancyError)
def tenants_create(slug: str, name: str, domains: tuple[str, ...]) -> None:
    """Create a tenant (region) served at the given domains."""
    hosts = list(dict.fromkeys(normalise_host(d) for d in domains))
    tenant = create_tenant(_app(), slug, name, hosts)
    click.echo(f"created tenant {tenant.slug} ({tenant.name})")


@tenants_group.command("list")
def tenants_list() -> None:
    """List tenants with their domains and enabled plugins."""
    tenants = registry().all()
    if not tenants:
        click.echo("no tenants yet: balai tenants create SLUG --name NAME --domain HOST")
        return
    rows = [
        [t.slug, t.name, ", ".join(t.domains) or "-", ", ".join(sorted(t.plugins)) or "-"]
        for t in tenants
    ]
    print_table(["SLUG", "NAME", "DOMAINS", "PLUGINS"], rows)


# -- plugins -----------------------------------------------------------------------


@cli.group("plugins")
def plugins_group() -> None:
    """Installed plugins, and switching them on and off per tenant."""


def _plugin_status(info: PluginInfo) -> str:
    if info.broken:
        return f"broken: {info.error}"
    allowed = _app().config["ALLOWED_PLUGINS"]
    return "not allowed" if allowed is not None and info.name not in allowed else "ok"


plugins_group.add_command(plugin_check_command)


@plugins_group.command("list")
def plugins_list() -> None:
    """List installed plugins, broken ones with the reason, and where each is enabled."""
    tenants = registry().all()
    installed = sorted(
        (key, info) for key, info in plugin_manager().installed.items() if not info.builtin
    )
    if not installed:
        click.echo("no plugins installed")
        return
    rows = [
        [
            key,
            info.version or "-",
            ", ".join(t.slug for t in tenants if info.name in t.plugins) or "-",
            _plugin_status(info),
        ]
        for key, info in installed
    ]
    print_table(["PLUGIN", "VERSION", "ENABLED FOR", "STATUS"], rows)


@plugins_group.command("enable")
@click.argument("name")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@refusing(TenancyError, SQLAlchemyError)
def plugins_enable(name: str, slug: str) -> None:
    """Switch a plugin on for a tenant (migrating its tables first)."""
    tenant, _info = _tenant(slug), _plugin(name)
    if name in tenant.plugins:
        click.echo(f"{name} is already enabled for {slug}")
        return
    enable_plugin(_app(), tenant, name, by="cli")
    click.echo(f"{name} enabled for {slug}")


@plugins_group.command("disable")
@click.argument("name")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@refusing(TenancyError)
def plugins_disable(name: str, slug: str) -> None:
    """Switch a plugin off for a tenant (its data is kept)."""
    tenant, _info = _tenant(slug), _plugin(name)
    if name not in tenant.plugins:
        click.echo(f"{name} is not enabled for {slug}")
        return
    disable_plugin(_app(), tenant, name, by="cli")
    click.echo(f"{name} disabled for {slug}")


# -- users -------------------------------------------------------------------------


@cli.group("users")
def users_group() -> None:
    """User accounts."""


def _user_tenant(slug: str | None, role: str) -> TenantInfo | None:
    if role == OPERATOR:
        if slug is not None:
            raise click.ClickException("platform operators belong to no tenant: omit --tenant")
        return None
    if slug is None:
        raise click.ClickException("--tenant is required (except for --role operator)")
    return _tenant(slug)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_group.command("create")
@click.argument("email")
@click.option("--tenant", "slug", help="The tenant's slug (omit only for --role operator).")
@click.option("--role", type=click.Choice([*ROLES, OPERATOR]), default="warga", show_default=True)
@click.option("--name", help="Full name (default: the part of the e-mail before @).")
@click.option("--department", help="Department (OPD) code, for officers.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@refusing(AccountError)
def users_create(
    email: str,
    slug: str | None,
    role: str,
    name: str | None,
    department: str | None,
    password_stdin: bool,
) -> None:
    """Create a user; the password comes from a prompt or --password-stdin."""
    email = normalise_email(email)
    tenant = _user_tenant(slug, role)
    password = _read_password(password_stdin)
    with db.all_tenants() as session:
        create_user(
            session,
            tenant_id=tenant.id if tenant else None,
            email=email,
            name=name or email.split("@")[0],
            role=role,
            password=password,
            department=department,
        )
        clashes = _region_accounts_with(session, email) if tenant is None else []
    click.echo(f"created {role} {email}" + (f" in {slug}" if tenant else ""))
    if clashes:
        click.echo(
            f"note: {email} also has an account in {', '.join(clashes)}; the operator's "
            "account takes precedence there and that account can no longer log in"
        )


def _region_accounts_with(session: Session, email: str) -> list[str]:
    """Slugs of the regions that have an account with ``email`` (before it was reserved)."""
    return list(
        session.scalars(
            select(Tenant.slug)
            .join(User, User.tenant_id == Tenant.id)
            .where(func.lower(User.email) == email)
            .order_by(Tenant.slug)
        )
    )


# -- outbox ------------------------------------------------------------------------


@cli.group("outbox")
def outbox_group() -> None:
    """Outgoing messages (e-mail, SMS) of every tenant."""


@outbox_group.command("deliver")
@click.option(
    "--limit",
    default=100,
    show_default=True,
    type=click.IntRange(min=1),
    help="Deliver at most this many messages.",
)
@refusing(SQLAlchemyError)
def outbox_deliver(limit: int) -> None:
    """Deliver pending messages; failed ones are retried up to OUTBOX_MAX_ATTEMPTS times."""
    delivered, failed = deliver_pending(_app(), limit)
    click.echo(f"delivered {delivered}, failed {failed}")


cli.add_command(demo_command)
db_group.add_command(revision_command)
plugins_group.add_command(new_command)
cli.add_command(files_group)
cli.add_command(jobs_group)
cli.add_command(worker_command)
cli.add_command(scheduler_command)
for archive_command in archive_commands:
    tenants_group.add_command(archive_command)
for upstream_command in PLUGIN_COMMANDS:
    plugins_group.add_command(upstream_command)
cli.add_command(registry_group)
