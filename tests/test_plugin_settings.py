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
    # Said at the top of a long form too, not only beside the field far below.
    text = response.text
    assert text.index("Nothing was saved") < text.index('id="times-error"')
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


# -- secret settings -------------------------------------------------------------------


def _stored_json(tenant) -> str:
    """The plugin's settings row as the database holds it."""
    import json

    from sqlalchemy import select

    from balai.db import db
    from balai.tenancy.models import PluginState

    with db.tenant_session(tenant.id) as session:
        state = session.scalar(select(PluginState).where(PluginState.plugin == "hello"))
        return json.dumps(state.settings if state else {})


def _resolved(app, tenant) -> dict:
    from flask import g

    from balai.settings import plugin_settings

    with app.test_request_context():
        g.tenant = registry(app).by_id(tenant.id)
        return plugin_settings("hello")


def test_a_secret_is_sealed_and_never_shown_again(app, admin_client, tenant):
    page = admin_client.get("/admin/plugin/hello/pengaturan").text
    assert 'name="api_key" type="password" value=""' in page and "No value is set yet." in page
    form = {"csrf_token": _token(admin_client), "greeting": "Hai", "api_key": "kunci-rahasia-1"}
    assert admin_client.post("/admin/plugin/hello/pengaturan", data=form).status_code == 302
    assert "kunci-rahasia-1" not in _stored_json(tenant)
    assert "sealed" in _stored_json(tenant)
    assert _resolved(app, tenant)["api_key"] == "kunci-rahasia-1"
    page = admin_client.get("/admin/plugin/hello/pengaturan").text
    assert "kunci-rahasia-1" not in page and 'name="api_key" type="password" value=""' in page
    assert "A value is set; it is not shown." in page
    # Saving with the field left empty keeps it; typing a new one replaces it.
    form = {"csrf_token": _token(admin_client), "greeting": "Halo lagi", "api_key": ""}
    assert admin_client.post("/admin/plugin/hello/pengaturan", data=form).status_code == 302
    assert _resolved(app, tenant)["api_key"] == "kunci-rahasia-1"
    form = {"csrf_token": _token(admin_client), "greeting": "Hai", "api_key": "kunci-2"}
    admin_client.post("/admin/plugin/hello/pengaturan", data=form)
    assert _resolved(app, tenant)["api_key"] == "kunci-2"
    # A refused form does not echo what was typed either.
    form = {"csrf_token": _token(admin_client), "times": "99", "api_key": "kunci-3"}
    refused = admin_client.post("/admin/plugin/hello/pengaturan", data=form)
    assert refused.status_code == 400 and "kunci-3" not in refused.text
    assert _resolved(app, tenant)["api_key"] == "kunci-2"


def test_secrets_saved_by_code_are_sealed_too(app, tenant, other_tenant, enable_plugin):
    from balai.tenancy import save_plugin_settings

    save_plugin_settings(app, registry(app).by_id(tenant.id), "hello", {"api_key": "k-123"})
    assert "k-123" not in _stored_json(tenant)
    assert _resolved(app, tenant)["api_key"] == "k-123"
    # Sealed for one region: copied into another region's settings, it does not open.
    copied = registry(app).by_id(tenant.id).plugin_settings["hello"]
    save_plugin_settings(app, registry(app).by_id(other_tenant.id), "hello", dict(copied))
    assert _resolved(app, other_tenant)["api_key"] == ""


@pytest.mark.balai_config(PLUGIN_SETTINGS={"hello": {"api_key": "dari-operator"}})
def test_a_deployment_secret_applies_and_is_not_shown(app, admin_client, tenant):
    assert _resolved(app, tenant)["api_key"] == "dari-operator"
    page = admin_client.get("/admin/plugin/hello/pengaturan").text
    assert "dari-operator" not in page and "A value is set; it is not shown." in page


def test_settings_are_read_with_one_schema_instance(app, tenant, other_tenant, monkeypatch):
    from balai.settings import schema_for

    with app.app_context():
        schema_cls = schema_for("hello", app)
    made = []
    monkeypatch.setattr(schema_cls, "__init__", _counting(schema_cls.__init__, made))
    first, second = _resolved(app, tenant), _resolved(app, other_tenant)
    assert first == second and first["times"] == 2  # the deployment's value
    assert len(made) <= 1  # not one per request


def _counting(init, made):
    def counted(self, *args, **kwargs):
        made.append(self)
        init(self, *args, **kwargs)

    return counted
