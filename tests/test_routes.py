"""Every route either requires a permission (or a login) or is explicitly public."""

from __future__ import annotations

import hello
import pytest

from balai.permissions import access_of, registry

pytestmark = pytest.mark.balai_plugins(hello)


def test_every_route_is_guarded_or_public(app):
    unguarded = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static":
            continue  # Flask's own static files: the core's CSS and scripts
        if access_of(view) is None:
            unguarded.append(f"{rule.rule} ({rule.endpoint})")
    assert unguarded == []


def test_required_permissions_are_declared(app):
    declared = set(registry(app).permissions)
    undeclared = []
    for rule in app.url_map.iter_rules():
        access = access_of(app.view_functions[rule.endpoint])
        if access and access[0] == "require":
            undeclared += [f"{rule.rule}: {p}" for p in access[1] if p not in declared]
    assert undeclared == []


def test_the_walk_sees_plugin_routes(app):
    assert any(rule.rule.startswith("/hello/") for rule in app.url_map.iter_rules())
