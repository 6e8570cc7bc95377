"""What a region's data is made of, for moving it between deployments.

The core carries every row of every tenant table generically (:mod:`balai.tenancy.archive`);
the core and each plugin only declare the exceptions with the
``tenant_data`` hook, as one :class:`TenantData`:

- ``skip``: tables not carried at all (login sessions, tokens, one-time codes,
  queued messages: secrets or transient state);
- ``secret``: columns carried empty (``NULL``), e.g. a form's one-time token;
- ``convert``: per table, a :class:`Convert` whose ``dump`` turns a row into what the
  archive holds and whose ``load`` turns it back (values sealed with a key derived
  from this deployment's ``SECRET_KEY`` are opened on export and sealed again, with
  the target's key and the new region id, on import);
- ``skip_files``: prefixes of keys, relative to the region's namespace in
  :mod:`balai.storage`, of files that are transient (``"pengaduan/pending/"``: the
  photos kept for forms not yet sent). Every other object of the region's namespace
  (``storage.for_tenant(id)``) is carried, whichever plugin wrote it;
- ``files_check``: per key prefix, a function ``check(key, data)`` run on import on
  every file whose key starts with it; it returns the bytes to store (re-encoded)
  or raises ``ValueError`` to refuse the archive (a logo, a complaint photo: what
  is served from the site must be an image, whatever the archive says). A
  ``Convert.load`` that raises ``ValueError`` refuses the archive alike.

A plugin with no exceptions needs no declaration: its tables are carried as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

__all__ = ["Context", "Convert", "TenantData"]

Row = dict[str, Any]


@dataclass
class Context:
    """What a :class:`Convert` may use while a region is exported or imported.

    :ivar app: the application.
    :ivar tenant_id: the region's id in this deployment (the new one on import).
    :ivar session: the session of the transaction, bound to the region.
    :ivar idmap: on import, table name → {id in the archive: new id}, for the
        tables loaded so far (every table a row refers to is loaded before it).
    :ivar state: a place for a plugin to keep what it made once (a key, an audit entry).
    :ivar dropped: what the export left out, in words, for the manifest.
    """

    app: Flask
    tenant_id: int
    session: Session
    idmap: dict[str, dict[int, int]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)

    def drop(self, what: str) -> None:
        """Record (once) that the archive leaves ``what`` out."""
        if what not in self.dropped:
            self.dropped.append(what)


def _same(row: Row, context: Context) -> Row:
    return row


@dataclass(frozen=True)
class Convert:
    """How one table's rows are written to and read from the archive.

    ``dump(row, context)`` gets the row's column values (``bytes``, ``datetime``...)
    and returns what to archive; ``load(row, context)`` gets that back, its ids and
    foreign keys already mapped to the new region, and returns the values to insert.
    """

    dump: Callable[[Row, Context], Row] = _same
    load: Callable[[Row, Context], Row] = _same


@dataclass(frozen=True)
class TenantData:
    """One plugin's exceptions to carrying its tenant tables as they are."""

    skip: Collection[str] = ()
    secret: Mapping[str, Collection[str]] = field(default_factory=dict)
    convert: Mapping[str, Convert] = field(default_factory=dict)
    skip_files: Collection[str] = ()
    before_export: Callable[[Context], None] | None = None
    files_check: Mapping[str, Callable[[str, bytes], bytes]] = field(default_factory=dict)


def declarations(app: Flask) -> dict[str, TenantData]:
    """Every plugin's declaration (the core's under ``balai``), by plugin name."""
    from balai.plugins import plugins

    found = {}
    # Not call_each: a declaration that fails must stop the export, not be skipped.
    for impl in plugins(app).pm.hook.tenant_data.get_hookimpls():
        data = impl.function()
        if data is not None:
            if not isinstance(data, TenantData):
                raise TypeError(f"tenant_data of {impl.plugin_name} is not a TenantData")
            found[impl.plugin_name] = data
    return found
