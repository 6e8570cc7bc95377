"""Deny by default: a route without an access declaration is never served.

At start-up every route of ``app.url_map`` must be guarded by ``require(...)`` or
marked ``public`` (static files are public by themselves) and require only declared
permissions. A plugin with such a route is marked broken with the reason and its
routes answer 404; in the core it stops the start-up. Each request is checked again,
so a route added later answers 403.
"""

from __future__ import annotations

import logging

import careless
import hello
import pytest
from careless import SECRET
from flask import Blueprint

from balai import meta
from balai.channels import keywords
from balai.cli import cli
from balai.db import db
from balai.plugins import plugins
from balai.tenancy import PluginState, TenancyError, bump_state, enable_plugin, registry

pytestmark = [
    pytest.mark.balai_plugins(hello),
    pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en"),
]

CARELESS = (
    careless.Undeclared,
    careless.WrongOrder,
    careless.UndeclaredApi,
    careless.UnknownPermission,
)


def switched_on_in_the_database(app, tenant, name):
    """As if the region had switched ``name`` on before an upgrade broke it."""
    with db.tenant_session(tenant.id) as session:
        session.add(PluginState(plugin=name, enabled=True))
        bump_state(session)
    return registry(app).by_id(tenant.id)


# -- the platform itself -------------------------------------------------------------


def test_every_route_of_the_core_and_installed_plugins_is_declared(app):
    from balai.permissions import route_problems

    assert route_problems(app) == []
    broken = {name: info.error for name, info in plugins(app).installed.items() if info.broken}
    assert broken == {}
    assert any(rule.rule.startswith("/hello/") for rule in app.url_map.iter_rules())


def test_static_files_are_public_by_themselves(client, tenant, enable_plugin):
    enable_plugin("pengumuman")  # a blueprint static_folder with no view of its own
    with client.get("/pengumuman/static/pengumuman.css") as response:
        assert response.status_code == 200


# -- careless plugins ----------------------------------------------------------------


@pytest.mark.balai_plugins(*CARELESS)
def test_undeclared_routes_break_their_plugin_and_are_not_served(app, client, tenant, login):
    installed = plugins(app).installed
    assert "/undeclared/rahasia (undeclared.secret)" in installed["undeclared"].error
    assert "declares no access" in installed["undeclared"].error
    assert "above the route decorator" in installed["wrong_order"].error
    assert "POST handler declares no access" in installed["undeclared_api"].error
    assert "unknown_permission.view_thing" in installed["unknown_permission"].error
    assert "RAHASIA" not in keywords(app)  # a broken plugin answers no SMS either
    for name in ("undeclared", "wrong_order", "undeclared_api", "unknown_permission"):
        with pytest.raises(TenancyError, match="broken"):
            enable_plugin(app, tenant, name)
        switched_on_in_the_database(app, tenant, name)
    assert not {"undeclared", "wrong_order"} & registry(app).by_id(tenant.id).plugins
    login(client, role="opd")
    for path in ("/undeclared/rahasia", "/undeclared/", "/wrong-order/rahasia"):
        response = client.get(path)
        assert response.status_code == 404 and SECRET not in response.text
    assert client.post("/api/v1/undeclared_api/notes", json={}).status_code == 404
    assert client.get("/unknown-permission/").status_code == 404
    # the rest of the platform works
    enable_plugin(app, tenant, "hello")
    assert client.get("/hello/").text == "Halo"
    assert client.get("/").status_code == 200


@pytest.mark.balai_plugins.with_args(careless.DeclaredApi)
def test_method_views_declared_per_handler_are_served_as_declared(
    app, client, tenant, enable_plugin, login
):
    assert plugins(app).installed["declared_api"].error is None
    enable_plugin("declared_api")
    assert client.get("/api/v1/declared_api/notes").json == {"notes": "public"}
    assert client.post("/api/v1/declared_api/notes", json={}).status_code == 401
    login(client, role="opd")
    assert client.post("/api/v1/declared_api/notes", json={}).status_code == 403


@pytest.mark.balai_plugins.with_args(careless.Undeclared)
def test_the_reason_is_shown_where_broken_plugins_are(app, client, tenant, login):
    result = app.test_cli_runner().invoke(cli, ["plugins", "list"])
    row = next(line for line in result.output.splitlines() if line.startswith("undeclared"))
    assert "broken: routes refused" in row and "undeclared.secret" in row
    login(client, role="admin")
    assert "undeclared.secret" in client.get("/admin/plugin").text
    rows = {row["name"]: row for row in client.get("/-/plugins.json").json}
    assert rows["undeclared"]["broken"] and "declares no access" in rows["undeclared"]["error"]


@pytest.mark.balai_plugins(careless.Undeclared, careless.WrongOrder)
def test_each_request_is_checked_again(make_app, tenant, monkeypatch, caplog):
    import balai.permissions

    monkeypatch.setattr(balai.permissions, "route_problems", lambda app: [])  # start-up misses
    app = make_app()
    with app.app_context():
        current = registry(app).by_id(tenant.id)
        enable_plugin(app, current, "undeclared")
        enable_plugin(app, current, "wrong_order")
    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        for path in ("/undeclared/rahasia", "/wrong-order/rahasia"):
            response = client.get(path, base_url="http://kota-a.test")
            assert response.status_code == 403 and SECRET not in response.text
    assert "undeclared.secret declares no access" in caplog.text
    assert client.get("/undeclared/", base_url="http://kota-a.test").text == "welcome"


def test_a_route_added_after_start_up_is_refused(app, client, tenant, caplog):
    app.add_url_rule("/-/late", "late", lambda: SECRET)
    with caplog.at_level(logging.ERROR):
        response = client.get("/-/late")
    assert response.status_code == 403 and SECRET not in response.text
    assert "late declares no access" in caplog.text


def test_an_undeclared_core_route_stops_the_start_up(make_app, monkeypatch):
    careless_meta = Blueprint("balai_meta", __name__)
    careless_meta.add_url_rule("/-/rahasia", "secret", lambda: SECRET)
    monkeypatch.setattr(meta, "bp", careless_meta)
    with pytest.raises(RuntimeError, match=r"/-/rahasia \(balai_meta.secret\)"):
        make_app()
