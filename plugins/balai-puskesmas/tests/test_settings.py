"""The plugin's settings on the region admin's settings page: the SATUSEHAT secret is
sealed and write-only, and the servers are the operator's list, not an address field."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from balai.db import db
from balai.tenancy import registry
from balai.testing import downgraded
from balai_puskesmas.commands import send_for
from balai_puskesmas.settings import DEFAULT_ENDPOINTS

from .fake_satusehat import running

PAGE = "/admin/plugin/puskesmas/pengaturan"
SECRET = "rahasia-klien-satusehat-123"


# The core's table of plugin states, named as the plugin's own migrations name it: a
# region's settings as an older version of the plugin stored them.
PLUGIN_STATE = sa.table(
    "balai_plugin_state",
    sa.column("tenant_id", sa.Integer),
    sa.column("plugin", sa.String),
    sa.column("settings", sa.JSON),
)
STATE = sa.table("balai_state", sa.column("version", sa.Integer))


def stored(tenant) -> str:
    """The plugin's settings as the database holds them (secrets sealed)."""
    return json.dumps(registry().by_id(tenant.id).plugin_settings["puskesmas"])


def store_as_an_older_version_did(tenant, values: dict) -> None:
    """Settings no longer valid, written past the schema, as an older version kept them."""
    with db.all_tenants() as session:
        session.execute(
            PLUGIN_STATE.update()
            .where(PLUGIN_STATE.c.tenant_id == tenant.id, PLUGIN_STATE.c.plugin == "puskesmas")
            .values(settings=values)
        )
        session.execute(STATE.update().values(version=STATE.c.version + 1))


def test_the_page_shows_every_setting(client, enabled, login):
    login(client, role="admin")
    page = client.get(PAGE)
    assert page.status_code == 200
    for name in (
        "share_records",
        "closed_on_holidays",
        "desk_share_percent",
        "satusehat_server",
        "max_attempts",
    ):
        assert f'name="{name}"' in page.text
    label = "Bagian kuota harian tiap poli yang disisihkan untuk loket dan kios, dalam persen"
    assert label in page.text
    assert 'name="satusehat_client_secret" type="password" value=""' in page.text


def test_the_client_secret_is_sealed_and_never_echoed(app, client, enabled, login):
    login(client, role="admin")
    saved = client.post(
        PAGE, data={"satusehat_client_id": "klien", "satusehat_client_secret": SECRET}
    )
    assert saved.status_code == 302
    assert SECRET not in stored(enabled)
    page = client.get(PAGE)
    assert SECRET not in page.text
    assert "Nilai sudah diisi dan tidak ditampilkan." in page.text
    # Saving other settings with the field left empty keeps the secret.
    assert client.post(PAGE, data={"max_attempts": "5"}).status_code == 302
    with app.test_request_context():
        from flask import g

        from balai.settings import plugin_settings

        g.tenant = registry(app).by_id(enabled.id)
        resolved = plugin_settings("puskesmas")
    assert resolved["satusehat_client_secret"] == SECRET
    assert resolved["max_attempts"] == 5


def test_the_servers_are_the_operators_list(app, client, enabled, login):
    login(client, role="admin")
    page = client.get(PAGE)
    assert '<option value="staging" selected>' in page.text
    assert '<option value="production"' in page.text
    assert 'name="satusehat_base_url"' not in page.text
    assert 'name="satusehat_token_url"' not in page.text
    # An address is not a choice: nothing is saved.
    for value in ("http://127.0.0.1:8080/fhir", "https://intranet.kota-a.go.id/", "fake"):
        refused = client.post(PAGE, data={"satusehat_server": value})
        assert refused.status_code == 400, value
        assert "satusehat_server" not in stored(enabled)
    assert client.post(PAGE, data={"satusehat_server": "production"}).status_code == 302
    assert json.loads(stored(enabled))["satusehat_server"] == "production"


def test_the_sender_posts_only_to_the_chosen_offered_server(app, enabled):
    """A region's stored address (as older versions allowed) is never used: the sender
    asks the operator's list, and a name it no longer offers sends nothing."""
    with running() as internal:
        settings = internal.region_settings(app)
        settings.update(
            satusehat_token_url=internal.token_url, satusehat_base_url=internal.base_url
        )
        # The operator offers production only; the region's stored choice ("fake") and
        # the default (staging) are not offered.
        app.config["PUSKESMAS_SATUSEHAT_ENDPOINTS"] = {
            "production": DEFAULT_ENDPOINTS["production"]
        }
        store_as_an_older_version_did(enabled, settings)
        summary = send_for(registry(app).by_id(enabled.id))
        assert summary is not None
        assert "is not offered by this installation" in summary.message
        assert internal.token_requests == 0 and internal.fhir_requests == 0


@pytest.mark.parametrize("name", ["production", "staging"])
def test_the_default_servers_are_satusehats(name):
    entry = DEFAULT_ENDPOINTS[name]
    host = (
        "api-satusehat.kemkes.go.id"
        if name == "production"
        else ("api-satusehat-stg.dto.kemkes.go.id")
    )
    assert entry["token_url"] == (
        f"https://{host}/oauth2/v1/accesstoken?grant_type=client_credentials"
    )
    assert entry["base_url"] == f"https://{host}/fhir-r4/v1"


def test_the_migration_seals_stored_secrets_and_names_the_server(app, enabled):
    old = {
        "export_enabled": True,
        "satusehat_client_id": "klien",
        "satusehat_client_secret": SECRET,
        "satusehat_token_url": DEFAULT_ENDPOINTS["production"]["token_url"],
        "satusehat_base_url": DEFAULT_ENDPOINTS["production"]["base_url"],
    }
    with downgraded(app, "puskesmas_0001"):
        store_as_an_older_version_did(enabled, old)
    migrated = json.loads(stored(enabled))
    assert SECRET not in json.dumps(migrated)
    assert migrated["satusehat_server"] == "production"
    assert "satusehat_base_url" not in migrated and "satusehat_token_url" not in migrated
    with app.test_request_context():
        from flask import g

        from balai.settings import plugin_settings

        g.tenant = registry(app).by_id(enabled.id)
        assert plugin_settings("puskesmas")["satusehat_client_secret"] == SECRET
