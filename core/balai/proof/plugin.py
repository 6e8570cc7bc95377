"""The checks of one installed plugin, each giving a list of problems (empty: fine).

Shared by the core's own convention tests, :func:`balai.testing.check_plugin` (a
plugin's test suite calls it) and ``balai plugins check`` (which runs them in a
separate process on a distribution not yet installed). DESIGN §1 gives the names:
distribution ``balai-<name>``, package ``balai_<name>`` with ``plugin.py``,
``services.py`` (no Flask) and ``views.py``, entry point ``<name>`` in
``balai.plugins``, tables ``<name>_*``, permissions ``<name>.<verb>_<noun>``, routes
under ``/<name>/`` and ``/api/v1/<name>/``, its own Alembic branch ``<name>``.
"""

from __future__ import annotations

import ast
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType
from typing import Any

import importlib_metadata
import pluggy
from flask import Flask

from balai import hookspecs
from balai.db import Base, db
from balai.i18n import N_
from balai.permissions import registry as permission_registry
from balai.permissions import route_problems
from balai.plugincheck._report import Message
from balai.plugins import ENTRY_POINT_GROUP, PluginInfo, plugins

# The core's own modules also use KEYWORDS, messages_of, package_dir, plugin_tables,
# rules_of and scratch_app; they are not public (docs/plugin-authors.md).
__all__ = [
    "catalogue_completeness",
    "catalogue_problems",
    "check_plugin",
    "convention_problems",
    "distribution_problems",
    "hook_problems",
    "migration_problems",
    "model_differences",
    "route_problems_of",
    "settings_problems",
    "sweep_problems",
]

#: The gettext keywords of Balai's sources (as ``tests/test_i18n.py`` extracts them).
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
KEYWORDS |= {"N_": None}
REQUIRED_LANGUAGE = "id"


# -- where a plugin lives ----------------------------------------------------------------


def _info(app: Flask, name: str) -> PluginInfo:
    info = plugins(app).get(name)
    if info is None:
        raise LookupError(f"plugin {name!r} is not installed (no entry point {ENTRY_POINT_GROUP})")
    return info


def package_dir(info: PluginInfo) -> Path | None:
    """The folder of the plugin's top-level package, if it is a module of one."""
    module = info.module
    if not isinstance(module, ModuleType) or not getattr(module, "__file__", None):
        return None
    top = module.__name__.split(".")[0]
    path = Path(module.__file__)  # type: ignore[arg-type]
    for _ in module.__name__.split(".")[1:]:
        path = path.parent
    return path if path.name == top else path.parent


def plugin_tables(info: PluginInfo) -> list[str]:
    """The tables of the plugin's models (those defined under its package)."""
    module = info.module
    top = getattr(module, "__name__", "").split(".")[0]
    if not top:
        return []
    return sorted(
        str(m.local_table.name)
        for m in Base.registry.mappers
        if m.class_.__module__.split(".")[0] == top and m.local_table is not None
    )


# -- conventions ---------------------------------------------------------------------------


def distribution_problems(distribution: str, name: str) -> list[str]:
    """Metadata of an installed distribution: its name, entry point and dependency."""
    try:
        dist = importlib_metadata.distribution(distribution)
    except importlib_metadata.PackageNotFoundError:
        return [f"distribution {distribution!r} is not installed"]
    problems = []
    if _normalise(dist.metadata.get("Name") or "") != _normalise(f"balai-{name}"):
        problems.append(f"distribution is {dist.metadata['Name']!r}, not 'balai-{name}'")
    points = {ep.name: ep.value for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP}
    if points.get(name) != f"balai_{name}.plugin":
        problems.append(
            f"entry point {ENTRY_POINT_GROUP}: {points or 'none'}, expected "
            f"{{{name!r}: 'balai_{name}.plugin'}}"
        )
    requires = [_requirement_name(r) for r in dist.requires or ()]
    if "balai" not in requires:
        problems.append("does not depend on 'balai' (Requires-Dist balai>=...)")
    if not (dist.metadata.get("Description") or dist.metadata.get_payload() or "").strip():
        problems.append("no README (long description) in its metadata")
    return problems


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _requirement_name(requirement: str) -> str:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return _normalise(Requirement(requirement).name)
    except InvalidRequirement:
        return ""


def convention_problems(app: Flask, name: str) -> list[str]:
    """Package layout and names: tables, permissions, routes, its own migrations."""
    info = _info(app, name)
    problems = []
    folder = package_dir(info)
    if folder is None or folder.name != f"balai_{name}":
        problems.append(f"the plugin is not in a package balai_{name} (found {folder})")
    else:
        for required in ("plugin.py", "services.py", "views.py"):
            if not (folder / required).is_file():
                problems.append(f"balai_{name} lacks {required}")
        services = folder / "services.py"
        if services.is_file() and _imports_flask(services):
            problems.append("services.py imports Flask (business rules stay free of it)")
    tables = plugin_tables(info)
    problems += [f"table {t} is not named {name}_*" for t in tables if not t.startswith(f"{name}_")]
    owned = [p for p, owner in permission_registry(app).owner.items() if owner == name]
    problems += [
        f"permission {p} is not named {name}.*" for p in owned if not p.startswith(f"{name}.")
    ]
    for rule in rules_of(app, name):
        if not rule.rule.startswith((f"/{name}/", f"/api/v1/{name}/")):
            problems.append(f"route {rule.rule} is not under /{name}/ or /api/v1/{name}/")
    if tables and info.migrations is None:
        problems.append(f"{name} has tables but no migrations (migrations/versions)")
    return problems


def _imports_flask(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            continue
        if any(module.split(".")[0] == "flask" for module in modules):
            return True
    return False


def rules_of(app: Flask, name: str) -> list[Any]:
    """The URL rules of plugin ``name``'s blueprints."""
    owner = plugins(app).owner_of
    return [r for r in app.url_map.iter_rules() if owner(_blueprint(r.endpoint)) == name]


def _blueprint(endpoint: str) -> str | None:
    return endpoint.rpartition(".")[0] or None


# -- hooks, routes, settings ---------------------------------------------------------------


def hook_problems(app: Flask, name: str) -> list[str]:
    """It loads, and every ``@hookimpl`` names a hook that exists (pluggy's
    ``check_pending``) with arguments the hook has."""
    info = _info(app, name)
    if info.module is None:
        return [f"it does not load: {info.error}"]
    manager = pluggy.PluginManager("balai")
    manager.add_hookspecs(hookspecs)
    for other in plugins(app).installed.values():  # events other plugins declare
        spec = other.manifest.hookspecs if other.manifest else None
        if spec is not None:
            with suppress(ValueError):  # already added, or the core's own name
                manager.add_hookspecs(spec)
    try:
        manager.register(info.module, name=name)
        manager.check_pending()
    except (pluggy.PluginValidationError, ValueError) as exc:
        return [str(exc)]
    if info.error and not _is_route_or_settings_error(info.error):
        return [f"the core left it out: {info.error}"]
    return []


def _is_route_or_settings_error(error: str) -> bool:
    return error.startswith(("routes refused", "register_settings_schema"))


def route_problems_of(app: Flask, name: str) -> list[str]:
    """Routes of the plugin without an access declaration (``require`` or ``public``)."""
    owner = plugins(app).owner_of
    return [
        f"route {problem}"
        for problem in route_problems(app)
        if owner(_blueprint(problem.endpoint)) == name
    ]


def api_document_problems(app: Flask, name: str) -> list[str]:
    """Every API blueprint of the plugin can be written into the OpenAPI document.

    The document is written at its first request; a blueprint apispec refuses (a
    repeated parameter, a schema it cannot resolve) would be left out of it there.
    """
    from balai.api.openapi import dangling_references, spec_for

    state = app.extensions["balai.api"]
    try:
        document = spec_for(frozenset({name}))  # as a region with only this plugin gets it
        app.json.dumps(document)
    except Exception as exc:  # the whole document fails: every region's answer is an error
        return [f"the OpenAPI document cannot be written: {type(exc).__name__}: {exc}"]
    problems = [
        f"API blueprint {blueprint} cannot be documented: {error}"
        for plugin, blueprint, error in state.left_out
        if plugin == name
    ]
    problems += [
        f"the document names {ref}, which it does not hold" for ref in dangling_references(document)
    ]
    return problems


def settings_problems(app: Flask, name: str) -> list[str]:
    """The settings schema (if any) is a marshmallow schema whose defaults all load."""
    from balai.settings import resolve_settings, schema_for

    info = _info(app, name)
    if info.error and info.error.startswith("register_settings_schema"):
        return [info.error]
    schema_cls = schema_for(name, app)
    if schema_cls is None:
        return []
    try:
        resolve_settings(schema_cls(), {}, {})
    except Exception as exc:  # a default the field itself cannot give
        return [f"settings schema {schema_cls.__name__}: {type(exc).__name__}: {exc}"]
    return []


# -- migrations ----------------------------------------------------------------------------


def migration_problems(app: Flask, name: str, *, downgrade: bool = True) -> list[str]:
    """On ``app``'s (scratch) database: the branch upgrades, then matches the models;
    with ``downgrade``, it goes down to base leaving none of its tables, and up again."""
    from sqlalchemy import inspect

    from balai import schema

    info = _info(app, name)
    tables = plugin_tables(info)
    try:
        schema.upgrade(app)
    except Exception as exc:
        return [f"upgrade failed: {type(exc).__name__}: {exc}"]
    if info.migrations is None:
        return [f"{name} has tables but no migrations"] if tables else []
    problems = [f"migrations differ from the models: {d}" for d in model_differences(app, name)]
    if not downgrade:
        return problems
    from alembic import command

    try:
        command.downgrade(schema.alembic_config(app), f"{name}@base")
    except Exception as exc:
        return [*problems, f"downgrade failed: {type(exc).__name__}: {exc}"]
    left = set(inspect(db.engine_for(app)).get_table_names()) & set(tables)
    if left:
        problems.append(f"downgrade to base leaves tables: {', '.join(sorted(left))}")
    try:
        schema.upgrade(app)
    except Exception as exc:
        problems.append(f"upgrade after downgrade failed: {type(exc).__name__}: {exc}")
    return problems


def model_differences(app: Flask, name: str) -> list[str]:
    """What Alembic's autogenerate would change in the plugin's tables."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from balai import schema

    prefix = f"{name}_"
    tables = set(plugin_tables(_info(app, name)))

    def include(obj: Any, found: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = found if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
        return bool(table) and (table in tables or str(table).startswith(prefix))

    with db.engine_for(app).connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_object": include,
                "compare_type": True,
                "version_table": schema.VERSION_TABLE,
            },
        )
        return [_describe(diff) for diff in compare_metadata(context, Base.metadata)]


def _describe(diff: Any) -> str:
    items = diff if isinstance(diff, list) else [diff]
    described = []
    for item in items:
        kind, *rest = item
        names = [getattr(r, "name", r) for r in rest if r is not None]
        described.append(f"{kind} {' '.join(str(n) for n in names)}".strip())
    return "; ".join(described)


# -- catalogues -----------------------------------------------------------------------------


def messages_of(package: Path) -> set[str]:
    """The message ids marked in the package's Python files and templates."""
    from babel.messages.extract import extract_from_dir

    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    return {
        message[0] if isinstance(message, tuple) else message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(package), method_map=method_map, keywords=KEYWORDS
        )
    }


def catalogue_completeness(package: Path) -> dict[str, tuple[float, list[str]]]:
    """Per language with a ``translations/<lang>/LC_MESSAGES/messages.po``: the percent
    of the package's messages it translates, and the untranslated ones."""
    from babel.messages.pofile import read_po

    messages = messages_of(package)
    found: dict[str, tuple[float, list[str]]] = {}
    for po in sorted((package / "translations").glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as handle:
            catalogue = read_po(handle, locale=po.parent.parent.name)
        missing = sorted(m for m in messages if not _translated(catalogue.get(m)))
        percent = 100.0 if not messages else 100.0 * (len(messages) - len(missing)) / len(messages)
        found[po.parent.parent.name] = (round(percent, 1), missing)
    return found


def _translated(message: Any) -> bool:
    return bool(message is not None and message.string and not message.fuzzy)


def catalogue_problems(package: Path) -> list[str]:
    """The Indonesian catalogue translates every message of the package."""
    languages = catalogue_completeness(package)
    if REQUIRED_LANGUAGE not in languages:
        if not messages_of(package):
            return []
        return ["no Indonesian catalogue (translations/id/LC_MESSAGES/messages.po)"]
    percent, missing = languages[REQUIRED_LANGUAGE]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:20])
        return [f"Indonesian catalogue {percent}% complete; untranslated: {shown}"]
    return []


# -- the cross-tenant sweep -----------------------------------------------------------------


def scratch_app(database_url: str, instance: Path, **overrides: Any) -> Flask:
    """A test app on ``database_url`` that counts server errors instead of raising."""
    from balai.testing import make_test_app

    settings = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance)}
    settings |= {"PROPAGATE_EXCEPTIONS": False, **overrides}
    return make_test_app(settings)


def sweep_problems(app: Flask, name: str) -> tuple[list[str], str]:
    """Sweep plugin ``name`` on two scratch regions of ``app``'s (migrated) database:
    B has the plugin's demo data (``populate_demo``), A signs in with every role.

    :returns: the problems, and the sweep's figures as one line.
    """
    from balai.proof.sweep import FIGURES, run_sweep, sign_in
    from balai.schema import tenant_tables
    from balai.tenancy import create_tenant, enable_plugin, registry
    from balai.testing import PASSWORD

    info = _info(app, name)
    wanted = _with_requirements(app, name)
    # Models no migration creates (a test suite's own plugins, imported in this process)
    # would fail the core's pages that read every table, such as a user's data export.
    Base.metadata.create_all(db.engine_for(app))
    regions = []
    for slug in ("sapu-a", "sapu-b"):
        tenant = create_tenant(app, slug, f"Sapu {slug[-1].upper()}", [f"{slug}.test"])
        for plugin in wanted:
            enable_plugin(app, registry(app).by_id(tenant.id), plugin, by="check")
        regions.append(registry(app).by_id(tenant.id))
    a, b = regions
    with db.tenant_session(b.id) as session:
        for plugin in wanted:
            plugins(app).relay(frozenset({plugin})).populate_demo(tenant=b, session=session)
    tables = [t for t in plugin_tables(info) if t in tenant_tables()]
    result = run_sweep(app, sign_in(app, a, b, PASSWORD), only=name)
    problems = list(result.problems)
    aimed = [t for t in tables if t not in result.keys.empty_tables]
    if tables and not aimed:
        problems.append(
            f"populate_demo gives region B no rows in {', '.join(tables)}: the sweep "
            "has nothing to aim at (give the plugin demo data)"
        )
    empty = [t for t in tables if t in result.keys.empty_tables]
    if empty:
        figures = Message(FIGURES_EMPTY, **result.figures(), tables=", ".join(empty))
    else:
        figures = Message(FIGURES, **result.figures())
    return problems, figures


#: The sweep's figures with the plugin's tables that held none of B's rows.
FIGURES_EMPTY = N_(
    "%(requests)d requests, %(leaks)d leaks, %(errors)d server errors, %(markers)d markers,"
    " %(seconds).1f s; its tables with no rows of B: %(tables)s"
)


def _with_requirements(app: Flask, name: str) -> list[str]:
    """``name`` after the plugins it requires (and theirs), each once."""
    ordered: list[str] = []

    def visit(plugin: str, seen: tuple[str, ...]) -> None:
        if plugin in ordered or plugin in seen:
            return
        info = plugins(app).get(plugin)
        for required in info.manifest.requires if info and info.manifest else ():
            visit(required, (*seen, plugin))
        ordered.append(plugin)

    visit(name, ())
    return ordered


# -- all of it in one call -------------------------------------------------------------------


@contextmanager
def _scratch(database_url: str | None) -> Iterator[tuple[str, Path]]:
    with tempfile.TemporaryDirectory(prefix="balai-check-") as folder:
        path = Path(folder)
        yield database_url or f"sqlite:///{path / 'check.sqlite'}", path / "instance"


def check_plugin(name: str, *, database_url: str | None = None) -> None:
    """Check the installed plugin ``name``; raise an ``AssertionError`` listing every problem.

    Conventions, access declarations of its routes, its API's OpenAPI document, its
    settings schema, its migrations against its models (upgraded on a scratch database,
    then down and up again), its Indonesian catalogue and the cross-tenant sweep on two
    scratch regions.

    :param database_url: an empty scratch database to use instead of a new SQLite file.
    """
    problems: list[str] = []
    with _scratch(database_url) as (url, instance):
        app = scratch_app(url, instance)
        try:
            with app.app_context():
                problems += _check_in(app, name)
        finally:
            db.engine_for(app).dispose()
    if problems:
        listed = "\n".join(f"- {problem}" for problem in problems)
        raise AssertionError(f"plugin {name}: {len(problems)} problems\n{listed}")


def _check_in(app: Flask, name: str) -> list[str]:
    info = plugins(app).get(name)
    if info is None:
        return [f"{name} is not installed (no {ENTRY_POINT_GROUP} entry point named {name!r})"]
    problems = [f"hooks: {p}" for p in hook_problems(app, name)]
    if info.distribution:
        problems += [f"conventions: {p}" for p in distribution_problems(info.distribution, name)]
    if info.module is None:
        return problems
    problems += [f"conventions: {p}" for p in convention_problems(app, name)]
    problems += [f"routes: {p}" for p in route_problems_of(app, name)]
    problems += [f"api: {p}" for p in api_document_problems(app, name)]
    problems += [f"settings: {p}" for p in settings_problems(app, name)]
    migrations = migration_problems(app, name)
    problems += [f"migrations: {p}" for p in migrations]
    folder = package_dir(info)
    if folder is not None:
        problems += [f"catalogue: {p}" for p in catalogue_problems(folder)]
    if info.broken:
        problems.append(f"sweep: not run, the plugin is left out ({info.error})")
    elif not migrations:
        found, _figures = sweep_problems(app, name)
        problems += [f"sweep: {p}" for p in found]
    return problems
