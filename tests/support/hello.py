"""A small plugin used by the core's tests: one page, one secret page, a setting, a model."""

from __future__ import annotations

import click
from flask import Blueprint, jsonify, url_for
from marshmallow import Schema, fields, validate
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from balai import Manifest, hookimpl
from balai.db import Base, TenantScoped, db
from balai.items import MapLayer, MenuItem, SearchResult, Widget
from balai.permissions import Permission, public, require
from balai.settings import Secret, plugin_settings

name = "hello"
manifest = Manifest(title="Hello", category="test")


class HelloNote(TenantScoped, Base):
    """A note that belongs to one tenant."""

    __tablename__ = "hello_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


class HelloSettings(Schema):
    greeting = fields.String(
        load_default="Halo",
        validate=validate.Length(min=1, max=50),
        metadata={"label": "Greeting"},
    )
    times = fields.Integer(
        load_default=1, validate=validate.Range(min=1, max=5), metadata={"label": "Times"}
    )
    api_key = Secret(
        load_default="", validate=validate.Length(max=100), metadata={"label": "API key"}
    )


bp = Blueprint("hello", __name__, url_prefix="/hello", template_folder="templates")


@bp.route("/")
@public
def index() -> str:
    settings = plugin_settings("hello")
    return " ".join([settings["greeting"]] * settings["times"])


@bp.route("/rahasia")
@require("hello.view_secret")
def secret() -> str:
    return "rahasia"


@bp.route("/notes.geojson")
@public
def notes_geojson() -> object:
    notes = db.session.scalars(select(HelloNote).order_by(HelloNote.id))
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [106.63, -6.18]},
            "properties": {"text": n.text},
        }
        for n in notes
    ]
    return jsonify({"type": "FeatureCollection", "features": features})


@hookimpl
def register_routes(app: object) -> Blueprint:
    return bp


@hookimpl
def register_permissions() -> list[Permission]:
    return [Permission("hello.view_secret", "See the secret page", roles=("opd",))]


@hookimpl
def register_settings_schema() -> type[Schema]:
    return HelloSettings


@hookimpl
def menu_items() -> list[MenuItem]:
    return [MenuItem("Hello menu", url_for("hello.index"))]


@hookimpl
def dashboard_widgets() -> list[Widget]:
    return [Widget("Hello widget", "hello_widget.html", {"count": 3})]


@hookimpl
def map_layers() -> list[MapLayer]:
    return [MapLayer("hello-notes", "Hello notes", url_for("hello.notes_geojson"))]


@hookimpl
def search(query: str) -> list[SearchResult]:
    notes = db.session.scalars(select(HelloNote).where(HelloNote.text.contains(query)))
    return [SearchResult(n.text, url_for("hello.index"), kind="note") for n in notes]


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.group("hello")
    def group() -> None:
        """Hello plugin commands."""

    @group.command("greet")
    @click.argument("who")
    def greet(who: str) -> None:
        click.echo(f"Halo, {who}!")
