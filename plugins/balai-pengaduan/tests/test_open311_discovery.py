"""Open311 Service Discovery (wiki.open311.org/Service_Discovery), per region.

The discovery file sits beside the versioned endpoint (``/pengaduan/open311/v2``), at
``/pengaduan/open311/discovery.json`` and ``.xml``, as the specification's example
has ``/discovery`` above ``/v2``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from balai.tenancy import TenantInfo
from balai.testing import travel

DISCOVERY = "/pengaduan/open311/discovery"
FIELDS = ["changeset", "contact", "key_service", "endpoints"]
ENDPOINT_FIELDS = ["specification", "url", "changeset", "type", "formats"]
pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")


@pytest.fixture
def region(enable_plugin: Callable[..., TenantInfo]) -> TenantInfo:
    return enable_plugin("pengaduan")


def json_discovery(client: Any, **kwargs: Any) -> dict[str, Any]:
    response = client.get(f"{DISCOVERY}.json", **kwargs)
    assert response.status_code == 200
    assert response.content_type == "application/json; charset=utf-8"
    return json.loads(response.data)  # type: ignore[no-any-return]


@travel("2026-08-17T10:00:00+07:00")
def test_discovery_in_json_names_the_regions_endpoint(client, region):
    found = json_discovery(client)
    assert list(found) == FIELDS
    [endpoint] = found["endpoints"]
    assert list(endpoint) == ENDPOINT_FIELDS
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://kota-a.test/pengaduan/open311/v2"
    assert endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert found["changeset"] == endpoint["changeset"] == "2026-08-17T03:00:00Z"
    assert found["contact"] == "Kota A: http://kota-a.test/pengaduan/"
    assert "API key" in found["key_service"] and "Kota A" in found["key_service"]
    # The endpoint it names answers.
    path = endpoint["url"].removeprefix("http://kota-a.test")
    assert client.get(f"{path}/services.json").status_code == 200


@travel("2026-08-17T10:00:00+07:00")
def test_discovery_in_xml_has_the_same_document(client, region):
    response = client.get(f"{DISCOVERY}.xml")
    assert response.status_code == 200
    assert response.content_type == "text/xml; charset=utf-8"
    root = ET.fromstring(response.data)  # noqa: S314 - our own response, in a test
    assert root.tag == "discovery"
    assert [child.tag for child in root] == FIELDS
    [endpoint] = list(root.find("endpoints"))
    assert endpoint.tag == "endpoint"
    assert [child.tag for child in endpoint] == ENDPOINT_FIELDS
    assert endpoint.findtext("url") == "http://kota-a.test/pengaduan/open311/v2"
    assert [f.text for f in endpoint.find("formats")] == ["text/xml", "application/json"]
    assert [f.tag for f in endpoint.find("formats")] == ["format", "format"]
    assert root.findtext("changeset") == "2026-08-17T03:00:00Z"


def test_the_endpoint_url_never_comes_from_the_request_host(client, region):
    """Another port or a ``Host`` the region does not own never reaches the document."""
    for base_url in ("http://kota-a.test:8443", "https://kota-a.test"):
        endpoint = json_discovery(client, base_url=base_url)["endpoints"][0]
        assert endpoint["url"] == "http://kota-a.test/pengaduan/open311/v2"


def test_each_region_discovers_its_own_endpoint(
    client, other_client, region, other_tenant, enable_plugin
):
    other = enable_plugin("pengaduan", tenant=other_tenant)
    ours = json_discovery(client)["endpoints"][0]["url"]
    theirs = json_discovery(other_client)["endpoints"][0]["url"]
    assert (ours, theirs) == (
        "http://kota-a.test/pengaduan/open311/v2",
        "http://kota-b.test/pengaduan/open311/v2",
    )
    assert other.slug == "kota-b"


def test_contact_and_test_type_come_from_the_settings(client, region, set_plugin_settings):
    set_plugin_settings(
        "pengaduan", open311_contact="open311@kota-a.test, 021-555-0311", open311_test=True
    )
    found = json_discovery(client)
    assert found["contact"] == "open311@kota-a.test, 021-555-0311"
    assert "open311@kota-a.test" in found["key_service"]
    assert found["endpoints"][0]["type"] == "test"


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_a_region_without_the_plugin_has_no_discovery(client, tenant, fmt):
    response = client.get(f"{DISCOVERY}.{fmt}")
    assert response.status_code == 404
    assert response.content_type.startswith("text/xml" if fmt == "xml" else "application/json")
