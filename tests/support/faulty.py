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
