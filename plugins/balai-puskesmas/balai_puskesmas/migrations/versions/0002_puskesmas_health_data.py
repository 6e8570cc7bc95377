"""puskesmas: health data protection: the SATUSEHAT secret sealed, servers by name

Revision ID: puskesmas_0002_health_data
Revises: puskesmas_0001
Create Date: 2026-12-07

Regions' settings: the SATUSEHAT client secret is sealed with the region's settings
key; the token and FHIR addresses a region stored are replaced by the name of the
SATUSEHAT server they pointed at (``production`` or ``staging``), and dropped when
they pointed elsewhere (the region then sends to the default server until its admin
chooses one of the operator's list). Every step leaves rows already migrated alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "puskesmas_0002_health_data"
down_revision: str | Sequence[str] | None = "puskesmas_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

plugin_state = sa.table(
    "balai_plugin_state",
    sa.column("id", sa.Integer),
    sa.column("tenant_id", sa.Integer),
    sa.column("plugin", sa.String),
    sa.column("settings", sa.JSON),
)
state = sa.table("balai_state", sa.column("id", sa.Integer), sa.column("version", sa.Integer))
OLD_ADDRESSES = ("satusehat_token_url", "satusehat_base_url")


def upgrade() -> None:
    _migrate_settings()


def _migrate_settings() -> None:
    from balai.settings import seal_secrets
    from balai_puskesmas.settings import DEFAULT_ENDPOINTS, PuskesmasSettings

    app = context.config.attributes["app"]
    by_base = {entry["base_url"].rstrip("/"): name for name, entry in DEFAULT_ENDPOINTS.items()}
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(plugin_state.c.id, plugin_state.c.tenant_id, plugin_state.c.settings).where(
            plugin_state.c.plugin == "puskesmas"
        )
    ).all()
    changed = False
    for row_id, tenant_id, settings in rows:
        values = dict(settings or {})
        base = values.pop("satusehat_base_url", None)
        values.pop("satusehat_token_url", None)
        server = by_base.get(str(base or "").rstrip("/"))
        if server is not None and "satusehat_server" not in values:
            values["satusehat_server"] = server
        values = seal_secrets(PuskesmasSettings(), values, tenant_id, app)
        if values != (settings or {}):
            connection.execute(
                plugin_state.update().where(plugin_state.c.id == row_id).values(settings=values)
            )
            changed = True
    if changed:  # every worker reloads the regions' settings
        connection.execute(state.update().values(version=state.c.version + 1))


def downgrade() -> None:
    from balai.settings import open_secrets
    from balai_puskesmas.settings import DEFAULT_ENDPOINTS, PuskesmasSettings

    app = context.config.attributes["app"]
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(plugin_state.c.id, plugin_state.c.tenant_id, plugin_state.c.settings).where(
            plugin_state.c.plugin == "puskesmas"
        )
    ).all()
    for row_id, tenant_id, settings in rows:
        values = open_secrets(PuskesmasSettings(), dict(settings or {}), tenant_id, app)
        server = DEFAULT_ENDPOINTS.get(str(values.pop("satusehat_server", "")))
        if server is not None:
            values["satusehat_token_url"] = server["token_url"]
            values["satusehat_base_url"] = server["base_url"]
        connection.execute(
            plugin_state.update().where(plugin_state.c.id == row_id).values(settings=values)
        )
    connection.execute(state.update().values(version=state.c.version + 1))
