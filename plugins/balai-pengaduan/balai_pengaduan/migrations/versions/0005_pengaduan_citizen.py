"""pengaduan: a form's one-time token, the reporter's rating, "my complaints" index

Revision ID: pengaduan_0005
Revises: pengaduan_0004
Create Date: 2026-12-15

Additive only: ``submit_token`` (SHA-256 of the web form's one-time token, unique
per region, so posting a form twice makes one complaint), ``rating``,
``rating_comment`` and ``rated_at`` (the reporter's satisfaction survey), and an
index for a reporter's own complaints (``/pengaduan/saya``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "pengaduan_0005"
down_revision: str | Sequence[str] | None = "pengaduan_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "pengaduan_complaint"


def upgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.add_column(sa.Column("submit_token", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("rating", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("rating_comment", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_pengaduan_complaint_reporter",
        TABLE,
        ["tenant_id", "reporter_id", "submitted_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_pengaduan_complaint_submit_token", TABLE, ["tenant_id", "submit_token"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_pengaduan_complaint_submit_token", table_name=TABLE)
    op.drop_index("ix_pengaduan_complaint_reporter", table_name=TABLE)
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        for name in ("rated_at", "rating_comment", "rating", "submit_token"):
            batch_op.drop_column(name)
