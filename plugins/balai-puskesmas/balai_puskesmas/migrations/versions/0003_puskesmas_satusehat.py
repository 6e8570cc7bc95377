"""puskesmas: SATUSEHAT's flow: exports held for missing ids, patients by IHS number

Revision ID: puskesmas_0003_satusehat
Revises: puskesmas_0002_health_data
Create Date: 2026-12-08

Exports: ``hold_reason`` says why an export is ``held`` (the puskesmas, clinic or
clinician has no SATUSEHAT id yet, SATUSEHAT has no patient with the NIK). The bundles
still waiting to be sent were built the old way (a Patient created by NIK, references
by name where an id was missing): they are dropped, so the sender builds each again
from its visit, or holds it with the reason, before sending. Downgrading turns held
exports into failed ones with the reason as their last error.

Patients: the IHS number SATUSEHAT's Patient search found for the NIK, sealed
(``ihs_cipher``), with the hash of that NIK, when it was asked, and whether several
patients were found.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "puskesmas_0003_satusehat"
down_revision: str | Sequence[str] | None = "puskesmas_0002_health_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

export = sa.table(
    "puskesmas_export",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("bundle_sealed", sa.LargeBinary),
    sa.column("resource_types", sa.JSON),
    sa.column("last_error", sa.Text),
    sa.column("hold_reason", sa.String),
)


def upgrade() -> None:
    # Added in place: SQLite would otherwise rebuild the table, which the visits' foreign
    # keys to it forbid.
    with op.batch_alter_table("puskesmas_patient", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("ihs_cipher", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("ihs_nik_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("ihs_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("ihs_ambiguous", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("puskesmas_export", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hold_reason", sa.String(length=100), nullable=False, server_default="")
        )
    op.execute(
        export.update()
        .where(export.c.status == "pending")
        .values(bundle_sealed=None, resource_types=[])
    )


def downgrade() -> None:
    op.execute(
        export.update()
        .where(export.c.status == "held")
        .values(status="failed", last_error="held: " + export.c.hold_reason)
    )
    with op.batch_alter_table("puskesmas_export", schema=None) as batch_op:
        batch_op.drop_column("hold_reason")
    # Dropped in place, for the same reason (SQLite 3.35 or later).
    with op.batch_alter_table("puskesmas_patient", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("ihs_ambiguous")
        batch_op.drop_column("ihs_checked_at")
        batch_op.drop_column("ihs_nik_hash")
        batch_op.drop_column("ihs_cipher")
