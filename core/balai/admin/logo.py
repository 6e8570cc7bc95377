"""Checking and storing a region's logo under ``instance/tenants/<id>/``.

The file's content decides its type, never its name: Pillow must recognise it
as PNG, JPEG or WebP and decode it completely. Each upload gets a fresh random
name, so the old file can be removed and caches see a new ETag.
"""

from __future__ import annotations

import io
import secrets
from pathlib import Path
from typing import IO

from flask_babel import gettext as _
from PIL import Image

from balai.files import NoRoom, write_whole

__all__ = ["LogoError", "check_logo", "logo_folder", "remove_logo", "store_logo"]

FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
MAX_PIXELS = 4096 * 4096  # a logo needs far less; this bounds decoding memory


class LogoError(Exception):
    """An upload that is not an acceptable logo; the message says why (translated)."""


def check_logo(stream: IO[bytes], max_bytes: int) -> tuple[bytes, str]:
    """Read an upload and return ``(content, extension)``, or raise :class:`LogoError`."""
    data = stream.read(max_bytes + 1)
    if not data:
        raise LogoError(_("The file is empty."))
    if len(data) > max_bytes:
        raise LogoError(_("The logo is too large: at most %(kb)d KB.", kb=max_bytes // 1024))
    return data, _image_extension(data)


def _image_extension(data: bytes) -> str:
    try:
        with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise LogoError(_("The logo is too large: at most 4096 by 4096 pixels."))
            image.load()
            kind = str(image.format)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        # Pillow reports unknown, truncated and corrupt files in these three ways.
        raise LogoError(_("The logo must be a PNG, JPEG or WebP image.")) from exc
    return FORMATS[kind]


def logo_folder(instance_path: str, tenant_id: int) -> Path:
    return Path(instance_path) / "tenants" / str(tenant_id)


def store_logo(folder: Path, data: bytes, extension: str) -> str:
    """Write the logo under a fresh random name (atomically) and return that name.

    A write that fails leaves no partial file; a full disk raises :class:`LogoError`.
    """
    name = f"logo-{secrets.token_hex(8)}.{extension}"
    try:
        write_whole(folder / name, data)
    except NoRoom as exc:
        raise LogoError(
            _("The server has no room left to store the logo. Nothing was saved.")
        ) from exc
    return name


def remove_logo(folder: Path, name: str | None) -> None:
    """Delete a stored logo; a name that is not a plain file name is ignored."""
    if name and Path(name).name == name and not name.startswith("."):
        (folder / name).unlink(missing_ok=True)
