"""Plugins import from the core only what docs/plugin-authors.md calls public.

The table under "The public surface" maps each core module to its public names; every
``from balai... import name`` (and ``import balai.module``) in the plugins' packages
must be in it, and every name it lists must exist.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_SOURCES = sorted(
    [*ROOT.glob("plugins/*/balai_*/**/*.py"), *ROOT.glob("registry/*/balai_*/**/*.py")]
)
# A backticked name at the start of a span: `Base`, `hooks()`, `registry(app).all()`.
NAME = re.compile(r"`([A-Za-z_]\w*)(?:\(|`|\.)")
# An aside in parentheses, e.g. "(the `tenant` hooks receive)": prose, not a name.
ASIDE = re.compile(r" \((?:[^()]|\([^()]*\))*\)")


def _public_surface() -> dict[str, set[str]]:
    """``{module: names}`` from the table in docs/plugin-authors.md."""
    text = (ROOT / "docs" / "plugin-authors.md").read_text()
    section = text.split("## The public surface", 1)[1].split("\n## ", 1)[0]
    surface: dict[str, set[str]] = {}
    for row in re.findall(r"^\| `(balai(?:\.\w+)*)` \| (.*) \|$", section, re.M):
        module, names = row
        surface[module] = set(NAME.findall(ASIDE.sub("", names)))
    return surface


SURFACE = _public_surface()


def _core_imports(path: Path) -> list[tuple[str, str, int]]:
    """``(module, name, line)`` of each import from the core; name is "" for ``import x``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _is_core(node.module or ""):
            found += [(node.module or "", alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names if _is_core(a.name)]
    return found


def _is_core(module: str) -> bool:
    return module == "balai" or module.startswith("balai.")


def _allowed(module: str, name: str) -> bool:
    if not name:  # import balai.db: the module itself must be public
        return module in SURFACE
    # from balai import db: a public module, or a public name of the package
    return name in SURFACE.get(module, set()) or f"{module}.{name}" in SURFACE


def test_the_table_is_parsed():
    assert {"balai", "balai.db", "balai.plugins", "balai.tenancy", "balai.testing"} <= set(SURFACE)
    assert {"hookimpl", "Manifest"} <= SURFACE["balai"]
    assert {"hooks", "plugins"} <= SURFACE["balai.plugins"]
    assert "registry" in SURFACE["balai.tenancy"]


def test_the_hookspec_marker_is_public_for_plugin_events():
    assert SURFACE["balai.hookspecs"] == {"hookspec"}


def test_plugins_are_found():
    assert len(PLUGIN_SOURCES) > 10
    assert sum(len(_core_imports(path)) for path in PLUGIN_SOURCES) > 20


@pytest.mark.parametrize("path", PLUGIN_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_import_only_the_public_surface(path):
    private = [
        f"line {line}: {f'from {module} import {name}' if name else f'import {module}'}"
        for module, name, line in _core_imports(path)
        if not _allowed(module, name)
    ]
    assert private == [], f"{path.relative_to(ROOT)} imports private names"


@pytest.mark.parametrize(
    ("module", "name"), sorted((m, n) for m, names in SURFACE.items() for n in names)
)
def test_every_public_name_exists(module, name):
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is documented"
