"""Plugin conventions, checked rather than reviewed (DESIGN §1 names), with the
public checks of :mod:`balai.proof.plugin` (which ``check_plugin`` runs too).

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

from balai.plugins import plugins
from balai.proof.plugin import convention_problems, distribution_problems

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
    assert (folder / "README.md").is_file()
    assert list((folder / "tests").glob("test_*.py")), f"{folder.name} has no tests"
    assert distribution_problems(folder.name, name) == []


@pytest.mark.parametrize("folder", PLUGIN_DIRS, ids=lambda p: p.name)
def test_plugin_is_installed_and_working(app, folder: Path) -> None:
    info = plugins(app).get(_name(folder))
    assert info is not None, f"{folder.name} is not installed (pip install -e {folder})"
    assert info.error is None


@pytest.mark.parametrize("folder", PLUGIN_DIRS, ids=lambda p: p.name)
def test_names_follow_the_plugin_name(app, folder: Path) -> None:
    """Package files, services without Flask, tables, permissions, routes, migrations."""
    assert convention_problems(app, _name(folder)) == []
