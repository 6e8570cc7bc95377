"""custom roles: roles a region defines, and the users who hold them

Revision ID: 0007_custom_roles
Revises: 0006_accounts
Create Date: 2026-12-14

A region's own roles (``balai_custom_role``: a slug, a name, a description and the
declared permissions it carries) and who holds them (``balai_role_member``). A role
still held cannot be deleted (``ON DELETE RESTRICT``); deleting an account removes
its memberships.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_custom_roles"
down_revision: str | Sequence[str] | None = "0006_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "balai_custom_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_balai_custom_role_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balai_custom_role")),
        sa.UniqueConstraint("tenant_id", "slug", name=op.f("uq_balai_custom_role_tenant_id_slug")),
    )
    with op.batch_alter_table("balai_custom_role", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_balai_custom_role_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "balai_role_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["balai_custom_role.id"],
            name=op.f("fk_balai_role_member_role_id_balai_custom_role"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_balai_role_member_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["balai_user.id"],
            name=op.f("fk_balai_role_member_user_id_balai_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balai_role_member")),
        sa.UniqueConstraint(
            "user_id", "role_id", name=op.f("uq_balai_role_member_user_id_role_id")
        ),
    )
    with op.batch_alter_table("balai_role_member", schema=None) as batch_op:
        for column in ("role_id", "tenant_id", "user_id"):
            batch_op.create_index(
                batch_op.f(f"ix_balai_role_member_{column}"), [column], unique=False
            )


def downgrade() -> None:
    with op.batch_alter_table("balai_role_member", schema=None) as batch_op:
        for column in ("role_id", "tenant_id", "user_id"):
            batch_op.drop_index(batch_op.f(f"ix_balai_role_member_{column}"))
    op.drop_table("balai_role_member")
    with op.batch_alter_table("balai_custom_role", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balai_custom_role_tenant_id"))
    op.drop_table("balai_custom_role")
