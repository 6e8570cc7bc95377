"""Where uploads are kept: one store per app, each region in its own namespace.

The setting ``STORAGE_URL`` chooses the store (:func:`open_store`):

- unset (the default): the instance folder, where files have always been kept
  (``instance/tenants/<tenant id>/...``);
- ``file:///srv/balai-files``: another local folder;
- ``s3://bucket/prefix``: any S3-compatible object store (AWS S3, MinIO, ...), through
  ``boto3`` (the ``balai[s3]`` extra); ``S3_ENDPOINT_URL`` names a server other than
  AWS, credentials and region come from the usual ``AWS_*`` environment variables.

Code never builds a key for another region: it asks :func:`for_tenant` for a
:class:`TenantFiles` handle, whose names are checked (:func:`check_key`) and placed
under ``tenants/<tenant id>/``. A plugin takes its own folder with
:meth:`TenantFiles.within`. Every object is private: :func:`send` streams it through
the app after the view's own access checks (with an ETag, so a browser's copy is
revalidated cheaply); :meth:`TenantFiles.url` gives a signed, expiring address on S3
for a caller that has already checked access and prefers a redirect.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from flask import Flask, Response, abort, current_app, g, request
from werkzeug.http import is_resource_modified
from werkzeug.wsgi import wrap_file

from balai.files import NoRoom
from balai.storage.base import BadKey, Entry, NotFound, Stat, StorageError, Store, check_key

__all__ = [
    "BadKey",
    "Entry",
    "NoRoom",
    "NotFound",
    "Stat",
    "StorageError",
    "TenantFiles",
    "for_tenant",
    "send",
]

EXTENSION = "balai.storage"


def open_store(url: str | None, *, instance_path: str, endpoint_url: str | None = None) -> Store:
    """The store a ``STORAGE_URL`` names; ``None`` or empty is the instance folder."""
    from balai.storage.local import LocalStore

    if not url:
        return LocalStore(instance_path)
    scheme, _sep, rest = url.partition("://")
    if scheme == "file" and rest.startswith("/"):
        return LocalStore(rest)
    if scheme == "s3" and rest.split("/", 1)[0]:
        from balai.storage.s3 import S3Store

        bucket, _sep, prefix = rest.partition("/")
        return S3Store(bucket, prefix, endpoint_url=endpoint_url)
    raise ValueError(
        f"STORAGE_URL must be empty, file:///absolute/folder or s3://bucket[/prefix], not {url!r}"
    )


def init_app(app: Flask) -> None:
    """Open the app's store from its settings (a bad ``STORAGE_URL`` stops the start)."""
    app.extensions[EXTENSION] = open_store(
        app.config.get("STORAGE_URL"),
        instance_path=app.instance_path,
        endpoint_url=app.config.get("S3_ENDPOINT_URL"),
    )


def store(app: Flask | None = None) -> Store:
    """The app's store (whole keys: for the operator's commands, not for requests)."""
    found: Store = (app or current_app).extensions[EXTENSION]
    return found


def check(app: Flask | None = None) -> None:
    """Cheap readiness probe of the app's store (a HEAD of the bucket, or the folder
    being writable). :raises StorageError: the store cannot be used."""
    store(app).check()


def for_tenant(tenant: Any = None, *, app: Flask | None = None) -> TenantFiles:
    """The files of one region: ``tenant`` (an id or anything with ``.id``), by default
    the current request's."""
    if tenant is None:
        tenant = g.tenant
    tenant_id = tenant if isinstance(tenant, int) else getattr(tenant, "id", None)
    if not isinstance(tenant_id, int) or isinstance(tenant_id, bool) or tenant_id < 1:
        raise ValueError(f"not a tenant: {tenant!r}")
    return TenantFiles(store(app), f"tenants/{tenant_id}/")


class TenantFiles:
    """A region's files (or a folder of them): names are relative to its namespace and
    can never leave it (see :func:`check_key`)."""

    def __init__(self, backend: Store, root: str) -> None:
        self.store = backend
        self.root = root

    def within(self, folder: str) -> TenantFiles:
        """The files under ``folder`` (a plugin's own: its name)."""
        return TenantFiles(self.store, self.key(folder) + "/")

    def key(self, name: str) -> str:
        """The whole key of ``name`` in the store."""
        return self.root + check_key(name)

    def put(self, name: str, data: bytes | IO[bytes], content_type: str | None = None) -> None:
        """Store ``data`` under ``name`` whole or not at all. :raises NoRoom: the store is full."""
        self.store.put(self.key(name), data, content_type=content_type)

    def open(self, name: str) -> IO[bytes]:
        """A stream of the object's bytes (close it). :raises NotFound:"""
        return self.store.open(self.key(name))

    def read(self, name: str) -> bytes:
        with self.open(name) as stream:
            return stream.read()

    def delete(self, name: str) -> None:
        """Remove ``name``; a missing one is not an error."""
        self.store.delete(self.key(name))

    def delete_all(self, prefix: str) -> None:
        """Remove every object whose name starts with ``prefix`` (a folder: end it with /)."""
        for entry in list(self.list(prefix)):
            self.delete(entry.key)

    def exists(self, name: str) -> bool:
        return self.store.exists(self.key(name))

    def size(self, name: str) -> int:
        return self.stat(name).size

    def stat(self, name: str) -> Stat:
        return self.store.stat(self.key(name))

    def list(self, prefix: str = "") -> Iterator[Entry]:
        """The objects whose names start with ``prefix``, named relative to this handle."""
        if prefix:
            check_key(prefix.rstrip("/"))
        for entry in self.store.list(self.root + prefix):
            yield Entry(entry.key[len(self.root) :], entry.size, entry.modified)

    def url(self, name: str, *, expires: int = 300) -> str | None:
        """A signed address valid ``expires`` seconds, where the store has them (S3);
        ``None`` for a local folder. Check access before handing it out."""
        return self.store.url(self.key(name), expires=expires)


def send(
    files: TenantFiles,
    name: str,
    *,
    mimetype: str | None = None,
    cache_control: str = "private, max-age=3600",
) -> Response:
    """Answer the current request with a stored object, streamed from the store; a
    request whose ETag or date still matches gets 304 without reading the object.
    A missing object is 404. Access is the caller's to check first."""
    try:
        stat = files.stat(name)
    except (NotFound, BadKey):
        abort(404)
    modified = datetime.fromtimestamp(int(stat.modified), UTC)
    response = Response(
        mimetype=mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream"
    )
    response.set_etag(stat.etag)
    response.last_modified = modified
    response.headers["Cache-Control"] = cache_control
    if not is_resource_modified(request.environ, etag=stat.etag, last_modified=modified):
        response.status_code = 304
        return response
    try:
        stream = files.open(name)
    except NotFound:
        abort(404)
    response.response = wrap_file(request.environ, stream)
    response.direct_passthrough = True
    response.content_length = stat.size
    return response
