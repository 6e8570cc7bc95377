"""puskesmas: patients registered although their data differs from the NIK

Revision ID: puskesmas_0004_nik_mismatch
Revises: puskesmas_0003_satusehat
Create Date: 2026-12-15

A date of birth or sex corrected by the civil registry (Dukcapil) keeps the old NIK,
so the registration desk may register a patient whose data differs from what the NIK
encodes, giving a reason: ``nik_mismatch`` names what differs, ``mismatch_reason`` is
the reason, ``flagged_at`` when it was recorded (the patient waits for a review) and
``reviewed_at`` when it was reviewed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "puskesmas_0004_nik_mismatch"
down_revision: str | Sequence[str] | None = "puskesmas_0003_satusehat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place: SQLite would otherwise rebuild the table, which the visits' foreign
    # keys to it forbid.
    with op.batch_alter_table("puskesmas_patient", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("nik_mismatch", sa.String(length=30), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("mismatch_reason", sa.String(length=300), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_puskesmas_patient_flagged", "puskesmas_patient", ["tenant_id", "flagged_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_puskesmas_patient_flagged", table_name="puskesmas_patient")
    with op.batch_alter_table("puskesmas_patient", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("flagged_at")
        batch_op.drop_column("mismatch_reason")
        batch_op.drop_column("nik_mismatch")
