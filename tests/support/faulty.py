"""Plugins that misbehave in different ways, for the containment tests."""

from __future__ import annotations

from typing import Any

from balai import Manifest, hookimpl


class MenuRaises:
    """Its menu hook raises: pages must still render."""

    name = "menu_raises"
    manifest = Manifest(title="Menu raises")

    @staticmethod
    @hookimpl
    def menu_items() -> list[Any]:
        raise RuntimeError("menu exploded")


class Misspelt:
    """Implements a hook that does not exist: must be reported broken."""

    name = "misspelt"
    manifest = Manifest(title="Misspelt")

    @staticmethod
    @hookimpl
    def menu_itemz() -> list[Any]:
        return []


class RoutesRaise:
    """Fails while registering its routes: broken, the rest runs."""

    name = "routes_raise"
    manifest = Manifest(title="Routes raise")

    @staticmethod
    @hookimpl
    def register_routes(app: Any) -> Any:
        raise RuntimeError("no routes today")


class FutureCore:
    """Supports only a core version that does not exist yet."""

    name = "future_core"
    manifest = Manifest(title="Future core", core=">=99")


class RefusesEnable:
    """Raises in plugin_enabled: the switch must not happen."""

    name = "refuses"
    manifest = Manifest(title="Refuses")

    @staticmethod
    @hookimpl
    def plugin_enabled(tenant: Any) -> None:
        raise RuntimeError("not in this region")


class WrongTypes:
    """Returns dicts where menu items and widgets are expected."""

    name = "wrong_types"
    manifest = Manifest(title="Wrong types")

    @staticmethod
    @hookimpl
    def menu_items() -> list[Any]:
        return [{"label": "x", "url": "/", "permission": None}]

    @staticmethod
    @hookimpl
    def dashboard_widgets() -> list[Any]:
        return ["not a widget"]


class WidgetsRaise:
    """Its dashboard, map and search hooks raise; a widget template is missing."""

    name = "widgets_raise"
    manifest = Manifest(title="Widgets raise")

    @staticmethod
    @hookimpl
    def dashboard_widgets() -> list[Any]:
        from balai.items import Widget

        return [Widget("Broken widget", "no/such/template.html")]

    @staticmethod
    @hookimpl
    def map_layers() -> list[Any]:
        raise RuntimeError("map exploded")

    @staticmethod
    @hookimpl
    def search() -> list[Any]:
        raise RuntimeError("search exploded")


class NotABlueprint:
    """Returns a string from register_routes."""

    name = "not_a_blueprint"
    manifest = Manifest(title="Not a blueprint")

    @staticmethod
    @hookimpl
    def register_routes(app: Any) -> Any:
        return "oops"


class MenuWrapper:
    """Wraps a hook that is called one plugin at a time."""

    name = "menu_wrapper"
    manifest = Manifest(title="Menu wrapper")

    @staticmethod
    @hookimpl(wrapper=True)
    def menu_items() -> Any:
        return (yield)


class _TakenSpecs:
    @staticmethod
    def menu_items() -> None:
        """Already a core hook."""


from balai.hookspecs import hookspec  # noqa: E402

_TakenSpecs.menu_items = hookspec(_TakenSpecs.menu_items)  # type: ignore[method-assign]


class TakenHookspec:
    """Declares an event hook whose name the core already uses."""

    name = "taken_hookspec"
    manifest = Manifest(title="Taken hookspec", hookspecs=_TakenSpecs)


class SettingsWithoutDefault:
    """Its settings schema has a field with no default: nothing could resolve it."""

    name = "settings_without_default"
    manifest = Manifest(title="Settings without default")

    @staticmethod
    @hookimpl
    def register_settings_schema() -> Any:
        from marshmallow import Schema, fields

        class Loose(Schema):
            days = fields.Integer()

        return Loose
