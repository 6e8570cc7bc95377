"""Demo data: routed categories, kecamatan, and complaints whose timelines follow the workflow."""

from __future__ import annotations

import itertools
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from balai import demodata
from balai.auth import Department
from balai.calendar import national_holidays
from balai.db import db, utcnow
from balai.testing import travel
from balai_pengaduan import demo, geo, plugin
from balai_pengaduan.models import Area, Category, Complaint
from balai_pengaduan.services import is_overdue
from balai_pengaduan.workflow import TRANSITIONS


def add_departments(session, *codes):
    session.add_all(Department(code=code, name=f"Dinas {code}") for code in codes)
    session.commit()


def populated(tenant, session):
    plugin.populate_demo(tenant=tenant, session=session)
    session.commit()


def test_categories_go_to_the_regions_departments(tenant, db_session):
    add_departments(db_session, "DLH", "DPUPR", "DISKOMINFO")
    populated(tenant, db_session)
    routed = {
        c.code: c.department.code if c.department else None
        for c in db_session.scalars(select(Category))
    }
    assert routed["SAMPAH"] == "DLH"
    assert routed["JALAN"] == "DPUPR"
    assert routed["PJU"] == "DPUPR"  # no DISHUB here: the next choice
    assert routed["PELAYANAN"] == "DISKOMINFO"
    assert routed["MACET"] is None  # nobody for traffic in this region
    assert set(routed) >= {"SAMPAH", "JALAN", "LAMPU", "BANJIR", "MACET", "AIR", "POHON"}


@travel("2026-11-18T10:00:00+07:00")  # the mix of statuses follows the demo's calendar
def test_complaints_are_consistent_with_the_workflow(tenant, db_session):
    add_departments(db_session, "DLH", "DPUPR")
    populated(tenant, db_session)
    complaints = list(db_session.scalars(select(Complaint)))
    assert len(complaints) == demo.COMPLAINTS
    statuses = Counter(c.status for c in complaints)
    assert statuses["closed"] + statuses["resolved"] > len(complaints) / 2
    assert {"received", "in_progress", "rejected", "duplicate"} <= set(statuses)
    today = utcnow().date()
    assert any(is_overdue(c, today) for c in complaints)
    for complaint in complaints:
        events = complaint.events
        assert events[0].to_status == "received" and events[0].from_status is None
        for before, after in itertools.pairwise(events):
            assert after.from_status == before.to_status
            assert after.to_status in TRANSITIONS[before.to_status]
            assert after.at >= before.at
        assert events[-1].to_status == complaint.status
        assert events[-1].at <= utcnow()
        assert (complaint.status == "duplicate") == (complaint.duplicate_of_id is not None)
        assert complaint.forward_due >= complaint.submitted_at.date()
        if complaint.privacy == "anonymous":
            assert complaint.reporter_name is None


def test_points_fall_in_the_kecamatan_of_the_city(tenant, db_session):
    populated(tenant, db_session)
    areas = {a.name: a for a in db_session.scalars(select(Area))}
    kota = demodata.PLACES["kota-tangerang"]
    assert set(areas) == {f"Kecamatan {k.name}" for k in kota.kecamatan}
    assert {"Kecamatan Cibodas", "Kecamatan Ciledug", "Kecamatan Periuk"} <= set(areas)
    villages = {k.name: set(k.villages) for k in kota.kecamatan}
    placed = 0
    for complaint in db_session.scalars(select(Complaint)):
        # "Jl. ... No. 12, Kel. Cikokol, Kec. Tangerang": a kelurahan of that kecamatan
        village, kecamatan = complaint.address.split(", ")[-2:]
        assert village.removeprefix("Kel. ") in villages[kecamatan.removeprefix("Kec. ")]
        if complaint.latitude is None:
            continue
        placed += 1
        # Inside Kota Tangerang, in the area of the kecamatan its address names.
        assert -6.26 < complaint.latitude < -6.11 and 106.55 < complaint.longitude < 106.76
        assert complaint.area is areas[f"Kecamatan {kecamatan.removeprefix('Kec. ')}"]
        assert geo.contains(complaint.area.geometry, complaint.latitude, complaint.longitude)
    assert placed > demo.COMPLAINTS * 0.8


@pytest.mark.clock
@pytest.mark.parametrize("moment", ["2026-03-04T00:03:00+07:00", "2026-03-08T12:00:00+07:00"])
def test_officers_act_in_office_hours_and_reporters_have_varied_names(tenant, db_session, moment):
    with travel(moment):
        populated(tenant, db_session)
        now = utcnow()
    complaints = list(db_session.scalars(select(Complaint)))
    holidays = national_holidays([2025, 2026])
    for complaint in complaints:
        for event in complaint.events[1:]:  # the first is the citizen's, at any hour
            local = event.at.astimezone(ZoneInfo("Asia/Jakarta"))
            assert local.weekday() < 5 and local.date() not in holidays, event.at
            assert demo.OFFICE_HOURS[0] <= local.time() <= demo.OFFICE_HOURS[1], event.at
            assert event.at <= now
    names = Counter(c.reporter_name for c in complaints if c.reporter_name)
    assert len(names) > 150 and max(names.values()) <= 2


def test_lebak_gets_its_own_map_and_the_data_is_deterministic(db_session, tenant, make_tenant):
    lebak = make_tenant("kabupaten-lebak", name="Kabupaten Lebak")

    def codes(session):
        return sorted(
            (c.tracking_code, c.category.code) for c in session.scalars(select(Complaint))
        )

    # The clock stands still between the two builds: the demo's history ends at "now".
    with travel(utcnow()), db.new_session(lebak.id) as session:
        plugin.populate_demo(tenant=lebak, session=session)
        first = codes(session)
        session.rollback()
        populated(lebak, session)
        assert codes(session) == first  # random.Random(tenant.id): the same every build
        lat = session.scalar(select(Complaint.latitude).where(Complaint.latitude.is_not(None)))
    assert -7.0 < lat < -6.2  # in Kabupaten Lebak, from Maja to Bayah
    populated(tenant, db_session)
    ours = codes(db_session)
    assert ours != first
    populated(tenant, db_session)  # once per region: a second call keeps what is there
    assert codes(db_session) == ours
