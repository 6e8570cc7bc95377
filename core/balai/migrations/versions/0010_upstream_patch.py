"""upstream evaluations keep the patch the region sent with them

Revision ID: 0010_upstream_patch
Revises: 0009_upstream
Create Date: 2026-12-07

``balai_upstream_evaluation.patch``: the patch (a unified diff) sent with the
evaluation, shown on the region's own thread page; empty when none was sent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_upstream_patch"
down_revision: str | Sequence[str] | None = "0009_upstream"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("balai_upstream_evaluation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patch", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("balai_upstream_evaluation", schema=None) as batch_op:
        batch_op.drop_column("patch")
