"""puskesmas: the doctor's visit form: prescriptions, referrals, the region's ICD-10 synonyms

Revision ID: puskesmas_0005_doctor_visit
Revises: puskesmas_0004_nik_mismatch
Create Date: 2026-12-09

Prescriptions (``puskesmas_prescription``): the drugs of a visit, one row a line, with a
structured dose, frequency, duration and route. Referrals (``puskesmas_referral``): at
most one a visit, with the destination, the reason and the urgency. ICD-10 synonyms
(``puskesmas_icd10_synonym``): a region's own terms for the ICD-10 search, besides the
list shipped with the plugin. New tables only: nothing existing is changed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "puskesmas_0005_doctor_visit"
down_revision: str | Sequence[str] | None = "puskesmas_0004_nik_mismatch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["balai_tenant.id"],
        name=op.f(f"fk_{table}_tenant_id_balai_tenant"),
        ondelete="CASCADE",
    )


def _visit(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["visit_id"],
        ["puskesmas_visit.id"],
        name=op.f(f"fk_{table}_visit_id_puskesmas_visit"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "puskesmas_prescription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("drug", sa.String(length=200), nullable=False),
        sa.Column("kfa_code", sa.String(length=20), nullable=False),
        sa.Column("dose", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("route", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.String(length=300), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _tenant("puskesmas_prescription"),
        _visit("puskesmas_prescription"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_puskesmas_prescription")),
    )
    with op.batch_alter_table("puskesmas_prescription", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_puskesmas_prescription_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_puskesmas_prescription_visit_id"), ["visit_id"], unique=False
        )

    op.create_table(
        "puskesmas_referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _tenant("puskesmas_referral"),
        _visit("puskesmas_referral"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_puskesmas_referral")),
        sa.UniqueConstraint(
            "tenant_id", "visit_id", name=op.f("uq_puskesmas_referral_tenant_id_visit_id")
        ),
    )
    with op.batch_alter_table("puskesmas_referral", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_puskesmas_referral_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_puskesmas_referral_visit_id"), ["visit_id"], unique=False
        )

    op.create_table(
        "puskesmas_icd10_synonym",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=60), nullable=False),
        sa.Column("codes", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=260), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _tenant("puskesmas_icd10_synonym"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_puskesmas_icd10_synonym")),
        sa.UniqueConstraint(
            "tenant_id", "term", name=op.f("uq_puskesmas_icd10_synonym_tenant_id_term")
        ),
    )
    with op.batch_alter_table("puskesmas_icd10_synonym", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_puskesmas_icd10_synonym_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("puskesmas_icd10_synonym")
    op.drop_table("puskesmas_referral")
    op.drop_table("puskesmas_prescription")
