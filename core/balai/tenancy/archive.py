"""Moving a region: its archive (``balai tenants export``) and restoring it elsewhere
(``balai tenants import``).

An archive is a zip file:

- ``manifest.json``: the format version, Balai's and the plugins' versions, the
  region (slug, name, domains, theme, settings...), when it was made, the number of
  rows of every table and the SHA-256 of every other member, and what was left out;
- ``tables/<table>.jsonl``: the region's rows of every tenant table, one JSON object
  per line, in the order of their ids;
- ``files/<key>``: the region's files (its logo, complaint photos...), every object
  of its namespace in :mod:`balai.storage`, named by its key relative to the region
  (``files/logo-<random>.png``, ``files/pengaduan/<name>.jpg``), except the transient
  ones the core and the plugins declare (``skip_files``).

Every tenant table (:func:`balai.schema.tenant_tables`) is carried without any code
of its own; the core and the plugins declare only the exceptions
(:mod:`balai.tenancy.portable`). On import every row gets a new id, and every
foreign key is mapped through the ids given so far, the tables taken in the order
of their dependencies (references that point forward, or to the same table, are
filled in once every row is in). All of it happens in one transaction, bound to
the new region (so row-level security checks every row on PostgreSQL), and the
files are written to the new region's namespace of this deployment's store (and
removed again if the import fails): a bad archive changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import logging
import mimetypes
import os
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import IO, Any

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import Date, DateTime, Table, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from balai import __version__, schema, storage
from balai.db import Base, db, utcnow
from balai.files import is_partial
from balai.plugins import plugins
from balai.tenancy.changes import TenancyError, validate_host, validate_slug
from balai.tenancy.models import Domain, Tenant, bump_state
from balai.tenancy.portable import Context, TenantData, declarations
from balai.tenancy.registry import TenantInfo, registry

__all__ = [
    "FORMAT",
    "Archive",
    "ArchiveError",
    "Imported",
    "export_tenant",
    "import_tenant",
    "read_archive",
    "region_tables",
]

FORMAT = 1
MANIFEST = "manifest.json"
_BYTES = "$base64"
FILES = "files/"
_CHUNK = 1 << 20
#: The most an archive may unpack to, all members together, and one table member or
#: one file; counted while reading (a member's header may lie about its size).
MAX_TOTAL_BYTES = 2 << 30
MAX_TABLE_BYTES = 1 << 30
MAX_FILE_BYTES = 64 << 20
#: The name a logo upload gets (:func:`balai.admin.logo.store_logo`), at the region's root.
LOGO_NAME = re.compile(r"logo-[0-9a-f]{16}\.png")
_BAD_ZIP = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError)


log = logging.getLogger(__name__)


class ArchiveError(ValueError):
    """An archive that cannot be written, read or restored; says what is wrong."""


# -- what a region is made of ------------------------------------------------------


def region_tables(app: Flask, data: dict[str, TenantData]) -> list[Table]:
    """The tenant tables carried in an archive, in dependency order (referenced first).

    Tables a plugin skips are left out, and so are tables not (yet) in this database.
    """
    skipped = {name for d in data.values() for name in d.skip}
    existing = set(inspect(db.engine_for(app)).get_table_names())
    tenant = schema.tenant_tables()
    return [
        table
        for table in Base.metadata.sorted_tables
        if table.name in tenant and table.name not in skipped and table.name in existing
    ]


def _transient_files(data: dict[str, TenantData]) -> tuple[str, ...]:
    """The key prefixes (relative to a region) of files an archive does not carry."""
    return tuple(prefix for d in data.values() for prefix in d.skip_files)


def _region_files(
    files: storage.TenantFiles, data: dict[str, TenantData]
) -> Iterator[storage.Entry]:
    """The region's files an archive carries: every object of its namespace (keys
    relative to the region) but the transient ones and partial ones (the local store
    lists none of those; checked again all the same)."""
    skipped = _transient_files(data)
    for entry in files.list():
        if not entry.key.startswith(skipped) and not is_partial(entry.key.rpartition("/")[2]):
            yield entry


# -- values ------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {_BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decode(table: Table, name: str, value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {_BYTES}:
        return base64.b64decode(value[_BYTES])
    if value is None or not isinstance(value, str):
        return value
    column_type = table.c[name].type
    if isinstance(column_type, DateTime) or isinstance(
        getattr(column_type, "impl", None), DateTime
    ):
        return datetime.fromisoformat(value)
    if isinstance(column_type, Date):
        return date.fromisoformat(value)
    return value


def _id_column(table: Table) -> str:
    keys = list(table.primary_key.columns)
    if len(keys) != 1:
        raise ArchiveError(f"table {table.name} has no single id column")
    return keys[0].name


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _member_sha256(archive: zipfile.ZipFile, member: str, limit: int) -> tuple[str, int]:
    """The SHA-256 of ``member`` and its size, read up to ``limit`` bytes (not its header's
    word for it).

    :raises ArchiveError: larger than ``limit``, or unreadable.
    """
    digest, size = hashlib.sha256(), 0
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(min(_CHUNK, limit - size + 1)):
                size += len(chunk)
                if size > limit:
                    raise ArchiveError(f"member {member} unpacks to more than {limit} bytes")
                digest.update(chunk)
    except _BAD_ZIP as exc:
        raise ArchiveError(f"member {member} cannot be read ({exc})") from exc
    return digest.hexdigest(), size


# -- export ------------------------------------------------------------------------


def export_tenant(app: Flask, slug: str, output: Path, *, compare: bool = False) -> dict[str, Any]:
    """Write region ``slug``'s archive to ``output`` (whole or not at all); the manifest.

    The file is readable by its owner only (mode 0600): it holds personal data in
    clear. The same data gives the same table and file members, byte for byte.
    ``compare=True`` exports the region as it is for comparing it with an archive
    (:mod:`balai.tenancy.purge`): rows the plugins' ``before_export`` add (an audit
    entry) are left out of it and rolled back.
    """
    with db.all_tenants() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None:
            raise ArchiveError(f"unknown tenant {slug!r}")
        region = {
            c.columns[0].name: _encode(getattr(tenant, c.key))
            for c in inspect(Tenant).column_attrs
            if c.key != "id"
        }
        region["domains"] = [d.host for d in tenant.domains]
        tenant_id = tenant.id
    data = declarations(app)
    tables = region_tables(app, data)
    partial = output.with_name(f".{output.name}.part")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial.unlink(missing_ok=True)
    try:
        with (
            db.tenant_session(tenant_id) as session,
            os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as raw,
            zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive,
        ):
            if db.engine_for(app).dialect.name == "postgresql":  # one snapshot for every table
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            context = Context(app, tenant_id, session)
            region["settings"] = _drop_sealed(region.get("settings") or {}, context, "region")
            for key in _dropped_settings():
                if region["settings"].pop(key, None) is not None:
                    context.drop(f"region setting {key}")
            before = _carried(session, tables, tenant_id) if compare else None
            for declared in data.values():
                if declared.before_export:
                    declared.before_export(context)
            session.flush()
            carried = before or _carried(session, tables, tenant_id)
            counts, hashes = _write_tables(
                archive, session, tables, data, context, carried, only=before is not None
            )
            hashes.update(_write_files(archive, data, context))
            manifest = _manifest(app, session, region, tenant_id, counts, hashes, context)
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
            if compare:
                session.rollback()
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return manifest


def _dropped_settings() -> tuple[str, ...]:
    """Region settings an archive never carries: credentials this deployment issued."""
    from balai.sms import TOKEN_SETTING

    return (TOKEN_SETTING,)


def _carried(session: Session, tables: list[Table], tenant_id: int) -> dict[str, set[Any]]:
    """The ids of the region's rows, by table."""
    connection = session.connection()  # bound to the region: row security applies
    return {
        table.name: set(
            connection.scalars(
                select(table.c[_id_column(table)]).where(table.c.tenant_id == tenant_id)
            )
        )
        for table in tables
    }


def _write_tables(
    archive: zipfile.ZipFile,
    session: Session,
    tables: list[Table],
    data: dict[str, TenantData],
    context: Context,
    carried: dict[str, set[Any]],
    *,
    only: bool,
) -> tuple[dict[str, int], dict[str, str]]:
    """Write every table's member; with ``only``, the ``carried`` rows only."""
    connection = session.connection()  # bound to the region: row security applies
    counts, hashes = {}, {}
    for table in tables:
        secret = {c for d in data.values() for c in d.secret.get(table.name, ())}
        converts = [d.convert[table.name] for d in data.values() if table.name in d.convert]
        id_column = _id_column(table)
        rows = connection.execute(
            select(table).where(table.c.tenant_id == context.tenant_id).order_by(table.c[id_column])
        ).mappings()
        lines, count = [], 0
        for found in rows:
            row = dict(found)
            if only and row[id_column] not in carried[table.name]:
                continue
            del row["tenant_id"]
            for name in secret:
                if row.get(name) is not None:
                    row[name] = None
                    context.drop(f"{table.name}.{name}")
            _unlink_missing(table, row, carried, context)
            for convert in converts:
                row = convert.dump(row, context)
            encoded = {k: _encode(v) for k, v in sorted(row.items())}
            lines.append(json.dumps(encoded, ensure_ascii=False, sort_keys=True))
            count += 1
        content = ("\n".join(lines) + "\n" if lines else "").encode()
        member = f"tables/{table.name}.jsonl"
        archive.writestr(member, content)
        counts[table.name], hashes[member] = count, _sha256(content)
    for skipped in sorted({t for d in data.values() for t in d.skip}):
        context.drop(skipped)
    return counts, hashes


def _write_files(
    archive: zipfile.ZipFile, data: dict[str, TenantData], context: Context
) -> dict[str, str]:
    """Stream the region's files from the store into the archive; their hashes."""
    files = storage.for_tenant(context.tenant_id, app=context.app)
    for prefix in _transient_files(data):
        if any(True for _entry in files.list(prefix)):
            context.drop(f"files {prefix}")
    hashes = {}
    for entry in _region_files(files, data):
        member, digest = FILES + entry.key, hashlib.sha256()
        large = entry.size >= zipfile.ZIP64_LIMIT
        with files.open(entry.key) as source, archive.open(member, "w", force_zip64=large) as out:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        hashes[member] = digest.hexdigest()
    return hashes


def _unlink_missing(
    table: Table, row: dict[str, Any], carried: dict[str, set[Any]], context: Context
) -> None:
    """Empty the references to rows the archive does not carry: a platform operator's
    account, a table left out (API clients). A required one cannot be emptied."""
    for column in table.c:
        fk = next(iter(column.foreign_keys), None)
        value = row.get(column.name)
        if fk is None or value is None or column.name == "tenant_id":
            continue
        target = fk.column.table.name
        if value in carried.get(target, ()):
            continue
        if not column.nullable:
            raise ArchiveError(
                f"{table.name}.{column.name} refers to {target} id {value}, "
                "which the archive cannot carry"
            )
        row[column.name] = None
        context.drop(f"references from {table.name}.{column.name} to {target} outside the region")


def _drop_sealed(values: dict[str, Any], context: Context, where: str) -> dict[str, Any]:
    """``values`` without sealed secrets: they open only with this deployment's key."""
    from balai.crypto import is_sealed

    kept = {}
    for key, value in values.items():
        if isinstance(value, dict) and set(value) == {"sealed"} and is_sealed(value["sealed"]):
            context.drop(f"{where} setting {key}")
        else:
            kept[key] = value
    return kept


def _manifest(
    app: Flask,
    session: Session,
    region: dict[str, Any],
    tenant_id: int,
    counts: dict[str, int],
    hashes: dict[str, str],
    context: Context,
) -> dict[str, Any]:
    from balai.tenancy.models import PluginState

    enabled = set(session.scalars(select(PluginState.plugin).where(PluginState.enabled)))
    owners = _table_owners(app)
    with_rows = {owners[t] for t, n in counts.items() if n and t in owners}
    versions = {
        name: (info.version or "")
        for name in sorted(enabled | with_rows)
        if (info := plugins(app).get(name)) is not None and not info.builtin
    }
    return {
        "format": FORMAT,
        "balai": __version__,
        "plugins": versions,
        "enabled": sorted(enabled),
        "source": {"id": tenant_id, **region},
        "created_at": utcnow().isoformat(),
        "tables": counts,
        "members": hashes,
        "dropped": context.dropped,
    }


def _table_owners(app: Flask) -> dict[str, str]:
    """Table name → the plugin whose models define it (``balai`` for the core)."""
    owners = {}
    for info in plugins(app).installed.values():
        if info.module is None or info.builtin:
            continue
        module = info.module
        name = module.__name__ if isinstance(module, ModuleType) else type(module).__module__
        package = name.split(".")[0]
        for mapper in Base.registry.mappers:
            if mapper.class_.__module__.split(".")[0] == package:
                owners[str(mapper.local_table.name)] = info.name
    return owners


# -- reading -----------------------------------------------------------------------


@dataclass
class Archive:
    """An archive whose manifest and hashes were checked."""

    path: Path
    manifest: dict[str, Any]
    zip: zipfile.ZipFile = field(repr=False)

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()

    def read(self, member: str) -> bytes:
        return self.zip.read(member)

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        """The rows of ``table``, one line at a time (never the whole member at once).

        :raises ArchiveError: a line that is not a JSON object, naming the member and line.
        """
        member = f"tables/{table}.jsonl"
        try:
            with self.zip.open(member) as stream:
                for number, line in enumerate(io.TextIOWrapper(stream, encoding="utf-8"), 1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except ValueError as exc:
                        raise ArchiveError(f"{member}, line {number}: not JSON ({exc})") from None
                    if not isinstance(row, dict):
                        raise ArchiveError(f"{member}, line {number}: not a JSON object")
                    yield row
        except UnicodeDecodeError as exc:
            raise ArchiveError(f"{member}: not UTF-8 ({exc})") from exc
        except (*_BAD_ZIP, KeyError) as exc:
            raise ArchiveError(f"{member} cannot be read ({exc})") from exc

    def files(self) -> list[str]:
        """The keys of the region's files (relative to the region), in order."""
        members = self.manifest["members"]
        return sorted(m.removeprefix(FILES) for m in members if m.startswith(FILES))

    def open_file(self, key: str) -> IO[bytes]:
        """A stream of the file ``key`` (close it)."""
        return self.zip.open(FILES + key)


def read_archive(path: Path) -> Archive:
    """Open ``path`` and check its format, members and hashes; use it in ``with``.

    :raises ArchiveError: naming the first problem found.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"{path}: not a readable zip archive ({exc})") from exc
    try:
        return Archive(path, _checked_manifest(path, archive), archive)
    except BaseException:
        archive.close()
        raise


def _checked_manifest(path: Path, archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        info = archive.getinfo(MANIFEST)
        if info.file_size > MAX_FILE_BYTES:
            raise ArchiveError(f"{path}: {MANIFEST} is too large")
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError as exc:
        raise ArchiveError(f"{path}: no {MANIFEST} in the archive") from exc
    except _BAD_ZIP as exc:
        raise ArchiveError(f"{path}: {MANIFEST} cannot be read ({exc})") from exc
    except ValueError as exc:
        raise ArchiveError(f"{path}: {MANIFEST} is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise ArchiveError(f"{path}: archive format {found!r}; this Balai reads format {FORMAT}")
    members = manifest.get("members")
    if not isinstance(members, dict) or not isinstance(manifest.get("tables"), dict):
        raise ArchiveError(f"{path}: {MANIFEST} lists no members or tables")
    present = set(archive.namelist()) - {MANIFEST}
    if present - set(members):
        raise ArchiveError(
            f"{path}: member {sorted(present - set(members))[0]} is not in the manifest"
        )
    total = 0
    for member, digest in members.items():
        parts = PurePosixPath(member).parts
        if member.startswith("/") or ".." in parts or parts[:1] not in (("tables",), ("files",)):
            raise ArchiveError(f"{path}: member name {member!r} is not allowed")
        if member.startswith(FILES):
            try:
                storage.check_key(member.removeprefix(FILES))
            except storage.BadKey:
                raise ArchiveError(f"{path}: member name {member!r} is not allowed") from None
        if member not in present:
            raise ArchiveError(f"{path}: member {member} is missing")
        limit = min(
            MAX_FILE_BYTES if member.startswith(FILES) else MAX_TABLE_BYTES, MAX_TOTAL_BYTES - total
        )
        if archive.getinfo(member).file_size > limit:
            raise ArchiveError(f"{path}: member {member} unpacks to more than {limit} bytes")
        found, size = _member_sha256(archive, member, limit)
        if found != digest:
            raise ArchiveError(f"{path}: member {member} does not match its SHA-256")
        total += size
    for table in manifest["tables"]:
        if f"tables/{table}.jsonl" not in members:
            raise ArchiveError(f"{path}: table {table} has no member")
    return manifest


# -- import ------------------------------------------------------------------------


@dataclass
class Imported:
    """The region an import made, and how the archive's ids map to its new ones."""

    tenant: TenantInfo
    idmap: dict[str, dict[int, int]]
    rows: int


def import_tenant(
    app: Flask, path: Path, *, slug: str | None = None, domains: list[str] | None = None
) -> Imported:
    """Restore the archive at ``path`` as a new region (``slug`` and ``domains``
    replace the archive's); all of it, in one transaction, or nothing.

    :raises ArchiveError: the archive is bad or does not fit this deployment.
    :raises TenancyError: the slug or a domain is invalid or taken.
    """
    with read_archive(path) as archive:
        return _import(app, archive, slug, domains)


def _import(app: Flask, archive: Archive, slug: str | None, domains: list[str] | None) -> Imported:
    manifest = archive.manifest
    source = manifest.get("source") or {}
    slug = validate_slug(slug or str(source.get("slug", "")))
    hosts = list(dict.fromkeys(validate_host(h) for h in (domains or source.get("domains", []))))
    _check_plugins(app, manifest)
    for name in manifest.get("plugins", {}):
        schema.upgrade_plugin(app, name)  # as enabling does: the tables first
    data = declarations(app)
    tables = {t.name: t for t in region_tables(app, data)}
    _check_tables(archive, tables)
    created: list[str] = []
    files: storage.TenantFiles | None = None
    try:
        with db.new_session() as session, session.begin():
            tenant_id = _new_tenant(session, source, slug, hosts, archive.files())
            _bind(session, tenant_id)
            context = Context(app, tenant_id, session)
            rows = _load_tables(archive, session, tables, data, context)
            files = storage.for_tenant(tenant_id, app=app)
            _load_files(archive, files, data, created)
            bump_state(session)
    except IntegrityError as exc:
        _remove(files, created)
        raise ArchiveError(f"the archive conflicts with data here: {exc.orig}") from exc
    except BaseException:
        _remove(files, created)
        raise
    registry(app).refresh(force=True)
    info = registry(app).by_id(tenant_id)
    assert info is not None
    return Imported(info, context.idmap, rows)


def _check_plugins(app: Flask, manifest: dict[str, Any]) -> None:
    for name in manifest.get("plugins", {}):
        info = plugins(app).get(name)
        if info is None or info.builtin:
            raise ArchiveError(f"the archive needs plugin {name}, which is not installed here")
        if info.broken:
            raise ArchiveError(f"the archive needs plugin {name}, which is broken: {info.error}")


def _check_tables(archive: Archive, tables: dict[str, Table]) -> None:
    for name, count in archive.manifest["tables"].items():
        table = tables.get(name)
        if table is None and count:
            raise ArchiveError(f"table {name} of the archive is no region table here")
        if table is None:
            continue  # empty: a plugin this deployment has never migrated
        for number, row in enumerate(archive.rows(name), 1):
            unknown = set(row) - set(table.c.keys())
            if unknown:
                raise ArchiveError(
                    f"table {name}, row {number}: unknown column {sorted(unknown)[0]}"
                )
            if "tenant_id" in row:
                raise ArchiveError(f"table {name}, row {number}: a row may not name its region")


def _imported_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A region's settings without the ones an archive never carries (credentials this
    deployment did not issue) and without sealed values (they open with another key)."""
    from balai.crypto import is_sealed

    return {
        key: value
        for key, value in settings.items()
        if key not in _dropped_settings()
        and not (isinstance(value, dict) and "sealed" in value)
        and not (isinstance(value, str) and is_sealed(value))
    }


def _new_tenant(
    session: Session, source: dict[str, Any], slug: str, hosts: list[str], files: list[str]
) -> int:
    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise TenancyError(_("The slug %(slug)s is already taken.", slug=slug), "slug")
    taken = session.scalars(select(Domain.host).where(Domain.host.in_(hosts))).all()
    if taken:
        raise TenancyError(
            _("The domain %(host)s is already in use.", host=", ".join(taken)), "domain"
        )
    table = Tenant.__table__
    try:
        values = {
            name: _decode(table, name, value)  # type: ignore[arg-type]
            for name, value in source.items()
            if name in table.c and name not in ("id", "slug")  # type: ignore[attr-defined]
        }
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ArchiveError(f"{MANIFEST}, source: {exc}") from None
    logo = values.get("logo")
    if logo is not None and not (isinstance(logo, str) and LOGO_NAME.fullmatch(logo)):
        raise ArchiveError(f"{MANIFEST}, source: logo {logo!r} is not a logo's name")
    if logo is not None and logo not in files:
        raise ArchiveError(f"{MANIFEST}, source: logo {logo} is not in the archive")
    settings = values.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise ArchiveError(f"{MANIFEST}, source: settings are not an object")
    values["settings"] = _imported_settings(settings or {})
    tenant = Tenant(**values, slug=slug, domains=[Domain(host=h) for h in hosts])
    session.add(tenant)
    session.flush()
    return tenant.id


def _bind(session: Session, tenant_id: int) -> None:
    """From here on the transaction works as region ``tenant_id`` (row security too)."""
    session.info["tenant_id"] = tenant_id
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "SELECT set_config('balai.tenant_id', %(tenant)s, true)", {"tenant": str(tenant_id)}
        )


def _load_tables(
    archive: Archive,
    session: Session,
    tables: dict[str, Table],
    data: dict[str, TenantData],
    context: Context,
) -> int:
    connection = session.connection()
    order = list(tables)
    later: list[tuple[Table, str, int, str, str, int]] = []  # filled in at the end
    total = 0
    for name in order:
        if name not in archive.manifest["tables"]:
            continue
        table = tables[name]
        id_column = _id_column(table)
        converts = [d.convert[name] for d in data.values() if name in d.convert]
        ids = context.idmap.setdefault(name, {})
        for number, stored in enumerate(archive.rows(name), 1):
            try:
                row = {key: _decode(table, key, value) for key, value in stored.items()}
            except (ValueError, TypeError, binascii.Error) as exc:
                raise ArchiveError(f"table {name}, row {number}: {exc}") from None
            old_id = row.pop(id_column, None)
            if not isinstance(old_id, int) or isinstance(old_id, bool):
                raise ArchiveError(f"table {name}, row {number}: no id")
            if old_id in ids:
                raise ArchiveError(f"table {name}, row {number}: id {old_id} is there twice")
            pending = []
            for column in table.c:
                fk = next(iter(column.foreign_keys), None)
                if fk is None or column.name == "tenant_id" or row.get(column.name) is None:
                    continue
                target = fk.column.table.name
                if target in order and order.index(target) >= order.index(name):
                    pending.append((column.name, target, row.pop(column.name)))  # not in yet
                    continue
                row[column.name] = _mapped(context, target, row[column.name], name, number)
            row["tenant_id"] = context.tenant_id
            try:
                for convert in converts:
                    row = convert.load(row, context)
            except ArchiveError:
                raise
            except (ValueError, TypeError) as exc:
                raise ArchiveError(f"table {name}, row {number}: {exc}") from None
            new_id = connection.execute(insert(table).values(row)).inserted_primary_key[0]
            ids[old_id] = new_id
            later += [(table, id_column, new_id, c, t, v) for c, t, v in pending]
            total += 1
    for table, id_column, new_id, column, target, value in later:
        mapped = _mapped(context, target, value, table.name, None)
        connection.execute(
            update(table).where(table.c[id_column] == new_id).values({column: mapped})
        )
    return total


def _mapped(context: Context, target: str, value: Any, table: str, number: int | None) -> int:
    try:
        return context.idmap[target][value]
    except (KeyError, TypeError):
        where = f"table {table}" + (f", row {number}" if number else "")
        raise ArchiveError(
            f"{where}: refers to {target} id {value}, which the archive lacks"
        ) from None


def _load_files(
    archive: Archive, files: storage.TenantFiles, data: dict[str, TenantData], created: list[str]
) -> None:
    """Write the archive's files to the new region's namespace; ``created`` lists them."""
    keys = archive.files()
    transient = [key for key in keys if key.startswith(_transient_files(data))]
    if transient:
        raise ArchiveError(f"file {transient[0]} of the archive is transient: not carried")
    if any(True for _entry in files.list()):
        raise ArchiveError(f"the new region's files ({files.root}) are not empty: not overwriting")
    checks = {prefix: check for d in data.values() for prefix, check in d.files_check.items()}
    for key in keys:
        check = next((c for prefix, c in checks.items() if key.startswith(prefix)), None)
        with archive.open_file(key) as stream:
            if check is None:
                files.put(key, stream, content_type=mimetypes.guess_type(key)[0])
            else:
                try:
                    content = check(key, stream.read())
                except ArchiveError:
                    raise
                except ValueError as exc:
                    raise ArchiveError(f"file {key} of the archive is refused: {exc}") from None
                files.put(key, content, content_type=mimetypes.guess_type(key)[0])
        created.append(key)


def _remove(files: storage.TenantFiles | None, created: list[str]) -> None:
    """Remove what a failed import wrote (a failure to remove one does not hide the
    import's own error)."""
    if files is None:
        return
    for key in reversed(created):
        try:
            files.delete(key)
        except OSError:
            log.exception("a failed import could not remove %s", files.key(key))
