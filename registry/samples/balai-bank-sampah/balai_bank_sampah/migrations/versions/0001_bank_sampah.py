"""bank_sampah: bank_sampah_deposit table

Revision ID: bank_sampah_0001
Revises:
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "bank_sampah_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("bank_sampah",)
depends_on: str | Sequence[str] | None = "0001"


def upgrade() -> None:
    op.create_table(
        "bank_sampah_deposit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_bank_sampah_deposit_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_sampah_deposit")),
    )
    op.create_index(
        op.f("ix_bank_sampah_deposit_tenant_id"),
        "bank_sampah_deposit",
        ["tenant_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_bank_sampah_deposit_tenant_id"),
        table_name="bank_sampah_deposit",
    )
    op.drop_table("bank_sampah_deposit")
