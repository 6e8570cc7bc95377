"""A citizen's own queue numbers (*Nomor antrean saya*), and a ticket page that knows
who is logged in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from balai.testing import travel
from balai_puskesmas.models import Ticket
from balai_puskesmas.views import PAGE_SIZE

TAKE = "/puskesmas/antrean/ambil"
MINE = "/puskesmas/antrean/saya"
HOURS = {str(d): ["07:00", "16:00"] for d in range(1, 8)}
MONDAY_NINE = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 WIB


@pytest.fixture(autouse=True)
def english(client):
    client.get("/bahasa?lang=en&next=/")


@pytest.fixture(autouse=True)
def frozen():
    with travel(MONDAY_NINE):
        yield


@pytest.fixture
def umum(app, enabled, make_facility, db_session, set_plugin_settings):
    set_plugin_settings("puskesmas", ticket_limit_address="")
    return db_session.merge(make_facility(hours=HOURS)).clinics[0]


def take(client, clinic, day="2026-11-23"):
    response = client.post(TAKE, data={"clinic": str(clinic.id), "day": day})
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def test_a_number_taken_while_logged_in_is_listed_with_its_status(client, umum, login, db_session):
    citizen = login(client, role="warga")
    page = client.get(take(client, umum)).text
    # the confirmation knows the holder is logged in
    assert "This number is kept in your account" in page
    assert "Keep the address of this page" not in page
    assert f'href="{MINE}"' in page
    ticket = db_session.scalars(select(Ticket)).one()
    assert ticket.user_id == citizen.id
    listed = client.get(MINE)
    assert listed.status_code == 200
    assert "UMUM-001" in listed.text and "Waiting" in listed.text
    assert f"/puskesmas/antrean/{ticket.code}" in listed.text
    assert listed.headers["Cache-Control"] == "no-store"


def test_an_anonymous_number_page_says_to_keep_its_address(client, umum):
    page = client.get(take(client, umum)).text
    assert "Keep the address of this page" in page
    assert "This number is kept in your account" not in page


def test_the_list_is_one_citizens_own(client, umum, login, db_session, app, tenant):
    login(client, role="warga")
    take(client, umum)
    other = app.test_client()
    other.host = tenant.domains[0]
    other.get("/bahasa?lang=en&next=/")
    login(other, role="warga")
    assert "UMUM-001" not in other.get(MINE).text
    assert "You have no queue number yet." in other.get(MINE).text


def test_a_visitor_is_sent_to_log_in(client, umum):
    response = client.get(MINE)
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def test_the_list_is_paginated_latest_day_first(client, umum, login, db_session):
    citizen = login(client, role="warga")
    take(client, umum, "2026-11-24")
    for _ in range(PAGE_SIZE):
        take(client, umum)
    first = client.get(MINE).text
    assert first.index("Tuesday") < first.index("Monday")  # the later day first
    assert f"{PAGE_SIZE + 1} numbers taken while logged in." in first
    second = client.get(MINE, query_string={"page": 2})
    assert second.status_code == 200 and second.text.count("badge-waiting") == 1
    assert client.get(MINE, query_string={"page": 3}).status_code == 404
    db_session.expire_all()
    assert {t.user_id for t in db_session.scalars(select(Ticket))} == {citizen.id}


def test_the_account_menu_links_the_page_for_citizens(client, umum, login):
    login(client, role="warga")
    page = client.get("/puskesmas/").text
    assert f'href="{MINE}"' in page and "My queue numbers" in page


def test_the_status_follows_the_desk(client, umum, login, db_session):
    login(client, role="warga")
    take(client, umum)
    ticket = db_session.scalars(select(Ticket)).one()
    ticket.status = "cancelled"
    db_session.commit()
    assert "Cancelled" in client.get(MINE).text
