"""What of a region's health records moves with it (the ``tenant_data`` hook).

Every table is carried, the audit trail too. NIK, BPJS and phone numbers, the IHS
number, the NIK given with a queue number and the FHIR bundles waiting to be sent
are sealed with keys derived from this server's key and the region's id
(:mod:`balai_puskesmas.vault`): the export opens them, under one entry of the audit
trail (``region.export``), and the import seals them again, with fresh lookup
hashes, under the new server's key and the new region's id.
"""

from __future__ import annotations

from typing import Any

from balai.db import utcnow
from balai.tenancy.portable import Context, Convert, TenantData
from balai_puskesmas.runtime import vault_for
from balai_puskesmas.services import Actor, audit
from balai_puskesmas.vault import Vault

__all__ = ["tenant_data"]

# table → (sealed column, its lookup hash column or None)
SEALED = {
    "puskesmas_patient": (
        ("nik_cipher", "nik_hash"),
        ("bpjs_cipher", "bpjs_hash"),
        ("phone_cipher", "phone_hash"),
        ("ihs_cipher", None),
    ),
    "puskesmas_ticket": (("nik_cipher", "nik_hash"), ("phone_cipher", None)),
    "puskesmas_export": (("bundle_sealed", None),),
}
CURRENT, STALE = "current", "stale"  # whether an IHS answer was for the patient's NIK


def _vault(context: Context) -> Vault:
    if "puskesmas.vault" not in context.state:
        context.state["puskesmas.vault"] = vault_for(context.app.config, context.tenant_id)
    return context.state["puskesmas.vault"]  # type: ignore[no-any-return]


def _audit_export(context: Context) -> None:
    """One entry says the region's identifiers were opened to be carried away."""
    actor = Actor(user_id=None, label="balai tenants export", channel="cli")
    context.state["puskesmas.audited"] = audit(context.session, actor, "region.export", utcnow())


def _dump(table: str) -> Any:
    def dump(row: dict[str, Any], context: Context) -> dict[str, Any]:
        vault, audited = _vault(context), context.state["puskesmas.audited"]
        row = dict(row)
        for sealed, digest in SEALED[table]:
            row[sealed] = vault.open(row[sealed], audited)
            if digest:
                row.pop(digest)
        if table == "puskesmas_patient" and row.get("ihs_nik_hash") is not None:
            row["ihs_nik_hash"] = (
                CURRENT if row["ihs_nik_hash"] == _hash_of_nik(row, vault) else STALE
            )
        return row

    return dump


def _hash_of_nik(row: dict[str, Any], vault: Vault) -> str | None:
    return vault.hash(row["nik_cipher"]) if row.get("nik_cipher") else None


def _load(table: str) -> Any:
    def load(row: dict[str, Any], context: Context) -> dict[str, Any]:
        vault = _vault(context)
        row = dict(row)
        nik = row.get("nik_cipher")
        for sealed, digest in SEALED[table]:
            value = row.get(sealed)
            row[sealed] = vault.encrypt(value) if value else None
            if digest:
                row[digest] = vault.hash(value) if value else None
        if table == "puskesmas_patient" and row.get("ihs_nik_hash") is not None:
            # An answer for another NIK must not match this one: keep it stale.
            row["ihs_nik_hash"] = vault.hash(nik) if row["ihs_nik_hash"] == CURRENT else STALE
        return row

    return load


def tenant_data() -> TenantData:
    return TenantData(
        convert={table: Convert(dump=_dump(table), load=_load(table)) for table in SEALED},
        before_export=_audit_export,
    )
