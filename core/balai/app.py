"""``create_app``: the one place that wires everything together."""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping
from typing import Any

from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from werkzeug.routing import IntegerConverter, Rule, UnicodeConverter

from balai import (
    api,
    auth,
    builtins,
    channels,
    config,
    devmail,
    health,
    i18n,
    jobs,
    logs,
    meta,
    metrics,
    pagecache,
    permissions,
    ratelimit,
    settings,
    sms,
    storage,
    tenancy,
    themes,
    web,
)
from balai.admin import views as admin_views
from balai.auth import views as auth_views
from balai.db import db
from balai.fields import INT_MAX
from balai.forms import CleanRequest
from balai.plugins import (
    Plugins,
    enforce_route_access,
    gate_disabled_plugins,
    register_blueprints,
)
from balai.themes import ThemedFlask

csrf = CSRFProtect()
babel = Babel()


class IdConverter(IntegerConverter):
    """``<int:...>`` up to the largest id a database column holds (INTEGER); beyond it, 404."""

    def __init__(self, map: Any, *args: Any, max: int = INT_MAX, **kwargs: Any) -> None:
        super().__init__(map, *args, max=max, **kwargs)


class TextConverter(UnicodeConverter):
    """``<name>`` and ``<string:name>``: a path segment without control characters (else 404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00-\\x1f\\x7f]", 1)


class LazyRule(Rule):
    """A URL rule whose URL builders are compiled on first use, not at start-up.

    Werkzeug compiles two Python functions per rule when the rule is added (about
    half of ``create_app``'s own time with a few hundred rules); most rules of a
    worker are never built with ``url_for``. The builder is the same function,
    compiled from the rule's parts at the first ``url_for`` instead.
    """

    def _compile_builder(self, append_unknown: bool = True) -> Any:
        name = "_build_unknown" if append_unknown else "_build"

        def build(rule: LazyRule, **values: Any) -> tuple[str, str]:
            compiled = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            setattr(rule, name, compiled)
            return compiled(**values)

        return build


def instance_path(given: str | None = None) -> str:
    """The instance folder: as given, else ``BALAI_INSTANCE_PATH``, else ``./instance``."""
    return os.path.abspath(given or os.environ.get("BALAI_INSTANCE_PATH") or "instance")


def create_app(config_overrides: Mapping[str, Any] | None = None) -> ThemedFlask:
    """Build a Balai application.

    :param config_overrides: settings that win over defaults, the instance file
        ``balai.cfg`` and ``BALAI_*`` environment variables; ``INSTANCE_PATH``
        among them chooses the instance folder.

    The cyclic garbage collector is paused while it builds: building makes hundreds of
    thousands of objects that live as long as the app (plugin modules, models, rules,
    schemas), which every collection would walk again for nothing.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(config_overrides)
    finally:
        if collecting:
            gc.enable()


def _build(config_overrides: Mapping[str, Any] | None) -> ThemedFlask:
    overrides = dict(config_overrides or {})
    app = ThemedFlask(
        "balai",
        instance_path=instance_path(overrides.pop("INSTANCE_PATH", None)),
        instance_relative_config=True,
    )
    config.load(app, overrides)
    app.request_class = CleanRequest
    app.url_rule_class = LazyRule
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = app.url_map.converters["string"] = TextConverter
    os.makedirs(app.instance_path, exist_ok=True)

    manager = Plugins()
    manager.load(builtins=[("balai", builtins)], extra=app.config.get("EXTRA_PLUGINS", ()))
    app.extensions["balai.plugins"] = manager
    themes_found = themes.discover() | dict(app.config.get("EXTRA_THEMES", {}))
    app.setup_themes(themes_found, app.config["DEFAULT_THEME"])

    db.init_app(app)
    storage.init_app(app)
    metrics.init_app(app)  # its after_request runs last, timing the others too
    logs.init_app(app)  # its before_request runs first: the request id for every log
    ratelimit.init_app(app)
    tenancy.init_app(app)
    auth.init_app(app)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=web.select_locale,
        timezone_selector=tenancy.select_timezone,
        default_translation_directories=i18n.translation_directories(manager),
    )
    i18n.init_app(app, manager)  # times say their zone; a plugin's own words its way
    permissions.init_app(
        app, manager.call_each("register_permissions", startup=True), manager.mark_broken
    )
    settings.init_app(
        app, manager.call_each("register_settings_schema", startup=True), manager.mark_broken
    )

    themes.init_app(app)
    web.init_app(app)
    pagecache.init_app(app)
    app.register_blueprint(meta.bp)
    health.init_app(app)
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(admin_views.bp, url_prefix="/admin")
    api.init_app(app, manager, csrf)
    sms.init_app(app, csrf)
    devmail.init_app(app)  # the demo's mailbox page, only in balai demo
    register_blueprints(app, manager)
    app.before_request(gate_disabled_plugins)
    enforce_route_access(app, manager)  # after every route: deny what declares no access
    channels.init_app(app, manager)  # after the plugins that routes left broken are out
    jobs.init_app(app, manager)
    manager.call_each("register_commands", startup=True, cli=app.cli)
    return app
