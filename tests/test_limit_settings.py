"""Limits a region admin sets: written in Bahasa Indonesia or English, stored one way,
shown in the admin's language, and a wrong one refused with the field's name."""

from __future__ import annotations

import pytest
from flask import g
from marshmallow import Schema

from balai import Manifest, hookimpl, ratelimit
from balai.i18n import N_
from balai.settings import LimitSetting, plugin_settings
from balai.tenancy import registry

PAGE = "/admin/plugin/batas/pengaturan"


class LimitedPlugin:
    """A plugin with one limit setting, as the complaint and queue services have."""

    name = "batas"
    manifest = Manifest(title="Batas", category="test")

    class Settings(Schema):
        per_address = LimitSetting(
            load_default="60 per day",
            metadata={"label": N_("Service")},  # a label the core's catalogue translates
        )

    @hookimpl
    def register_settings_schema(self) -> type[Schema]:
        return self.Settings


pytestmark = [pytest.mark.balai_plugins(LimitedPlugin()), pytest.mark.balai_config()]


@pytest.fixture
def admin_client(client, tenant, login, enable_plugin):
    enable_plugin("batas")
    login(client, role="admin")
    return client


def _stored(app, tenant) -> dict:
    return dict(registry(app).by_id(tenant.id).plugin_settings.get("batas", {}))


def _resolved(app, tenant) -> str:
    with app.test_request_context():
        g.tenant = registry(app).by_id(tenant.id)
        return plugin_settings("batas")["per_address"]


def _field(page: str) -> str:
    import re

    found = re.search(r'name="per_address"[^>]*value="([^"]*)"', page)
    assert found, "no limit field on the page"
    return found.group(1)


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("10 per jam", "10 per hour", "10 per jam"),
        ("5 per 15 menit", "5 per 15 minutes", "5 per 15 menit"),
        ("100 per hari", "100 per day", "100 per hari"),
        ("100/hari", "100 per day", "100 per hari"),
        ("30 per detik", "30 per second", "30 per detik"),
        ("2 per minggu", "2 per 7 days", "2 per minggu"),
        ("40 per bulan", "40 per month", "40 per bulan"),
        ("500 per tahun", "500 per year", "500 per tahun"),
        ("3 kali per 2 Jam; 20/hari", "3 per 2 hours; 20 per day", "3 per 2 jam; 20 per hari"),
        ("5 per 15 minutes", "5 per 15 minutes", "5 per 15 menit"),
    ],
)
def test_a_limit_in_indonesian_is_stored_one_way_and_shown_in_indonesian(
    app, admin_client, tenant, typed, stored, shown
):
    response = admin_client.post(PAGE, data={"per_address": typed})
    assert response.status_code == 302
    assert _stored(app, tenant) == {"per_address": stored}
    assert _resolved(app, tenant) == stored
    assert ratelimit.Limit("test.batas", stored).items()  # what the service counts with
    assert _field(admin_client.get(PAGE).text) == shown


def test_the_form_speaks_the_admins_language(app, admin_client, tenant):
    admin_client.post(PAGE, data={"per_address": "5 per 15 menit"})
    assert _field(admin_client.get(PAGE).text) == "5 per 15 menit"
    admin_client.get("/bahasa?lang=en")
    assert _field(admin_client.get(PAGE).text) == "5 per 15 minutes"
    admin_client.get("/bahasa?lang=id")
    assert _field(admin_client.get(PAGE).text) == "5 per 15 menit"


@pytest.mark.parametrize("typed", ["10 per jem", "sepuluh per jam", "0 per jam", "10 jam"])
def test_a_wrong_limit_names_the_field_gives_an_example_and_saves_nothing(
    app, admin_client, tenant, typed
):
    response = admin_client.post(PAGE, data={"per_address": typed})
    assert response.status_code == 400
    page = response.text
    assert "Layanan: tulis batas" in page  # the field's label, translated
    assert "10 per jam" in page and "5 per 15 menit" in page  # examples the admin can copy
    assert "per hour" not in page  # all in the admin's language
    assert _field(page) == typed  # what was typed, to correct it
    assert _stored(app, tenant) == {}


def test_a_wrong_limit_in_english(app, admin_client, tenant):
    admin_client.get("/bahasa?lang=en")
    page = admin_client.post(PAGE, data={"per_address": "10 per jem"}).text
    assert 'Service: write a limit such as "10 per hour" or "5 per 15 minutes"' in page.replace(
        "&#34;", '"'
    )


def test_an_empty_limit_is_no_limit_not_the_default(app, admin_client, tenant):
    assert _field(admin_client.get(PAGE).text) == "60 per hari"  # the default, in Indonesian
    assert admin_client.post(PAGE, data={"per_address": ""}).status_code == 302
    assert _stored(app, tenant) == {"per_address": ""}
    assert _resolved(app, tenant) == ""
    assert _field(admin_client.get(PAGE).text) == ""
    assert admin_client.post(PAGE, data={"per_address": "tanpa batas"}).status_code == 302
    assert _resolved(app, tenant) == ""
