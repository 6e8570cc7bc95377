"""Open311 with a real client: ``georeport`` against the demo, served for real.

The demo (two regions) is served on 127.0.0.1 by werkzeug; each region is reached by
its own host name (``kota-tangerang.localhost``, ``kabupaten-lebak.localhost``)
through a transport adapter that connects to 127.0.0.1 and keeps the ``Host``, as
``tests/test_api_client.py`` does for the generated REST client. ``georeport`` (0.3.1)
runs unchanged: it finds its endpoint from the region's discovery file and reads the
service list, the requests and one request by id, in JSON and in XML.

``georeport`` has no POST, so submissions are posted the way the specification shows
(a form, ``application/x-www-form-urlencoded``) with ``requests``, the library
``georeport`` itself uses; what they answer is then read back through ``georeport``.

The other Python client, ``three`` (0.8.0, 2013), is not used: it is written for
Python 2 and cannot be imported on Python 3 (``from itertools import ifilter``).

One test for both regions: the demo is built once, and the suite's second run on
PostgreSQL leaves it out, since the demo always runs on an SQLite file of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import requests.sessions
import xmltodict
from flask import Flask
from georeport import GeoReport
from sqlalchemy import text

from balai import demo
from balai.db import db
from balai.tenancy import registry
from balai.testing import serve
from balai_pengaduan.clients import create_client

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("BALAI_TEST_DATABASE_URL")),
    reason="runs once, on the SQLite pass: the demo has a database of its own",
)

KOTA, LEBAK = demo.TENANTS
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# Characters XML 1.0 forbids (ESC, VT) in a complaint's text.
HOSTILE = "Lampu jalan\x1b[31m mati\x0b sejak kemarin."
READABLE = "Lampu jalan[31m mati sejak kemarin."


class ToLoopback(requests.adapters.HTTPAdapter):
    """Every host name connects to 127.0.0.1; the request keeps its ``Host``."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        request.headers["Host"] = parts.netloc
        request.url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{parts.port or 80}"))
        return super().send(request, **kwargs)


@dataclass(frozen=True)
class Served:
    app: Flask
    port: int

    def discovery_url(self, region: demo.DemoTenant) -> str:
        return f"http://{region.domains[0]}:{self.port}/pengaduan/open311/discovery.json"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo on its own SQLite file, served on a free port of 127.0.0.1."""
    app = demo.build(tmp_path_factory.mktemp("demo") / "balai-demo", {"PASSWORD_HASHING": "fast"})
    with serve(app) as port:
        app.config.update(demo.link_settings(port))  # links name the port
        yield Served(app, port)


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """``requests`` (and so ``georeport``, which calls ``requests.get``) reach 127.0.0.1."""
    monkeypatch.setattr(requests.sessions, "HTTPAdapter", ToLoopback)


def api_key(app: Flask, region: demo.DemoTenant) -> str:
    tenant = registry(app).by_slug(region.slug)
    assert tenant is not None
    with app.app_context(), db.tenant_session(tenant.id) as session:
        _client, key = create_client(session, "Aplikasi uji")
    return key


def items(found: Any) -> list[dict[str, Any]]:
    """xmltodict gives one element as a dict and several as a list."""
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def post(endpoint: str, fmt: str, **form: str) -> dict[str, Any]:
    """POST Service Request as the specification shows it; the one item answered."""
    response = requests.post(f"{endpoint}/requests.{fmt}", data=form, timeout=30)
    assert response.status_code == 200, response.text
    if fmt == "json":
        [created] = response.json()
        return created  # type: ignore[no-any-return]
    created = xmltodict.parse(response.content)["service_requests"]["request"]
    assert isinstance(created, dict)
    return created


def check_region(served: Served, region: demo.DemoTenant, other: demo.DemoTenant) -> None:
    # Discovery leads to the region's own endpoint, on its own host name and port.
    discovery = requests.get(served.discovery_url(region), timeout=30)
    assert discovery.status_code == 200
    assert discovery.headers["Access-Control-Allow-Origin"] == "*"
    [endpoint] = discovery.json()["endpoints"]
    url = endpoint["url"]
    assert url == f"http://{region.domains[0]}:{served.port}/pengaduan/open311/v2"
    assert endpoint["specification"] == SPECIFICATION
    assert "application/json" in endpoint["formats"] and "text/xml" in endpoint["formats"]

    json_client = GeoReport(url, jurisdiction=region.slug)
    xml_client = GeoReport(url, jurisdiction=region.domains[0], output_format="xml")

    services = json_client.get_service_list()
    codes = [s["service_code"] for s in services]
    assert codes and all(s["type"] == "realtime" for s in services)
    xml_services = items(xml_client.get_service_list())
    assert [s["service_code"] for s in xml_services] == codes
    assert json_client.get_service_definition(codes[0]) == {
        "service_code": codes[0],
        "attributes": [],
    }
    assert xml_client.get_service_definition(codes[0])["service_code"] == codes[0]

    # Another region's name is not this endpoint's jurisdiction.
    stranger = GeoReport(url, jurisdiction=other.slug)
    with pytest.raises(requests.HTTPError) as refused:
        stranger.get_service_list()
    assert refused.value.response.status_code == 404
    assert refused.value.response.json()[0]["code"] == 404

    # POST in both formats, with characters XML forbids; the ids are strings.
    key = api_key(served.app, region)
    form = {"service_code": codes[0], "lat": "-6.18", "long": "106.63", "api_key": key}
    created = [
        post(url, "json", description=HOSTILE, **form),
        post(url, "xml", description=HOSTILE, address_string="Jl. Uji 1", **form),
    ]
    ids = [c["service_request_id"] for c in created]
    assert all(isinstance(i, str) and i.isdigit() for i in ids)
    for request_id in ids:
        found = json_client.get_service_request(request_id)
        assert found["service_request_id"] == request_id
        assert found["description"] == READABLE
        found_xml = xml_client.get_service_request(request_id)
        assert found_xml["service_request_id"] == request_id
        assert found_xml["description"] == READABLE

    # A complaint stored with those characters (imported, older data) reads in XML too.
    tenant = registry(served.app).by_slug(region.slug)
    assert tenant is not None
    with served.app.app_context(), db.tenant_session(tenant.id) as session:
        session.execute(
            text("UPDATE pengaduan_complaint SET description = :d WHERE id = :id"),
            {"d": HOSTILE, "id": int(ids[0])},
        )
    assert json_client.get_service_request(ids[0])["description"] == HOSTILE  # JSON escapes
    assert xml_client.get_service_request(ids[0])["description"] == READABLE

    # Lists, filtered by id (comma separated), in both formats.
    both = ",".join(ids)
    listed = json_client.get_service_requests(service_request_id=both)
    assert sorted(r["service_request_id"] for r in listed) == sorted(ids)
    listed_xml = items(xml_client.get_service_requests(service_request_id=both))
    assert sorted(r["service_request_id"] for r in listed_xml) == sorted(ids)
    assert [r["description"] for r in listed_xml] == [READABLE, READABLE]
    recent = json_client.get_service_requests(status="open", service_code=codes[0])
    assert set(ids) <= {r["service_request_id"] for r in recent}

    # Dates carry their zone; one without is refused, saying so.
    with pytest.raises(requests.HTTPError) as naive:
        json_client.get_service_requests(start_date="2026-08-17T00:00:00")
    assert naive.value.response.status_code == 400
    assert "start_date" in naive.value.response.json()[0]["description"]


def test_georeport_reads_and_posts_on_each_demo_region(served: Served, loopback: None) -> None:
    check_region(served, KOTA, LEBAK)
    check_region(served, LEBAK, KOTA)
