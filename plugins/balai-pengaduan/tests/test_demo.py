"""Demo data: routed categories, kecamatan, and complaints whose timelines follow the workflow."""

from __future__ import annotations

import itertools
from collections import Counter

from sqlalchemy import select

from balai.auth import Department
from balai.db import db, utcnow
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
    areas = list(db_session.scalars(select(Area)))
    assert len(areas) == 3
    for complaint in db_session.scalars(select(Complaint).where(Complaint.area_id.is_not(None))):
        assert geo.contains(complaint.area.geometry, complaint.latitude, complaint.longitude)
        assert abs(complaint.latitude - -6.17) < 0.05 and abs(complaint.longitude - 106.63) < 0.1


def test_lebak_gets_its_own_map_and_the_data_is_deterministic(app, db_session, tenant):
    from balai.tenancy import create_tenant

    lebak = create_tenant(app, "kabupaten-lebak", "Kabupaten Lebak", ["lebak.test"])

    def codes(session):
        return sorted(
            (c.tracking_code, c.category.code) for c in session.scalars(select(Complaint))
        )

    with db.new_session(lebak.id) as session:
        plugin.populate_demo(tenant=lebak, session=session)
        first = codes(session)
        session.rollback()
        populated(lebak, session)
        assert codes(session) == first  # random.Random(tenant.id): the same every build
        lat = session.scalar(select(Complaint.latitude).where(Complaint.latitude.is_not(None)))
    assert abs(lat - -6.56) < 0.05
    populated(tenant, db_session)
    ours = codes(db_session)
    assert ours != first
    populated(tenant, db_session)  # once per region: a second call keeps what is there
    assert codes(db_session) == ours
