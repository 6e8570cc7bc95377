"""``balai puskesmas ...`` commands: sending queued visits to SATUSEHAT and deleting
the bundles kept past their retention (run from cron)."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app, g
from flask.cli import AppGroup
from flask_babel import get_timezone

from balai.db import db, utcnow
from balai.jobs import Job
from balai.settings import plugin_settings
from balai.tenancy import TenantInfo, registry
from balai_puskesmas import export, runtime
from balai_puskesmas.settings import sending_settings

__all__ = ["JOBS", "group", "purge_for", "send_and_purge", "send_for", "send_job"]

PLUGIN = "puskesmas"

group = AppGroup("puskesmas", help="e-Puskesmas: community health centres.")


@contextmanager
def _in_tenant(tenant: TenantInfo) -> Iterator[None]:
    """An app context for one region, as a request of its host would have: the plugin's
    settings resolve for it (``plugin_settings`` reads ``g.tenant``)."""
    with current_app.app_context():
        g.tenant = tenant
        yield


def send_for(tenant: TenantInfo, limit: int = 50) -> export.SendSummary | None:
    """Send the region's due bundles; ``None`` when its sending is switched off."""
    with _in_tenant(tenant):
        settings = sending_settings(plugin_settings(PLUGIN), current_app.config)
        if not settings.get("export_enabled"):
            return None
        vault = runtime.vault_for(current_app.config, tenant.id)
        with db.new_session(tenant.id) as session:
            return export.send_due(
                session, settings, utcnow(), vault=vault, limit=limit, zone=str(get_timezone())
            )


def purge_for(tenant: TenantInfo) -> int:
    """Delete the region's sent bundles older than its ``bundle_retention_days``."""
    with _in_tenant(tenant):
        days = int(plugin_settings(PLUGIN)["bundle_retention_days"])
        with db.new_session(tenant.id) as session:
            return export.purge_sent(session, utcnow(), days)


def send_and_purge(tenant: TenantInfo, limit: int = 50) -> tuple[export.SendSummary | None, int]:
    """One region's share of ``balai puskesmas send``: send what is due (``None`` when
    sending is off), then delete the bundles past retention (how many)."""
    return send_for(tenant, limit), purge_for(tenant)


def send_job(tenant: TenantInfo) -> str:
    """The ``puskesmas.send`` job: :func:`send_and_purge`, summed up in one line."""
    summary, deleted = send_and_purge(tenant)
    line = summary.line() if summary is not None else "sending to SATUSEHAT is switched off"
    return line + (f", {deleted} bundles deleted" if deleted else "")


#: Failed bundles wait with their own back-off (export.py), so a failed run is not
#: retried; its error keeps only the exception's type and place (never personal data).
JOBS = [Job("puskesmas.send", send_job, schedule="* * * * *", retries=0, error_messages=False)]


@group.command("send")
@click.option("--tenant", "slug", help="Only this tenant (its slug); default: every tenant.")
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=50,
    show_default=True,
    help="At most this many bundles per tenant in one run.",
)
def send_command(slug: str | None, limit: int) -> None:
    """Send visits queued for SATUSEHAT, in every region that switched sending on.

    Meant for cron every minute (``* * * * * balai puskesmas send``): each run sends
    what is due and leaves failures for a later run, waiting longer after each one
    (1 minute, doubling up to 6 hours). Two runs at once never send one bundle twice.
    It also deletes, in every region with e-Puskesmas (sending on or off), the bundles
    SATUSEHAT accepted more than the region's ``bundle_retention_days`` ago; the
    exports and their outcome stay. Prints one line per region:
    ``kota-tangerang: 3 sent, 1 waiting, 0 failed`` (and ``, 2 bundles deleted``).
    A region whose run fails is reported and the others are still served; the exit
    status is then 1.
    """
    if slug is not None:
        tenant = registry().by_slug(slug)
        if tenant is None:
            raise click.ClickException(f"unknown tenant {slug!r} (see 'balai tenants list')")
        if PLUGIN not in tenant.plugins:
            raise click.ClickException(f"{slug} has not enabled the {PLUGIN} plugin")
        tenants = [tenant]
    else:
        tenants = [t for t in registry().all() if PLUGIN in t.plugins]
    failed = []
    for tenant in tenants:
        try:
            summary, deleted = send_and_purge(tenant, limit)
        except Exception as exc:  # one region's failure must not stop the others
            # Not the message: a database error quotes its parameters (personal data).
            where = traceback.extract_tb(exc.__traceback__)[-1]
            current_app.logger.error(
                "puskesmas send failed for %s: %s at %s:%s",
                tenant.slug,
                type(exc).__name__,
                where.filename,
                where.lineno,
            )
            click.echo(f"{tenant.slug}: failed: {type(exc).__name__}", err=True)
            failed.append(tenant.slug)
            continue
        purged = f"{deleted} bundles deleted" if deleted else ""
        if summary is not None:
            click.echo(f"{tenant.slug}: {summary.line()}" + (f", {purged}" if purged else ""))
        elif purged:
            click.echo(f"{tenant.slug}: sending to SATUSEHAT is switched off; {purged}")
        elif slug is not None:
            click.echo(f"{tenant.slug}: sending to SATUSEHAT is switched off")
    if failed:
        raise click.ClickException(f"sending failed for {', '.join(failed)}")
