"""Plugins use from the core only what docs/plugin-authors.md calls public.

The table under "The public surface" maps each core module to its public names, and
each of those modules lists exactly them in ``__all__``. Every distribution under
``plugins/`` and ``registry/`` (its package, migrations and tests alike) may then
import a core module only if the table names it, and take from it only names of its
``__all__``: ``from balai.tenancy import RoleGrant`` fails, and so do
``storage.store`` after ``from balai import storage`` and ``db.engine_for`` on the
``balai.db.db`` object. (import-linter checks which modules import which; it cannot
tell one name of a package from another, which is what this needs.)
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "plugin-authors.md"
# Every distribution a plugin author could write: the shipped plugins, the registry and
# the sample plugins its demo publishes.
DISTRIBUTIONS = sorted(
    path.parent
    for pattern in (
        "plugins/*/pyproject.toml",
        "registry/*/pyproject.toml",
        "registry/samples/*/pyproject.toml",
    )
    for path in ROOT.glob(pattern)
)
SOURCES = sorted(
    path
    for distribution in DISTRIBUTIONS
    for path in distribution.rglob("*.py")
    if not {"build", ".venv"} & set(path.relative_to(distribution).parts)
)
PLUGIN_SOURCES = sorted(
    [
        *ROOT.glob("plugins/*/balai_*/**/*.py"),
        *ROOT.glob("registry/*/balai_*/**/*.py"),
        *ROOT.glob("registry/samples/*/balai_*/**/*.py"),
    ]
)
# A backticked name at the start of a span: `Base`, `hooks()`, `registry(app).all()`.
NAME = re.compile(r"`([A-Za-z_]\w*)(?:\(|`|\.)")
# An aside in parentheses, e.g. "(the `tenant` hooks receive)": prose, not a name.
ASIDE = re.compile(r" \((?:[^()]|\([^()]*\))*\)")


def _surface_rows() -> dict[str, str]:
    """``{module: the text of its row}`` from the table in docs/plugin-authors.md."""
    text = DOCS.read_text()
    section = text.split("## The public surface", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `(balai(?:\.\w+)*)` \| (.*) \|$", section, re.M))


def _public_surface() -> dict[str, set[str]]:
    """``{module: names}`` from the table in docs/plugin-authors.md."""
    return {module: set(NAME.findall(ASIDE.sub("", row))) for module, row in ROWS.items()}


ROWS = _surface_rows()
SURFACE = _public_surface()
# What the docs show of the ``db`` object: `db.session`, `db.tenant_session(id)`, ...
DB_ATTRIBUTES = set(re.findall(r"`db\.(\w+)", ROWS["balai.db"]))


def _exported(module: str) -> set[str]:
    """The module's ``__all__``."""
    return set(getattr(importlib.import_module(module), "__all__", ()))


def _public_module(module: str) -> bool:
    return module in SURFACE


def _is_core(module: str) -> bool:
    return module == "balai" or module.startswith("balai.")


def _allowed(module: str, name: str) -> bool:
    """Whether ``from module import name`` (``import module`` when name is "") is public."""
    if not name:  # import balai.db: the module itself must be public
        return _public_module(module)
    if _public_module(f"{module}.{name}"):  # from balai import storage
        return True
    return _public_module(module) and name in _exported(module)


def private_uses(source: str, filename: str = "<source>") -> list[str]:
    """Every use of a private core name in ``source``: imports, attributes of core
    modules bound by an import, and attributes of the ``balai.db.db`` object."""
    tree = ast.parse(source, filename)
    modules: dict[str, str] = {}  # local name -> the core module it is bound to
    db_names: set[str] = set()  # local names of balai.db.db
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _is_core(node.module or ""):
            module = node.module or ""
            for alias in node.names:
                local = alias.asname or alias.name
                if not _allowed(module, alias.name):
                    found.append(f"line {node.lineno}: from {module} import {alias.name}")
                elif _public_module(f"{module}.{alias.name}"):
                    modules[local] = f"{module}.{alias.name}"
                elif (module, alias.name) == ("balai.db", "db"):
                    db_names.add(local)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if not _is_core(alias.name):
                    continue
                if not _allowed(alias.name, ""):
                    found.append(f"line {node.lineno}: import {alias.name}")
                elif alias.asname:
                    modules[alias.asname] = alias.name
                else:
                    modules["balai"] = "balai"
    return found + _private_attributes(tree, modules, db_names)


def _private_attributes(tree: ast.AST, modules: dict[str, str], db_names: set[str]) -> list[str]:
    """``module.name`` and ``db.name`` chains that reach past the public surface."""
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or id(node) in inner:
            continue
        chain = _chain(node)
        if chain is None:
            continue
        root, parts = chain[0], chain[1:]
        if root in db_names and parts[0] not in DB_ATTRIBUTES:
            found.append(f"line {node.lineno}: {root}.{parts[0]}")
        elif root in modules:
            problem = _past_the_surface(modules[root], parts)
            if problem:
                found.append(f"line {node.lineno}: {root}.{'.'.join(parts)} ({problem})")
    return found


def _chain(node: ast.Attribute) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None when it does not start at a plain name."""
    parts: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        parts.insert(0, current.attr)
        current = current.value
    return [current.id, *parts] if isinstance(current, ast.Name) else None


def _past_the_surface(module: str, parts: list[str]) -> str | None:
    """Why ``module.parts[0]...`` is private, or None: public modules are followed down."""
    for part in parts:
        if _public_module(f"{module}.{part}"):
            module = f"{module}.{part}"
            continue
        if part in _exported(module):
            return None
        return f"{part} is not public in {module}"
    return None


# -- the table and __all__ ------------------------------------------------------------------


def test_the_table_is_parsed():
    assert {"balai", "balai.db", "balai.plugins", "balai.tenancy", "balai.testing"} <= set(SURFACE)
    assert {"hookimpl", "Manifest"} <= SURFACE["balai"]
    assert {"hooks", "plugins"} <= SURFACE["balai.plugins"]
    assert "registry" in SURFACE["balai.tenancy"]
    assert {"session", "tenant_session", "all_tenants", "new_session"} <= DB_ATTRIBUTES


def test_the_hookspec_marker_is_public_for_plugin_events():
    assert SURFACE["balai.hookspecs"] == {"hookspec"}


@pytest.mark.parametrize(
    ("module", "name"), sorted((m, n) for m, ns in SURFACE.items() for n in ns)
)
def test_every_public_name_exists(module, name):
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is documented"


@pytest.mark.parametrize("module", sorted(SURFACE))
def test_all_lists_exactly_the_public_names(module):
    exported = getattr(importlib.import_module(module), "__all__", None)
    assert exported is not None, f"{module} has no __all__"
    assert sorted(exported) == sorted(SURFACE[module]), (
        f"{module}.__all__ differs from its row in docs/plugin-authors.md"
    )


@pytest.mark.parametrize("attribute", sorted(DB_ATTRIBUTES))
def test_every_public_attribute_of_db_exists(app, attribute):
    from balai.db import db

    assert hasattr(db, attribute)


# -- the distributions ---------------------------------------------------------------------


def test_the_distributions_are_found():
    assert {d.name for d in DISTRIBUTIONS} >= {"balai-pengumuman", "balai-pengaduan"}
    assert len(PLUGIN_SOURCES) > 10
    assert any("tests" in path.parts for path in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_distributions_use_only_the_public_surface(path):
    private = private_uses(path.read_text(), str(path))
    assert private == [], f"{path.relative_to(ROOT)} uses private names of the core"


@pytest.mark.parametrize(
    "source",
    [
        "from balai.tenancy import RoleGrant",
        "from balai.tenancy import registry, bump_state",
        "from balai.tenancy.models import PluginState",
        "from balai import schema",
        "import balai.cli",
        "from balai.settings import resolve_settings",
        "from balai import storage\nstorage.store(app)",
        "import balai.storage as files\nfiles.open_store(app)",
        "import balai.tenancy\nbalai.tenancy.bump_state(session)",
        "from balai.db import db\ndb.engine_for(app)",
        "from balai.db import db as database\ndatabase.engine_for(app)",
    ],
)
def test_a_private_use_is_found(source):
    assert private_uses(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "from balai import Manifest, hookimpl",
        "from balai.tenancy import TenantInfo, registry\nregistry(app).by_id(1)",
        "from balai import storage\nstorage.for_tenant(1).list()",
        "import balai.tenancy.portable\nbalai.tenancy.portable.TenantData",
        "from balai.db import db\ndb.session.add(row)\ndb.tenant_session(1)",
        "from balai.testing import downgraded, travel",
        "import sqlalchemy as sa\nsa.table('balai_state')",
    ],
)
def test_a_public_use_passes(source):
    assert private_uses(source) == []
