"""Switch on every installed plugin for a tenant and load its demo data (crawling tests)."""

from __future__ import annotations

from flask import Flask

from balai.db import db
from balai.jobs import declared, enqueue
from balai.jobs.runner import runs_for
from balai.plugins import plugins
from balai.tenancy import TenancyError, TenantInfo, enable_plugin, registry
from balai.upstream import UpstreamEvaluation


def enable_all(app: Flask, tenant: TenantInfo) -> TenantInfo:
    """Every working plugin on, requirements first; the tenant as it is then."""
    pending = [p.name for p in plugins(app).working()]
    for _ in range(len(pending) + 1):
        for name in list(pending):
            try:
                enable_plugin(app, registry(app).by_id(tenant.id), name)
                pending.remove(name)
            except TenancyError:
                continue  # a requirement is not on yet
    assert pending == [], f"could not switch on {pending}"
    current = registry(app).by_id(tenant.id)
    assert current is not None
    return current


def fill(app: Flask, tenant: TenantInfo) -> None:
    """Each enabled plugin's demo data; a plugin that fails fails the test. And an
    evaluation the region sent upstream (no token: the pages never call the upstream)."""
    with db.tenant_session(tenant.id) as session:
        for name in sorted(tenant.plugins):
            plugins(app).relay(frozenset({name})).populate_demo(tenant=tenant, session=session)
        session.add(
            UpstreamEvaluation(
                upstream="http://upstream.invalid",
                remote_id=1,
                plugin="pengumuman",
                version="0.1.0",
                severity="medium",
                title=f"Evaluasi {tenant.slug}",
                body=f"Yang kurang di {tenant.name}",
                status="answered",
                replies=[{"author": "Hulu", "from_upstream": True, "body": "Terima kasih"}],
            )
        )


def enqueue_jobs(app: Flask, tenant: TenantInfo) -> None:
    """One waiting run of every job the tenant has, each under a key naming the region
    (``kota-b:pengaduan.check-deadlines``): background job records to look for."""
    with app.app_context():
        for job in declared(app).values():
            if runs_for(job, tenant):
                enqueue(job.name, tenant=tenant, key=f"{tenant.slug}:{job.name}")
