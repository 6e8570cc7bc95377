"""kebun_warga: kebun_warga_plot table

Revision ID: kebun_warga_0001
Revises:
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "kebun_warga_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("kebun_warga",)
depends_on: str | Sequence[str] | None = "0001"


def upgrade() -> None:
    op.create_table(
        "kebun_warga_plot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_kebun_warga_plot_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kebun_warga_plot")),
    )
    op.create_index(
        op.f("ix_kebun_warga_plot_tenant_id"),
        "kebun_warga_plot",
        ["tenant_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_kebun_warga_plot_tenant_id"),
        table_name="kebun_warga_plot",
    )
    op.drop_table("kebun_warga_plot")
