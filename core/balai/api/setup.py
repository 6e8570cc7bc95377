"""``init_app``: mount the core's and the plugins' API blueprints, guard cookie writes."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app, request
from flask_login import current_user
from flask_smorest import Blueprint as ApiBlueprint
from flask_smorest.spec.plugins import FlaskPlugin
from flask_wtf.csrf import CSRFProtect

from balai.api.commands import openapi_cli
from balai.api.core import PREFIX, _bearer, core
from balai.api.openapi import (
    BalaiApi,
    BalaiMarshmallowPlugin,
    _ApiState,
    _SchemaNames,
    document,
)
from balai.plugins import Plugins

log = logging.getLogger(__name__)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _register_plugin_apis(app: Flask, manager: Plugins, state: _ApiState) -> None:
    for name, result in manager.call_each("register_api", startup=True, app=app):
        for blueprint in result if isinstance(result, list | tuple) else [result]:
            if not isinstance(blueprint, ApiBlueprint):
                log.error(
                    "plugin %s: register_api returned %r, not an ApiBlueprint", name, blueprint
                )
                continue
            try:
                state.mount(blueprint, name, url_prefix=f"{PREFIX}/{name}")
            except ValueError as exc:  # e.g. a blueprint name already taken
                log.error("plugin %s: API blueprint %s left out: %s", name, blueprint.name, exc)
                continue
            manager.blueprint_owner[blueprint.name] = name
            state.blueprints.add(blueprint.name)
            state.tags.setdefault(name, set()).add(blueprint.name)
    for rule in app.url_map.iter_rules():
        owner = manager.owner_of(rule.endpoint)
        if owner in state.tags:
            state.path_owner[FlaskPlugin.flaskpath2openapi(rule.rule)] = owner


def _csrf_for_cookies(csrf: CSRFProtect) -> Callable[[], None]:
    """Writes authenticated by the session cookie need the CSRF header.

    A bearer token cannot be sent by another site's page, and an anonymous
    request has no session for another site to borrow.
    """

    def check() -> None:
        if request.method not in UNSAFE_METHODS or not current_app.config["WTF_CSRF_ENABLED"]:
            return
        if _bearer() or not current_user.is_authenticated:
            return
        csrf.protect()

    return check


def init_app(app: Flask, manager: Plugins, csrf: CSRFProtect) -> None:
    """Mount the core's and the plugins' API blueprints; the document is written when asked for."""
    app.config.setdefault("OPENAPI_URL_PREFIX", None)  # we serve the document ourselves
    names = _SchemaNames()
    api = BalaiApi(
        app,
        spec_kwargs={
            "info": {"description": "The JSON API of a Balai region; see /api/v1/plugins."},
            "marshmallow_plugin": BalaiMarshmallowPlugin(schema_name_resolver=names),
        },
    )
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "Personal API token"}
    )
    api.spec.components.security_scheme(
        "session",
        {"type": "apiKey", "in": "cookie", "name": app.config["SESSION_COOKIE_NAME"]},
    )
    api.spec.options["security"] = [{"bearer": []}, {"session": []}]
    app.cli.add_command(openapi_cli)  # in place of flask-smorest's
    state = _ApiState(api, names)
    state.mount(core)
    state.blueprints.add(core.name)
    app.register_blueprint(document)
    _register_plugin_apis(app, manager, state)
    for name in state.blueprints:
        csrf.exempt(app.blueprints[name])
        # Keyed by blueprint: runs after the app's own hooks (tenant, gate, user).
        app.before_request_funcs.setdefault(name, []).append(_csrf_for_cookies(csrf))
    app.extensions["balai.api"] = state
