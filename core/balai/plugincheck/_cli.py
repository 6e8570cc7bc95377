"""``balai plugins check FILE [--json] [--postgres URL]``: run_check from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click

from balai.plugincheck._run import run_check

POSTGRES_VARIABLE = "BALAI_CHECK_POSTGRES_URL"


@click.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--postgres",
    metavar="URL",
    envvar=POSTGRES_VARIABLE,
    help=f"Check the migrations on a scratch database of this PostgreSQL server too "
    f"(default: ${POSTGRES_VARIABLE}).",
)
@click.option("--time-limit", default=600, show_default=True, help="Seconds for all checks.")
@click.option("--memory-limit", default=1024, show_default=True, help="Megabytes per process.")
def check_command(
    file: Path, as_json: bool, postgres: str | None, time_limit: int, memory_limit: int
) -> None:
    """Check a plugin's wheel or sdist before publishing it; exit status 1 if a check fails.

    It is installed into a throw-away environment and checked in separate processes,
    inside bubblewrap when it is installed (no network, only a scratch folder
    writable); without it the report says the filesystem is not isolated.
    """
    report = run_check(
        file, postgres_url=postgres, time_limit=time_limit, memory_limit_mb=memory_limit
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        click.echo(report.text())
    if not report.passed:
        raise SystemExit(1)
