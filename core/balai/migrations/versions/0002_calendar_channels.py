"""calendar and channels: regions' holidays and the message outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "balai_holiday",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_balai_holiday_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balai_holiday")),
        sa.UniqueConstraint("tenant_id", "day", name=op.f("uq_balai_holiday_tenant_id_day")),
    )
    with op.batch_alter_table("balai_holiday", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_balai_holiday_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "balai_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_balai_outbox_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balai_outbox")),
    )
    with op.batch_alter_table("balai_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_balai_outbox_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_balai_outbox_tenant_status_created",
            ["tenant_id", "status", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("balai_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_balai_outbox_tenant_status_created")
        batch_op.drop_index(batch_op.f("ix_balai_outbox_tenant_id"))

    op.drop_table("balai_outbox")
    with op.batch_alter_table("balai_holiday", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balai_holiday_tenant_id"))

    op.drop_table("balai_holiday")
