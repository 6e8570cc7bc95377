"""registry: evaluations, their replies and trail, endorsements, usage reports

Revision ID: registry_0003_feedback
Revises: registry_0002_submissions
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "registry_0003_feedback"
down_revision: str | Sequence[str] | None = "registry_0002_submissions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant() -> sa.Column[int]:
    return sa.Column("tenant_id", sa.Integer(), nullable=False)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return _fk(table, "tenant_id", "balai_tenant", "CASCADE")


def _tenant_index(table: str) -> None:
    op.create_index(op.f(f"ix_{table}_tenant_id"), table, ["tenant_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "registry_evaluation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("plugin", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("patch", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _tenant(),
        _fk("registry_evaluation", "partner_id", "registry_partner", "CASCADE"),
        _tenant_fk("registry_evaluation"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_evaluation")),
    )
    _tenant_index("registry_evaluation")
    op.create_index(
        "ix_registry_evaluation_tenant_id_plugin_status",
        "registry_evaluation",
        ["tenant_id", "plugin", "status"],
    )
    op.create_index(
        "ix_registry_evaluation_tenant_id_partner_id",
        "registry_evaluation",
        ["tenant_id", "partner_id"],
    )
    op.create_table(
        "registry_evaluation_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("from_upstream", sa.Boolean(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _tenant(),
        _fk("registry_evaluation_reply", "evaluation_id", "registry_evaluation", "CASCADE"),
        _fk("registry_evaluation_reply", "user_id", "balai_user", "SET NULL"),
        _tenant_fk("registry_evaluation_reply"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_evaluation_reply")),
    )
    _tenant_index("registry_evaluation_reply")
    op.create_index(
        op.f("ix_registry_evaluation_reply_evaluation_id"),
        "registry_evaluation_reply",
        ["evaluation_id"],
    )
    op.create_table(
        "registry_evaluation_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("old_status", sa.String(length=10), nullable=True),
        sa.Column("new_status", sa.String(length=10), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        _tenant(),
        _fk("registry_evaluation_event", "evaluation_id", "registry_evaluation", "CASCADE"),
        _fk("registry_evaluation_event", "user_id", "balai_user", "SET NULL"),
        _tenant_fk("registry_evaluation_event"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_evaluation_event")),
    )
    _tenant_index("registry_evaluation_event")
    op.create_index(
        op.f("ix_registry_evaluation_event_evaluation_id"),
        "registry_evaluation_event",
        ["evaluation_id"],
    )
    op.create_table(
        "registry_endorsement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plugin", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("endorser", sa.String(length=200), nullable=False),
        sa.Column("from_upstream", sa.Boolean(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _tenant(),
        _fk("registry_endorsement", "partner_id", "registry_partner", "CASCADE"),
        _fk("registry_endorsement", "user_id", "balai_user", "SET NULL"),
        _tenant_fk("registry_endorsement"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_endorsement")),
    )
    _tenant_index("registry_endorsement")
    op.create_index(
        "ix_registry_endorsement_tenant_id_plugin", "registry_endorsement", ["tenant_id", "plugin"]
    )
    op.create_table(
        "registry_usage_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("instance", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=200), nullable=False),
        sa.Column("core_version", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        _tenant(),
        _fk("registry_usage_report", "partner_id", "registry_partner", "CASCADE"),
        _tenant_fk("registry_usage_report"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_usage_report")),
        sa.UniqueConstraint(
            "tenant_id",
            "partner_id",
            "instance",
            name=op.f("uq_registry_usage_report_tenant_id_partner_id_instance"),
        ),
    )
    _tenant_index("registry_usage_report")
    op.create_table(
        "registry_usage_plugin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        _tenant(),
        _fk("registry_usage_plugin", "report_id", "registry_usage_report", "CASCADE"),
        _tenant_fk("registry_usage_plugin"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_usage_plugin")),
    )
    _tenant_index("registry_usage_plugin")
    op.create_index(
        op.f("ix_registry_usage_plugin_report_id"), "registry_usage_plugin", ["report_id"]
    )
    op.create_index(
        "ix_registry_usage_plugin_tenant_id_name", "registry_usage_plugin", ["tenant_id", "name"]
    )


def downgrade() -> None:
    for table in (
        "registry_usage_plugin",
        "registry_usage_report",
        "registry_endorsement",
        "registry_evaluation_event",
        "registry_evaluation_reply",
        "registry_evaluation",
    ):
        op.drop_table(table)
