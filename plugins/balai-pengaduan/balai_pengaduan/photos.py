"""Photos of complaints (*foto bukti*): checked by content, re-encoded, stored per region.

An upload is read whole (the app's ``MAX_CONTENT_LENGTH`` bounds the request),
opened with Pillow whatever its name says, and written again as JPEG (or PNG
when it has transparency): EXIF, including the phone's GPS position, is dropped.
Nothing reaches the disk until every photo and field is valid; files are named
at random under ``instance/tenants/<tenant id>/pengaduan/``.
"""

from __future__ import annotations

import secrets
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from werkzeug.datastructures import FileStorage

from balai.files import NoRoom, write_whole
from balai.i18n import N_

__all__ = ["PhotoError", "PreparedPhoto", "folder", "prepare", "remove", "sweep", "write"]

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; more is a decompression bomb
MAX_SIDE = 2048  # stored photos are shrunk to this: evidence, not print
JPEG_QUALITY = 85


class PhotoError(ValueError):
    """A photo was refused. ``str()`` is a msgid; ``values`` fill its placeholders."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message)
        self.values = values


@dataclass(frozen=True)
class PreparedPhoto:
    """A checked, re-encoded photo, still in memory."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def prepare(uploads: Iterable[FileStorage], *, max_photos: int, max_kb: int) -> list[PreparedPhoto]:
    """Check and re-encode every non-empty upload; raise on the first bad one."""
    files = [u for u in uploads if u and u.filename]
    if len(files) > max_photos:
        raise PhotoError(N_("At most %(n)d photos."), n=max_photos)
    return [_prepare_one(f, max_kb * 1024) for f in files]


def _prepare_one(upload: FileStorage, limit: int) -> PreparedPhoto:
    raw = upload.stream.read(limit + 1)
    if len(raw) > limit:
        raise PhotoError(
            N_("%(name)s is larger than %(kb)d KB."), name=upload.filename, kb=limit // 1024
        )
    image = _open(raw, upload.filename or "")
    return _encode(image)


def _open(raw: bytes, name: str) -> Image.Image:
    """The image inside ``raw``, verified; refuses anything that is not a photo."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(BytesIO(raw))
            if probe.format not in ACCEPTED_FORMATS:
                raise PhotoError(N_("%(name)s is not a JPEG, PNG or WebP photo."), name=name)
            if probe.width * probe.height > MAX_PIXELS:
                raise PhotoError(N_("%(name)s has too many pixels."), name=name)
            probe.verify()
            image = Image.open(BytesIO(raw))
            image.load()
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise PhotoError(N_("%(name)s is not a JPEG, PNG or WebP photo."), name=name) from None
    except Image.DecompressionBombWarning:
        raise PhotoError(N_("%(name)s has too many pixels."), name=name) from None
    return image


def _encode(image: Image.Image) -> PreparedPhoto:
    """Upright, at most ``MAX_SIDE`` pixels, with no metadata at all."""
    image = ImageOps.exif_transpose(image) or image
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    transparent = image.mode in ("RGBA", "LA") or "transparency" in image.info
    out = BytesIO()
    if transparent:
        clean = image.convert("RGBA")
        clean.save(out, format="PNG", optimize=True)
        kind, extension = "image/png", "png"
    else:
        clean = image.convert("RGB")
        clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        kind, extension = "image/jpeg", "jpg"
    return PreparedPhoto(out.getvalue(), kind, extension, clean.width, clean.height)


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
