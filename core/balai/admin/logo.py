"""Checking and storing a region's logo under ``instance/tenants/<id>/``.

The file's content decides its type, never its name: :mod:`balai.images` reads its
header first (JPEG, PNG or WebP; within ``IMAGE_MAX_PIXELS`` and the request's
``IMAGE_REQUEST_PIXELS``), then decodes it and stores it again as a PNG of at most
``MAX_SIDE`` pixels. Only the decoded pixels are kept: no metadata, no bytes appended
after the image, no other format. SVG is not accepted. Each upload gets a fresh
random name, so the old file can be removed and caches see a new ETag.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import IO

from flask_babel import gettext as _

from balai.files import NoRoom, write_whole
from balai.images import ImageError, prepare

__all__ = ["LogoError", "check_logo", "logo_folder", "remove_logo", "store_logo"]

MAX_SIDE = 1024  # a logo is shown a few dozen pixels high; this is plenty


class LogoError(Exception):
    """An upload that is not an acceptable logo; the message says why (translated)."""


def check_logo(stream: IO[bytes], max_bytes: int, name: str = "") -> tuple[bytes, str]:
    """Read an upload and return ``(re-encoded PNG, extension)``, or raise :class:`LogoError`."""
    data = stream.read(max_bytes + 1)
    if not data:
        raise LogoError(_("The file is empty."))
    if len(data) > max_bytes:
        raise LogoError(_("The logo is too large: at most %(kb)d KB.", kb=max_bytes // 1024))
    try:
        [logo] = prepare([(data, name or _("The logo"))], max_side=MAX_SIDE, lossless=True)
    except ImageError as exc:
        raise LogoError(exc.message()) from None
    return logo.data, logo.extension


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
