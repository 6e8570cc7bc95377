"""The region admin's settings form, generated from a plugin's marshmallow schema."""

from __future__ import annotations

import hello
import pytest

from balai.tenancy import registry

pytestmark = [
    pytest.mark.balai_plugins(hello),
    pytest.mark.balai_config(
        BABEL_DEFAULT_LOCALE="en", WTF_CSRF_ENABLED=True, PLUGIN_SETTINGS={"hello": {"times": 2}}
    ),
]


@pytest.fixture
def admin_client(client, tenant, login, enable_plugin):
    enable_plugin("hello")
    login(client, role="admin")
    return client


def _token(client):
    from balai.testing import csrf_token

    return csrf_token(client, "/admin/plugin/hello/pengaturan")


def test_form_shows_resolved_values(admin_client):
    page = admin_client.get("/admin/plugin/hello/pengaturan").text
    assert 'value="Halo"' in page and 'value="2"' in page


def test_saving_keeps_only_the_regions_own_choices(app, admin_client, tenant):
    form = {"csrf_token": _token(admin_client), "greeting": "Hai", "times": "2"}
    response = admin_client.post("/admin/plugin/hello/pengaturan", data=form)
    assert response.status_code == 302
    stored = registry(app).by_id(tenant.id).plugin_settings["hello"]
    assert stored == {"greeting": "Hai"}  # times follows the deployment's value
    assert admin_client.get("/hello/").text == "Hai Hai"


def test_bad_values_are_refused_and_nothing_is_saved(app, admin_client, tenant):
    form = {"csrf_token": _token(admin_client), "greeting": "Hai", "times": "99"}
    response = admin_client.post("/admin/plugin/hello/pengaturan", data=form)
    assert response.status_code == 400
    assert "times" in response.text
    assert registry(app).by_id(tenant.id).plugin_settings.get("hello", {}) == {}


def test_back_to_defaults(app, admin_client, tenant):
    token = _token(admin_client)
    admin_client.post(
        "/admin/plugin/hello/pengaturan", data={"csrf_token": token, "greeting": "Hai"}
    )
    admin_client.post("/admin/plugin/hello/pengaturan", data={"csrf_token": token, "reset": "1"})
    assert registry(app).by_id(tenant.id).plugin_settings["hello"] == {}
    assert admin_client.get("/hello/").text == "Halo Halo"


def test_officers_cannot_change_settings(client, tenant, login, enable_plugin):
    enable_plugin("hello")
    login(client, role="opd")
    assert client.get("/admin/plugin/hello/pengaturan").status_code == 403
