"""registry: submissions keep their version normalised (PEP 440), one spelling a release

Revision ID: registry_0004_normal_versions
Revises: registry_0003_feedback
Create Date: 2026-12-07

A release sent as ``0.2`` and again as ``0.2.0`` is one release: every file of it is
given the normalised spelling of its first file, so yanking one version yanks every
file of the release and the catalogue shows it once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from packaging.version import Version

revision: str = "registry_0004_normal_versions"
down_revision: str | Sequence[str] | None = "registry_0003_feedback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

submission = sa.table(
    "registry_submission",
    sa.column("id", sa.Integer),
    sa.column("tenant_id", sa.Integer),
    sa.column("project", sa.String),
    sa.column("version", sa.String),
)


def upgrade() -> None:
    connection = op.get_bind()
    first: dict[tuple[int, str, Version], str] = {}
    rows = connection.execute(
        sa.select(
            submission.c.id, submission.c.tenant_id, submission.c.project, submission.c.version
        ).order_by(submission.c.id)
    ).all()
    for row_id, tenant_id, project, version in rows:
        try:
            parsed = Version(version)
        except ValueError:  # not a version (never taken), or beyond the digit limit
            continue
        normal = first.setdefault((tenant_id, project, parsed), str(parsed))
        if normal != version and len(normal) <= 64:
            connection.execute(
                submission.update().where(submission.c.id == row_id).values(version=normal)
            )


def downgrade() -> None:
    """Nothing to undo: the normalised spelling names the same versions."""
