"""A plugin that requires ``hello`` and records its enable/disable events."""

from __future__ import annotations

from typing import Any

from balai import Manifest, hookimpl

name = "needs_hello"
manifest = Manifest(title="Needs hello", requires=("hello",))
events: list[tuple[str, str]] = []


@hookimpl
def plugin_enabled(tenant: Any, plugin: str) -> None:
    events.append(("enabled", tenant.slug))


@hookimpl
def plugin_disabled(tenant: Any, plugin: str) -> None:
    events.append(("disabled", tenant.slug))
