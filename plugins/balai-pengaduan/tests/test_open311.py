"""Open311 GeoReport v2, checked against the specification (wiki.open311.org/GeoReport_v2).

Element names and their order follow the specification's examples; both formats
are exercised for every method.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.auth import Department
from balai.db import db, utcnow
from balai.storage import StorageError
from balai.tenancy import TenantInfo
from balai_pengaduan import open311
from balai_pengaduan.clients import create_client, revoke_client
from balai_pengaduan.models import ApiClient, Category, Complaint, ComplaintEvent
from balai_pengaduan.reporters import contacts, reporter_sealer
from balai_pengaduan.services import new_tracking_code

BASE = "/pengaduan/open311/v2"
SERVICE_FIELDS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
PERSONAL = ("Siti Rahmawati", "siti@example.test", "081234567890")
# Error descriptions are checked by their English msgids.
pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture
def region(enable_plugin: Callable[..., TenantInfo], db_session: Session) -> TenantInfo:
    """``tenant`` with the plugin on, a department and two categories (one inactive)."""
    enabled = enable_plugin("pengaduan")
    dlh = Department(code="DLH", name="Dinas Lingkungan Hidup")
    db_session.add(dlh)
    db_session.flush()
    db_session.add_all(
        [
            Category(
                code="SAMPAH",
                name="Sampah menumpuk",
                description="Sampah tidak diangkut",
                group="kebersihan",
                department_id=dlh.id,
                position=1,
            ),
            Category(code="JALAN", name="Jalan rusak", group="jalan", position=2),
            Category(code="LAMA", name="Kategori lama", active=False, position=3),
        ]
    )
    db_session.commit()
    return enabled


@pytest.fixture
def other_region(enable_plugin: Callable[..., TenantInfo], other_tenant: TenantInfo) -> TenantInfo:
    """``other_tenant`` with the plugin on and one category of its own."""
    enabled = enable_plugin("pengaduan", tenant=other_tenant)
    with db.tenant_session(other_tenant.id) as session:
        session.add(Category(code="SAMPAH", name="Sampah Kota B", group="kebersihan"))
    return enabled


@pytest.fixture
def api_key(region: TenantInfo, db_session: Session) -> str:
    _client, key = create_client(db_session, "Aplikasi Kota")
    db_session.commit()
    return key


def add_complaint(session: Session, code: str = "SAMPAH", **fields: Any) -> Complaint:
    keys = reporter_sealer(session.info["tenant_id"])
    """Store a complaint of the session's tenant directly, with its first event."""
    category = session.scalar(select(Category).where(Category.code == code))
    assert category is not None
    now = utcnow()
    values: dict[str, Any] = {
        "tracking_code": new_tracking_code(),
        "category_id": category.id,
        "department_id": category.department_id,
        "description": "Sampah menumpuk di depan pasar.",
        "address": "Jl. Merdeka 1",
        "latitude": -6.17,
        "longitude": 106.63,
        "status": "received",
        "privacy": "public",
        "reporter_name": PERSONAL[0],
        "reporter_email_sealed": keys.seal(PERSONAL[1]),
        "reporter_phone_sealed": keys.seal(PERSONAL[2]),
        "submitted_at": now,
        "updated_at": now,
        "forward_due": date(2030, 1, 2),
    }
    values.update(fields)
    complaint = Complaint(**values)
    complaint.events.append(
        ComplaintEvent(at=values["submitted_at"], to_status="received", actor_label="web")
    )
    session.add(complaint)
    session.commit()
    return complaint


def xml_of(response: Any) -> ET.Element:
    assert response.content_type == "text/xml; charset=utf-8"
    assert response.data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.data)  # noqa: S314 - our own response, in a test


def json_of(response: Any) -> Any:
    assert response.content_type == "application/json; charset=utf-8"
    return json.loads(response.data)


def assert_error(response: Any, status: int, fmt: str) -> str:
    """The body is the specification's error list; returns the description."""
    assert response.status_code == status
    if fmt == "xml":
        root = xml_of(response)
        assert root.tag == "errors"
        [error] = list(root)
        assert [child.tag for child in error] == ["code", "description"]
        assert error.findtext("code") == str(status)
        return error.findtext("description") or ""
    [error] = json_of(response)
    assert list(error) == ["code", "description"]
    assert error["code"] == status
    return str(error["description"])


# -- GET Service List / Service Definition ---------------------------------------------


def test_service_list_in_xml(client, region):
    root = xml_of(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    services = list(root)
    assert [s.tag for s in services] == ["service", "service"]
    assert [child.tag for child in services[0]] == SERVICE_FIELDS
    first = {child.tag: child.text for child in services[0]}
    assert first == {
        "service_code": "SAMPAH",
        "service_name": "Sampah menumpuk",
        "description": "Sampah tidak diangkut",
        "metadata": "false",
        "type": "realtime",
        "keywords": None,
        "group": "kebersihan",
    }
    assert services[1].findtext("service_code") == "JALAN"  # the inactive one is left out


def test_service_list_in_json(client, region):
    services = json_of(client.get(f"{BASE}/services.json"))
    assert [list(s) for s in services] == [SERVICE_FIELDS, SERVICE_FIELDS]
    assert services[0]["metadata"] is False
    assert services[0]["type"] == "realtime"
    assert [s["service_code"] for s in services] == ["SAMPAH", "JALAN"]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_service_definition_has_no_attributes(client, region, fmt):
    response = client.get(f"{BASE}/services/sampah.{fmt}")
    assert response.status_code == 200
    if fmt == "xml":
        root = xml_of(response)
        assert root.tag == "service_definition"
        assert [child.tag for child in root] == ["service_code", "attributes"]
        assert root.findtext("service_code") == "SAMPAH"
        assert list(root.find("attributes")) == []
    else:
        assert json_of(response) == {"service_code": "SAMPAH", "attributes": []}


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_unknown_or_inactive_service_code_is_404(client, region, fmt):
    for code in ("TIDAKADA", "LAMA"):
        description = assert_error(client.get(f"{BASE}/services/{code}.{fmt}"), 404, fmt)
        assert code in description


# -- jurisdiction --------------------------------------------------------------------


@pytest.mark.parametrize("jurisdiction", ["", "kota-a", "kota-a.test", "KOTA-A.TEST"])
def test_jurisdiction_is_optional_and_names_this_region(client, region, jurisdiction):
    response = client.get(f"{BASE}/services.json?jurisdiction_id={jurisdiction}")
    assert response.status_code == 200


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_another_regions_jurisdiction_is_not_found_here(client, region, other_region, fmt):
    for path in ("services", "requests"):
        response = client.get(f"{BASE}/{path}.{fmt}?jurisdiction_id=kota-b.test")
        assert "kota-b.test" in assert_error(response, 404, fmt)


def test_www_prefix_of_a_domain_is_accepted(app, client, region, make_tenant):
    make_tenant("kota-c", domains=["www.kota-c.test"])
    assert client.get(f"{BASE}/services.json?jurisdiction_id=kota-a.test").status_code == 200
    assert open311.jurisdiction_ids(region) >= {"kota-a", "kota-a.test"}


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_region_without_the_plugin_answers_404_in_open311_format(client, tenant, fmt):
    assert_error(client.get(f"{BASE}/services.{fmt}"), 404, fmt)


# -- errors anywhere under the prefix ------------------------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_a_method_the_path_does_not_take_is_405_in_open311_format(client, region, method, fmt):
    response = client.open(f"{BASE}/requests.{fmt}", method=method)
    description = assert_error(response, 405, fmt)
    assert method in description and "GET, POST" in description
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert_error(client.open(f"{BASE}/services.{fmt}", method=method), 405, fmt)


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("/v2/nothing.xml", "xml"),
        ("/v2/nothing.json", "json"),
        ("/v2/services", "json"),  # no extension: JSON
        ("/v2/", "json"),
        ("/v3/services.xml", "xml"),
        ("", "json"),
    ],
)
def test_an_unknown_path_under_the_prefix_is_404_in_open311_format(client, region, path, fmt):
    assert_error(client.get(f"/pengaduan/open311{path}"), 404, fmt)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_an_unknown_host_is_404_in_open311_format(app, region, fmt):
    stranger = app.test_client()
    for path in (f"{BASE}/services.{fmt}", f"{BASE}/nothing.{fmt}"):
        response = stranger.get(path, base_url="http://tidak-dikenal.test")
        assert "does not belong to any region" in assert_error(response, 404, fmt)


def test_errors_elsewhere_keep_the_core_format(client, region):
    """The prefix is the plugin's alone: the pages and the REST API answer as before."""
    assert client.get("/pengaduan/open311-lain.json").content_type.startswith("text/html")
    assert client.get("/api/v1/nothing").get_json()["error"]["code"] == "not_found"


@pytest.mark.balai_config(MAX_CONTENT_LENGTH=2048)
@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_a_request_too_large_is_413_in_open311_format(client, region, api_key, db_session, fmt):
    response = post(client, fmt, api_key=api_key, **{**VALID, "description": "x" * 4000})
    assert_error(response, 413, fmt)
    assert stored(db_session) == []


@pytest.mark.balai_config(PROPAGATE_EXCEPTIONS=False)
@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_a_failure_is_500_in_open311_format(client, region, monkeypatch, fmt):
    def broken(*args: Any) -> Any:
        raise RuntimeError("the database fell over")

    monkeypatch.setattr(open311, "_requests", broken)
    description = assert_error(client.get(f"{BASE}/requests.{fmt}"), 500, fmt)
    assert "fell over" not in description  # what failed inside stays inside


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_an_unreachable_file_store_is_503_in_open311_format(client, region, monkeypatch, fmt):
    def unreachable(*args: Any) -> Any:
        raise StorageError("NoSuchBucket")

    monkeypatch.setattr(open311, "_requests", unreachable)
    response = client.get(f"{BASE}/requests.{fmt}")
    description = assert_error(response, 503, fmt)
    assert description.startswith("The file store cannot be reached")
    assert response.headers["Retry-After"] == "30"


# -- POST Service Request -------------------------------------------------------------


def post(client: Any, fmt: str = "json", **form: str) -> Any:
    return client.post(f"{BASE}/requests.{fmt}", data=form)


VALID = {
    "service_code": "SAMPAH",
    "lat": "-6.1702",
    "long": "106.6319",
    "description": "Sampah menumpuk sejak seminggu.",
}


def stored(session: Session) -> list[Complaint]:
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(Complaint).order_by(Complaint.id)))


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_post_creates_a_complaint_and_returns_its_id(client, region, api_key, db_session, fmt):
    response = post(
        client,
        fmt,
        api_key=api_key,
        jurisdiction_id="kota-a.test",
        first_name="Siti",
        last_name="Rahmawati",
        email="siti@example.test",
        phone="081234567890",
        device_id="tt222111",
        account_id="123456",
        **VALID,
    )
    assert response.status_code == 200
    [complaint] = stored(db_session)
    if fmt == "xml":
        root = xml_of(response)
        assert root.tag == "service_requests"
        [request] = list(root)
        assert request.tag == "request"
        assert [c.tag for c in request] == ["service_request_id", "service_notice", "account_id"]
        assert request.findtext("service_request_id") == str(complaint.id)
        assert request.find("token") is None  # an id is never sent together with a token
        notice = request.findtext("service_notice") or ""
    else:
        [created] = json_of(response)
        assert list(created) == ["service_request_id", "service_notice", "account_id"]
        assert created["service_request_id"] == str(complaint.id)  # a string, as in XML
        assert created["account_id"] is None
        notice = created["service_notice"]
    assert complaint.tracking_code in notice  # only the submitting client learns it
    assert (complaint.channel, complaint.privacy, complaint.status) == (
        "open311",
        "public",
        "received",
    )
    assert complaint.reporter_name == "Siti Rahmawati"
    assert contacts(complaint).email == "siti@example.test"
    assert (complaint.latitude, complaint.longitude) == (-6.1702, 106.6319)
    assert complaint.api_client_id is not None
    assert complaint.department.code == "DLH"


def test_the_posted_id_is_a_string_that_finds_its_request(client, region, api_key):
    """Clients build URLs from the id they were given: the string works as the number did."""
    [created] = json_of(post(client, api_key=api_key, **VALID))
    request_id = created["service_request_id"]
    assert isinstance(request_id, str) and request_id.isdigit()
    [found] = json_of(client.get(f"{BASE}/requests/{request_id}.json"))
    assert found["service_request_id"] == request_id
    [listed] = json_of(client.get(f"{BASE}/requests.json?service_request_id={request_id}"))
    assert listed["service_request_id"] == request_id
    root = xml_of(client.get(f"{BASE}/requests/{int(request_id)}.xml"))
    assert root.findtext("request/service_request_id") == request_id


def test_post_without_name_or_contact_is_anonymous(client, region, api_key, db_session):
    response = post(
        client, api_key=api_key, **{**VALID, "lat": "", "long": ""}, address_string="Pasar Baru"
    )
    assert response.status_code == 200
    [complaint] = stored(db_session)
    assert (complaint.privacy, complaint.address, complaint.latitude) == (
        "anonymous",
        "Pasar Baru",
        None,
    )
    assert complaint.reporter_name is None


def test_media_url_is_kept_with_the_description(client, region, api_key, db_session):
    photo = "https://example.test/foto/1.jpg"
    assert post(client, api_key=api_key, media_url=photo, **VALID).status_code == 200
    [complaint] = stored(db_session)
    assert complaint.description.endswith(f"media_url: {photo}")
    response = post(client, api_key=api_key, media_url="javascript:alert(1)", **VALID)
    assert "media_url" in assert_error(response, 400, "json")


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_post_needs_a_valid_api_key(client, region, api_key, db_session, fmt):
    assert "api_key" in assert_error(post(client, fmt, **VALID), 403, fmt)
    assert_error(post(client, fmt, api_key="o311_salah", **VALID), 403, fmt)
    [existing] = db_session.scalars(select(ApiClient)).all()
    revoke_client(db_session, existing.id)
    db_session.commit()
    assert_error(post(client, fmt, api_key=api_key, **VALID), 403, fmt)
    assert stored(db_session) == []


def test_another_regions_key_is_refused(client, region, other_region, other_client):
    with db.tenant_session(other_region.id) as session:
        _client, key_b = create_client(session, "Aplikasi Kota B")
    assert_error(post(client, api_key=key_b, **VALID), 403, "json")
    assert post(other_client, api_key=key_b, **VALID).status_code == 200


@pytest.mark.parametrize(
    ("form", "status", "names"),
    [
        ({"service_code": ""}, 400, "service_code"),
        ({"service_code": "TIDAKADA"}, 404, "TIDAKADA"),
        ({"lat": "", "long": ""}, 400, "location"),
        ({"lat": "", "long": "", "address_id": "545483"}, 400, "address_id"),
        ({"long": ""}, 400, "lat"),
        ({"lat": "utara"}, 400, "lat"),
        ({"lat": "95"}, 400, ""),
        ({"description": ""}, 400, "description"),
        ({"description": "x" * 4001}, 400, "4,000"),
    ],
)
def test_post_with_missing_or_invalid_fields(
    client, region, api_key, db_session, form, status, names
):
    fields = {**VALID, **form}
    description = assert_error(post(client, "xml", api_key=api_key, **fields), status, "xml")
    assert names in description
    assert stored(db_session) == []


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_post_needs_no_csrf_token(client, region, api_key):
    assert post(client, api_key=api_key, **VALID).status_code == 200


# -- GET Service Requests / Service Request / token -------------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_request_fields_follow_the_specification(client, region, db_session, fmt):
    complaint = add_complaint(db_session)
    if fmt == "xml":
        root = xml_of(client.get(f"{BASE}/requests.xml"))
        assert root.tag == "service_requests"
        [request] = list(root)
        assert request.tag == "request"
        assert [child.tag for child in request] == REQUEST_FIELDS
        found = {child.tag: child.text for child in request}
    else:
        [found] = json_of(client.get(f"{BASE}/requests.json"))
        assert list(found) == REQUEST_FIELDS
    assert found["service_request_id"] == str(complaint.id)  # a string in JSON too
    assert found["status"] == "open"
    assert found["service_code"] == "SAMPAH"
    assert found["service_name"] == "Sampah menumpuk"
    assert found["agency_responsible"] == "Dinas Lingkungan Hidup"
    assert found["address"] == "Jl. Merdeka 1"
    assert found["zipcode"] is None
    assert float(found["lat"]) == -6.17 and float(found["long"]) == 106.63
    # The forwarding deadline ends at midnight in Jakarta (UTC+7).
    assert found["expected_datetime"] == "2030-01-02T16:59:59Z"
    for name in ("requested_datetime", "updated_datetime"):
        assert found[name].endswith("Z") and len(found[name]) == 20


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_lists_carry_no_personal_data(client, region, db_session, fmt):
    complaint = add_complaint(db_session)
    for path in ("requests", f"requests/{complaint.id}"):
        response = client.get(f"{BASE}/{path}.{fmt}")
        body = response.get_data(as_text=True)
        assert response.status_code == 200 and complaint.description in body
        assert not any(value in body for value in PERSONAL)
        assert complaint.tracking_code not in body  # it lets its holder reopen the complaint


def test_closed_request_has_its_note_and_closing_time(client, region, db_session):
    complaint = add_complaint(db_session)
    closed_at = utcnow().replace(microsecond=0) + timedelta(hours=1)
    complaint.status = "closed"
    complaint.events.append(
        ComplaintEvent(
            at=closed_at, from_status="resolved", to_status="closed", note="Sudah diangkut."
        )
    )
    db_session.commit()
    [found] = json_of(client.get(f"{BASE}/requests.json"))
    assert (found["status"], found["status_notes"]) == ("closed", "Sudah diangkut.")
    assert found["updated_datetime"] == closed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert found["expected_datetime"] is None


def test_rejected_complaints_stay_off_as_on_the_public_pages(client, region, db_session):
    rejected = add_complaint(db_session, status="rejected")
    assert json_of(client.get(f"{BASE}/requests.json")) == []
    response = client.get(f"{BASE}/requests/{rejected.id}.json")
    assert_error(response, 404, "json")


def test_default_is_the_last_90_days_newest_first(client, region, db_session):
    now = utcnow()
    old = add_complaint(db_session, submitted_at=now - timedelta(days=91))
    older = add_complaint(db_session, submitted_at=now - timedelta(days=10))
    newest = add_complaint(db_session, submitted_at=now - timedelta(days=1))
    found = [r["service_request_id"] for r in json_of(client.get(f"{BASE}/requests.json"))]
    assert found == [str(newest.id), str(older.id)]
    assert str(old.id) not in found


def test_date_range_status_and_service_code_filters(client, region, db_session):
    day = utcnow().replace(hour=5, minute=0, second=0, microsecond=0) - timedelta(days=200)
    sampah = add_complaint(db_session, submitted_at=day)
    jalan = add_complaint(db_session, "JALAN", submitted_at=day + timedelta(hours=1))
    closed = add_complaint(db_session, status="closed", submitted_at=day + timedelta(hours=2))
    start = (day - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # The offset's "+" is left unencoded on purpose, as careless clients send it.
    end = (day + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+07:00")

    def codes(query: str) -> list[int]:
        response = client.get(f"{BASE}/requests.json?start_date={start}&end_date={end}{query}")
        return [int(r["service_request_id"]) for r in json_of(response)]

    assert codes("") == [closed.id, jalan.id, sampah.id]
    assert codes("&status=open") == [jalan.id, sampah.id]
    assert codes("&status=closed") == [closed.id]
    assert len(codes("&status=open,closed")) == 3
    assert codes("&service_code=jalan") == [jalan.id]
    assert len(codes("&service_code=JALAN,SAMPAH")) == 3


def test_service_request_id_overrides_the_other_arguments(client, region, db_session):
    old = add_complaint(db_session, submitted_at=utcnow() - timedelta(days=400))
    other = add_complaint(db_session, "JALAN")
    query = f"service_request_id={old.id},{other.id}&status=closed"
    found = json_of(client.get(f"{BASE}/requests.json?{query}"))
    assert {r["service_request_id"] for r in found} == {str(old.id), str(other.id)}


def test_at_most_1000_requests(client, region, db_session, monkeypatch):
    monkeypatch.setattr(open311, "MAX_RESULTS", 2)
    for _n in range(3):
        add_complaint(db_session)
    assert len(json_of(client.get(f"{BASE}/requests.json"))) == 2


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("start_date=kemarin", "start_date"),
        ("end_date=2010-13-01T00:00:00Z", "end_date"),
        ("start_date=2010-01-01T00:00:00Z&end_date=2010-06-01T00:00:00Z", "90"),
        ("start_date=2010-02-01T00:00:00Z&end_date=2010-01-01T00:00:00Z", "end_date"),
        ("start_date=2010-01-01T00:00:00", "start_date needs a time zone"),
        ("end_date=2010-01-01", "end_date needs a time zone"),
        ("status=pending", "status"),
        ("service_request_id=12,ADU-22222-22222", "service_request_id"),
    ],
)
@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_invalid_list_arguments_are_400(client, region, query, word, fmt):
    assert word in assert_error(client.get(f"{BASE}/requests.{fmt}?{query}"), 400, fmt)


def test_a_date_without_a_zone_is_refused_saying_what_is_expected(client, region, db_session):
    add_complaint(db_session)
    response = client.get(f"{BASE}/requests.json?start_date=2026-08-17T00:00:00")
    description = assert_error(response, 400, "json")
    assert description == "start_date needs a time zone, e.g. 2026-08-17T00:00:00+07:00."
    # Neither end is guessed: with one bad end, nothing is listed at all.
    query = "start_date=2026-08-01T00:00:00Z&end_date=2026-08-17T00:00:00"
    assert "end_date" in assert_error(client.get(f"{BASE}/requests.xml?{query}"), 400, "xml")


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_one_request_by_id(client, region, db_session, fmt):
    complaint = add_complaint(db_session)
    response = client.get(f"{BASE}/requests/{complaint.id}.{fmt}")
    if fmt == "xml":
        [request] = list(xml_of(response))
        assert [child.tag for child in request] == REQUEST_FIELDS
        assert request.findtext("service_request_id") == str(complaint.id)
    else:
        [found] = json_of(response)
        assert found["service_request_id"] == str(complaint.id)
    assert_error(client.get(f"{BASE}/requests/{complaint.id + 1}.{fmt}"), 404, fmt)
    assert_error(client.get(f"{BASE}/requests/{complaint.tracking_code}.{fmt}"), 404, fmt)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_no_tokens_are_issued_so_none_is_found(client, region, db_session, fmt):
    complaint = add_complaint(db_session)
    for token in ("12345", str(complaint.id), complaint.tracking_code):
        assert "token" in assert_error(client.get(f"{BASE}/tokens/{token}.{fmt}"), 404, fmt)


# -- tenant isolation ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_another_regions_requests_never_show(client, other_client, region, other_region, fmt):
    with db.tenant_session(other_region.id) as session:
        theirs = add_complaint(session, description="Keluhan kota B")
    with db.new_session(region.id) as session:
        ours = add_complaint(session, description="Keluhan kota A")
    body = client.get(f"{BASE}/requests.{fmt}").get_data(as_text=True)
    assert "Keluhan kota A" in body and "Keluhan kota B" not in body
    assert_error(client.get(f"{BASE}/requests/{theirs.id}.{fmt}"), 404, fmt)
    query = f"service_request_id={theirs.id},{ours.id}"
    body = client.get(f"{BASE}/requests.{fmt}?{query}").get_data(as_text=True)
    assert "Keluhan kota A" in body and "Keluhan kota B" not in body
    services = other_client.get(f"{BASE}/services.{fmt}").get_data(as_text=True)
    assert "Sampah Kota B" in services and "Jalan rusak" not in services
    their_list = other_client.get(f"{BASE}/requests.{fmt}").get_data(as_text=True)
    assert "Keluhan kota B" in their_list and "Keluhan kota A" not in their_list
