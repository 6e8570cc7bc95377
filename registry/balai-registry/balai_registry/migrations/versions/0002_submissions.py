"""registry: submission table

Revision ID: registry_0002_submissions
Revises: registry_0001
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "registry_0002_submissions"
down_revision: str | Sequence[str] | None = "registry_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registry_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("project", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("filetype", sa.String(length=20), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("summary", sa.String(length=512), nullable=False),
        sa.Column("licence", sa.String(length=200), nullable=False),
        sa.Column("requires_python", sa.String(length=100), nullable=False),
        sa.Column("requires_core", sa.String(length=100), nullable=False),
        sa.Column("metadata_text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("yanked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("yanked_reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["balai_user.id"],
            name=op.f("fk_registry_submission_decided_by_id_balai_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["registry_partner.id"],
            name=op.f("fk_registry_submission_partner_id_registry_partner"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_registry_submission_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_submission")),
        sa.UniqueConstraint("key", name=op.f("uq_registry_submission_key")),
        sa.UniqueConstraint("tenant_id", "filename", name="uq_registry_submission_tenant_filename"),
    )
    op.create_index(
        op.f("ix_registry_submission_tenant_id"),
        "registry_submission",
        ["tenant_id"],
        unique=False,
    )
    op.create_index(
        "ix_registry_submission_tenant_project",
        "registry_submission",
        ["tenant_id", "project", "status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_registry_submission_tenant_project", table_name="registry_submission")
    op.drop_index(op.f("ix_registry_submission_tenant_id"), table_name="registry_submission")
    op.drop_table("registry_submission")
