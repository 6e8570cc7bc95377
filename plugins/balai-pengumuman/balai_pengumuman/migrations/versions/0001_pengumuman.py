"""pengumuman: announcement table

Revision ID: pengumuman_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "pengumuman_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("pengumuman",)
depends_on: str | Sequence[str] | None = "0001"


def upgrade() -> None:
    op.create_table(
        "pengumuman_announcement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["balai_user.id"],
            name=op.f("fk_pengumuman_announcement_author_id_balai_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["balai_department.id"],
            name=op.f("fk_pengumuman_announcement_department_id_balai_department"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_pengumuman_announcement_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pengumuman_announcement")),
    )
    op.create_index(
        op.f("ix_pengumuman_announcement_tenant_id"),
        "pengumuman_announcement",
        ["tenant_id"],
        unique=False,
    )
    op.create_index(
        "ix_pengumuman_announcement_tenant_id_published_at",
        "pengumuman_announcement",
        ["tenant_id", "published_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_pengumuman_announcement_tenant_id_published_at",
        table_name="pengumuman_announcement",
    )
    op.drop_index(
        op.f("ix_pengumuman_announcement_tenant_id"), table_name="pengumuman_announcement"
    )
    op.drop_table("pengumuman_announcement")
