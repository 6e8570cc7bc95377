"""Plugin conventions, checked rather than reviewed (DESIGN §1 names).

Every distribution under ``plugins/`` (and ``registry/``) is ``balai-<name>`` with package
``balai_<name>``, registers plugin ``<name>`` under ``balai.plugins``, ships a
README, tests and (if it has tables) its own Alembic branch ``<name>``; its
tables are ``<name>_*``, its permissions ``<name>.<verb>_<noun>``, its routes
live under ``/<name>/`` and its API under ``/api/v1/<name>/``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from balai.db import Base
from balai.permissions import registry
from balai.plugins import plugins

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIRS = sorted(
    p for p in [*ROOT.glob("plugins/balai-*"), *ROOT.glob("registry/balai-*")] if p.is_dir()
)


def _name(folder: Path) -> str:
    return folder.name.removeprefix("balai-")


@pytest.mark.parametrize("folder", PLUGIN_DIRS, ids=lambda p: p.name)
def test_distribution_layout(folder: Path) -> None:
    name = _name(folder)
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    assert project["name"] == folder.name
    assert project["entry-points"]["balai.plugins"] == {name: f"balai_{name}.plugin"}
    assert any(dep.startswith("balai") for dep in project["dependencies"])
    package = folder / f"balai_{name}"
    for required in ("plugin.py", "services.py", "views.py"):
        assert (package / required).is_file(), f"{folder.name} lacks {required}"
    assert (folder / "README.md").is_file()
    assert list((folder / "tests").glob("test_*.py")), f"{folder.name} has no tests"


@pytest.mark.parametrize("folder", PLUGIN_DIRS, ids=lambda p: p.name)
def test_services_do_not_import_flask(folder: Path) -> None:
    source = (folder / f"balai_{_name(folder)}" / "services.py").read_text()
    assert "import flask" not in source and "from flask" not in source


@pytest.mark.parametrize("folder", PLUGIN_DIRS, ids=lambda p: p.name)
def test_plugin_is_installed_and_working(app, folder: Path) -> None:
    info = plugins(app).get(_name(folder))
    assert info is not None, f"{folder.name} is not installed (pip install -e {folder})"
    assert info.error is None


@pytest.mark.parametrize("folder", PLUGIN_DIRS, ids=lambda p: p.name)
def test_names_follow_the_plugin_name(app, folder: Path) -> None:
    name = _name(folder)
    package = f"balai_{name}"
    tables = [
        m.local_table.name for m in Base.registry.mappers if m.class_.__module__.startswith(package)
    ]
    assert all(t.startswith(f"{name}_") for t in tables), tables
    permissions = [p for p, owner in registry(app).owner.items() if owner == name]
    assert all(p.startswith(f"{name}.") for p in permissions), permissions
    owned = plugins(app).blueprint_owner
    for rule in app.url_map.iter_rules():
        if owned.get(rule.endpoint.split(".")[0]) == name:
            assert rule.rule.startswith((f"/{name}/", f"/api/v1/{name}/")), rule.rule
    if tables:
        assert plugins(app).get(name).migrations is not None, f"{name} has no migrations"
