"""Photos of complaints (*foto bukti*): checked by content, re-encoded, stored per region.

An upload is read whole (the app's ``MAX_CONTENT_LENGTH`` bounds the request, the
setting ``max_photo_kb`` each photo). :mod:`balai.images` then reads every photo's
header before decoding any: the format must be JPEG, PNG or WebP and the pixels
within ``IMAGE_MAX_PIXELS`` per photo and ``IMAGE_REQUEST_PIXELS`` for the request.
Each is written again as JPEG (or PNG when it has transparency), at most
``MAX_SIDE`` pixels: EXIF, including the phone's GPS position, is dropped. Nothing
reaches the disk until every photo and field is valid; files are named at random
under ``instance/tenants/<tenant id>/pengaduan/``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from werkzeug.datastructures import FileStorage

from balai.files import NoRoom, write_whole
from balai.i18n import N_
from balai.images import ImageError, Prepared
from balai.images import prepare as prepare_images
from balai.text import clean_text

__all__ = ["PhotoError", "PreparedPhoto", "folder", "prepare", "remove", "sweep", "write"]

MAX_SIDE = 2048  # stored photos are shrunk to this: evidence, not print

PreparedPhoto = Prepared  # a checked, re-encoded photo, still in memory


class PhotoError(ValueError):
    """A photo was refused. ``str()`` is a msgid; ``values`` fill its placeholders."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message)
        self.values = values


def prepare(uploads: Iterable[FileStorage], *, max_photos: int, max_kb: int) -> list[PreparedPhoto]:
    """Check every non-empty upload, then re-encode them; raise on the first bad one.

    The count, each file's size and every header are checked before any photo is
    decoded, so a request with too many pixels costs no decoding at all.
    """
    files = [u for u in uploads if u and u.filename]
    if len(files) > max_photos:
        raise PhotoError(N_("At most %(n)d photos."), n=max_photos)
    raw = [(_read(f, max_kb * 1024), f.filename or "") for f in files]
    try:
        return prepare_images(raw, max_side=MAX_SIDE)
    except ImageError as exc:
        raise PhotoError(str(exc), **exc.values) from None


def _read(upload: FileStorage, limit: int) -> bytes:
    raw = upload.stream.read(limit + 1)
    if len(raw) > limit:
        raise PhotoError(
            N_("%(name)s is larger than %(kb)d KB."),
            name=clean_text(upload.filename or ""),
            kb=limit // 1024,
        )
    return raw


def folder(instance_path: str, tenant_id: int) -> Path:
    """Where a region's complaint photos live."""
    return Path(instance_path) / "tenants" / str(int(tenant_id)) / "pengaduan"


def write(directory: Path, photo: PreparedPhoto) -> str:
    """Store ``photo`` under a fresh random name; returns that name.

    A write that fails leaves no partial file; a full disk raises :class:`PhotoError`.
    """
    name = f"{secrets.token_hex(16)}.{photo.extension}"
    try:
        write_whole(directory / name, photo.data)
    except NoRoom as exc:
        raise PhotoError(
            N_("The server has no room left to store photos. Nothing was saved.")
        ) from exc
    return name


def remove(directory: Path, names: Iterable[str]) -> None:
    """Delete files written for a transaction that did not commit."""
    for name in names:
        (directory / name).unlink(missing_ok=True)


def sweep(directory: Path, named: Iterable[str], *, older_than: timedelta) -> list[str]:
    """Delete the files no photo row names: a worker killed between writing a photo
    and committing its complaint leaves them. Files younger than ``older_than`` are
    kept, as their transaction may still commit. Returns the names deleted."""
    if not directory.is_dir():
        return []
    keep = set(named)
    cutoff = time.time() - older_than.total_seconds()
    stray = [
        path
        for path in directory.iterdir()
        if path.is_file() and path.name not in keep and path.stat().st_mtime < cutoff
    ]
    for path in stray:
        path.unlink(missing_ok=True)
    return sorted(path.name for path in stray)
