"""puskesmas: health data protection: bundles sealed and deleted after sending, NIK
links as suggestions until the desk checks identity, the SATUSEHAT secret sealed,
servers by name

Revision ID: puskesmas_0002_health_data
Revises: puskesmas_0001
Create Date: 2026-12-07

Exports: the FHIR bundle (it holds the NIK) moves from the plain JSON column
``bundle`` to ``bundle_sealed``, encrypted with the region's vault key, with the
resource types it holds in ``resource_types``; ``purged_at`` records when a sent
bundle was deleted (by ``balai puskesmas send``, after the region's retention).

Queue numbers: ``suggested_patient_id`` holds the patient whose NIK was given with a
number; ``patient_id`` only the patient the desk linked after checking the holder's
KTP or KK. Open numbers (waiting or called) that were linked by the NIK alone when
they were taken, and never by the desk (no ``ticket.attach`` entry), become
suggestions.

Regions' settings: the SATUSEHAT client secret is sealed with the region's settings
key; the token and FHIR addresses a region stored are replaced by the name of the
SATUSEHAT server they pointed at (``production`` or ``staging``), and dropped when
they pointed elsewhere (the region then sends to the default server until its admin
chooses one of the operator's list). Every step leaves rows already migrated alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "puskesmas_0002_health_data"
down_revision: str | Sequence[str] | None = "puskesmas_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

plugin_state = sa.table(
    "balai_plugin_state",
    sa.column("id", sa.Integer),
    sa.column("tenant_id", sa.Integer),
    sa.column("plugin", sa.String),
    sa.column("settings", sa.JSON),
)
state = sa.table("balai_state", sa.column("id", sa.Integer), sa.column("version", sa.Integer))
OLD_ADDRESSES = ("satusehat_token_url", "satusehat_base_url")


export = sa.table(
    "puskesmas_export",
    sa.column("id", sa.Integer),
    sa.column("tenant_id", sa.Integer),
    sa.column("bundle", sa.JSON),
    sa.column("bundle_sealed", sa.LargeBinary),
    sa.column("resource_types", sa.JSON),
)


ticket = sa.table(
    "puskesmas_ticket",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("patient_id", sa.Integer),
    sa.column("suggested_patient_id", sa.Integer),
    sa.column("nik_hash", sa.String),
    sa.column("nik_cipher", sa.LargeBinary),
)
trail = sa.table(
    "puskesmas_audit",
    sa.column("tenant_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("detail", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("puskesmas_ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suggested_patient_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_puskesmas_ticket_suggested_patient_id_puskesmas_patient"),
            "puskesmas_patient",
            ["suggested_patient_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _suggest_unchecked_links()
    with op.batch_alter_table("puskesmas_export", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bundle_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("resource_types", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_puskesmas_export_purge",
            ["tenant_id", "purged_at", "status", "sent_at"],
            unique=False,
        )
    _seal_bundles()
    with op.batch_alter_table("puskesmas_export", schema=None) as batch_op:
        batch_op.drop_column("bundle")
    _migrate_settings()


def _suggest_unchecked_links() -> None:
    connection = op.get_bind()
    attached = set()
    for (detail,) in connection.execute(
        sa.select(trail.c.detail).where(trail.c.action == "ticket.attach")
    ):
        head = str(detail).split(";", 1)[0]  # "ticket 12"
        if head.startswith("ticket ") and head[7:].isdigit():
            attached.add(int(head[7:]))
    rows = connection.execute(
        sa.select(ticket.c.id, ticket.c.patient_id).where(
            ticket.c.status.in_(("waiting", "called")),
            ticket.c.patient_id.is_not(None),
            ticket.c.nik_hash.is_not(None),
            ticket.c.nik_cipher.is_(None),
        )
    ).all()
    for row_id, patient_id in rows:
        if row_id not in attached:
            connection.execute(
                ticket.update()
                .where(ticket.c.id == row_id)
                .values(patient_id=None, suggested_patient_id=patient_id)
            )


def _seal_bundles() -> None:
    import json

    from balai_puskesmas import fhir
    from balai_puskesmas.runtime import vault_for

    app = context.config.attributes["app"]
    connection = op.get_bind()
    rows = connection.execute(sa.select(export.c.id, export.c.tenant_id, export.c.bundle))
    for row_id, tenant_id, bundle in rows.all():
        if not bundle:
            continue
        sealed = vault_for(app.config, tenant_id).encrypt(json.dumps(bundle, ensure_ascii=False))
        types = [[kind, number] for kind, number in fhir.resource_types(bundle)]
        connection.execute(
            export.update()
            .where(export.c.id == row_id)
            .values(bundle_sealed=sealed, resource_types=types)
        )


def _migrate_settings() -> None:
    from balai.settings import seal_secrets
    from balai_puskesmas.settings import DEFAULT_ENDPOINTS, PuskesmasSettings

    app = context.config.attributes["app"]
    by_base = {entry["base_url"].rstrip("/"): name for name, entry in DEFAULT_ENDPOINTS.items()}
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(plugin_state.c.id, plugin_state.c.tenant_id, plugin_state.c.settings).where(
            plugin_state.c.plugin == "puskesmas"
        )
    ).all()
    changed = False
    for row_id, tenant_id, settings in rows:
        values = dict(settings or {})
        base = values.pop("satusehat_base_url", None)
        values.pop("satusehat_token_url", None)
        server = by_base.get(str(base or "").rstrip("/"))
        if server is not None and "satusehat_server" not in values:
            values["satusehat_server"] = server
        values = seal_secrets(PuskesmasSettings(), values, tenant_id, app)
        if values != (settings or {}):
            connection.execute(
                plugin_state.update().where(plugin_state.c.id == row_id).values(settings=values)
            )
            changed = True
    if changed:  # every worker reloads the regions' settings
        connection.execute(state.update().values(version=state.c.version + 1))


def downgrade() -> None:
    _downgrade_settings()
    with op.batch_alter_table("puskesmas_export", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bundle", sa.JSON(), nullable=True))
    _open_bundles()
    with op.batch_alter_table("puskesmas_export", schema=None) as batch_op:
        batch_op.alter_column("bundle", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_index("ix_puskesmas_export_purge")
        batch_op.drop_column("purged_at")
        batch_op.drop_column("resource_types")
        batch_op.drop_column("bundle_sealed")
    with op.batch_alter_table("puskesmas_ticket", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_puskesmas_ticket_suggested_patient_id_puskesmas_patient"),
            type_="foreignkey",
        )
        batch_op.drop_column("suggested_patient_id")


class _Entries:
    """Collects the audit entries of one region, written with core inserts below."""

    def __init__(self, tenant_id: int) -> None:
        self.info = {"tenant_id": tenant_id}
        self.entries: list = []

    def add(self, entry: object) -> None:
        self.entries.append(entry)


def _open_bundles() -> None:
    """Downgrading puts the bundles back in clear (a deleted one comes back empty);
    each opening is written to the audit trail."""
    import json
    from datetime import UTC, datetime

    from balai_puskesmas.runtime import vault_for
    from balai_puskesmas.services import Actor, audit

    app = context.config.attributes["app"]
    actor = Actor(user_id=None, label="balai db downgrade", channel="cli")
    now = datetime.now(UTC)
    trail = sa.table(
        "puskesmas_audit",
        *(sa.column(name) for name in ("tenant_id", "at", "actor", "action", "detail")),
        sa.column("address"),
        sa.column("channel"),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(export.c.id, export.c.tenant_id, export.c.bundle_sealed)
    ).all()
    for row_id, tenant_id, sealed in rows:
        bundle = {}
        if sealed is not None:
            entries = _Entries(tenant_id)
            audited = audit(entries, actor, "export.downgrade", now, detail=f"export {row_id}")  # type: ignore[arg-type]
            connection.execute(
                trail.insert().values(
                    tenant_id=tenant_id,
                    at=now,
                    actor=actor.label,
                    action="export.downgrade",
                    detail=audited.entry.detail,
                    address="",
                    channel=actor.channel,
                )
            )
            bundle = json.loads(vault_for(app.config, tenant_id).decrypt(sealed, audited))
        connection.execute(export.update().where(export.c.id == row_id).values(bundle=bundle))


def _downgrade_settings() -> None:
    from balai.settings import open_secrets
    from balai_puskesmas.settings import DEFAULT_ENDPOINTS, PuskesmasSettings

    app = context.config.attributes["app"]
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(plugin_state.c.id, plugin_state.c.tenant_id, plugin_state.c.settings).where(
            plugin_state.c.plugin == "puskesmas"
        )
    ).all()
    for row_id, tenant_id, settings in rows:
        values = open_secrets(PuskesmasSettings(), dict(settings or {}), tenant_id, app)
        server = DEFAULT_ENDPOINTS.get(str(values.pop("satusehat_server", "")))
        if server is not None:
            values["satusehat_token_url"] = server["token_url"]
            values["satusehat_base_url"] = server["base_url"]
        connection.execute(
            plugin_state.update().where(plugin_state.c.id == row_id).values(settings=values)
        )
    connection.execute(state.update().values(version=state.c.version + 1))
