"""Themes: discovery, per-tenant template lookup and static files.

A theme is a distribution publishing a :class:`Theme` under the entry-point group
``balai.themes``. Template lookup for a tenant: its theme, then the default
theme, then the app's and the plugins' own templates. A theme can extend the
template it overrides through a prefix: ``{% extends "default:base.html" %}``.
Each theme gets its own Jinja environment (an overlay sharing globals and
filters) so compiled templates are cached per theme, never mixed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    has_app_context,
    request,
    url_for,
)
from flask.templating import DispatchingJinjaLoader
from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PrefixLoader
from werkzeug.wrappers import Response

from balai import plugins, storage
from balai.permissions import public
from balai.static import send_static

__all__ = ["Theme", "theme_static"]

log = logging.getLogger(__name__)
_SAFE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")  # the only colour form themes accept
ENTRY_POINT_GROUP = "balai.themes"


@dataclass(frozen=True)
class Theme:
    """A theme: a folder with ``templates/`` and ``static/``, and default colours.

    :param name: the theme's name, as tenants choose it.
    :param label: what region admins see.
    :param root: the folder holding ``templates/`` and ``static/``.
    :param colours: default colours (``primary``, ``accent``, ...) as ``#rrggbb``.
    """

    name: str
    label: str
    root: Path
    colours: dict[str, str] = field(default_factory=dict)

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @property
    def static(self) -> Path:
        return self.root / "static"


def discover() -> dict[str, Theme]:
    """Every installed theme by name; a theme that fails to load is logged and left out."""
    found: dict[str, Theme] = {}
    for ep in plugins.entry_points(ENTRY_POINT_GROUP):  # one reading for plugins and themes
        try:
            theme = ep.load()
        except Exception:
            log.exception("theme %s failed to load", ep.name)
            continue
        if isinstance(theme, Theme):
            found[theme.name] = theme
        else:
            log.error("theme %s is not a balai.themes.Theme", ep.name)
    return found


class ThemedFlask(Flask):
    """Flask whose ``jinja_env`` is the current tenant's theme environment."""

    themes: dict[str, Theme]
    default_theme: str

    def setup_themes(self, themes: dict[str, Theme], default: str) -> None:
        if default not in themes:
            raise RuntimeError(
                f"the default theme {default!r} is not installed "
                "(pip install themes/balai-theme-default)"
            )
        self.themes, self.default_theme = themes, default
        self._theme_envs: dict[str, Environment] = {}

    def create_global_jinja_loader(self) -> BaseLoader:
        default = self.themes[self.default_theme]
        return ChoiceLoader(
            [
                FileSystemLoader(default.templates),
                DispatchingJinjaLoader(self),
                PrefixLoader(self._prefixes(), delimiter=":"),
            ]
        )

    def _prefixes(self) -> dict[str, BaseLoader]:
        loaders: dict[str, BaseLoader] = {
            name: FileSystemLoader(theme.templates) for name, theme in self.themes.items()
        }
        loaders["app"] = DispatchingJinjaLoader(self)
        return loaders

    @property  # type: ignore[override]
    def jinja_env(self) -> Environment:
        base = self._base_jinja_env
        tenant = g.get("tenant") if has_app_context() else None
        name = tenant.theme if tenant is not None else self.default_theme
        if name == self.default_theme or name not in self.themes:
            return base
        env = self._theme_envs.get(name)
        if env is None:
            loader = ChoiceLoader([FileSystemLoader(self.themes[name].templates), base.loader])
            env = self._theme_envs[name] = base.overlay(loader=loader)
        return env

    @property
    def _base_jinja_env(self) -> Environment:
        env: Environment | None = self.__dict__.get("_balai_base_env")
        if env is None:
            env = self.__dict__["_balai_base_env"] = self.create_jinja_environment()
        return env


def current_theme() -> Theme:
    app: ThemedFlask = current_app  # type: ignore[assignment]
    tenant = g.get("tenant")
    name = tenant.theme if tenant is not None else app.default_theme
    return app.themes.get(name) or app.themes[app.default_theme]


def theme_static(filename: str) -> str:
    """URL of a theme file: the tenant's theme if it has it, else the default theme."""
    app: ThemedFlask = current_app  # type: ignore[assignment]
    theme = current_theme()
    if not _has_file(theme.static, filename):
        theme = app.themes[app.default_theme]
    return url_for("balai_theme.static", theme=theme.name, filename=filename)


@lru_cache(maxsize=256)
def _has_file(folder: Path, filename: str) -> bool:
    """Whether an installed theme ships ``filename``: asked on every page, looked up once
    (a theme's files are those of its installed package)."""
    return (folder / filename).is_file()


def colours() -> dict[str, str]:
    """The tenant's colours over its theme's defaults."""
    tenant = g.get("tenant")
    merged = dict(current_theme().colours)
    if tenant is not None:
        merged.update(tenant.colours)
    return merged


bp = Blueprint("balai_theme", __name__)


@bp.route("/-/theme/<theme>/<path:filename>")
@public
def static(theme: str, filename: str) -> Response:
    app: ThemedFlask = current_app  # type: ignore[assignment]
    found = app.themes.get(theme)
    if found is None:
        abort(404)
    return send_static(found.static, filename, max_age=60 * 60 * 24)


@bp.route("/-/tenant.css")
@public
def tenant_css() -> Response:
    """The tenant's colours as CSS custom properties (no inline styles, CSP-friendly)."""
    body = (
        ":root{"
        + ";".join(
            f"--{name}:{value}"
            for name, value in sorted(colours().items())
            if _SAFE_NAME.match(name) and COLOUR.match(value)
        )
        + "}\n"
    )
    response = Response(body, mimetype="text/css")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.route("/-/logo")
@public
def logo() -> Response:
    """The tenant's logo, streamed from the region's files (public: every page shows it)."""
    tenant = g.tenant
    if not tenant.logo:
        abort(404)
    return storage.send(
        storage.for_tenant(tenant), tenant.logo, cache_control="public, max-age=300"
    )


def init_app(app: ThemedFlask) -> None:
    app.register_blueprint(bp)
    app.add_template_global(theme_static)
    app.add_template_global(colours)
    app.add_template_global(current_theme)
