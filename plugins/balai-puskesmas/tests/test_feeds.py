"""The puskesmas map layer (GeoJSON) and the command-centre widgets."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from balai.db import utcnow
from balai.testing import travel
from balai_puskesmas import feeds, queue
from balai_puskesmas.models import Facility, Visit
from balai_puskesmas.services import Actor

from .conftest import NIK_MAN

pytestmark = pytest.mark.clock  # see docs/testing.md, "Dates and times"

FEED = "/puskesmas/puskesmas.geojson"
TZ = "Asia/Jakarta"
MORNING = "2026-03-04T10:00:00+07:00"  # a Wednesday
EVERY_DAY = {str(d): ["00:00", "23:59"] for d in range(1, 8)}


@pytest.fixture(autouse=True)
def english(client) -> None:
    """Pages in English: the assertions read message ids, whatever the catalogue says."""
    client.get("/bahasa?lang=en&next=/")


@pytest.fixture
def open_facility(enabled, make_facility: Callable[..., Facility]) -> Facility:
    return make_facility(hours=EVERY_DAY, phone="021-555-0101")


def test_feed_lists_active_puskesmas_with_a_location(client, open_facility, make_facility):
    make_facility("TUTUP", active=False)
    make_facility("TANPA", latitude=None, longitude=None)
    response = client.get(FEED)
    assert response.status_code == 200
    assert response.content_type == "application/geo+json"
    body = response.json
    assert body["type"] == "FeatureCollection"
    [feature] = body["features"]
    assert feature["id"] == open_facility.id
    assert feature["geometry"] == {"type": "Point", "coordinates": [106.63, -6.178]}
    properties = feature["properties"]
    assert properties["name"] == "Puskesmas Cip" and properties["code"] == "CIP"
    assert properties["address"] == "Jl. Contoh No. 1, Tangerang"
    assert properties["hours"]["1"] == ["00:00", "23:59"]
    assert properties["hours_text"] == "Monday\u2013Sunday 00:00\u201323:59"
    assert properties["clinics"] == ["Poli Umum", "Poli Gigi", "Poli Kia"]
    assert properties["board_url"] == f"/puskesmas/{open_facility.id}/layar"


def test_feed_has_no_personal_data(client, open_facility, db_session, vault, add_patient):
    add_patient(NIK_MAN, phone="081298765432")
    now = utcnow()
    ticket = queue.take_number(
        db_session,
        vault,
        open_facility.clinics[0].id,
        queue.region_today(now, TZ),
        now,
        channel="web",
        days_ahead=0,
        closed_on_holidays=False,
        timezone=TZ,
        nik=NIK_MAN,
        phone="081298765432",
    )
    db_session.commit()
    text = client.get(FEED).get_data(as_text=True)
    for secret in (NIK_MAN, "081298765432", "Budi Santoso", ticket.code):
        assert secret not in text


def test_feed_is_per_region(client, other_client, open_facility, enable_plugin, other_tenant):
    enable_plugin("puskesmas", tenant=other_tenant)
    assert other_client.get(FEED).json["features"] == []
    assert len(client.get(FEED).json["features"]) == 1


def test_map_lists_the_layer(client, open_facility, app):
    response = client.get("/peta")
    assert response.status_code == 200
    assert FEED in response.text
    with app.test_request_context("/", base_url="http://kota-a.test"):
        [layer] = feeds.map_layers()
    assert (layer.name, layer.url) == ("puskesmas", FEED)


# -- widgets ---------------------------------------------------------------------------


@pytest.fixture
def busy_day(open_facility, db_session, vault, add_patient) -> Iterator[date]:
    """A Wednesday at 10:00 in Jakarta, the clock standing still: 3 numbers at UMUM (two
    called after 10 and 20 minutes), 1 at GIGI, 2 visits today and one yesterday."""
    with travel(MORNING):
        now = utcnow()
        day = queue.region_today(now, TZ)
        umum, gigi = open_facility.clinics[0], open_facility.clinics[1]
        earlier = now - timedelta(hours=1)
        for clinic in (umum, umum, umum, gigi):
            queue.take_number(
                db_session,
                vault,
                clinic.id,
                day,
                earlier,
                channel="kiosk",
                days_ahead=0,
                closed_on_holidays=False,
                timezone=TZ,
            )
        desk = Actor(user_id=None, label="desk", duties={open_facility.id: "registration"})
        queue.call_next(db_session, desk, umum.id, day, earlier + timedelta(minutes=10))
        queue.call_next(db_session, desk, umum.id, day, earlier + timedelta(minutes=20))
        patient = add_patient(NIK_MAN)
        for clinic, started in ((umum, now), (umum, now - timedelta(days=1)), (gigi, now)):
            db_session.add(
                Visit(
                    patient_id=patient.id,
                    facility_id=open_facility.id,
                    clinic_id=clinic.id,
                    started_at=started,
                )
            )
        db_session.commit()
        yield day


def test_stats_of_a_day(db_session, open_facility, busy_day):
    figures = queue.stats(db_session, busy_day, timezone=TZ)
    assert figures.visits == 2
    assert figures.waiting == [
        ("Puskesmas Cip", "Poli Umum", 1),
        ("Puskesmas Cip", "Poli Gigi", 1),
        ("Puskesmas Cip", "Poli Kia", 0),
    ]
    assert figures.waiting_total == 2
    assert (figures.average_wait, figures.called) == (15, 2)
    assert queue.stats(db_session, busy_day, [open_facility.id + 1], timezone=TZ).visits == 0


def test_visits_are_counted_by_the_regions_day(db_session, open_facility, add_patient):
    patient = add_patient(NIK_MAN)
    umum = open_facility.clinics[0]
    for started in (
        datetime(2026, 11, 22, 16, 59, tzinfo=UTC),  # 23.59 on the 22nd in Jakarta
        datetime(2026, 11, 22, 17, 1, tzinfo=UTC),  # 00.01 on the 23rd
        datetime(2026, 11, 23, 16, 0, tzinfo=UTC),  # 23.00 on the 23rd
    ):
        db_session.add(
            Visit(
                patient_id=patient.id,
                facility_id=open_facility.id,
                clinic_id=umum.id,
                started_at=started,
            )
        )
    db_session.commit()
    assert queue.stats(db_session, date(2026, 11, 23), timezone=TZ).visits == 2
    assert queue.stats(db_session, date(2026, 11, 22), timezone=TZ).visits == 1
    assert queue.stats(db_session, date(2026, 11, 22), timezone="UTC").visits == 2


def test_dashboard_shows_the_widgets(client, login, busy_day):
    login(client, role="admin")
    response = client.get("/dasbor")
    assert response.status_code == 200
    text = response.text
    assert "Puskesmas visits today" in text and "<strong>2</strong> visits recorded today" in text
    assert "Waiting at puskesmas clinics" in text and "<strong>2</strong> waiting now" in text
    bars = re.findall(r'"bar-label">(.*?)</span>\s*<svg.*?"bar-value">(\d+)<', text, re.S)
    assert bars[0] == ('Poli Umum <span class="muted">Puskesmas Cip</span>', "1")
    assert "Poli Kia" not in text  # nobody waits there
    assert "Average wait at puskesmas" in text and "<strong>15 minutes</strong>" in text


def test_widgets_of_a_quiet_day(client, login, open_facility):
    login(client, role="admin")
    text = client.get("/dasbor").text
    assert "<strong>0</strong> visits recorded today" in text
    assert "Nobody is waiting." in text
    assert "No number has been called today." in text
