"""``balai pengaduan ...`` commands: the deadline check and the photo sweep (run them
from cron) and Open311 keys."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import click
from flask import current_app, g
from flask.cli import AppGroup
from sqlalchemy import select

from balai.calendar import local_date
from balai.db import db, utcnow
from balai.jobs import Job
from balai.plugins import plugins
from balai.tenancy import TIMEZONES, TenantInfo, registry
from balai_pengaduan import clients, photos, services
from balai_pengaduan.models import Photo

__all__ = ["JOBS", "check_deadlines", "group", "sweep_photos"]

PLUGIN = "pengaduan"

group = AppGroup("pengaduan", help="Complaints (pengaduan).")
api_keys = AppGroup("api-key", help="Keys of Open311 client applications.")
group.add_command(api_keys)


@contextmanager
def _in_tenant(tenant: TenantInfo) -> Iterator[None]:
    """An app context for one region, as a request of its host would have."""
    with current_app.app_context():
        g.tenant = tenant
        yield


def _timezone(tenant: TenantInfo) -> str:
    zone = tenant.settings.get("timezone")
    return str(zone) if zone in TIMEZONES else str(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def check_deadlines(tenant: TenantInfo) -> int:
    """Announce the region's newly overdue complaints; returns how many there were."""
    today = local_date(utcnow(), _timezone(tenant))
    relay = plugins().relay(tenant.plugins)
    total = 0
    with _in_tenant(tenant), db.tenant_session(tenant.id) as session:
        while batch := services.take_newly_overdue(session, today):
            relay.complaints_overdue(tenant=tenant, complaints=batch, session=session)
            session.flush()
            total += len(batch)
    return total


@group.command("check-deadlines")
def check_deadlines_command() -> None:
    """Announce complaints newly past a deadline, in every region with the plugin.

    A region whose check fails is reported and left for the next run (nothing of it
    is marked announced); the others are still checked, and the exit status is 1.
    """
    failed = []
    for tenant in registry().all():
        if PLUGIN not in tenant.plugins:
            continue
        try:
            click.echo(f"{tenant.slug}: {check_deadlines(tenant)} newly overdue")
        except Exception as exc:  # one region's failing plugin must not stop the others
            current_app.logger.exception("check-deadlines failed for %s", tenant.slug)
            click.echo(f"{tenant.slug}: failed: {type(exc).__name__}: {exc}", err=True)
            failed.append(tenant.slug)
    if failed:
        raise click.ClickException(f"the check failed for {', '.join(failed)}")


def sweep_photos(tenant: TenantInfo, older_than: timedelta) -> list[str]:
    """Delete the region's photo files that no complaint names; returns their names."""
    directory = photos.files(tenant.id)
    if next(directory.list(), None) is None:
        return []  # never a photo: the plugin's tables may not even exist
    with db.tenant_session(tenant.id) as session:
        named = session.scalars(select(Photo.filename)).all()
    return photos.sweep(directory, named, older_than=older_than)


@group.command("sweep-photos")
@click.option(
    "--older-than",
    "minutes",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    help="Minutes a file must have been there: younger ones may belong to a write under way.",
)
def sweep_photos_command(minutes: int) -> None:
    """Delete photo files no complaint names, left by a worker killed before its commit."""
    for tenant in registry().all():
        deleted = sweep_photos(tenant, timedelta(minutes=minutes))
        click.echo(f"{tenant.slug}: {len(deleted)} stray photo files deleted")


def check_deadlines_job(tenant: TenantInfo) -> str:
    """The ``pengaduan.check-deadlines`` job: :func:`check_deadlines` for one region."""
    return f"{check_deadlines(tenant)} newly overdue"


def sweep_photos_job(tenant: TenantInfo) -> str:
    """The ``pengaduan.sweep-photos`` job: :func:`sweep_photos` of files an hour old."""
    return f"{len(sweep_photos(tenant, timedelta(minutes=60)))} stray photo files deleted"


#: The plugin's jobs (``register_jobs``): each in the region's own time zone.
JOBS = [
    Job("pengaduan.check-deadlines", check_deadlines_job, schedule="15 0 * * *"),
    Job("pengaduan.sweep-photos", sweep_photos_job, schedule="30 * * * *"),
]


def _tenant(slug: str) -> TenantInfo:
    tenant = registry().by_slug(slug)
    if tenant is None:
        raise click.ClickException(f"unknown tenant {slug!r} (see 'balai tenants list')")
    if PLUGIN not in tenant.plugins:
        raise click.ClickException(f"{slug} has not enabled the {PLUGIN} plugin")
    return tenant


@api_keys.command("create")
@click.argument("name")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
def create_key(name: str, slug: str) -> None:
    """Give the application NAME an Open311 key; it is printed once, never stored."""
    tenant = _tenant(slug)
    with db.tenant_session(tenant.id) as session:
        try:
            client, key = clients.create_client(session, name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"client {client.id} ({client.name}) of {slug}; its api_key, shown once:")
    click.echo(key)


@api_keys.command("revoke")
@click.argument("client_id", type=int)
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
def revoke_key(client_id: int, slug: str) -> None:
    """Stop accepting the key of client CLIENT_ID."""
    tenant = _tenant(slug)
    with db.tenant_session(tenant.id) as session:
        client = clients.revoke_client(session, client_id)
    if client is None:
        raise click.ClickException(f"{slug} has no Open311 client {client_id}")
    click.echo(f"client {client_id} ({client.name}) of {slug}: key revoked")
