"""What of a region's complaints moves with it (the ``tenant_data`` hook).

Every table is carried as it is, except: Open311 clients (their API keys are
issued again on the new server), the web form's one-time tokens, and the
reporters' contact details, which are sealed with this server's key: opened on
export, sealed again with the new server's key on import. Photos are carried
with the region's other files; photos kept for forms not yet sent
(``pengaduan/pending/``) are not.
"""

from __future__ import annotations

from typing import Any

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
    return row


def tenant_data() -> TenantData:
    return TenantData(
        skip=("pengaduan_api_client",),
        secret={"pengaduan_complaint": ("submit_token",)},
        convert={
            "pengaduan_complaint": Convert(dump=_open_contacts, load=_seal_contacts),
            "pengaduan_support": Convert(load=_map_supporter),
        },
        skip_files=(f"{photos.FOLDER}/{photos.PENDING}/",),
    )
