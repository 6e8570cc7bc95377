"""Stand-in plugins for measuring what installed plugins cost the core.

Each one registers as a real plugin would (a blueprint, a permission, a settings
schema) and implements the hooks a request calls (navigation, dashboard, map,
search), each answering at once, so that what is measured is the dispatch.
Give them to ``create_app`` as ``EXTRA_PLUGINS``.
"""

from __future__ import annotations

from flask import Blueprint, Flask
from marshmallow import Schema, fields

from balai import Manifest, hookimpl
from balai.items import MapLayer, MenuItem, SearchResult, Widget
from balai.permissions import Permission, public


class DummySettings(Schema):
    greeting = fields.String(load_default="halo")


class DummyPlugin:
    """One installed plugin named ``name`` (``dummy00``, ``dummy01``, ...)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.__doc__ = f"Stand-in plugin {name}"
        self.manifest = Manifest(title=name.title(), migrations=None)
        self._menu = [MenuItem(name.title(), f"/{name}/", order=50)]
        self._widgets = [Widget(name.title(), "balai/dummy.html")]
        self._layers = [MapLayer(name, name.title(), f"/{name}/layer.json")]

    @hookimpl
    def register_routes(self, app: Flask) -> Blueprint:
        blueprint = Blueprint(self.name, __name__, url_prefix=f"/{self.name}")
        blueprint.add_url_rule("/", "index", public(lambda: self.name))
        return blueprint

    @hookimpl
    def register_permissions(self) -> list[Permission]:
        return [Permission(f"{self.name}.view_things", self.name.title())]

    @hookimpl
    def register_settings_schema(self) -> type[Schema]:
        return DummySettings

    @hookimpl
    def menu_items(self, tenant: object, user: object) -> list[MenuItem]:
        return self._menu

    @hookimpl
    def dashboard_widgets(self, tenant: object, user: object) -> list[Widget]:
        return self._widgets

    @hookimpl
    def map_layers(self, tenant: object, user: object) -> list[MapLayer]:
        return self._layers

    @hookimpl
    def search(self, tenant: object, user: object, query: str) -> list[SearchResult]:
        return []


def dummy_plugins(count: int) -> list[DummyPlugin]:
    """``count`` stand-in plugins with distinct names."""
    return [DummyPlugin(f"dummy{n:02d}") for n in range(count)]
