"""Plugin discovery, loading, validation and per-tenant hook calling.

One :class:`Plugins` object per app (``app.extensions["balai.plugins"]``) owns
the pluggy manager. Plugins come from the ``balai.plugins`` entry-point group; a
plugin that fails to import or to validate is recorded as broken with the reason
and left out. Request-time hooks go through :func:`hooks`, a relay that calls only
the plugins enabled for the current tenant.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
import sys
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import importlib_metadata
import pluggy
from flask import Blueprint, Flask, abort, current_app, g, request

from balai import hookspecs

__all__ = ["hooks", "plugins"]

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "balai.plugins"


def entry_points(group: str) -> importlib_metadata.EntryPoints:
    """The entry points of ``group`` (``balai.plugins``, ``balai.themes``) of every
    installed distribution.

    Reading them means reading every installed distribution's metadata: they are read
    once for all groups, and read again when the import path changes (a folder added
    or removed, or one of its folders changed: a distribution installed, upgraded or
    removed), as ``importlib_metadata`` itself caches a folder's listing.
    """
    return _all_entry_points(_import_path_state()).select(group=group)


def _import_path_state() -> tuple[tuple[str, int | None], ...]:
    state = []
    for entry in sys.path:
        folder = os.path.abspath(entry or os.curdir)
        try:
            state.append((folder, os.stat(folder).st_mtime_ns))
        except OSError:
            state.append((folder, None))
    return tuple(state)


@lru_cache(maxsize=1)
def _all_entry_points(
    _path_state: tuple[tuple[str, int | None], ...],
) -> importlib_metadata.EntryPoints:
    return importlib_metadata.entry_points()


@dataclass(frozen=True)
class Manifest:
    """What a plugin says of itself beyond its distribution's metadata.

    :param title: name shown to region admins (e.g. ``"Pengaduan Masyarakat"``).
    :param description: one translatable sentence for region admins (mark it with
        ``balai.i18n.N_``); the distribution's summary is shown when it is empty.
    :param category: grouping on the admin page (``layanan``, ``kesehatan``, ...).
    :param requires: plugins that must be enabled first.
    :param core: PEP 440 specifier of the core versions supported (``">=0.1,<0.3"``).
    :param hookspecs: a module or class with extra hook specifications (events).
    :param migrations: folder of the plugin's Alembic branch, relative to the module.
    """

    title: str
    description: str = ""
    category: str = "umum"
    requires: tuple[str, ...] = ()
    core: str = ""
    hookspecs: object | None = None
    migrations: str | None = "migrations"


@dataclass
class PluginInfo:
    """An installed plugin as the core sees it."""

    name: str
    version: str = ""
    summary: str = ""
    manifest: Manifest | None = None
    module: object | None = None
    error: str | None = None
    hooks: tuple[str, ...] = ()
    builtin: bool = False
    distribution: str = ""
    migrations: Path | None = field(default=None)

    @property
    def broken(self) -> bool:
        return self.error is not None

    @property
    def title(self) -> str:
        return self.manifest.title if self.manifest else self.name

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "version": self.version,
            "summary": self.summary,
            "category": self.manifest.category if self.manifest else None,
            "requires": list(self.manifest.requires) if self.manifest else [],
            "hooks": list(self.hooks),
            "builtin": self.builtin,
            "error": self.error,
        }


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager, passing over at once the attributes that cannot be hooks.

    To register a plugin, pluggy looks up each of its attributes (every global of a
    module, every method of an object, ``object``'s own included) with
    ``inspect.getattr_static``, the costly part of registering one. Here an
    attribute is passed over when none of the values it could have (the module's or
    the object's own, or one of its classes') is a function, method, classmethod,
    staticmethod or slot, or when it is a plain function without the ``hookimpl``
    mark; anything else is left to pluggy, which finds the same hooks as before.
    What a class holds is worked out once per class.
    """

    def __init__(self, project_name: str) -> None:
        super().__init__(project_name)
        self._marker = project_name + "_impl"
        self._class_names: dict[type, frozenset[str]] = {}

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        if not inspect.isclass(plugin) and not self._may_be_hook(plugin, name):
            return None
        return super().parse_hookimpl_opts(plugin, name)

    def _may_be_hook(self, plugin: object, name: str) -> bool:
        cls = type(plugin)
        names = self._class_names.get(cls)
        if names is None:
            names = self._class_names[cls] = frozenset(
                key
                for klass in cls.__mro__
                for key, value in vars(klass).items()
                if self._may_be_marked(value)
            )
        if name in names:
            return True
        try:
            own = object.__getattribute__(plugin, "__dict__")
        except AttributeError:
            return False
        return isinstance(own, dict) and self._may_be_marked(own.get(name))

    def _may_be_marked(self, value: object) -> bool:
        if isinstance(value, types.FunctionType):
            return getattr(value, self._marker, None) is not None
        return isinstance(
            value, staticmethod | classmethod | types.MethodType | types.MemberDescriptorType
        )


class Plugins:
    """The plugin manager of one app and what it learnt while loading."""

    def __init__(self) -> None:
        self.pm = _PluginManager("balai")
        self.pm.add_hookspecs(hookspecs)
        self.installed: dict[str, PluginInfo] = {}
        self.blueprint_owner: dict[str, str] = {}
        self._relays: dict[frozenset[str], _Relay] = {}
        self._chosen: dict[tuple[str, frozenset[str] | None, bool], list[pluggy.HookImpl]] = {}

    # -- loading ---------------------------------------------------------

    def load(self, builtins: Iterable[tuple[str, object]], extra: Iterable[object]) -> None:
        """Register built-in plugins, entry-point plugins and ``extra`` ones."""
        for name, module in builtins:
            self._register(PluginInfo(name=name, module=module, builtin=True))
        candidates = list(self._discover()) + [_info_for_object(obj) for obj in extra]
        for info in candidates:  # extra hookspecs first, so events can be implemented
            spec = info.manifest.hookspecs if info.manifest else None
            if spec is not None and not info.broken:
                try:
                    self.pm.add_hookspecs(spec)
                except ValueError as exc:  # a hook name another plugin or the core has
                    info.error = f"hookspecs: {exc}"
        for info in candidates:
            if info.name in self.installed:
                info.error = info.error or f"name {info.name!r} is already taken"
                self.installed.setdefault(f"{info.name} ({info.distribution})", info)
                continue
            if info.broken:
                self.installed[info.name] = info
                log.error("plugin %s is broken: %s", info.name, info.error)
                continue
            self._register(info)

    def _discover(self) -> Iterator[PluginInfo]:
        for ep in entry_points(ENTRY_POINT_GROUP):
            dist = ep.dist
            info = PluginInfo(
                name=ep.name,
                version=dist.version if dist else "",
                # .get: a missing field raises KeyError (a wheel may have no Summary).
                summary=(dist.metadata.get("Summary") or "") if dist else "",
                distribution=dist.name if dist else "",
            )
            try:
                info.module = ep.load()
                info.manifest = _manifest_of(info.module)
            except Exception as exc:  # any import-time failure marks the plugin broken
                info.error = f"{type(exc).__name__}: {exc}"
                # Its schema stays known to the migrations, or they could not run at all.
                info.migrations = _migrations_by_location(ep.module)
            yield info

    def _register(self, info: PluginInfo) -> None:
        self._chosen.clear()
        try:
            self.pm.register(info.module, name=info.name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            info.error = str(exc)
            self.installed[info.name] = info
            log.error("plugin %s is broken: %s", info.name, info.error)
            return
        callers = self.pm.get_hookcallers(info.module) or []
        try:
            self.pm.check_pending()
            _refuse_wrappers(callers, info.name)
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(name=info.name)
            info.error = str(exc)
            log.error("plugin %s is broken: %s", info.name, info.error)
        else:
            info.hooks = tuple(sorted(c.name for c in callers))
            info.migrations = _migrations_dir(info)
        self.installed[info.name] = info

    def mark_broken(self, name: str, reason: str) -> None:
        """Leave a plugin out after it failed at start-up, recording why."""
        info = self.installed.get(name)
        if info is None or info.builtin:
            raise RuntimeError(f"the core's own plugin {name} failed: {reason}")
        log.error("plugin %s is broken: %s", name, reason)
        info.error = info.error or reason
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        self._relays.clear()
        self._chosen.clear()

    # -- queries -----------------------------------------------------------

    def working(self) -> list[PluginInfo]:
        """Installed plugins that loaded, built-ins excluded, sorted by name."""
        return sorted(
            (p for p in self.installed.values() if not p.broken and not p.builtin),
            key=lambda p: p.name,
        )

    def get(self, name: str) -> PluginInfo | None:
        return self.installed.get(name)

    def owner_of(self, blueprint: str | None) -> str | None:
        """The plugin that registered ``blueprint`` (top-level name), if any."""
        if blueprint is None:
            return None
        return self.blueprint_owner.get(blueprint.split(".")[0])

    # -- calling -----------------------------------------------------------

    def call_each(
        self,
        hook: str,
        plugins: Iterable[str] | None = None,
        *,
        startup: bool = False,
        builtins: bool = True,
        **kwargs: Any,
    ) -> list[tuple[str, Any]]:
        """Call each implementation of ``hook`` on its own; a failure is logged and skipped.

        :param plugins: restrict to these plugin names.
        :param startup: a failure marks the plugin broken (start-up hooks).
        :param builtins: include the core's built-in plugins (always, despite ``plugins``).
        :returns: ``(plugin name, result)`` for every implementation that returned.
        """
        results = []
        for impl in self._implementations(hook, plugins, builtins):
            try:
                result = impl.function(*[kwargs[arg] for arg in impl.argnames])
            except Exception as exc:
                info = self.installed.get(impl.plugin_name)
                builtin = bool(info and info.builtin)
                if startup and builtin:
                    raise  # the core's own defaults must work
                log.exception("hook %s of plugin %s failed", hook, impl.plugin_name)
                if startup and info is not None:
                    self.mark_broken(impl.plugin_name, f"{hook}: {type(exc).__name__}: {exc}")
                continue
            if result is not None:
                results.append((impl.plugin_name, result))
        return results

    def _implementations(
        self, hook: str, plugins: Iterable[str] | None, builtins: bool
    ) -> list[pluggy.HookImpl]:
        """The implementations :meth:`call_each` calls, in order; chosen once per plugin set.

        A request calls its hooks on one tenant's plugins: going through every
        installed plugin's implementation each time would cost it more the more
        plugins the server has installed.
        """
        wanted = None if plugins is None else frozenset(plugins)
        key = (hook, wanted, builtins)
        chosen = self._chosen.get(key)
        if chosen is None:
            chosen = []
            for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
                info = self.installed.get(impl.plugin_name)
                builtin = bool(info and info.builtin)
                if builtin and not builtins:
                    continue
                if wanted is not None and not builtin and impl.plugin_name not in wanted:
                    continue
                chosen.append(impl)
            self._chosen[key] = chosen
        return chosen

    def relay(self, enabled: frozenset[str]) -> _Relay:
        """Hook callers restricted to built-ins plus ``enabled``."""
        relay = self._relays.get(enabled)
        if relay is None:
            off = [
                info.module
                for info in self.installed.values()
                if not info.builtin and not info.broken and info.name not in enabled
            ]
            relay = self._relays[enabled] = _Relay(self.pm, off)
        return relay


# Hooks called one implementation at a time (:meth:`Plugins.call_each`), where a
# wrapper would never run as one.
ONE_AT_A_TIME = frozenset(
    {"menu_items", "dashboard_widgets", "map_layers", "search", "populate_demo"}
)


def _refuse_wrappers(callers: list[pluggy.HookCaller], name: str) -> None:
    for caller in callers:
        if caller.name not in ONE_AT_A_TIME and not caller.name.startswith("register_"):
            continue
        for impl in caller.get_hookimpls():
            if impl.plugin_name == name and (impl.wrapper or impl.hookwrapper):
                raise pluggy.PluginValidationError(
                    impl.plugin, f"{caller.name} cannot be a wrapper: it is called per plugin"
                )


class _Relay:
    """``relay.<hook>(...)`` calls the hook on the enabled plugins only."""

    def __init__(self, pm: pluggy.PluginManager, off: list[object]) -> None:
        self._pm = pm
        self._off = off

    def __getattr__(self, name: str) -> Any:
        caller = self._pm.subset_hook_caller(name, remove_plugins=self._off)
        setattr(self, name, caller)
        return caller


def _manifest_of(module: object) -> Manifest:
    manifest = getattr(module, "manifest", None)
    if manifest is None:
        return Manifest(title=getattr(module, "__name__", "plugin"))
    if not isinstance(manifest, Manifest):
        raise TypeError("'manifest' must be a balai.Manifest")
    return manifest


def _info_for_object(obj: object) -> PluginInfo:
    """Describe a plugin given directly (tests, ``EXTRA_PLUGINS``) instead of by entry point."""
    name = getattr(obj, "name", None) or getattr(obj, "__name__", "").rsplit(".", 1)[-1]
    info = PluginInfo(name=name, module=obj, version="0", summary=(obj.__doc__ or "").strip())
    try:
        info.manifest = _manifest_of(obj)
    except TypeError as exc:
        info.error = str(exc)
    return info


def _migrations_dir(info: PluginInfo) -> Path | None:
    if info.manifest is None or info.manifest.migrations is None:
        return None
    module_file = getattr(info.module, "__file__", None)
    if not isinstance(info.module, ModuleType) or module_file is None:
        return None
    folder = Path(module_file).parent / info.manifest.migrations / "versions"
    return folder if folder.is_dir() else None


def _migrations_by_location(module: str) -> Path | None:
    """A broken plugin's ``migrations/versions``, found without importing it."""
    try:
        spec = importlib.util.find_spec(module.split(".")[0])
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "migrations" / "versions"
    return folder if folder.is_dir() else None


def plugins(app: Flask | None = None) -> Plugins:
    """The :class:`Plugins` of ``app`` (default: the current app)."""
    return (app or current_app).extensions["balai.plugins"]


def hooks() -> _Relay:
    """Hook callers for the current tenant: only its enabled plugins (and built-ins)."""
    tenant = g.get("tenant")
    return plugins().relay(tenant.plugins if tenant is not None else frozenset())


def collect(hook: str, **kwargs: Any) -> list[Any]:
    """Call a non-essential list hook for the current tenant, containing failures.

    Each plugin's list is flattened into one list, in plugin order.
    """
    tenant = g.get("tenant")
    enabled = tenant.plugins if tenant is not None else frozenset()
    items: list[Any] = []
    for _name, result in plugins().call_each(hook, plugins=enabled, **kwargs):
        items.extend(result if isinstance(result, list | tuple) else [result])
    return items


def register_blueprints(app: Flask, manager: Plugins) -> None:
    """Register every working plugin's web blueprints, remembering their owner.

    A blueprint whose name is taken (by the core or another plugin) makes its
    plugin broken instead of stopping the app.
    """
    for name, result in manager.call_each("register_routes", startup=True, app=app):
        for blueprint in _as_list(result):
            if not isinstance(blueprint, Blueprint):
                manager.mark_broken(
                    name, f"register_routes returned {blueprint!r}, not a Blueprint"
                )
                break
            try:
                app.register_blueprint(blueprint)
            except Exception as exc:  # a taken name, a bad URL rule: that plugin only
                manager.mark_broken(name, f"register_routes: {type(exc).__name__}: {exc}")
                break
            manager.blueprint_owner[blueprint.name] = name


def _as_list(result: Blueprint | list[Blueprint]) -> list[Blueprint]:
    return list(result) if isinstance(result, list | tuple) else [result]


def enforce_route_access(app: Flask, manager: Plugins) -> None:
    """Deny by default: refuse every route without an access declaration.

    Run once the core's and the plugins' blueprints are registered. A plugin with
    such a route is marked broken with the reasons, so its routes answer 404 and
    the rest of the platform runs; in the core, such a route stops the start-up.
    Every request is checked again (:func:`balai.permissions.refuse_undeclared`),
    which also covers routes added later.
    """
    from balai.permissions import refuse_undeclared, route_problems

    by_plugin: dict[str, list[str]] = {}
    in_core: list[str] = []
    for problem in route_problems(app):
        blueprint = problem.endpoint.rpartition(".")[0] or None
        owner = manager.owner_of(blueprint)
        if owner is not None:
            by_plugin.setdefault(owner, []).append(str(problem))
        elif blueprint is not None and blueprint.split(".")[0] in app.blueprints:
            in_core.append(str(problem))
        else:  # added outside any blueprint (app.add_url_rule): refused per request
            log.error("route refused, it declares no access: %s", problem)
    if in_core:
        raise RuntimeError("core routes without an access declaration: " + "; ".join(in_core))
    for name, problems in sorted(by_plugin.items()):
        info = manager.get(name)
        if info is not None and not info.broken:
            manager.mark_broken(name, "routes refused: " + "; ".join(problems))
    app.before_request(refuse_undeclared)


def gate_disabled_plugins() -> None:
    """404 for a plugin's routes when the current tenant has not enabled it."""
    owner = plugins().owner_of(request.blueprint)
    tenant = g.get("tenant")
    if owner is not None and (tenant is None or owner not in tenant.plugins):
        abort(404)
