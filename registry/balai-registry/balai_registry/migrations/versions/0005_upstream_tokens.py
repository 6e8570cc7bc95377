"""registry: the upstream region's own tokens (registry_partner.upstream)

Revision ID: registry_0005_upstream_tokens
Revises: registry_0004_normal_versions
Create Date: 2026-12-07

Only a token marked as the upstream region's own may send the reserved names (the
distributions the project ships); every token issued before is a partner's.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "registry_0005_upstream_tokens"
down_revision: str | Sequence[str] | None = "registry_0004_normal_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("registry_partner", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("upstream", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("registry_partner", schema=None) as batch_op:
        batch_op.drop_column("upstream")
