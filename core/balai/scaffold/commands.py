"""The author kit's commands: ``balai plugins new`` and ``balai db revision --plugin``.

:mod:`balai.cli` adds them to its ``plugins`` and ``db`` groups.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from balai.scaffold import ScaffoldError, new_plugin, spec_for

__all__ = ["new_command", "revision_command"]


@click.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Where to write the distribution balai-NAME/ (an _ in NAME becomes -).",
)
@click.option("--title", help="The name region admins see (default: NAME, capitalised).")
@click.option("--description", help="One sentence for region admins (default: from the title).")
@click.option("--category", default="umum", show_default=True, help="Group on the admin page.")
@click.option(
    "--noun",
    default="item",
    show_default=True,
    help="What one row is: table NAME_NOUN, permission NAME.manage_NOUN.",
)
def new_command(
    name: str,
    folder: Path,
    title: str | None,
    description: str | None,
    category: str,
    noun: str,
) -> None:
    """Write a new plugin distribution balai-NAME/ that passes its own tests."""
    try:
        spec = spec_for(name, title=title, description=description, category=category, noun=noun)
        target = new_plugin(spec, folder)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {target}")
    click.echo("next:")
    click.echo(f"  pip install -e {target}")
    click.echo(f"  python -m pytest {target}")
    click.echo(f"  balai plugins enable {name} --tenant SLUG")


@click.command("revision")
@click.option("--plugin", "name", required=True, help="The plugin whose branch gets the revision.")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@with_appcontext
def revision_command(name: str, message: str) -> None:
    """Write the next migration of a plugin's branch from its models (autogenerate).

    Only the plugin's tables are compared; bring the database up to date first
    (balai db upgrade).
    """
    from alembic.util import CommandError  # here: Alembic is for this command only

    from balai.scaffold.revision import plugin_revision

    try:
        path = plugin_revision(current_app, name, message)
    except (ScaffoldError, CommandError, SQLAlchemyError) as exc:
        hint = " (run 'balai db upgrade' first)" if "not up to date" in str(exc) else ""
        raise click.ClickException(f"{str(exc).splitlines()[0]}{hint}") from exc
    click.echo(f"wrote {path}")
