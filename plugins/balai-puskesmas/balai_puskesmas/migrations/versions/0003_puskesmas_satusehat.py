"""puskesmas: SATUSEHAT's flow: exports held for missing ids

Revision ID: puskesmas_0003_satusehat
Revises: puskesmas_0002_health_data
Create Date: 2026-12-08

Exports: ``hold_reason`` says why an export is ``held`` (the puskesmas, clinic or
clinician has no SATUSEHAT id yet). The bundles still waiting to be sent were built
the old way (references by name where an id was missing): they are dropped, so the
sender builds each again from its visit, or holds it with the reason, before sending.
Downgrading turns held exports into failed ones with the reason as their last error.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "puskesmas_0003_satusehat"
down_revision: str | Sequence[str] | None = "puskesmas_0002_health_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

export = sa.table(
    "puskesmas_export",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("bundle_sealed", sa.LargeBinary),
    sa.column("resource_types", sa.JSON),
    sa.column("last_error", sa.Text),
    sa.column("hold_reason", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("puskesmas_export", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hold_reason", sa.String(length=100), nullable=False, server_default="")
        )
    op.execute(
        export.update()
        .where(export.c.status == "pending")
        .values(bundle_sealed=None, resource_types=[])
    )


def downgrade() -> None:
    op.execute(
        export.update()
        .where(export.c.status == "held")
        .values(status="failed", last_error="held: " + export.c.hold_reason)
    )
    with op.batch_alter_table("puskesmas_export", schema=None) as batch_op:
        batch_op.drop_column("hold_reason")
