"""pengaduan: reporters' e-mail addresses and phone numbers sealed at rest

Revision ID: pengaduan_0004
Revises: pengaduan_0003
Create Date: 2026-12-08

``reporter_email`` and ``reporter_phone`` are widened to text to hold the sealed
value, and every complaint's contacts are sealed with its region's reporter key
(``balai_pengaduan.reporters``, derived from ``SECRET_KEY``). Values already sealed
are left alone, so the data step can run again safely. Downgrading opens them again
(cut to the old column widths, which every value sealed here fitted).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "pengaduan_0004"
down_revision: str | Sequence[str] | None = "pengaduan_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# column: width before
COLUMNS = {"reporter_email": 254, "reporter_phone": 30}

complaint = sa.table(
    "pengaduan_complaint",
    sa.column("id", sa.Integer),
    sa.column("tenant_id", sa.Integer),
    sa.column("reporter_email", sa.Text),
    sa.column("reporter_phone", sa.Text),
)


def upgrade() -> None:
    with op.batch_alter_table("pengaduan_complaint", schema=None) as batch_op:
        for name, width in COLUMNS.items():
            batch_op.alter_column(
                name, existing_type=sa.String(length=width), type_=sa.Text(), existing_nullable=True
            )
    _convert(sealing=True)


def downgrade() -> None:
    _convert(sealing=False)
    with op.batch_alter_table("pengaduan_complaint", schema=None) as batch_op:
        for name, width in COLUMNS.items():
            batch_op.alter_column(
                name, existing_type=sa.Text(), type_=sa.String(length=width), existing_nullable=True
            )


def _convert(*, sealing: bool) -> None:
    """Seal every contact kept in clear, or open every sealed one."""
    from balai.crypto import Sealer, is_sealed
    from balai_pengaduan.reporters import reporter_sealer

    app = context.config.attributes["app"]
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            complaint.c.id,
            complaint.c.tenant_id,
            complaint.c.reporter_email,
            complaint.c.reporter_phone,
        ).where(
            sa.or_(complaint.c.reporter_email.is_not(None), complaint.c.reporter_phone.is_not(None))
        )
    ).all()
    keys: dict[int, Sealer] = {}
    for row_id, tenant_id, *stored in rows:
        if tenant_id not in keys:
            keys[tenant_id] = reporter_sealer(tenant_id, app)
        sealer = keys[tenant_id]
        values = {}
        for (name, width), value in zip(COLUMNS.items(), stored, strict=True):
            if not value or is_sealed(value) == sealing:  # nothing to do, or done already
                continue
            values[name] = sealer.seal(value) if sealing else sealer.open(value)[:width]
        if values:
            connection.execute(complaint.update().where(complaint.c.id == row_id).values(**values))
