"""``balai puskesmas ...`` commands: sending queued visits to SATUSEHAT (run from cron)."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app, g
from flask.cli import AppGroup

from balai.db import db, utcnow
from balai.settings import plugin_settings
from balai.tenancy import TenantInfo, registry
from balai_puskesmas import export
from balai_puskesmas.settings import sending_settings

__all__ = ["group", "send_for"]

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
        with db.new_session(tenant.id) as session:
            return export.send_due(session, settings, utcnow(), limit=limit)


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
    Prints one line per region: ``kota-tangerang: 3 sent, 1 waiting, 0 failed``.
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
            summary = send_for(tenant, limit)
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
        if summary is None:
            if slug is not None:
                click.echo(f"{tenant.slug}: sending to SATUSEHAT is switched off")
            continue
        click.echo(f"{tenant.slug}: {summary.line()}")
    if failed:
        raise click.ClickException(f"sending failed for {', '.join(failed)}")
