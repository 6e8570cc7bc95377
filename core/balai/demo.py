"""``balai demo``: a demo instance with two regions, sample users and data."""

from __future__ import annotations

import click


@click.command("demo")
def demo_command() -> None:
    """Build and serve a demo instance."""
    raise click.ClickException("not yet")
