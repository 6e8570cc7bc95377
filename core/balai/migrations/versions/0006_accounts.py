"""accounts: log in by mobile number, verified addresses, one-time codes, invitations

Every user may have a mobile number (``phone``, unique per region) instead of, or
besides, an e-mail address, so ``email`` may now be empty (one of the two is
required); ``email_verified_at`` / ``phone_verified_at`` say when an address was
proved, and ``pending`` marks a self-registered account waiting for its code.
New tables: ``balai_account_code`` (registration and password-reset codes, hashed)
and ``balai_invitation`` (an admin's invitation, its token hashed).

On SQLite, making ``email`` nullable rebuilds ``balai_user``. Dropping the old table
with foreign keys on would cascade into every table that references it (sessions,
tokens, plugins' rows), so foreign keys are switched off for the rebuild, on this
connection only, and switched on again after it.

Revision ID: 0006_accounts
Revises: 0005_outbox_recipients
Create Date: 2026-12-08
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0006_accounts"
down_revision: str | Sequence[str] | None = "0005_outbox_recipients"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """On SQLite, rebuild a referenced table without cascading its drop."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    with op.get_context().autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=ON")


def upgrade() -> None:
    with _foreign_keys_off(), op.batch_alter_table("balai_user", schema=None) as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=True)
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("phone_verified_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_balai_user_tenant_id_phone"), ["tenant_id", "phone"]
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_balai_user_login"), sa.text("email IS NOT NULL OR phone IS NOT NULL")
        )

    op.create_table(
        "balai_account_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_balai_account_code_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["balai_user.id"],
            name=op.f("fk_balai_account_code_user_id_balai_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balai_account_code")),
    )
    with op.batch_alter_table("balai_account_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_balai_account_code_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_balai_account_code_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "balai_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["balai_department.id"],
            name=op.f("fk_balai_invitation_department_id_balai_department"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_balai_invitation_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["balai_user.id"],
            name=op.f("fk_balai_invitation_user_id_balai_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balai_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_balai_invitation_token_hash")),
    )
    with op.batch_alter_table("balai_invitation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_balai_invitation_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("balai_invitation")
    op.drop_table("balai_account_code")
    with _foreign_keys_off(), op.batch_alter_table("balai_user", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_balai_user_login"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_balai_user_tenant_id_phone"), type_="unique")
        batch_op.drop_column("pending")
        batch_op.drop_column("phone_verified_at")
        batch_op.drop_column("email_verified_at")
        batch_op.drop_column("phone")
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=False)
