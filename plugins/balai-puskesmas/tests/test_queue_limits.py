"""Anonymous queue abuse: one address, one phone or one NIK cannot take a clinic's
numbers away from the people who need them.

The attack: parallel anonymous requests to ``POST /api/v1/puskesmas/tickets`` used up a
clinic's daily quota in a fraction of a second, and the next citizen was told the
quota was reached. Here real threads race against the real database (SQLite and
PostgreSQL); every channel that takes a number is covered (web form, API, SMS), and
the kiosk is exempt only when the puskesmas' staff opened it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from balai_puskesmas import queue
from balai_puskesmas.models import Facility, Ticket

from .conftest import NIK_MAN, NIK_WOMAN

EVERY_DAY = {str(d): ["00:00", "23:59"] for d in range(1, 8)}
# A Tuesday that is no holiday, 10:00 in Jakarta: the clinic is open.
TUESDAY = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)
DAY = "2026-02-10"
API = "/api/v1/puskesmas/tickets"
PARALLEL = 30
QUOTA = 25
LIMITS = {"ticket_limit_address": "10 per hour", "ticket_limit_phone": "3 per day"}

pytestmark = pytest.mark.balai_config(
    BABEL_DEFAULT_LOCALE="en", PLUGIN_SETTINGS={"puskesmas": LIMITS}
)


@pytest.fixture(autouse=True)
def tuesday(time_machine) -> None:
    time_machine.move_to(TUESDAY, tick=False)


@pytest.fixture
def open_facility(enabled, make_facility: Callable[..., Facility]) -> Facility:
    return make_facility(hours=EVERY_DAY)


@pytest.fixture
def clinic(open_facility: Facility, db_session: Session):
    clinic = open_facility.clinics[0]
    clinic.daily_quota = QUOTA
    db_session.commit()
    return clinic


@pytest.fixture
def tickets(db_session: Session) -> Callable[[], list[Ticket]]:
    def read() -> list[Ticket]:
        db_session.rollback()
        db_session.expire_all()
        return list(db_session.scalars(select(Ticket).order_by(Ticket.id)))

    return read


def in_parallel(app, tenant, send: Callable[[Any, int], Any], count: int = PARALLEL) -> list[int]:
    """Status codes of ``send(client, n)`` from ``count`` threads released at once."""
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        client = app.test_client()
        client.host = tenant.domains[0]
        try:
            barrier.wait(timeout=60)
            response = send(client, n)
            with lock:
                statuses.append(response.status_code)
        except BaseException as exc:  # reported below
            with lock:
                failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    return statuses


def test_parallel_api_requests_from_one_address_cannot_empty_the_quota(
    app, client, tenant, clinic, tickets
):
    def take(browser, n):
        return browser.post(API, json={"clinic_id": clinic.id, "day": DAY})

    statuses = in_parallel(app, tenant, take)
    given = tickets()
    assert len(given) <= 10, f"{len(given)} numbers to one address for a limit of 10"
    assert statuses.count(201) == len(given) and statuses.count(429) == PARALLEL - len(given)
    citizen = client.post(
        API, json={"clinic_id": clinic.id, "day": DAY}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert citizen.status_code == 201, citizen.json


def test_a_refusal_on_the_api_says_when_to_come_back(client, clinic, tickets):
    for _ in range(10):
        assert client.post(API, json={"clinic_id": clinic.id, "day": DAY}).status_code == 201
    refused = client.post(API, json={"clinic_id": clinic.id, "day": DAY})
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert refused.json["error"]["code"] == "too_many_requests"
    message = refused.json["error"]["message"]
    assert "Too many queue numbers were taken from this connection. Try again in" in message
    assert len(tickets()) == 10


def test_parallel_takes_with_one_nik_give_one_number(app, tenant, clinic, tickets):
    def take(browser, n):
        address = {"REMOTE_ADDR": f"10.0.{n}.1"}
        data = {"clinic_id": clinic.id, "day": DAY, "nik": NIK_MAN}
        return browser.post(API, json=data, environ_base=address)

    statuses = in_parallel(app, tenant, take, count=10)
    assert len(tickets()) == 1
    assert sorted(statuses) == [201] + [422] * 9


def test_a_nik_may_take_again_once_its_number_is_cancelled(client, clinic, tickets):
    data = {"clinic_id": clinic.id, "day": DAY, "nik": NIK_MAN}
    first = client.post(API, json=data)
    again = client.post(API, json=data)
    assert again.status_code == 422
    assert "may already have a number" in again.json["error"]["fields"]["nik"][0]
    assert client.post(f"/puskesmas/antrean/{first.json['code']}/batal").status_code == 302
    assert client.post(API, json=data).status_code == 201


def test_asking_whether_a_nik_holds_a_number_counts_against_the_limit(client, clinic, tickets):
    """One address, limit 10 per hour: a number taken with a NIK, then the same NIK
    asked again and again. Each refusal counts, so the 10th ask answers 429, and so
    does the next ask with any other NIK: probing costs as much as taking numbers."""
    data = {"clinic_id": clinic.id, "day": DAY, "nik": NIK_MAN}
    assert client.post(API, json=data).status_code == 201
    probes = [client.post(API, json=data) for _ in range(10)]
    assert [p.status_code for p in probes] == [422] * 9 + [429]
    message = probes[0].json["error"]["fields"]["nik"][0]
    assert "may already have a number" in message and "registration desk" in message
    assert "This NIK" not in message
    other = client.post(API, json={**data, "nik": NIK_WOMAN})
    assert other.status_code == 429
    assert len(tickets()) == 1


def test_the_web_form_counts_those_refusals_too(client, clinic, tickets):
    form = {"clinic": str(clinic.id), "day": DAY, "nik": NIK_MAN}
    assert client.post("/puskesmas/antrean/ambil", data=form).status_code == 302
    statuses = [client.post("/puskesmas/antrean/ambil", data=form).status_code for _ in range(10)]
    assert statuses == [400] * 9 + [429]
    assert len(tickets()) == 1


def test_by_sms_those_refusals_count_against_the_phone(
    app, client, enabled, clinic, tickets, sms_webhook
):
    headers = sms_webhook()

    def sms(nik: str) -> str:
        text = f"ANTRE CIP {clinic.code} {nik}"
        response = client.post(
            "/-/sms/masuk",
            data={"from": "+6281234567890", "text": text},
            headers=headers,
        )
        return response.text

    assert "Queue number" in sms(NIK_MAN)
    assert "may already have a number" in sms(NIK_MAN)
    assert "may already have a number" in sms(NIK_MAN)
    assert "Too many queue numbers" in sms(NIK_WOMAN)  # 3 per day, refusals included
    assert len(tickets()) == 1


def test_the_web_form_limits_one_phone_whatever_the_address(client, clinic, tickets):
    form = {"clinic": str(clinic.id), "day": DAY, "phone": "0812-3456-7890"}
    for n in range(3):
        address = {"REMOTE_ADDR": f"10.0.{n}.1"}
        assert (
            client.post("/puskesmas/antrean/ambil", data=form, environ_base=address).status_code
            == 302
        )
    same_phone = {**form, "phone": "+62 812 3456 7890"}
    page = client.post(
        "/puskesmas/antrean/ambil", data=same_phone, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert page.status_code == 429
    assert 0 < int(page.headers["Retry-After"]) <= 24 * 3600
    assert "Too many queue numbers were taken with this mobile number." in page.text
    assert "Try again in 24 hours" in page.text
    assert 'id="phone-error"' in page.text  # the phone's own limit: the field it concerns
    assert "Please correct the fields" not in page.text
    assert len(tickets()) == 3


def test_the_web_form_says_plainly_that_this_connection_took_too_many(client, clinic, tickets):
    """The limit per address is no mistake in the form: no field is marked, and the
    page says what happened and when to try again."""
    form = {"clinic": str(clinic.id), "day": DAY, "phone": "0812-3456-7890"}
    for n in range(10):
        phone = {"phone": f"0812-3456-78{n:02d}"}
        assert client.post("/puskesmas/antrean/ambil", data={**form, **phone}).status_code == 302
    page = client.post("/puskesmas/antrean/ambil", data={**form, "phone": "0813-1111-2222"})
    assert page.status_code == 429
    assert 0 < int(page.headers["Retry-After"]) <= 3600
    assert "No number was taken. Too many queue numbers were taken from this connection." in (
        page.text
    )
    assert "Try again in 60 minutes, or take a number at the puskesmas." in page.text
    assert "Please correct the fields" not in page.text
    assert 'aria-invalid="true"' not in page.text and 'class="error"' not in page.text
    assert 'value="0813-1111-2222"' in page.text  # what was typed stays
    assert len(tickets()) == 10


def test_a_refused_take_is_not_counted(client, clinic, tickets, db_session):
    form = {"clinic": str(clinic.id), "day": "2026-01-01"}  # a day in the past
    for _ in range(12):
        assert client.post("/puskesmas/antrean/ambil", data=form).status_code == 400
    form["day"] = DAY
    assert client.post("/puskesmas/antrean/ambil", data=form).status_code == 302


def test_sms_antre_is_limited_per_phone(
    app, client, enabled, clinic, open_facility, tickets, sms_webhook
):
    headers = sms_webhook()

    def sms(sender: str) -> str:
        text = f"ANTRE {open_facility.code} {clinic.code}"
        response = client.post("/-/sms/masuk", data={"from": sender, "text": text}, headers=headers)
        assert response.status_code == 200
        return response.text

    replies = [sms("+6281234567890") for _ in range(4)]
    assert all("Queue number" in reply for reply in replies[:3])
    assert "Too many queue numbers were taken with this mobile number" in replies[3]
    assert len(tickets()) == 3
    assert "Queue number" in sms("+6281298765432")  # another phone, same gateway


def test_online_channels_leave_the_desk_its_share_of_the_quota(
    app, client, enabled, tenant, clinic, open_facility, open_kiosk, officer, tickets, sms_webhook
):
    """Quota 25, 20 % kept for the desk (the default): 30 anonymous takers from 30
    addresses at once get numbers 1 to 20; the web form and SMS are refused too; the
    desk and the kiosk give 21 to 25, and nobody gets a 26th."""

    def take(browser, n):
        address = {"REMOTE_ADDR": f"10.1.{n}.1"}
        return browser.post(API, json={"clinic_id": clinic.id, "day": DAY}, environ_base=address)

    statuses = in_parallel(app, tenant, take)
    assert sorted(statuses) == [201] * 20 + [422] * 10
    assert [t.number for t in tickets()] == list(range(1, 21))
    refused = client.post(
        API, json={"clinic_id": clinic.id, "day": DAY}, environ_base={"REMOTE_ADDR": "10.9.0.1"}
    )
    assert refused.status_code == 422
    message = refused.json["error"]["fields"]["clinic_id"][0]
    assert "numbers this clinic gives online for that day are used up" in message
    assert "registration desk" in message
    form = {"clinic": str(clinic.id), "day": DAY}
    address = {"REMOTE_ADDR": "10.9.0.2"}
    page = client.post("/puskesmas/antrean/ambil", data=form, environ_base=address)
    assert page.status_code == 400 and "gives online for that day are used up" in page.text
    assert "No number was taken: see the messages below." in page.text
    assert "Please correct" not in page.text  # nothing typed was wrong
    headers = sms_webhook()
    reply = client.post(
        "/-/sms/masuk",
        data={"from": "+6281298765432", "text": f"ANTRE {open_facility.code} {clinic.code}"},
        headers=headers,
    )
    assert "gives online for that day are used up" in reply.text
    assert len(tickets()) == 20

    kiosk = app.test_client()
    kiosk.host = tenant.domains[0]
    open_kiosk(kiosk, open_facility)
    for _ in range(2):
        taken = kiosk.post(f"/puskesmas/{open_facility.id}/kios", data={"clinic": str(clinic.id)})
        assert taken.status_code == 302
    desk = app.test_client()
    desk.host = tenant.domains[0]
    officer(desk, open_facility)
    desk.get("/bahasa?lang=en&next=/")
    for _ in range(3):
        assert desk.post(f"/puskesmas/loket/{clinic.id}/ambil", data={}).status_code == 302
    full = desk.post(f"/puskesmas/loket/{clinic.id}/ambil", data={})
    assert full.status_code == 400 and "has given all its numbers for that day" in full.text
    assert [t.number for t in tickets()] == list(range(1, 26))
    assert [t.channel for t in tickets()][20:] == ["kiosk"] * 2 + ["desk"] * 3


@pytest.mark.parametrize(("share", "online"), [(0, QUOTA), (10, 22), (100, 0)])
def test_the_desk_share_is_the_regions_setting(
    app, client, enabled, clinic, tickets, share, online, set_plugin_settings
):
    set_plugin_settings("puskesmas", desk_share_percent=share, **LIMITS)
    statuses = [
        client.post(
            API,
            json={"clinic_id": clinic.id, "day": DAY},
            environ_base={"REMOTE_ADDR": f"10.2.{n}.1"},
        ).status_code
        for n in range(QUOTA + 1)
    ]
    assert statuses == [201] * online + [422] * (QUOTA + 1 - online)
    assert len(tickets()) == online


@pytest.mark.parametrize(
    ("quota", "share", "online"),
    [(None, 20, None), (25, 20, 20), (3, 20, 2), (1, 20, 0), (10, 0, 10), (10, 100, 0), (7, 50, 3)],
)
def test_online_quota_keeps_at_least_one_number_for_any_share(quota, share, online):
    assert queue.online_quota(quota, share) == online


def test_the_kiosk_is_closed_to_anyone_the_staff_did_not_open_it_for(
    client, clinic, open_facility, tickets
):
    kiosk = f"/puskesmas/{open_facility.id}/kios"
    assert client.get(kiosk).status_code == 403
    taken = client.post(kiosk, data={"clinic": str(clinic.id)})
    assert taken.status_code == 403
    assert "not the kiosk of the puskesmas" in taken.text
    assert tickets() == []


def test_an_opened_kiosk_and_the_desk_are_exempt(
    app, client, clinic, open_facility, tickets, open_kiosk, officer, tenant
):
    open_kiosk(client, open_facility)
    assert client.get("/api/v1/me").status_code == 401  # the officer is logged out there
    kiosk = f"/puskesmas/{open_facility.id}/kios"
    for _ in range(12):
        assert (
            client.post(kiosk, data={"clinic": str(clinic.id), "nik": NIK_MAN}).status_code == 302
        )
    desk = app.test_client()
    desk.host = tenant.domains[0]
    officer(desk, open_facility)
    for _ in range(3):
        response = desk.post(f"/puskesmas/loket/{clinic.id}/ambil", data={"nik": NIK_MAN})
        assert response.status_code == 302
    assert len(tickets()) == 15


def test_only_staff_with_a_desk_duty_there_open_a_kiosk(
    client, login, open_facility, make_facility, officer
):
    login(client, role="warga")
    assert client.post(f"/puskesmas/loket/kios/{open_facility.id}").status_code == 403
    elsewhere = make_facility("LAIN", hours=EVERY_DAY)
    officer(client, elsewhere)
    assert client.post(f"/puskesmas/loket/kios/{open_facility.id}").status_code == 403
    assert client.get(f"/puskesmas/{open_facility.id}/kios").status_code == 403


def test_a_number_works_out_the_regions_settings_once_and_each_request_anew(
    client, clinic, tickets, monkeypatch, set_plugin_settings
):
    from balai_puskesmas import runtime

    resolved: list[str] = []
    real = runtime.plugin_settings

    def counting(name):
        values = real(name)
        resolved.append(values["ticket_limit_address"])
        return values

    monkeypatch.setattr(runtime, "plugin_settings", counting)
    assert client.post(API, json={"clinic_id": clinic.id, "day": DAY}).status_code == 201
    assert resolved == ["10 per hour"]  # the endpoint and the limits share them
    # the next request sees the region's change: nothing is kept beyond a request
    set_plugin_settings("puskesmas", ticket_limit_address="20 per hour")
    assert client.post(API, json={"clinic_id": clinic.id, "day": DAY}).status_code == 201
    assert resolved == ["10 per hour", "20 per hour"]
    assert len(tickets()) == 2
