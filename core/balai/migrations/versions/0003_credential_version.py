"""credential version: sessions and API tokens end with a password change or a disable

Every user gets ``credential_version``; each login session and API token gets the
version it was issued under and is honoured only while the two are equal.

Rows the new rule would have ended, and that the version alone would let back in,
are revoked here: login sessions and API tokens made before their user's last
password change, or belonging to a disabled account (disabling now ends them for
good, also when the account is enabled again).

Revision ID: 0003_credential_version
Revises: 0002
Create Date: 2026-12-06
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003_credential_version"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("balai_user", "balai_login_session", "balai_api_token")


def upgrade() -> None:
    # Plain ALTER TABLE on both databases, never a batch copy: on SQLite that would
    # drop and recreate balai_user, and the drop cascades into every referencing table.
    for table in TABLES:
        op.add_column(
            table,
            sa.Column("credential_version", sa.Integer(), server_default="0", nullable=False),
        )
    now = datetime.now(UTC)
    user = sa.table(
        "balai_user",
        sa.column("id", sa.Integer()),
        sa.column("active", sa.Boolean()),
        sa.column("password_changed_at", sa.DateTime(timezone=True)),
    )
    for name in ("balai_login_session", "balai_api_token"):
        rows = sa.table(
            name,
            sa.column("user_id", sa.Integer()),
            sa.column("created_at", sa.DateTime(timezone=True)),
            sa.column("revoked_at", sa.DateTime(timezone=True)),
        )
        changed_since = (
            sa.select(user.c.id)
            .where(user.c.id == rows.c.user_id, user.c.password_changed_at > rows.c.created_at)
            .exists()
        )
        disabled = (
            sa.select(user.c.id)
            .where(user.c.id == rows.c.user_id, user.c.active.is_(False))
            .exists()
        )
        op.execute(
            rows.update()
            .where(rows.c.revoked_at.is_(None), sa.or_(changed_since, disabled))
            .values(revoked_at=now)
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_column(table, "credential_version")  # SQLite 3.35+ drops it in place
