"""``balai files migrate``: copy every region's files from one store to another.

Each object is copied (streamed), then read back from the target and compared by size
and SHA-256; one already there with the same content is left alone, so the command can
be run again after an interruption, or once more just before switching ``STORAGE_URL``.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections import Counter
from typing import IO

import click
from flask import current_app
from flask.cli import AppGroup

from balai import storage
from balai.storage.base import NotFound, StorageError, Store
from balai.tenancy import registry

__all__ = ["copy_object", "files_group", "migrate_tenant"]

files_group = AppGroup("files", help="Uploaded files (logos, photos) of every region.")

COPIED, SAME, FAILED = "copied", "already there", "failed"
CHUNK = 1024 * 1024


class _Hashing:
    """A stream that hashes what is read through it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.hash.update(data)
        return data


def _digest(backend: Store, key: str) -> str:
    with backend.open(key) as stream:
        hashing = _Hashing(stream)
        while hashing.read(CHUNK):
            pass
    return hashing.hash.hexdigest()


def _same(source: Store, target: Store, key: str, size: int) -> bool:
    """Whether ``target`` holds ``key`` with the source's size and content."""
    try:
        if target.stat(key).size != size:
            return False
    except NotFound:
        return False
    return _digest(target, key) == _digest(source, key)


def copy_object(source: Store, target: Store, key: str, size: int, *, dry_run: bool) -> str:
    """Copy one object unless the target has it already; verify what was written."""
    if _same(source, target, key, size):
        return SAME
    if dry_run:
        return COPIED
    with source.open(key) as stream:
        hashing = _Hashing(stream)
        target.put(key, hashing, content_type=mimetypes.guess_type(key)[0])
    written = target.stat(key).size
    if written != size or _digest(target, key) != hashing.hash.hexdigest():
        return FAILED
    return COPIED


def migrate_tenant(source: Store, target: Store, tenant_id: int, *, dry_run: bool) -> Counter[str]:
    """Copy one region's files (``tenants/<id>/``); counts by outcome."""
    counts: Counter[str] = Counter()
    for entry in source.list(f"tenants/{int(tenant_id)}/"):
        try:
            counts[copy_object(source, target, entry.key, entry.size, dry_run=dry_run)] += 1
        except (StorageError, OSError) as exc:
            click.echo(f"  {entry.key}: {exc}", err=True)
            counts[FAILED] += 1
    return counts


@files_group.command("migrate")
@click.option(
    "--to",
    "target_url",
    help="Store to copy into, e.g. s3://bucket/prefix (default: the STORAGE_URL setting).",
)
@click.option(
    "--from",
    "source_url",
    help="Store to copy from (default: the instance folder, where files are kept by default).",
)
@click.option("--dry-run", is_flag=True, help="Count what would be copied; write nothing.")
def migrate_command(target_url: str | None, source_url: str | None, dry_run: bool) -> None:
    """Copy every region's files to another store, verifying each; safe to run again."""
    app = current_app
    endpoint = app.config.get("S3_ENDPOINT_URL")
    source = storage.open_store(source_url, instance_path=app.instance_path, endpoint_url=endpoint)
    target_url = target_url or app.config.get("STORAGE_URL")
    if not target_url:
        raise click.UsageError("give --to URL, or set STORAGE_URL to the new store")
    try:
        target = storage.open_store(
            target_url, instance_path=app.instance_path, endpoint_url=endpoint
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--to") from None
    if source.describe() == target.describe():
        raise click.UsageError(f"the source and the target are the same store: {source.describe()}")
    try:
        target.check()
    except StorageError as exc:
        raise click.ClickException(f"the target store cannot be used: {exc}") from exc
    verb = "would copy" if dry_run else COPIED
    total: Counter[str] = Counter()
    for tenant in registry().all():
        counts = migrate_tenant(source, target, tenant.id, dry_run=dry_run)
        total += counts
        click.echo(f"{tenant.slug}: {_summary(counts, verb)}")
    click.echo(f"total: {_summary(total, verb)}")
    if total[FAILED]:
        raise click.ClickException(f"{total[FAILED]} file(s) could not be copied or verified")


def _summary(counts: Counter[str], verb: str) -> str:
    return f"{counts[COPIED]} {verb}, {counts[SAME]} {SAME}, {counts[FAILED]} {FAILED}"
