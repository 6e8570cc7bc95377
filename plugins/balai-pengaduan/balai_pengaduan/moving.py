"""What of a region's complaints moves with it (the ``tenant_data`` hook).

Every table is carried as it is, except: Open311 clients (their API keys are
issued again on the new server), the web form's one-time tokens, and the
reporters' contact details, which are sealed with this server's key: opened on
export, sealed again with the new server's key on import. Photos are carried
with the region's other files; photos kept for forms not yet sent
(``pengaduan/pending/``) are not. On import a photo must be what an upload
stores: a JPEG or PNG under a name the upload gives it, its row's type the
file's; anything else refuses the archive (it would be served from the site).
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app

from balai.images import ImageError, PixelBudget, prepare, probe
from balai.tenancy.portable import Context, Convert, TenantData
from balai_pengaduan import photos
from balai_pengaduan.reporters import reporter_sealer, seal

__all__ = ["tenant_data"]

_CONTACTS = ("reporter_email", "reporter_phone")  # column names of the sealed contacts


def _open_contacts(row: dict[str, Any], context: Context) -> dict[str, Any]:
    keys = reporter_sealer(context.tenant_id, context.app)
    return {**row, **{c: keys.open(row[c]) for c in _CONTACTS if row.get(c)}}


def _seal_contacts(row: dict[str, Any], context: Context) -> dict[str, Any]:
    keys = reporter_sealer(context.tenant_id, context.app)
    return {**row, **{c: seal(keys, row.get(c)) for c in _CONTACTS}}


def _map_supporter(row: dict[str, Any], context: Context) -> dict[str, Any]:
    """A signed-in supporter is named by their account id, which the import changes."""
    supporter = str(row.get("supporter", ""))
    kind, _, user_id = supporter.partition(":")
    if kind == "user" and user_id.isdigit():
        new_id = context.idmap.get("balai_user", {}).get(int(user_id))
        if new_id is not None:
            return {**row, "supporter": f"user:{new_id}"}
        # An account the archive lacks: kept as a support, matching no account here.
        return {**row, "supporter": f"gone:{user_id}"}
    return row


_PHOTO_NAME = re.compile(r"[0-9a-f]{32}\.(jpg|png)")
_FORMATS = {"jpg": "JPEG", "png": "PNG"}


def _check_photo_row(row: dict[str, Any], context: Context) -> dict[str, Any]:
    found = _PHOTO_NAME.fullmatch(str(row.get("filename", "")))
    if found is None:
        raise ValueError(f"photo name {row.get('filename')!r} is not a stored photo's name")
    if row.get("content_type") != photos.CONTENT_TYPES[found.group(1)]:
        raise ValueError(f"photo type {row.get('content_type')!r} is not its file's type")
    return row


def _check_photo_file(key: str, data: bytes) -> bytes:
    """A photo file is the image its name says (JPEG or PNG), as an upload stores it."""
    found = _PHOTO_NAME.fullmatch(key.removeprefix(f"{photos.FOLDER}/"))
    if found is None:
        raise ValueError("not a stored photo's name")
    try:
        image = probe(data, name=key, max_side=photos.MAX_SIDE)
        if image.format != _FORMATS[found.group(1)]:
            raise ValueError(f"a {image.format} image under a .{found.group(1)} name")
        # Decoded all through, as an upload is; the stored file is kept as it is.
        prepare(
            [(data, key)],
            max_side=photos.MAX_SIDE,
            budget=PixelBudget(current_app.config["IMAGE_MAX_PIXELS"]),
        )
    except ImageError as exc:
        raise ValueError(exc.message()) from None
    return data


def tenant_data() -> TenantData:
    return TenantData(
        skip=("pengaduan_api_client",),
        secret={"pengaduan_complaint": ("submit_token",)},
        convert={
            "pengaduan_complaint": Convert(dump=_open_contacts, load=_seal_contacts),
            "pengaduan_support": Convert(load=_map_supporter),
            "pengaduan_photo": Convert(load=_check_photo_row),
        },
        files_check={f"{photos.FOLDER}/": _check_photo_file},
        skip_files=(f"{photos.FOLDER}/{photos.PENDING}/",),
    )
