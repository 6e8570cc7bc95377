"""Photos of complaints (*foto bukti*): checked by content, re-encoded, stored per region.

An upload is read whole, up to ``max_photo_mb`` megabytes (at most ``MAX_UPLOAD_MB``;
the whole request is bounded by the app's ``MAX_CONTENT_LENGTH``). :mod:`balai.images`
then reads every photo's header before decoding any: the format must be JPEG, PNG or
WebP and the pixels within ``IMAGE_MAX_PIXELS`` per photo and ``IMAGE_REQUEST_PIXELS``
for the request (a big phone JPEG is decoded at half, a quarter or an eighth of its
size, so it fits).
Each is written again as JPEG (or PNG when it has transparency), at most
``MAX_SIDE`` pixels: a 12-megabyte phone photo is stored as a few hundred kilobytes,
never refused for its size, and EXIF, including the phone's GPS position, is dropped.
Files are named at random in the region's files (:mod:`balai.storage`), folder
``pengaduan/`` (:func:`files`).

Photos of a form that came back with an error are kept, already re-encoded, in
:class:`Pending` (``pending/<key of the form's token>/``) until the form is sent,
so the citizen does not choose them again; :func:`sweep` removes abandoned ones.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from collections.abc import Iterable
from datetime import timedelta
from io import BytesIO

from werkzeug.datastructures import FileStorage

from balai import storage
from balai.i18n import N_
from balai.images import ImageError, Prepared
from balai.images import prepare as prepare_images
from balai.rules import RuleError
from balai.text import clean_text

__all__ = [
    "MAX_UPLOAD_MB",
    "Pending",
    "PhotoError",
    "PreparedPhoto",
    "chosen",
    "files",
    "prepare",
    "remove",
    "sweep",
    "write",
]

MAX_SIDE = 2048  # stored photos are shrunk to this: evidence, not print
MAX_UPLOAD_MB = 25  # the largest photo file a region may accept (setting ``max_photo_mb``)
MB = 1024 * 1024
FOLDER = "pengaduan"  # the plugin's folder in each region's files
PENDING = "pending"
PENDING_KEEP = timedelta(days=1)  # a form left with photos chosen is swept after this
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
_NAME_RE = re.compile(r"^[0-9]{2}-[0-9a-f]{16}\.(?:jpg|png)$")
_KEY_RE = re.compile(r"^[0-9a-f]{32}$")

PreparedPhoto = Prepared  # a checked, re-encoded photo, still in memory

logger = logging.getLogger(__name__)


class PhotoError(RuleError):
    """A photo was refused: a rule error of the ``photos`` field."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__({"photos": message}, params=values)


def chosen(uploads: Iterable[FileStorage]) -> list[FileStorage]:
    """The file inputs that carry a file (a browser sends an empty one when none is chosen)."""
    return [u for u in uploads if u and u.filename]


def prepare(uploads: Iterable[FileStorage], *, max_photos: int, max_mb: int) -> list[PreparedPhoto]:
    """Check every non-empty upload, then re-encode them; raise on the first bad one.

    ``max_photos`` is the room left for new photos. The count, each file's size and
    every header are checked before any photo is decoded, so a request with too many
    pixels costs no decoding at all.
    """
    files = chosen(uploads)
    if len(files) > max_photos:
        raise PhotoError(N_("At most %(n)d photos."), n=max_photos)
    limit = min(max_mb, MAX_UPLOAD_MB) * MB
    raw = [(_read(f, limit), f.filename or "") for f in files]
    try:
        return prepare_images(raw, max_side=MAX_SIDE)
    except ImageError as exc:
        raise PhotoError(str(exc), **exc.values) from None


def _read(upload: FileStorage, limit: int) -> bytes:
    raw = upload.stream.read(limit + 1)
    if len(raw) > limit:
        raise PhotoError(
            N_("%(name)s is larger than %(mb)d MB."),
            name=clean_text(upload.filename or ""),
            mb=limit // MB,
        )
    return raw


def files(tenant_id: int | None = None) -> storage.TenantFiles:
    """Where a region's complaint photos live (by default the current region's)."""
    return storage.for_tenant(tenant_id).within(FOLDER)


def write(directory: storage.TenantFiles, photo: PreparedPhoto) -> str:
    """Store ``photo`` under a fresh random name; returns that name.

    A write that fails leaves no partial file; a full disk raises :class:`PhotoError`.
    """
    name = f"{secrets.token_hex(16)}.{photo.extension}"
    try:
        directory.put(name, photo.data, content_type=photo.content_type)
    except storage.NoRoom as exc:
        raise StorageFull(
            N_("The server has no room left to store photos. Nothing was saved.")
        ) from exc
    return name


def remove(directory: storage.TenantFiles, names: Iterable[str]) -> None:
    """Delete files written for a transaction that did not commit."""
    for name in names:
        directory.delete(name)


def sweep(
    directory: storage.TenantFiles, named: Iterable[str], *, older_than: timedelta
) -> list[str]:
    """Delete the files no photo row names: a worker killed between writing a photo
    and committing its complaint leaves them. Files younger than ``older_than`` are
    kept, as their transaction may still commit. Photos kept for a form not sent
    (:class:`Pending`) go once older than ``PENDING_KEEP`` (or ``older_than``, if
    longer). Returns the names deleted (kept photos as ``pending/<key>/<name>``)."""
    keep = set(named)
    now = time.time()
    cutoff = now - older_than.total_seconds()
    pending_cutoff = now - max(older_than, PENDING_KEEP).total_seconds()
    stray = []
    for entry in directory.list():
        folder, _sep, name = entry.key.rpartition("/")
        if not folder:
            if name not in keep and entry.modified < cutoff:
                stray.append(entry.key)
        elif folder.startswith(f"{PENDING}/") and entry.modified < pending_cutoff:
            stray.append(entry.key)
    for key in stray:
        directory.delete(key)
    return sorted(stray)


class StorageFull(PhotoError):
    """The disk has no room for a photo: nothing was saved (answered with 507)."""


class Pending:
    """The photos chosen in one complaint form that has not been sent yet.

    They are kept re-encoded, under a key derived from the form's one-time token
    (never the token itself: the key appears in the thumbnails' addresses), so a
    form that comes back with an error, or through the review step, keeps them.
    """

    def __init__(self, directory: storage.TenantFiles, token: str) -> None:
        self.key = pending_key(token)
        self.path = directory.within(f"{PENDING}/{self.key}")
        self._names: list[str] | None = None

    @classmethod
    def at(cls, directory: storage.TenantFiles, key: str) -> Pending | None:
        """The kept photos under ``key`` (from a thumbnail's address), if it is one."""
        if not _KEY_RE.match(key):
            return None
        found = cls.__new__(cls)
        found.key = key
        found.path = directory.within(f"{PENDING}/{key}")
        found._names = None
        return found

    @classmethod
    def for_page(cls, directory: storage.TenantFiles, token: str) -> Pending:
        """The kept photos to show on the form: none while the store cannot be reached,
        so the form still shows (the photos stay where they are and come back with it)."""
        found = cls(directory, token)
        try:
            found.names()
        except storage.StorageError as exc:
            logger.warning("kept photos not listed, file store unreachable: %s", exc)
            found._names = []
        return found

    def names(self) -> list[str]:
        """The kept photos, in the order they were chosen (listed once: a page asks often)."""
        if self._names is None:
            self._names = sorted(e.key for e in self.path.list() if _NAME_RE.match(e.key))
        return list(self._names)

    def file(self, name: str) -> str | None:
        """``name``, if it is one of the kept photos."""
        return name if name in self.names() else None

    def add(self, photos: Iterable[PreparedPhoto]) -> list[str]:
        """Keep ``photos`` after those kept already; a full disk raises :class:`PhotoError`."""
        names = self.names()
        start = int(names[-1][:2]) + 1 if names else 0
        added = []
        for n, photo in enumerate(photos, start):
            name = f"{n % 100:02d}-{secrets.token_hex(8)}.{photo.extension}"
            try:
                self.path.put(name, photo.data, content_type=photo.content_type)
            except storage.NoRoom as exc:
                remove(self.path, added)
                raise StorageFull(
                    N_("The server has no room left to store photos. Nothing was saved.")
                ) from exc
            added.append(name)
        self._names = None
        return added

    def discard(self, names: Iterable[str]) -> None:
        """Forget the kept photos the citizen removed."""
        kept = set(self.names())
        remove(self.path, [n for n in names if n in kept])
        self._names = None

    def load(self) -> list[PreparedPhoto]:
        """The kept photos, ready to be stored with the complaint."""
        from PIL import Image  # imported when photos are handled, not at start-up

        loaded = []
        for name in self.names():
            data = self.path.read(name)
            with Image.open(BytesIO(data)) as image:
                width, height = image.size
            extension = name.rsplit(".", 1)[1]
            loaded.append(Prepared(data, CONTENT_TYPES[extension], extension, width, height))
        return loaded

    def clear(self) -> None:
        """Forget every kept photo (the complaint was sent, or supported instead)."""
        remove(self.path, [entry.key for entry in self.path.list()])
        self._names = None


def pending_key(token: str) -> str:
    """The folder of a form's kept photos: derived from its token, not revealing it."""
    return hashlib.sha256(b"pengaduan-pending:" + token.encode()).hexdigest()[:32]
