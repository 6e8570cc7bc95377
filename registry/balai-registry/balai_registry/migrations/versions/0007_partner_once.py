"""registry: a region is a partner once, enforced by the database

``registry_partner.region_key`` holds the region's name with spaces and case aside
(``kabupaten lebak``), unique in the upstream region. Partners listed twice before this
(the same region under two tokens) become one: the row kept is the one the admin pages
showed first (live before revoked, then the newest); what the others sent (submissions,
evaluations, endorsements, usage reports) becomes the kept partner's, and the other rows
and their tokens are removed (a region that held two live tokens keeps the newest). Of two usage reports of the same installation the later
one is kept.

Revision ID: registry_0007_partner_once
Revises: registry_0006_derived
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "registry_0007_partner_once"
down_revision: str | Sequence[str] | None = "registry_0006_derived"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_registry_partner_tenant_id_region_key"

partner = sa.table(
    "registry_partner",
    sa.column("id", sa.Integer),
    sa.column("tenant_id", sa.Integer),
    sa.column("region", sa.String),
    sa.column("region_key", sa.String),
    sa.column("revoked_at", sa.DateTime),
)
report = sa.table(
    "registry_usage_report",
    sa.column("id", sa.Integer),
    sa.column("partner_id", sa.Integer),
    sa.column("instance", sa.String),
    sa.column("received_at", sa.DateTime),
)
#: The tables whose rows belong to a partner.
SENT = ("registry_submission", "registry_evaluation", "registry_endorsement")


def _key(region: str) -> str:
    return " ".join(region.split()).casefold()


def upgrade() -> None:
    op.add_column(
        "registry_partner",
        sa.Column("region_key", sa.String(length=200), server_default="", nullable=False),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(partner.c.id, partner.c.tenant_id, partner.c.region, partner.c.revoked_at)
    ).all()
    groups: dict[tuple[int, str], list[sa.Row]] = {}
    for row in rows:
        groups.setdefault((row.tenant_id, _key(row.region)), []).append(row)
    for (_tenant, key), members in groups.items():
        members.sort(key=lambda r: (r.revoked_at is not None, -r.id))
        kept, *others = members
        for other in others:
            _merge(connection, other.id, kept.id)
        connection.execute(partner.update().where(partner.c.id == kept.id).values(region_key=key))
    op.create_index(INDEX, "registry_partner", ["tenant_id", "region_key"], unique=True)


def _merge(connection: sa.Connection, old: int, kept: int) -> None:
    """Give partner ``kept`` what partner ``old`` sent, then remove ``old``."""
    for table in SENT:
        owned = sa.table(table, sa.column("partner_id", sa.Integer))
        connection.execute(owned.update().where(owned.c.partner_id == old).values(partner_id=kept))
    theirs = {
        r.instance: r
        for r in connection.execute(sa.select(report).where(report.c.partner_id == kept))
    }
    for mine in connection.execute(sa.select(report).where(report.c.partner_id == old)).all():
        same = theirs.get(mine.instance)
        if same is None:
            connection.execute(
                report.update().where(report.c.id == mine.id).values(partner_id=kept)
            )
        elif mine.received_at > same.received_at:
            connection.execute(report.delete().where(report.c.id == same.id))
            connection.execute(
                report.update().where(report.c.id == mine.id).values(partner_id=kept)
            )
        else:
            connection.execute(report.delete().where(report.c.id == mine.id))
    connection.execute(partner.delete().where(partner.c.id == old))


def downgrade() -> None:
    """Partners merged stay merged. The column is dropped in place (SQLite 3.35 and
    later): a batch copy of the table would drop it first, and SQLite would cascade that
    to every evaluation of every partner."""
    op.drop_index(INDEX, table_name="registry_partner")
    op.drop_column("registry_partner", "region_key")
