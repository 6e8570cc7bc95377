"""Alembic environment: runs against the engine of the Balai app in ``config.attributes``."""

from alembic import context
from sqlalchemy import text

from balai.db import Base, UTCDateTime, db
from balai.schema import VERSION_TABLE

config = context.config
app = config.attributes["app"]


def render_item(kind: str, obj: object, autogen_context: object) -> str | bool:
    """Write Balai's UTC timestamp type as a plain timezone-aware DateTime."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    with db.engine_for(app).connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            version_table=VERSION_TABLE,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
            # Set by `balai db revision --plugin`: autogenerate sees only that plugin's tables.
            include_object=config.attributes.get("include_object"),
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Data migrations work across tenants; row security would hide rows.
                connection.execute(text("SELECT set_config('balai.all_tenants', 'on', true)"))
            context.run_migrations()


run_migrations_online()
