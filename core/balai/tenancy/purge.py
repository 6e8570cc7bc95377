"""Removing a region entirely (``balai tenants purge``): its rows of every table
(those an archive leaves out too, such as its job runs), its domains, its users, and
every object of its namespace in :mod:`balai.storage`.

Only a region whose archive is at hand is purged: the archive must be one of this
region (its id and slug here) whose hashes hold, and the region must be what the
archive holds now: the region is exported again (to a temporary file, as
``balai tenants export`` does) and its region record, its table members and its
files (names and SHA-256) must be the archive's, so that nothing added, changed or
removed since the export is lost with it. Rows go in one transaction bound to the
region (row security applies on PostgreSQL); the files go once it is committed.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import delete, inspect, select

from balai import schema, storage
from balai.db import Base, db
from balai.tenancy.archive import ArchiveError, export_tenant, read_archive
from balai.tenancy.models import Domain, Tenant, bump_state
from balai.tenancy.registry import registry

__all__ = ["Purged", "purge_tenant"]

log = logging.getLogger("balai.audit")


@dataclass(frozen=True)
class Purged:
    """What a purge removed."""

    slug: str
    rows: int
    files: int


def purge_tenant(app: Flask, slug: str, export_file: Path, *, by: str = "cli") -> Purged:
    """Remove region ``slug`` for good, after checking ``export_file`` is its current archive.

    :raises ArchiveError: no such region, or the archive is not a current one of it.
    """
    with db.all_tenants() as session:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    if tenant_id is None:
        raise ArchiveError(f"unknown tenant {slug!r}")
    with read_archive(export_file) as archive:
        manifest = archive.manifest
    source = manifest.get("source") or {}
    if source.get("id") != tenant_id or source.get("slug") != slug:
        raise ArchiveError(f"{export_file} is not an export of {slug} from this deployment")
    _check_current(app, slug, manifest)
    existing = set(inspect(db.engine_for(app)).get_table_names())
    every = [
        t
        for t in Base.metadata.sorted_tables
        if t.name in schema.tenant_tables() and t.name in existing
    ]
    rows = 0
    with db.tenant_session(tenant_id) as session:
        connection = session.connection()
        for table in reversed(every):
            result = connection.execute(delete(table).where(table.c.tenant_id == tenant_id))
            rows += result.rowcount or 0
        connection.execute(delete(Domain.__table__).where(Domain.tenant_id == tenant_id))
        connection.execute(delete(Tenant.__table__).where(Tenant.id == tenant_id))
        bump_state(session)
    namespace = storage.for_tenant(tenant_id, app=app)
    files = 0
    for entry in list(namespace.list()):
        namespace.delete(entry.key)
        files += 1
    registry(app).refresh(force=True)
    log.info(
        "tenant.purged tenant=%s id=%s by=%s rows=%d files=%d archive=%s created_at=%s",
        slug,
        tenant_id,
        by,
        rows,
        files,
        export_file,
        manifest.get("created_at"),
    )
    return Purged(slug, rows, files)


def _check_current(app: Flask, slug: str, manifest: dict[str, Any]) -> None:
    """Refuse unless exporting ``slug`` now gives the archive's region, tables and files."""
    with tempfile.TemporaryDirectory(prefix="balai-purge-") as folder:
        now = export_tenant(app, slug, Path(folder) / "now.zip", compare=True)
    if now["source"] != manifest.get("source"):
        raise ArchiveError(f"the region {slug} has changed since the export: export it again")
    members, archived = now["members"], manifest["members"]
    for member in sorted(set(members) | set(archived)):
        if members.get(member) != archived.get(member):
            raise ArchiveError(f"{member} of {slug} is not the archive's now: export it again")
