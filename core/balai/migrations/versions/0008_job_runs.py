"""job runs: one row per background job run of a region and slot

Revision ID: 0008_job_runs
Revises: 0007_custom_roles
Create Date: 2026-12-07

``balai_job_run`` records each run of a background job (``balai.jobs``) for one
region: its slot (the scheduled instant, or an enqueued run's key), status, attempts
and outcome. The unique ``(tenant_id, job, slot)`` makes a second claim of a slot fail,
so no slot runs twice.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_job_runs"
down_revision: str | Sequence[str] | None = "0007_custom_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "balai_job_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=100), nullable=False),
        sa.Column("slot", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_balai_job_run_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balai_job_run")),
        sa.UniqueConstraint(
            "tenant_id", "job", "slot", name=op.f("uq_balai_job_run_tenant_id_job_slot")
        ),
    )
    with op.batch_alter_table("balai_job_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_balai_job_run_tenant_id"), ["tenant_id"])
        batch_op.create_index("ix_balai_job_run_status_due_at", ["status", "due_at"])
        batch_op.create_index("ix_balai_job_run_tenant_id_created_at", ["tenant_id", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("balai_job_run", schema=None) as batch_op:
        batch_op.drop_index("ix_balai_job_run_tenant_id_created_at")
        batch_op.drop_index("ix_balai_job_run_status_due_at")
        batch_op.drop_index(batch_op.f("ix_balai_job_run_tenant_id"))
    op.drop_table("balai_job_run")
