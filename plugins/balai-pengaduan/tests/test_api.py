"""The officers' JSON API: lists, one complaint, status changes; who sees and does what."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import update

from balai.calendar import WorkingCalendar
from balai.db import db, utcnow
from balai_pengaduan import services
from balai_pengaduan.models import Category, Complaint
from balai_pengaduan.settings import ComplaintSettings

API = "/api/v1/pengaduan/complaints"
PERSON = {
    "reporter_name": "Siti Rahmawati",
    "reporter_email": "siti@example.test",
    "reporter_phone": "081234567890",
}


def set_values(db_session, complaint, **values):
    db_session.execute(update(Complaint).where(Complaint.id == complaint.id).values(**values))
    db_session.commit()


@pytest.fixture
def two(enabled, sampah, jalan, complaint):
    """A garbage complaint (DLH) from a named reporter and a road one (PUPR), anonymous."""
    garbage = complaint(**PERSON)
    road = complaint("JALAN", privacy="anonymous")
    return garbage, road


# -- access --------------------------------------------------------------------------


def test_anonymous_is_401_and_citizen_is_403(client, two, login):
    garbage, _road = two
    for method, path in (("get", API), ("get", f"{API}/{garbage.id}")):
        assert getattr(client, method)(path).status_code == 401
    move = client.post(f"{API}/{garbage.id}/transitions", json={"status": "verified"})
    assert move.status_code == 401
    assert move.json["error"]["code"] == "unauthorized"
    login(client, role="warga")
    assert client.get(API).status_code == 403
    assert client.post(f"{API}/{garbage.id}/transitions", json={}).status_code == 403


def test_officer_sees_only_their_departments_complaints(client, two, login):
    garbage, road = two
    login(client, role="opd", department="DLH")
    body = client.get(API).json
    assert [c["id"] for c in body["items"]] == [garbage.id]
    assert body["total"] == 1
    assert client.get(f"{API}/{road.id}").status_code == 404
    move = client.post(f"{API}/{road.id}/transitions", json={"status": "in_progress"})
    assert move.status_code == 404


def test_officer_without_a_department_sees_nothing(client, two, login):
    login(client, role="opd")
    assert client.get(API).json["items"] == []


def test_another_regions_complaint_is_404(client, other_tenant, both, sampah, login):
    with db.tenant_session(other_tenant.id) as session:
        session.add(Category(code="SAMPAH", name="Sampah B"))
        session.flush()
        context = services.Context(
            settings=ComplaintSettings().load({}), calendar=WorkingCalendar({}), now=utcnow()
        )
        theirs = services.submit(
            session, services.Submission("SAMPAH", "Sampah kota B", address="Jl. B"), context
        )
    login(client, role="admin")
    assert client.get(API).json["items"] == []
    assert client.get(f"{API}/{theirs.id}").status_code == 404
    move = client.post(f"{API}/{theirs.id}/transitions", json={"status": "verified"})
    assert move.status_code == 404


# -- the list ------------------------------------------------------------------------


def test_list_is_paginated_and_carries_no_personal_data(client, two, login):
    garbage, road = two
    login(client, role="admin")
    body = client.get(f"{API}?per_page=1").json
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (1, 1, 2, 2)
    [first] = body["items"]
    assert first["id"] == road.id  # newest first
    assert first["category"] == {"id": road.category_id, "code": "JALAN", "name": "Jalan rusak"}
    assert first["overdue"] is False
    assert first["submitted_at"].endswith("+00:00")
    assert [c["id"] for c in client.get(f"{API}?per_page=1&page=2").json["items"]] == [garbage.id]
    text = client.get(API).get_data(as_text=True)
    assert not any(value in text for value in PERSON.values())
    assert "reporter" not in text


def test_filters(client, two, login, db_session, pupr):
    garbage, road = two
    set_values(db_session, road, status="forwarded", followup_due=date(2020, 1, 6))
    login(client, role="admin")

    def ids(query: str) -> set[int]:
        response = client.get(f"{API}?{query}")
        assert response.status_code == 200, response.json
        return {c["id"] for c in response.json["items"]}

    assert ids("status=received") == {garbage.id}
    assert ids("status=received&status=forwarded") == {garbage.id, road.id}
    assert ids("category=jalan") == {road.id}
    assert ids(f"department_id={pupr.id}") == {road.id}
    assert ids("overdue=true") == {road.id}
    since = (utcnow() + timedelta(hours=1)).isoformat()
    assert ids(f"submitted_from={since.replace('+', '%2B')}") == set()
    assert ids("sort=-updated_at") == {garbage.id, road.id}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("sort=reporter_name", "sort"),
        ("category=TIDAKADA", "category"),
        ("per_page=1000", "per_page"),
        ("submitted_from=kemarin", "submitted_from"),
    ],
)
def test_invalid_query_is_422_naming_the_field(client, two, login, query, field):
    login(client, role="admin")
    response = client.get(f"{API}?{query}")
    assert response.status_code == 422
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == "unprocessable_entity"
    assert list(error["fields"]) == [field]


def test_sorting_by_an_allowed_field(client, two, login, db_session):
    garbage, road = two
    set_values(db_session, garbage, supporters=5)
    login(client, role="admin")
    items = client.get(f"{API}?sort=-supporters").json["items"]
    assert [c["id"] for c in items] == [garbage.id, road.id]
    items = client.get(f"{API}?sort=supporters").json["items"]
    assert [c["id"] for c in items] == [road.id, garbage.id]


# -- one complaint -----------------------------------------------------------------


def test_detail_has_the_timeline_and_the_public_reporter(client, two, login):
    garbage, road = two
    login(client, role="admin")
    body = client.get(f"{API}/{garbage.id}").json
    assert body["reporter"] == {
        "name": "Siti Rahmawati",
        "email": "siti@example.test",
        "phone": "081234567890",
    }
    assert [(e["from_status"], e["to_status"]) for e in body["timeline"]] == [(None, "received")]
    assert body["allowed_moves"] == ["verified", "rejected", "duplicate"]
    assert client.get(f"{API}/{road.id}").json["reporter"] is None  # anonymous


def test_confidential_reporter_is_hidden_from_department_officers(
    client, enabled, sampah, complaint, login
):
    secret = complaint(privacy="confidential", **PERSON)
    login(client, role="opd", department="DLH")
    body = client.get(f"{API}/{secret.id}").json
    assert body["reporter"] is None
    assert "Siti" not in client.get(f"{API}/{secret.id}").get_data(as_text=True)


# -- transitions ---------------------------------------------------------------------


def test_verify_and_forward_to_another_department(client, two, login, pupr, stored):
    garbage, _road = two
    login(client, role="admin")
    response = client.post(
        f"{API}/{garbage.id}/transitions", json={"status": "verified", "note": "Benar."}
    )
    assert response.status_code == 200, response.json
    assert response.json["status"] == "verified"
    assert response.json["timeline"][-1]["note"] == "Benar."
    response = client.post(
        f"{API}/{garbage.id}/transitions",
        json={"status": "forwarded", "department_id": pupr.id},
    )
    assert response.status_code == 200, response.json
    saved = next(c for c in stored() if c.id == garbage.id)
    assert (saved.status, saved.department_id) == ("forwarded", pupr.id)
    assert saved.followup_due is not None


def test_officer_may_work_but_not_verify_where_the_region_withdrew_it(
    client, two, login, db_session, stored, grant
):
    garbage, _road = two
    grant("opd", "pengaduan.verify_complaint", granted=False)
    login(client, role="opd", department="DLH")
    move = client.post(f"{API}/{garbage.id}/transitions", json={"status": "verified"})
    assert move.status_code == 403
    set_values(db_session, garbage, status="forwarded")
    move = client.post(f"{API}/{garbage.id}/transitions", json={"status": "in_progress"})
    assert move.status_code == 200, move.json
    assert next(c for c in stored() if c.id == garbage.id).status == "in_progress"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "status"),
        ({"status": "lost"}, "status"),
        ({"status": "closed"}, "status"),  # not from received
        ({"status": "rejected"}, "note"),  # a reason is required
        ({"status": "duplicate", "duplicate_of": "ADU-22222-22222"}, "duplicate_of"),
        ({"status": "verified", "department_id": 1}, "department_id"),
        ({"status": "verified", "note": 5}, "note"),
    ],
)
def test_refused_moves_are_422_and_change_nothing(client, two, login, stored, body, field):
    garbage, _road = two
    login(client, role="admin")
    response = client.post(f"{API}/{garbage.id}/transitions", json=body)
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == [field]
    assert next(c for c in stored() if c.id == garbage.id).status == "received"


def test_duplicate_of_a_visible_complaint_by_tracking_code(client, two, login, stored):
    garbage, road = two
    login(client, role="admin")
    response = client.post(
        f"{API}/{road.id}/transitions",
        json={"status": "duplicate", "duplicate_of": garbage.tracking_code.lower()},
    )
    assert response.status_code == 200, response.json
    assert response.json["duplicate_of"] == garbage.tracking_code
    saved = {c.id: c for c in stored()}
    assert saved[road.id].duplicate_of_id == garbage.id
    assert saved[garbage.id].supporters == 1


def test_forwarding_to_another_regions_department_is_refused(
    client, two, login, other_tenant, stored
):
    from balai.auth import Department

    with db.tenant_session(other_tenant.id) as session:
        theirs = Department(code="DLH", name="DLH Kota B")
        session.add(theirs)
    garbage, _road = two
    login(client, role="admin")
    client.post(f"{API}/{garbage.id}/transitions", json={"status": "verified"})
    response = client.post(
        f"{API}/{garbage.id}/transitions",
        json={"status": "forwarded", "department_id": theirs.id},
    )
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["department_id"]


def test_openapi_documents_the_endpoints(client, enabled):
    spec = client.get("/api/v1/openapi.json").json
    assert "get" in spec["paths"]["/api/v1/pengaduan/complaints"]
    assert "post" in spec["paths"]["/api/v1/pengaduan/complaints/{complaint_id}/transitions"]
    assert "pengaduan.ComplaintDetail" in spec["components"]["schemas"]
