"""``balai openapi print`` and ``balai openapi write``: the document every plugin adds to.

They print what ``/api/v1/openapi.json`` serves a region with every installed plugin
enabled (without ``servers``), in place of flask-smorest's commands of the same names,
which print the spec as flask-smorest holds it: without the blueprints documented at
the first request for the document, the operation ids and ``security: []``.
"""

from __future__ import annotations

import json
from typing import IO, Any

import click
from flask import current_app
from flask.cli import AppGroup

from balai.api.openapi import dangling_references, spec_for

openapi_cli = AppGroup("openapi", help="The OpenAPI document of every installed plugin.")
FORMAT = click.option(
    "-f", "--format", "form", type=click.Choice(["json", "yaml"]), default="json", show_default=True
)


def _document(form: str) -> str:
    state = current_app.extensions["balai.api"]
    doc: dict[str, Any] = spec_for(frozenset(state.tags))
    if state.left_out:  # the document would not describe every endpoint: say so, print nothing
        raise click.ClickException(
            "the document leaves out what could not be documented:\n"
            + "\n".join(
                f"  plugin {plugin}, API blueprint {blueprint}: {error}"
                for plugin, blueprint, error in state.left_out
            )
        )
    dangling = dangling_references(doc)
    if dangling:
        raise click.ClickException(
            "the document names components it does not hold: " + ", ".join(dangling)
        )
    # As /api/v1/openapi.json serves it: the app's JSON provider turns lazy strings to text.
    text = current_app.json.dumps(doc, indent=2, ensure_ascii=False)
    if form == "yaml":
        import yaml  # flask-smorest's own dependency

        return yaml.safe_dump(json.loads(text), allow_unicode=True, sort_keys=False)
    return text + "\n"


@openapi_cli.command("print")
@FORMAT
def print_document(form: str) -> None:
    """Print the document: the core's endpoints and every installed plugin's.

    A region's own document, with only its enabled plugins, is served at
    /api/v1/openapi.json.
    """
    click.echo(_document(form), nl=False)


@openapi_cli.command("write")
@FORMAT
@click.argument("output_file", type=click.File("w", encoding="utf-8"))
def write_document(form: str, output_file: IO[str]) -> None:
    """Write the document to OUTPUT_FILE (- for standard output)."""
    text = _document(form)
    try:
        output_file.write(text)
        output_file.flush()
    except OSError as exc:
        raise click.ClickException(f"cannot write {output_file.name}: {exc.strerror}") from exc
