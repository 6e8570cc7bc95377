"""upstream registry: a region's link to it and its copy of the evaluations it sent

Revision ID: 0009_upstream
Revises: 0008_job_runs
Create Date: 2026-12-07

``balai_upstream_link`` holds a region's upstream registry address (none: the
deployment's ``REGISTRY_URL``) and its registry token, sealed; one row per region.
``balai_upstream_evaluation`` keeps what the upstream last said of each evaluation the
region sent (status, replies), so the pages work while the upstream is down.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_upstream"
down_revision: str | Sequence[str] | None = "0008_job_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["balai_tenant.id"],
        name=op.f(f"fk_{table}_tenant_id_balai_tenant"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "balai_upstream_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_error", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _tenant_fk("balai_upstream_link"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balai_upstream_link")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_balai_upstream_link_tenant_id")),
    )
    with op.batch_alter_table("balai_upstream_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_balai_upstream_link_tenant_id"), ["tenant_id"])
    op.create_table(
        "balai_upstream_evaluation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("upstream", sa.String(length=500), nullable=False),
        sa.Column("remote_id", sa.Integer(), nullable=False),
        sa.Column("plugin", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("replies", sa.JSON(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _tenant_fk("balai_upstream_evaluation"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balai_upstream_evaluation")),
        sa.UniqueConstraint(
            "tenant_id",
            "upstream",
            "remote_id",
            name=op.f("uq_balai_upstream_evaluation_tenant_id_upstream_remote_id"),
        ),
    )
    with op.batch_alter_table("balai_upstream_evaluation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_balai_upstream_evaluation_tenant_id"), ["tenant_id"])


def downgrade() -> None:
    with op.batch_alter_table("balai_upstream_evaluation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balai_upstream_evaluation_tenant_id"))
    op.drop_table("balai_upstream_evaluation")
    with op.batch_alter_table("balai_upstream_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balai_upstream_link_tenant_id"))
    op.drop_table("balai_upstream_link")
