"""Cross-origin reading: Open311 GETs and the GeoJSON feed are readable from any web
page; POST answers carry no CORS header, and a preflight allows reading only."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from balai.tenancy import TenantInfo
from balai_pengaduan.clients import create_client
from balai_pengaduan.models import Category

BASE = "/pengaduan/open311/v2"
ORIGIN = {"Origin": "https://peta.contoh.id"}
PUBLIC_GETS = [
    f"{BASE}/services.json",
    f"{BASE}/services.xml",
    f"{BASE}/services/SAMPAH.json",
    f"{BASE}/requests.json",
    f"{BASE}/requests.xml",
    "/pengaduan/open311/discovery.json",
    "/pengaduan/open311/discovery.xml",
    "/pengaduan/peta.geojson",
]


@pytest.fixture
def region(enable_plugin: Callable[..., TenantInfo], db_session) -> TenantInfo:
    enabled = enable_plugin("pengaduan")
    db_session.add(Category(code="SAMPAH", name="Sampah menumpuk"))
    db_session.commit()
    return enabled


@pytest.mark.parametrize("path", PUBLIC_GETS)
def test_public_gets_are_readable_from_any_origin(client, region, path):
    response = client.get(path, headers=ORIGIN)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_errors_of_a_get_are_readable_too(client, region, fmt):
    for path in (f"{BASE}/services/TIDAKADA.{fmt}", f"{BASE}/nothing.{fmt}"):
        response = client.get(path, headers=ORIGIN)
        assert response.status_code == 404
        assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_post_answers_carry_no_cors_header(client, region, db_session, fmt):
    _client, key = create_client(db_session, "Aplikasi Kota")
    db_session.commit()
    form = {"service_code": "SAMPAH", "lat": "-6.17", "long": "106.63", "description": "Sampah."}
    created = client.post(f"{BASE}/requests.{fmt}", data={**form, "api_key": key}, headers=ORIGIN)
    refused = client.post(f"{BASE}/requests.{fmt}", data=form, headers=ORIGIN)
    assert (created.status_code, refused.status_code) == (200, 403)
    for response in (created, refused):
        assert not any(h.startswith("Access-Control-") for h, _v in response.headers)


@pytest.mark.parametrize("path", [f"{BASE}/requests.json", "/pengaduan/peta.geojson"])
def test_a_preflight_allows_reading_only(client, region, path):
    headers = {
        **ORIGIN,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "accept-language",
    }
    response = client.options(path, headers=headers)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    allowed = response.headers["Access-Control-Allow-Methods"].split(", ")
    assert set(allowed) == {"GET", "HEAD", "OPTIONS"}  # never POST
    assert response.headers["Access-Control-Allow-Headers"] == "accept-language"
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_a_preflight_for_post_is_not_granted(client, region):
    headers = {**ORIGIN, "Access-Control-Request-Method": "POST"}
    response = client.options(f"{BASE}/requests.json", headers=headers)
    assert "POST" not in response.headers.get("Access-Control-Allow-Methods", "")


def test_other_pages_of_the_plugin_stay_without_cors(client, region):
    response = client.get("/pengaduan/", headers=ORIGIN)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
