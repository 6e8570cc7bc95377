"""``balai db revision --plugin NAME``: the next migration of one plugin's branch.

Alembic's autogenerate compares every model of the deployment with the database;
here it sees only the plugin's tables (those of its models and those named
``<name>_*`` that no other plugin owns), so the revision never touches the core's
or another plugin's. It is written to the plugin's ``migrations/versions`` folder
as ``NNNN_<name>_<slug>.py`` with revision id ``<name>_NNNN``, then fixed and
formatted with ruff when ruff is installed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from flask import Flask

from balai import schema
from balai.db import Base
from balai.plugins import PluginInfo, plugins
from balai.scaffold import ScaffoldError

__all__ = ["plugin_revision", "plugin_tables"]

CORE_FIRST = "0001"  # every plugin branch starts after the core's first revision


def plugin_revision(app: Flask, name: str, message: str) -> Path:
    """Autogenerate the next revision of plugin ``name``'s branch and return its file.

    The database must be at every head (``balai db upgrade``) first.

    :raises ScaffoldError: unknown or broken plugin, or nothing to migrate.
    :raises alembic.util.CommandError: the database is not up to date.
    """
    from alembic import command
    from alembic.script import ScriptDirectory

    info = _plugin(app, name)
    folder = _versions_folder(info)
    config = schema.alembic_config(app)
    locations = config.get_main_option("version_locations") or ""
    if str(folder) not in locations.split(os.pathsep):  # a folder made just now
        config.set_main_option("version_locations", f"{locations}{os.pathsep}{folder}")
    script = ScriptDirectory.from_config(config)
    number = 1 + sum(1 for r in script.walk_revisions() if Path(r.path).parent == folder)
    if not message.startswith(f"{name}:"):
        message = f"{name}: {message}"
    config.set_main_option("file_template", f"{number:04d}_%%(slug)s")
    config.attributes["include_object"] = _only(app, name)
    first = number == 1
    written = command.revision(
        config,
        message=message,
        autogenerate=True,
        head="base" if first else f"{name}@head",
        branch_label=name if first else None,
        depends_on=CORE_FIRST if first else None,
        rev_id=f"{name}_{number:04d}",
        version_path=str(folder),
        process_revision_directives=_unless_empty,
    )
    scripts = [s for s in (written if isinstance(written, list) else [written]) if s is not None]
    if not scripts:
        raise ScaffoldError(f"no changes in the tables of {name}: nothing written")
    path = Path(scripts[0].path)
    tidy(path)
    return path


def _plugin(app: Flask, name: str) -> PluginInfo:
    info = plugins(app).get(name)
    if info is None or info.builtin:
        raise ScaffoldError(f"unknown plugin {name!r} (see 'balai plugins list')")
    if info.broken:
        raise ScaffoldError(f"plugin {name} is broken: {info.error}")
    if info.manifest is None or info.manifest.migrations is None:
        raise ScaffoldError(f"plugin {name} declares no migrations (Manifest(migrations=None))")
    return info


def _versions_folder(info: PluginInfo) -> Path:
    """The plugin's ``migrations/versions`` folder, made if it has none yet."""
    if info.migrations is not None:
        return info.migrations
    module = info.module
    if not isinstance(module, ModuleType) or module.__file__ is None or info.manifest is None:
        raise ScaffoldError(f"plugin {info.name} is not a module: it cannot carry migrations")
    folder = Path(module.__file__).parent / str(info.manifest.migrations) / "versions"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def plugin_tables(app: Flask, name: str) -> set[str]:
    """The tables of plugin ``name``: its models' and the ``<name>_*`` no one else owns."""
    owners = _table_owners(app)
    return {table for table in Base.metadata.tables if _belongs(app, name, table, owners)}


def _belongs(app: Flask, name: str, table: str, owners: dict[str, str]) -> bool:
    if table in owners:
        return owners[table] == name
    # By name: "kebun_raya_plot" is plugin kebun_raya's, not kebun's.
    longer = tuple(f"{other}_" for other in plugins(app).installed if other.startswith(f"{name}_"))
    return table.startswith(f"{name}_") and not table.startswith(longer)


def _table_owners(app: Flask) -> dict[str, str]:
    """Table name → the plugin whose package maps it."""
    packages = {
        info.module.__name__.split(".")[0]: key
        for key, info in plugins(app).installed.items()
        if isinstance(info.module, ModuleType) and not info.builtin
    }
    owners = {}
    for mapper in Base.registry.mappers:
        owner = packages.get(mapper.class_.__module__.split(".")[0])
        if owner is not None and mapper.local_table is not None:
            owners[str(mapper.local_table.name)] = owner
    return owners


def _only(app: Flask, name: str) -> Callable[..., bool]:
    """Alembic's ``include_object``: the plugin's tables and what belongs to them.

    A table the database has and no model maps (a model removed) counts when it
    bears the plugin's name, so removing a model drops its table.
    """
    owners = _table_owners(app)
    tables = plugin_tables(app, name)

    def include(obj: Any, found: str | None, type_: str, reflected: bool, compare: Any) -> bool:
        table = found if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        if table is None:
            return False
        if table in tables:
            return True
        return reflected and compare is None and _belongs(app, name, table, owners)

    return include


def _unless_empty(context: Any, revision: Any, directives: list[Any]) -> None:
    """Write no file when nothing changed."""
    if all(ops.is_empty() for ops in directives[0].upgrade_ops_list):
        directives[:] = []


def tidy(path: Path) -> None:
    """Fix and format ``path`` with ruff under the plugin's own settings, if ruff is there."""
    ruff = _ruff()
    if ruff is None:
        return
    for args in (["check", "--fix", "--quiet", "--exit-zero"], ["format", "--quiet"]):
        subprocess.run([*ruff, *args, str(path)], check=False, cwd=path.parent)  # noqa: S603


def _ruff() -> list[str] | None:
    """How to run ruff: its Python package (``python -m ruff``), else a ``ruff`` on PATH."""
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    found = shutil.which("ruff")
    return [found] if found else None
