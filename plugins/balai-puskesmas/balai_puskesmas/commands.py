"""(being written)"""

import click


@click.group("puskesmas")
def group():
    """e-Puskesmas."""
