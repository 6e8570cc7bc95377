"""pengaduan: officers' actions on the timeline, the work deadline, photos of the work

- ``pengaduan_complaint.work_due``: the date the work must be finished by, set when
  work starts (setting ``work_days``); complaints already in progress have none.
- ``pengaduan_event.action`` (the officer's verb: verify, forward, start, resolve,
  close, reject, merge; submit; the reporter's reopen) and
  ``pengaduan_event.department_id`` (where a forwarded complaint went); empty on
  the events recorded before.
- ``pengaduan_photo.kind`` (``before``: the reporter's, every existing photo;
  ``after``: an officer's, of the work done) and ``pengaduan_photo.added_by_id``.

Only columns are added: downgrading drops them (and with them which photos were
taken after the work: they then read as the reporter's). On SQLite the event and
photo tables are copied to add their foreign keys; nothing refers to them, so no row
elsewhere is touched.

Revision ID: pengaduan_0006
Revises: pengaduan_0005
Create Date: 2027-01-11
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "pengaduan_0006"
down_revision: str | Sequence[str] | None = "pengaduan_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER TABLE everywhere (see downgrade).
    op.add_column("pengaduan_complaint", sa.Column("work_due", sa.Date(), nullable=True))

    with op.batch_alter_table("pengaduan_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("action", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_pengaduan_event_department_id_balai_department"),
            "balai_department",
            ["department_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("pengaduan_photo", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=10), server_default="before", nullable=False)
        )
        batch_op.add_column(sa.Column("added_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_pengaduan_photo_added_by_id_balai_user"),
            "balai_user",
            ["added_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("pengaduan_photo", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_pengaduan_photo_added_by_id_balai_user"), type_="foreignkey"
        )
        batch_op.drop_column("added_by_id")
        batch_op.drop_column("kind")

    with op.batch_alter_table("pengaduan_event", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_pengaduan_event_department_id_balai_department"), type_="foreignkey"
        )
        batch_op.drop_column("department_id")
        batch_op.drop_column("action")

    # Not in a batch: on SQLite that copies the table and drops the old one, and the
    # drop would delete every complaint's events, photos and supports (ON DELETE
    # CASCADE). SQLite drops a plain column itself (3.35 and later).
    op.drop_column("pengaduan_complaint", "work_due")
