"""rate limits: one counter table for every limit; login failures are counted there

Revision ID: 0004_rate_limits
Revises: 0003_credential_version
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_rate_limits"
down_revision: str | Sequence[str] | None = "0003_credential_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "balai_rate_limit",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_balai_rate_limit")),
    )
    with op.batch_alter_table("balai_rate_limit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_balai_rate_limit_expires_at"), ["expires_at"], unique=False
        )
    with op.batch_alter_table("balai_login_failure", schema=None) as batch_op:
        batch_op.drop_index("ix_balai_login_failure_key_at")
    op.drop_table("balai_login_failure")


def downgrade() -> None:
    op.create_table(
        "balai_login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balai_login_failure")),
    )
    with op.batch_alter_table("balai_login_failure", schema=None) as batch_op:
        batch_op.create_index("ix_balai_login_failure_key_at", ["key", "at"], unique=False)
    with op.batch_alter_table("balai_rate_limit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balai_rate_limit_expires_at"))
    op.drop_table("balai_rate_limit")
