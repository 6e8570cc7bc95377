"""outbox recipients sealed: the recipient encrypted, a masked hint, sensitive messages

Revision ID: 0005_outbox_recipients
Revises: 0004_rate_limits
Create Date: 2026-12-07

The recipient column is widened to hold the sealed value; every existing message's
recipient is sealed with its region's outbox key (derived from ``SECRET_KEY``) and
its masked form written next to it. Rows already sealed are left alone, so the data
step can run again safely.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0005_outbox_recipients"
down_revision: str | Sequence[str] | None = "0004_rate_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

outbox = sa.table(
    "balai_outbox",
    sa.column("id", sa.Integer),
    sa.column("tenant_id", sa.Integer),
    sa.column("recipient", sa.Text),
    sa.column("recipient_hint", sa.String),
    sa.column("body", sa.Text),
    sa.column("sensitive", sa.Boolean),
)


def upgrade() -> None:
    with op.batch_alter_table("balai_outbox", schema=None) as batch_op:
        batch_op.alter_column(
            "recipient", existing_type=sa.String(length=254), type_=sa.Text(), nullable=False
        )
        batch_op.add_column(
            sa.Column("recipient_hint", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("sensitive", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    _seal_existing()


def _seal_existing() -> None:
    from balai.channels import mask, outbox_sealer
    from balai.crypto import is_sealed

    app = context.config.attributes["app"]
    connection = op.get_bind()
    rows = connection.execute(sa.select(outbox.c.id, outbox.c.tenant_id, outbox.c.recipient))
    for row_id, tenant_id, recipient in rows.all():
        if is_sealed(recipient):
            continue
        connection.execute(
            outbox.update()
            .where(outbox.c.id == row_id)
            .values(
                recipient=outbox_sealer(tenant_id, app).seal(recipient),
                recipient_hint=mask(recipient),
            )
        )


def downgrade() -> None:
    from balai.channels import outbox_sealer
    from balai.crypto import is_sealed

    app = context.config.attributes["app"]
    connection = op.get_bind()
    columns = (
        outbox.c.id,
        outbox.c.tenant_id,
        outbox.c.recipient,
        outbox.c.body,
        outbox.c.sensitive,
    )
    for row_id, tenant_id, recipient, body, sensitive in connection.execute(
        sa.select(*columns)
    ).all():
        sealer = outbox_sealer(tenant_id, app)
        values = {}
        if is_sealed(recipient):
            values["recipient"] = sealer.open(recipient)[:254]
        if sensitive and is_sealed(body):
            values["body"] = sealer.open(body)
        if values:
            connection.execute(outbox.update().where(outbox.c.id == row_id).values(**values))
    with op.batch_alter_table("balai_outbox", schema=None) as batch_op:
        batch_op.drop_column("sensitive")
        batch_op.drop_column("recipient_hint")
        batch_op.alter_column(
            "recipient", existing_type=sa.Text(), type_=sa.String(length=254), nullable=False
        )
