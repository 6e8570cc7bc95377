"""pengaduan: indexes for lists by area, by department and by last change

Measured with bench/pengaduan_list.py (1,000,000 complaints over 50 regions):
without them those lists sort every row of the region.

Revision ID: pengaduan_0002
Revises: pengaduan_0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "pengaduan_0002"
down_revision: str | Sequence[str] | None = "pengaduan_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_pengaduan_complaint_area": ["tenant_id", "area_id", "submitted_at"],
    "ix_pengaduan_complaint_department_time": ["tenant_id", "department_id", "submitted_at"],
    "ix_pengaduan_complaint_updated": ["tenant_id", "updated_at"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "pengaduan_complaint", columns, unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="pengaduan_complaint")
