"""``balai tenants export | import | purge``: moving a region to another deployment."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from balai.tenancy.archive import ArchiveError, export_tenant, import_tenant
from balai.tenancy.changes import TenancyError
from balai.tenancy.purge import purge_tenant

__all__ = ["commands"]


def _refused(exc: Exception) -> click.ClickException:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return click.ClickException(text.splitlines()[0] if text else type(exc).__name__)


@click.command("export")
@click.argument("slug")
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive to write (a .zip file).",
)
def export_command(slug: str, output: Path) -> None:
    """Write region SLUG's data, settings, users and files to one archive.

    Secrets stay behind: login sessions, API tokens and keys, one-time codes,
    invitations, queued messages and secret plugin settings. Personal data sealed
    with this server's key is written in clear so that another server can seal it
    with its own: keep the archive as safe as a database backup.
    """
    try:
        manifest = export_tenant(current_app._get_current_object(), slug, output)  # type: ignore[attr-defined]
    except (ArchiveError, SQLAlchemyError, OSError) as exc:
        raise _refused(exc) from exc
    rows = sum(manifest["tables"].values())
    files = sum(1 for m in manifest["members"] if m.startswith("files/"))
    click.echo(f"exported {slug}: {rows} rows, {files} files to {output}")
    if manifest["dropped"]:
        click.echo(f"left out: {', '.join(manifest['dropped'])}")


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--slug", help="The region's slug here (default: the archive's).")
@click.option(
    "--domain",
    "domains",
    multiple=True,
    help="A host name serving it here (repeatable; default: the archive's domains).",
)
def import_command(file: Path, slug: str | None, domains: tuple[str, ...]) -> None:
    """Restore an archive written by 'balai tenants export' as a new region.

    The archive's hashes and format are checked and the plugins it needs are
    migrated first; then every row is written with new ids in one transaction.
    A bad archive, a slug or domain already in use: nothing is written.
    """
    try:
        imported = import_tenant(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            file,
            slug=slug,
            domains=list(domains) or None,
        )
    except (ArchiveError, TenancyError, SQLAlchemyError, OSError) as exc:
        raise _refused(exc) from exc
    click.echo(f"imported {imported.tenant.slug}: {imported.rows} rows")


@click.command("purge")
@click.argument("slug")
@click.option(
    "--export-file",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="An archive of this region written since its last change (balai tenants export).",
)
@click.option("--yes", is_flag=True, help="Confirm: the region is removed for good.")
def purge_command(slug: str, export_file: Path, yes: bool) -> None:
    """Remove region SLUG for good: its rows of every table, domains, users and files.

    Refused without --yes, and unless --export-file is an intact archive of this
    region with as many rows of every table as the region has now (export again
    after any change). Platform operators' accounts are kept. The purge is logged.
    """
    if not yes:
        raise click.ClickException(f"purging removes {slug} for good: add --yes to confirm")
    try:
        purged = purge_tenant(current_app._get_current_object(), slug, export_file)  # type: ignore[attr-defined]
    except (ArchiveError, SQLAlchemyError, OSError) as exc:
        raise _refused(exc) from exc
    click.echo(f"purged {purged.slug}: {purged.rows} rows, {purged.files} files")


commands = (export_command, import_command, purge_command)
