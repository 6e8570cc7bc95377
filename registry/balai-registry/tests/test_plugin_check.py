"""The core's one-call check of an installed plugin, on the registry itself:
conventions, route guards, settings, migrations against models, the Indonesian
catalogue and the cross-tenant sweep."""

from __future__ import annotations

from balai.testing import check_plugin


def test_the_registry_passes_the_core_plugin_check():
    check_plugin("registry")
