"""The public GeoJSON feed, the map layer and the command-centre widgets."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import update

from balai.calendar import WorkingCalendar
from balai.db import db, utcnow
from balai_pengaduan import feeds, services
from balai_pengaduan.models import Category, Complaint
from balai_pengaduan.settings import ComplaintSettings

pytestmark = pytest.mark.clock  # see docs/testing.md, "Dates and times"

FEED = "/pengaduan/peta.geojson"
POINT = {"latitude": -6.178, "longitude": 106.63}
PERSON = {
    "reporter_name": "Budi Santoso",
    "reporter_email": "budi@example.test",
    "reporter_phone": "081298765432",
}


def set_status(db_session, complaint, status, **values):
    db_session.execute(
        update(Complaint).where(Complaint.id == complaint.id).values(status=status, **values)
    )
    db_session.commit()


def test_feed_is_a_feature_collection_without_personal_data(client, enabled, sampah, complaint):
    found = complaint(**POINT, **PERSON)
    complaint()  # no point: not on the map
    response = client.get(FEED)
    assert response.status_code == 200
    assert response.content_type == "application/geo+json"
    body = response.json
    assert body["type"] == "FeatureCollection"
    [feature] = body["features"]
    assert feature["id"] == found.id
    assert feature["geometry"] == {"type": "Point", "coordinates": [106.63, -6.178]}
    assert feature["properties"]["category"] == "SAMPAH"
    assert feature["properties"]["status"] == "received"
    assert feature["properties"]["url"] == f"/pengaduan/{found.id}"
    text = response.get_data(as_text=True)
    assert not any(value in text for value in PERSON.values())
    assert found.tracking_code not in text and found.description not in text


def test_feed_takes_the_public_lists_filters(client, enabled, sampah, jalan, complaint, db_session):
    garbage = complaint(**POINT)
    road = complaint("JALAN", **POINT)
    set_status(db_session, road, "in_progress")

    def ids(query: str) -> list[int]:
        return [f["id"] for f in client.get(f"{FEED}?{query}").json["features"]]

    assert ids("") == [road.id, garbage.id]  # newest first
    assert ids("category=jalan") == [road.id]
    assert ids("status=received") == [garbage.id]
    response = client.get(f"{FEED}?status=bogus&category=")
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"status"}


def test_feed_leaves_out_rejected_and_is_capped(
    client, enabled, sampah, complaint, db_session, monkeypatch
):
    rejected = complaint(**POINT)
    set_status(db_session, rejected, "rejected", rejection_reason="Iklan")
    kept = [complaint(**POINT) for _n in range(3)]
    monkeypatch.setattr(feeds, "MAX_FEATURES", 2)
    assert [f["id"] for f in client.get(FEED).json["features"]] == [kept[2].id, kept[1].id]


def test_feed_never_shows_another_region(client, other_client, both, sampah, complaint):
    ours = complaint(**POINT)
    assert [f["id"] for f in client.get(FEED).json["features"]] == [ours.id]
    assert other_client.get(FEED).json["features"] == []


def test_feed_is_404_where_the_plugin_is_off(client, tenant):
    assert client.get(FEED).status_code == 404


def test_map_view_lists_the_layer(client, enabled):
    page = client.get("/peta").get_data(as_text=True)
    assert f'href="{FEED}"' in page
    assert 'data-layer="pengaduan"' in page


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")  # text in msgids
def test_widgets_count_statuses_overdue_and_departments(
    client, enabled, sampah, jalan, complaint, db_session, login
):
    late = complaint(**POINT)
    set_status(db_session, late, "received", forward_due=date(2020, 1, 6))
    road = complaint("JALAN")
    set_status(db_session, road, "closed", closed_at=utcnow() - timedelta(days=1))
    complaint()
    login(client, role="admin")
    page = client.get("/dasbor").get_data(as_text=True)
    assert "<strong>2</strong> open, <strong>1</strong> overdue" in page
    assert re.search(r'"bar-label">Received</span>.*?"bar-value">2<', page, re.S)
    assert re.search(r'"bar-label">Closed</span>.*?"bar-value">1<', page, re.S)
    assert re.search(r'"bar-label">Dinas Lingkungan Hidup</span>.*?"bar-value">2<', page, re.S)
    assert "Dinas PUPR" not in page  # its one complaint is closed


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")  # text in msgids
def test_department_widget_needs_view_all(client, enabled, sampah, complaint, login):
    complaint()
    login(client, role="opd", permissions=("balai.view_dashboard",))
    page = client.get("/dasbor").get_data(as_text=True)
    assert "overdue" in page
    assert "Dinas Lingkungan Hidup" not in page


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")  # text in msgids
def test_widget_counts_are_the_regions_own(client, both, other_tenant, sampah, login):
    context = services.Context(
        settings=ComplaintSettings().load({}), calendar=WorkingCalendar({}), now=utcnow()
    )
    with db.tenant_session(other_tenant.id) as session:
        session.add(Category(code="SAMPAH", name="Sampah B"))
        session.flush()
        submission = services.Submission("SAMPAH", "Sampah kota B", address="Jl. B")
        services.submit(session, submission, context)
    login(client, role="admin")
    assert "<strong>0</strong> open" in client.get("/dasbor").get_data(as_text=True)
