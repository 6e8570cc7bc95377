"""pengaduan: complaints, their timeline, photos and support; categories, areas, routes

Revision ID: pengaduan_0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "pengaduan_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("pengaduan",)
depends_on: str | Sequence[str] | None = "0001"


def upgrade() -> None:
    op.create_table(
        "pengaduan_api_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_pengaduan_api_client_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pengaduan_api_client")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_pengaduan_api_client_key_hash")),
    )
    op.create_index(
        op.f("ix_pengaduan_api_client_tenant_id"),
        "pengaduan_api_client",
        ["tenant_id"],
        unique=False,
    )

    op.create_table(
        "pengaduan_area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_pengaduan_area_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pengaduan_area")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_pengaduan_area_tenant_id_code")),
    )
    op.create_index(
        op.f("ix_pengaduan_area_tenant_id"), "pengaduan_area", ["tenant_id"], unique=False
    )

    op.create_table(
        "pengaduan_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("group", sa.String(length=60), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["balai_department.id"],
            name=op.f("fk_pengaduan_category_department_id_balai_department"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_pengaduan_category_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pengaduan_category")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_pengaduan_category_tenant_id_code")),
    )
    op.create_index(
        op.f("ix_pengaduan_category_tenant_id"), "pengaduan_category", ["tenant_id"], unique=False
    )

    op.create_table(
        "pengaduan_area_route",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["pengaduan_area.id"],
            name=op.f("fk_pengaduan_area_route_area_id_pengaduan_area"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["pengaduan_category.id"],
            name=op.f("fk_pengaduan_area_route_category_id_pengaduan_category"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["balai_department.id"],
            name=op.f("fk_pengaduan_area_route_department_id_balai_department"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_pengaduan_area_route_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pengaduan_area_route")),
        sa.UniqueConstraint(
            "tenant_id",
            "category_id",
            "area_id",
            name=op.f("uq_pengaduan_area_route_tenant_id_category_id_area_id"),
        ),
    )
    op.create_index(
        op.f("ix_pengaduan_area_route_tenant_id"),
        "pengaduan_area_route",
        ["tenant_id"],
        unique=False,
    )

    op.create_table(
        "pengaduan_complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tracking_code", sa.String(length=20), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("privacy", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=True),
        sa.Column("reporter_name", sa.String(length=200), nullable=True),
        sa.Column("reporter_email", sa.String(length=254), nullable=True),
        sa.Column("reporter_phone", sa.String(length=30), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("supporters", sa.Integer(), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("forward_due", sa.Date(), nullable=False),
        sa.Column("followup_due", sa.Date(), nullable=True),
        sa.Column("overdue_announced", sa.Boolean(), nullable=False),
        sa.Column("api_client_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_client_id"],
            ["pengaduan_api_client.id"],
            name=op.f("fk_pengaduan_complaint_api_client_id_pengaduan_api_client"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["pengaduan_area.id"],
            name=op.f("fk_pengaduan_complaint_area_id_pengaduan_area"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["pengaduan_category.id"],
            name=op.f("fk_pengaduan_complaint_category_id_pengaduan_category"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["balai_department.id"],
            name=op.f("fk_pengaduan_complaint_department_id_balai_department"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["pengaduan_complaint.id"],
            name=op.f("fk_pengaduan_complaint_duplicate_of_id_pengaduan_complaint"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["balai_user.id"],
            name=op.f("fk_pengaduan_complaint_reporter_id_balai_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_pengaduan_complaint_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pengaduan_complaint")),
        sa.UniqueConstraint("tracking_code", name=op.f("uq_pengaduan_complaint_tracking_code")),
    )
    op.create_index(
        "ix_pengaduan_complaint_category",
        "pengaduan_complaint",
        ["tenant_id", "category_id", "submitted_at"],
        unique=False,
    )
    op.create_index(
        "ix_pengaduan_complaint_department",
        "pengaduan_complaint",
        ["tenant_id", "department_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_pengaduan_complaint_list",
        "pengaduan_complaint",
        ["tenant_id", "status", "submitted_at"],
        unique=False,
    )
    op.create_index(
        "ix_pengaduan_complaint_submitted",
        "pengaduan_complaint",
        ["tenant_id", "submitted_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_pengaduan_complaint_tenant_id"), "pengaduan_complaint", ["tenant_id"], unique=False
    )

    op.create_table(
        "pengaduan_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["balai_user.id"],
            name=op.f("fk_pengaduan_event_actor_id_balai_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["pengaduan_complaint.id"],
            name=op.f("fk_pengaduan_event_complaint_id_pengaduan_complaint"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_pengaduan_event_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pengaduan_event")),
    )
    op.create_index(
        "ix_pengaduan_event_complaint", "pengaduan_event", ["complaint_id", "at"], unique=False
    )
    op.create_index(
        op.f("ix_pengaduan_event_tenant_id"), "pengaduan_event", ["tenant_id"], unique=False
    )

    op.create_table(
        "pengaduan_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=80), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["pengaduan_complaint.id"],
            name=op.f("fk_pengaduan_photo_complaint_id_pengaduan_complaint"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_pengaduan_photo_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pengaduan_photo")),
    )
    op.create_index(
        op.f("ix_pengaduan_photo_complaint_id"), "pengaduan_photo", ["complaint_id"], unique=False
    )
    op.create_index(
        op.f("ix_pengaduan_photo_tenant_id"), "pengaduan_photo", ["tenant_id"], unique=False
    )

    op.create_table(
        "pengaduan_support",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("supporter", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["pengaduan_complaint.id"],
            name=op.f("fk_pengaduan_support_complaint_id_pengaduan_complaint"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["balai_tenant.id"],
            name=op.f("fk_pengaduan_support_tenant_id_balai_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pengaduan_support")),
        sa.UniqueConstraint(
            "complaint_id", "supporter", name=op.f("uq_pengaduan_support_complaint_id_supporter")
        ),
    )
    op.create_index(
        op.f("ix_pengaduan_support_tenant_id"), "pengaduan_support", ["tenant_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pengaduan_support_tenant_id"), table_name="pengaduan_support")
    op.drop_table("pengaduan_support")
    op.drop_index(op.f("ix_pengaduan_photo_tenant_id"), table_name="pengaduan_photo")
    op.drop_index(op.f("ix_pengaduan_photo_complaint_id"), table_name="pengaduan_photo")
    op.drop_table("pengaduan_photo")
    op.drop_index(op.f("ix_pengaduan_event_tenant_id"), table_name="pengaduan_event")
    op.drop_index("ix_pengaduan_event_complaint", table_name="pengaduan_event")
    op.drop_table("pengaduan_event")
    op.drop_index(op.f("ix_pengaduan_complaint_tenant_id"), table_name="pengaduan_complaint")
    op.drop_index("ix_pengaduan_complaint_submitted", table_name="pengaduan_complaint")
    op.drop_index("ix_pengaduan_complaint_list", table_name="pengaduan_complaint")
    op.drop_index("ix_pengaduan_complaint_department", table_name="pengaduan_complaint")
    op.drop_index("ix_pengaduan_complaint_category", table_name="pengaduan_complaint")
    op.drop_table("pengaduan_complaint")
    op.drop_index(op.f("ix_pengaduan_area_route_tenant_id"), table_name="pengaduan_area_route")
    op.drop_table("pengaduan_area_route")
    op.drop_index(op.f("ix_pengaduan_category_tenant_id"), table_name="pengaduan_category")
    op.drop_table("pengaduan_category")
    op.drop_index(op.f("ix_pengaduan_area_tenant_id"), table_name="pengaduan_area")
    op.drop_table("pengaduan_area")
    op.drop_index(op.f("ix_pengaduan_api_client_tenant_id"), table_name="pengaduan_api_client")
    op.drop_table("pengaduan_api_client")
