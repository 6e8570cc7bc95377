"""upstream registry: the derived plugin sent with an evaluation, as the upstream tells it

Revision ID: 0011_upstream_derived
Revises: 0010_upstream_patch
Create Date: 2026-12-07

``balai_upstream_evaluation.derived`` keeps what the upstream last said of the derived
plugin (a wheel or an sdist) the region sent with the evaluation: its file name, name,
version, the status of its submission and the link to its report. Empty when none
was sent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_upstream_derived"
down_revision: str | Sequence[str] | None = "0010_upstream_patch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER TABLE on both databases: a nullable column needs no table copy.
    op.add_column("balai_upstream_evaluation", sa.Column("derived", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("balai_upstream_evaluation", schema=None) as batch_op:
        batch_op.drop_column("derived")
