"""registry: a submission may be a derived plugin sent with an evaluation

``registry_submission.evaluation_id`` names the evaluation (``registry_evaluation``) a
partner sent the file with; empty for every file sent through the upload API.

Revision ID: registry_0006_derived
Revises: registry_0005_upstream_tokens
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "registry_0006_derived"
down_revision: str | Sequence[str] | None = "registry_0005_upstream_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "registry_submission"
FK = "fk_registry_submission_evaluation_id_registry_evaluation"


def upgrade() -> None:
    # Nothing references registry_submission, so SQLite's batch copy of it drops nothing.
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.add_column(sa.Column("evaluation_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f(FK), "registry_evaluation", ["evaluation_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index(
            op.f("ix_registry_submission_evaluation_id"), ["evaluation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_registry_submission_evaluation_id"))
        batch_op.drop_constraint(op.f(FK), type_="foreignkey")
        batch_op.drop_column("evaluation_id")
