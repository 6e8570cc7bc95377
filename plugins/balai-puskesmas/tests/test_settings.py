"""The plugin's settings on the region admin's settings page."""

from __future__ import annotations

PAGE = "/admin/plugin/puskesmas/pengaturan"


def test_the_page_shows_every_setting_and_hides_the_secret(client, enabled, login):
    login(client, role="admin")
    page = client.get(PAGE)
    assert page.status_code == 200
    for name in ("share_records", "closed_on_holidays", "satusehat_base_url", "max_attempts"):
        assert f'name="{name}"' in page.text
    assert 'name="satusehat_client_secret" type="password"' in page.text


def test_satusehat_addresses_must_be_encrypted(client, enabled, login):
    login(client, role="admin")
    refused = client.post(PAGE, data={"satusehat_base_url": "http://example.com/fhir"})
    assert refused.status_code == 400
    assert "https://" in refused.text
    local = client.post(PAGE, data={"satusehat_base_url": "http://127.0.0.1:8080/fhir"})
    assert local.status_code == 302
    saved = client.post(PAGE, data={"satusehat_base_url": "https://fhir.example.id/r4"})
    assert saved.status_code == 302
