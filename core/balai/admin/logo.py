"""Checking and storing a region's logo in the region's files (:mod:`balai.storage`).

The file's content decides its type, never its name: :mod:`balai.images` reads its
header first (JPEG, PNG or WebP; within ``IMAGE_MAX_PIXELS`` and the request's
``IMAGE_REQUEST_PIXELS``), then decodes it and stores it again as a PNG of at most
``MAX_SIDE`` pixels. Only the decoded pixels are kept: no metadata, no bytes appended
after the image, no other format. SVG is not accepted. Each upload gets a fresh
random name, so the old file can be removed and caches see a new ETag.
"""

from __future__ import annotations

import secrets
from contextlib import suppress
from typing import IO

from flask_babel import gettext as _

from balai.images import ImageError, prepare
from balai.storage import BadKey, NoRoom, TenantFiles

__all__ = ["LogoError", "check_logo", "remove_logo", "store_logo"]

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


def store_logo(files: TenantFiles, data: bytes, extension: str) -> str:
    """Store the logo under a fresh random name (atomically) and return that name.

    A write that fails leaves no partial file; a full disk raises :class:`LogoError`.
    """
    name = f"logo-{secrets.token_hex(8)}.{extension}"
    try:
        files.put(name, data, content_type=f"image/{extension}")
    except NoRoom as exc:
        raise LogoError(
            _("The server has no room left to store the logo. Nothing was saved.")
        ) from exc
    return name


def remove_logo(files: TenantFiles, name: str | None) -> None:
    """Delete a stored logo; a name that is not a plain file name is ignored."""
    if name and "/" not in name and not name.startswith("."):
        with suppress(BadKey):
            files.delete(name)
