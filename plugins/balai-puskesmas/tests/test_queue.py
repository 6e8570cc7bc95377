"""Taking a queue number on the web and at the kiosk, following and cancelling it, and
the rules of :mod:`balai_puskesmas.queue` behind them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.db import utcnow
from balai_puskesmas import queue
from balai_puskesmas.models import Clinic, Facility, QueueCounter, Ticket
from balai_puskesmas.services import PuskesmasError
from balai_puskesmas.vault import Vault

from .conftest import NIK_MAN, NIK_WOMAN

pytestmark = pytest.mark.clock  # see docs/testing.md, "Dates and times"

TZ = "Asia/Jakarta"
TAKE = "/puskesmas/antrean/ambil"
EVERY_DAY = {str(d): ["00:00", "23:59"] for d in range(1, 8)}


@pytest.fixture(autouse=True)
def english(client) -> None:
    """Pages in English: the assertions read message ids, whatever the catalogue says."""
    client.get("/bahasa?lang=en&next=/")


def region_today() -> date:
    return queue.region_today(utcnow(), TZ)


@pytest.fixture
def open_facility(enabled, make_facility: Callable[..., Facility]) -> Facility:
    """A puskesmas open every day (so the tests pass on Sundays too), clinics UMUM, GIGI, KIA."""
    return make_facility(hours=EVERY_DAY)


@pytest.fixture
def umum(open_facility: Facility) -> Clinic:
    return open_facility.clinics[0]


@pytest.fixture
def stored(db_session: Session) -> Callable[[], list[Ticket]]:
    """``stored()``: the tenant's tickets as the database has them now."""

    def read() -> list[Ticket]:
        db_session.rollback()
        db_session.expire_all()
        return list(db_session.scalars(select(Ticket).order_by(Ticket.id)))

    return read


@pytest.fixture
def counters(db_session: Session) -> Callable[[], list[int]]:
    def read() -> list[int]:
        db_session.rollback()
        db_session.expire_all()
        return list(db_session.scalars(select(QueueCounter.last_number)))

    return read


def form(clinic: Clinic, day: date | None = None, **fields: str) -> dict[str, str]:
    return {"clinic": str(clinic.id), "day": (day or region_today()).isoformat(), **fields}


def code_of(response) -> str:
    assert response.status_code == 302, response.text
    return response.headers["Location"].rsplit("/", 1)[-1]


# -- the web form --------------------------------------------------------------------


def test_form_lists_the_clinics_and_the_bookable_days(client, umum, open_facility):
    response = client.get(f"{TAKE}?poli={umum.id}")
    assert response.status_code == 200
    assert 'name="csrf_token"' in response.text
    assert f'<option value="{umum.id}" selected>' in response.text
    assert open_facility.name in response.text
    days = [region_today() + timedelta(days=n) for n in range(8)]  # days_ahead: 7
    for day in days:
        assert f'value="{day.isoformat()}"' in response.text
    assert (days[-1] + timedelta(days=1)).isoformat() not in response.text


def test_form_without_puskesmas_says_so(client, enabled):
    response = client.get(TAKE)
    assert response.status_code == 200
    assert "<select" not in response.text and 'class="empty"' in response.text


def test_taking_numbers_gives_consecutive_numbers_and_the_wait(client, umum, stored):
    first = code_of(client.post(TAKE, data=form(umum)))
    second = code_of(client.post(TAKE, data=form(umum)))
    tickets = stored()
    assert [(t.number, t.status, t.channel, t.day) for t in tickets] == [
        (1, "waiting", "web", region_today()),
        (2, "waiting", "web", region_today()),
    ]
    assert [t.code for t in tickets] == [first, second]
    assert len(first) == 12 and set(first + second) <= set(queue.CODE_ALPHABET)
    assert first != second
    page = client.get(f"/puskesmas/antrean/{second}")
    assert page.status_code == 200
    assert "UMUM-002" in page.text
    assert '<meta http-equiv="refresh" content="30"></noscript>' in page.text
    assert "about 10 minutes" in page.text  # one ahead, 10 minutes per patient
    assert "Poli Umum" in page.text and "Puskesmas Cip" in page.text


def test_a_waiting_ticket_reloads_itself_until_its_holder_stops_it(client, umum):
    code = code_of(client.post(TAKE, data=form(umum)))
    page = client.get(f"/puskesmas/antrean/{code}").text
    # Without scripts a meta refresh (inside <noscript>, so with scripts only
    # refresh.js's timer runs, which has a Pause button), and a link that stops it.
    assert '<noscript data-refresh="30"' in page and "refresh.js" in page
    assert 'data-pause="Pause reloading"' in page
    assert f'href="/puskesmas/antrean/{code}?segar=0">Stop reloading</a>' in page
    stopped = client.get(f"/puskesmas/antrean/{code}?segar=0").text
    assert "http-equiv" not in stopped and "refresh.js" not in stopped
    assert "This page does not reload itself." in stopped
    assert f'href="/puskesmas/antrean/{code}">Reload every 30 seconds</a>' in stopped


def test_numbers_are_per_clinic_and_per_day(client, open_facility, stored):
    umum, gigi = open_facility.clinics[0], open_facility.clinics[1]
    tomorrow = region_today() + timedelta(days=1)
    for data in (form(umum), form(gigi), form(umum, tomorrow), form(umum)):
        code_of(client.post(TAKE, data=data))
    assert [(t.clinic_id, t.day, t.number) for t in stored()] == [
        (umum.id, region_today(), 1),
        (gigi.id, region_today(), 1),
        (umum.id, tomorrow, 1),
        (umum.id, region_today(), 2),
    ]


def test_nik_and_phone_are_kept_sealed(client, umum, stored, vault: Vault, audited):
    code_of(client.post(TAKE, data=form(umum, nik=NIK_WOMAN, phone="0812-3456-7890")))
    [ticket] = stored()
    assert ticket.patient_id is None
    assert NIK_WOMAN.encode() not in ticket.nik_cipher
    assert vault.decrypt(ticket.nik_cipher, audited) == NIK_WOMAN
    assert ticket.nik_hash == vault.hash(NIK_WOMAN)
    assert vault.decrypt(ticket.phone_cipher, audited) == "+6281234567890"


def test_nik_of_a_known_patient_only_suggests_them(client, umum, stored, add_patient):
    patient = add_patient(NIK_MAN)
    code_of(client.post(TAKE, data=form(umum, nik=NIK_MAN)))
    [ticket] = stored()
    assert (ticket.patient_id, ticket.suggested_patient_id) == (None, patient.id)
    assert ticket.nik_cipher is None  # the record has it already


def test_logged_in_citizen_is_remembered(client, umum, stored, login):
    user = login(client)
    code_of(client.post(TAKE, data=form(umum)))
    assert stored()[0].user_id == user.id


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"clinic": ""}, "clinic", "Choose a clinic."),
        ({"clinic": "abc"}, "clinic", "Choose a clinic from the list."),
        ({"clinic": "99999"}, "clinic", "Choose a clinic from the list."),
        ({"day": ""}, "day", "Choose a day."),
        ({"day": "besok"}, "day", "Choose a day from the list."),
        ({"nik": "3671-0115"}, "nik", "A NIK is exactly 16 digits"),
        ({"nik": "9971011503859901"}, "nik", "not a province code"),
        ({"nik": NIK_MAN[:15]}, "nik", "A NIK is exactly 16 digits"),
        ({"nik": NIK_MAN + "\n"}, "nik", "A NIK is exactly 16 digits"),
        ({"nik": f" {NIK_MAN} "}, "nik", "A NIK is exactly 16 digits"),
        ({"phone": "12345"}, "phone", "Enter an Indonesian mobile number"),
        ({"phone": "021 555 1234"}, "phone", "Enter an Indonesian mobile number"),
    ],
)
def test_invalid_fields_are_named_and_nothing_is_written(
    client, umum, stored, counters, fields, field, message
):
    response = client.post(TAKE, data={**form(umum), **fields})
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text
    assert message in response.text
    assert "No number was taken" in response.text
    assert stored() == [] and counters() == []


def test_days_outside_the_window_are_refused(client, umum, stored):
    yesterday = region_today() - timedelta(days=1)
    too_far = region_today() + timedelta(days=8)
    for day in (yesterday, too_far):
        response = client.post(TAKE, data=form(umum, day))
        assert response.status_code == 400
        assert 'id="day-error"' in response.text and "Choose a day from today to" in response.text
    assert stored() == []
    code_of(client.post(TAKE, data=form(umum, region_today() + timedelta(days=7))))


@pytest.mark.balai_config(PLUGIN_SETTINGS={"puskesmas": {"days_ahead": 0}})
def test_days_ahead_zero_means_today_only(client, umum, stored):
    response = client.post(TAKE, data=form(umum, region_today() + timedelta(days=1)))
    assert response.status_code == 400
    assert "Numbers are given for today only." in response.text
    assert 'value="' + (region_today() + timedelta(days=1)).isoformat() not in response.text
    code_of(client.post(TAKE, data=form(umum)))
    assert len(stored()) == 1


def test_closed_day_is_refused(client, enabled, make_facility, stored):
    today = region_today()
    hours = {str(d): ["07:30", "14:00"] for d in range(1, 8) if d != today.isoweekday()}
    facility = make_facility(hours=hours)
    response = client.post(TAKE, data=form(facility.clinics[0]))
    assert response.status_code == 400
    assert "The puskesmas is closed on that day." in response.text
    assert stored() == []
    code_of(client.post(TAKE, data=form(facility.clinics[0], today + timedelta(days=1))))


def test_inactive_clinic_or_puskesmas_is_refused(client, open_facility, db_session, stored):
    umum, gigi = open_facility.clinics[0], open_facility.clinics[1]
    db_session.get(Clinic, gigi.id).active = False
    db_session.commit()
    assert client.post(TAKE, data=form(gigi)).status_code == 400
    db_session.get(Facility, open_facility.id).active = False
    db_session.commit()
    response = client.post(TAKE, data=form(umum))
    assert response.status_code == 400 and "Choose a clinic from the list." in response.text
    assert stored() == []


# The whole quota online: the desk's share is tested in test_queue_limits.py.
@pytest.mark.balai_config(PLUGIN_SETTINGS={"puskesmas": {"desk_share_percent": 0}})
def test_daily_quota_gives_no_number_past_it(client, umum, db_session, stored, counters):
    db_session.get(Clinic, umum.id).daily_quota = 2
    db_session.commit()
    code_of(client.post(TAKE, data=form(umum)))
    code_of(client.post(TAKE, data=form(umum)))
    response = client.post(TAKE, data=form(umum))
    assert response.status_code == 400
    assert "This clinic has given all its numbers for that day." in response.text
    assert [t.number for t in stored()] == [1, 2]
    assert counters() == [2]
    tomorrow = region_today() + timedelta(days=1)
    code_of(client.post(TAKE, data=form(umum, tomorrow)))  # a new day, a new quota


# -- following and cancelling --------------------------------------------------------


def test_unknown_code_is_404(client, enabled):
    assert client.get("/puskesmas/antrean/tidak-ada").status_code == 404
    assert client.post("/puskesmas/antrean/tidak-ada/batal").status_code == 404


def test_holder_cancels_a_waiting_number(client, umum, stored):
    first = code_of(client.post(TAKE, data=form(umum)))
    second = code_of(client.post(TAKE, data=form(umum)))
    response = client.post(f"/puskesmas/antrean/{first}/batal")
    assert response.status_code == 302
    assert [t.status for t in stored()] == ["cancelled", "waiting"]
    page = client.get(f"/puskesmas/antrean/{first}")
    assert "Cancelled" in page.text and "refresh" not in page.text
    assert "/batal" not in page.text
    again = client.post(f"/puskesmas/antrean/{first}/batal")
    assert again.status_code == 409
    assert "only a waiting number is cancelled" in again.text
    follow = client.get(f"/puskesmas/antrean/{second}")
    assert "People ahead</dt><dd>0" in follow.text


def test_ticket_for_a_later_day_does_not_reload(client, umum):
    code = code_of(client.post(TAKE, data=form(umum, region_today() + timedelta(days=2))))
    page = client.get(f"/puskesmas/antrean/{code}")
    assert page.status_code == 200 and 'http-equiv="refresh"' not in page.text


def test_other_region_cannot_see_a_ticket(client, other_client, umum, enable_plugin, other_tenant):
    enable_plugin("puskesmas", tenant=other_tenant)
    code = code_of(client.post(TAKE, data=form(umum)))
    assert other_client.get(f"/puskesmas/antrean/{code}").status_code == 404
    assert other_client.post(f"/puskesmas/antrean/{code}/batal").status_code == 404
    response = other_client.post(TAKE, data=form(umum))  # another region's clinic id
    assert response.status_code == 400
    assert client.get(f"/puskesmas/antrean/{code}").status_code == 200


def test_pages_answer_404_while_the_plugin_is_off(client, tenant):
    assert client.get("/puskesmas/").status_code == 404
    assert client.get(TAKE).status_code == 404


# -- the list of puskesmas ------------------------------------------------------------


def test_index_empty_state(client, enabled):
    response = client.get("/puskesmas/")
    assert response.status_code == 200
    assert "This region has not listed its puskesmas yet." in response.text
    assert response.text.count("puskesmas.css") == 1


def test_index_lists_puskesmas_with_waiting_counts(client, umum, open_facility, make_facility):
    make_facility("OFF", active=False)
    code_of(client.post(TAKE, data=form(umum)))
    response = client.get("/puskesmas/")
    assert response.status_code == 200
    assert open_facility.name in response.text and "Puskesmas Off" not in response.text
    assert "<strong>Poli Umum</strong> · 1 waiting" in response.text
    assert "<code>CIP UMUM</code>" not in response.text  # SMS codes only with sms_number
    assert f"/puskesmas/{open_facility.id}/layar" in response.text
    assert f"{TAKE}?poli={umum.id}" in response.text
    assert "00:00" in response.text
    assert client.get("/puskesmas/?page=2").status_code == 404


def test_index_shows_only_this_regions_puskesmas(
    client, other_client, open_facility, enable_plugin, other_tenant
):
    enable_plugin("puskesmas", tenant=other_tenant)
    other_client.get("/bahasa?lang=en&next=/")
    response = other_client.get("/puskesmas/")
    assert response.status_code == 200
    assert "This region has not listed its puskesmas yet." in response.text
    assert open_facility.name not in response.text
    assert other_client.get(f"{TAKE}").text.count("<option") == 0


def test_index_is_paginated(client, enabled, make_facility):
    for n in range(21):
        make_facility(f"P{n:02d}", clinics=("UMUM",))
    first = client.get("/puskesmas/")
    assert first.text.count('class="card"') == 20 and "?page=2" in first.text
    second = client.get("/puskesmas/?page=2")
    assert second.status_code == 200 and second.text.count('class="card"') == 1


# -- the kiosk -----------------------------------------------------------------------


def test_kiosk_gives_a_number_for_today(client, umum, open_facility, stored, open_kiosk):
    open_kiosk(client, open_facility)
    kiosk = f"/puskesmas/{open_facility.id}/kios"
    page = client.get(kiosk)
    assert page.status_code == 200
    assert f'name="clinic" value="{umum.id}"' in page.text
    assert 'name="csrf_token"' in page.text
    response = client.post(kiosk, data={"clinic": str(umum.id), "nik": NIK_MAN})
    assert response.status_code == 302
    [ticket] = stored()
    assert (ticket.channel, ticket.number, ticket.day) == ("kiosk", 1, region_today())
    assert ticket.nik_hash is not None
    shown = client.get(response.headers["Location"])
    assert shown.status_code == 200
    assert "UMUM-001" in shown.text
    assert f"/puskesmas/antrean/{ticket.code}" in shown.text
    assert f'content="45; url=/puskesmas/{open_facility.id}/kios"' in shown.text


def test_kiosk_refusals(client, umum, open_facility, make_facility, stored, open_kiosk):
    open_kiosk(client, open_facility)
    kiosk = f"/puskesmas/{open_facility.id}/kios"
    assert client.post(kiosk, data={"clinic": ""}).status_code == 400
    assert client.post(kiosk, data={"clinic": str(umum.id), "nik": "123"}).status_code == 400
    other = make_facility("LAIN", hours=EVERY_DAY)
    wrong = client.post(kiosk, data={"clinic": str(other.clinics[0].id)})
    assert wrong.status_code == 400 and "Choose a clinic from the list." in wrong.text
    assert stored() == []
    assert client.get("/puskesmas/99999/kios").status_code == 404


def test_kiosk_of_a_closed_day(client, enabled, make_facility, open_kiosk):
    today = region_today()
    hours = {str(d): ["07:30", "14:00"] for d in range(1, 8) if d != today.isoweekday()}
    facility = make_facility(hours=hours)
    open_kiosk(client, facility)
    page = client.get(f"/puskesmas/{facility.id}/kios")
    assert "The puskesmas is closed today." in page.text
    assert 'name="clinic"' not in page.text


def test_kiosk_ticket_must_belong_to_the_puskesmas(client, umum, enabled, make_facility):
    code = code_of(client.post(TAKE, data=form(umum)))
    other = make_facility("LAIN")
    assert client.get(f"/puskesmas/{other.id}/kios/{code}").status_code == 404


# -- the rules without HTTP -----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("081234567890", "+6281234567890"),
        ("0812 3456 7890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("(0812) 345.678", "+62812345678"),
    ],
)
def test_phone_numbers_are_normalised(typed, normalised):
    assert queue.normalise_phone(typed) == normalised


@pytest.mark.parametrize(
    "typed", ["", "0212345678", "+1 415 555 0100", "08123", "0812345678901234"]
)
def test_other_phone_numbers_are_refused(typed):
    with pytest.raises(PuskesmasError) as refused:
        queue.normalise_phone(typed)
    assert list(refused.value.errors) == ["phone"]


def test_the_regions_today_follows_its_time_zone():
    evening = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)  # 00.30 on the 24th in Jakarta
    assert queue.region_today(evening, "Asia/Jakarta") == date(2026, 11, 24)
    assert queue.region_today(evening, "UTC") == date(2026, 11, 23)
    assert queue.bookable_days(evening, "Asia/Jayapura", 2) == [
        date(2026, 11, 24),
        date(2026, 11, 25),
        date(2026, 11, 26),
    ]


def test_a_rolled_back_take_gives_its_number_back(db_session, vault, umum):
    now = utcnow()
    take = {"channel": "desk", "days_ahead": 0, "closed_on_holidays": False, "timezone": TZ}
    ticket = queue.take_number(db_session, vault, umum.id, region_today(), now, **take)
    assert ticket.number == 1 and queue.display_number(ticket) == "UMUM-001"
    db_session.rollback()
    again = queue.take_number(db_session, vault, umum.id, region_today(), now, **take)
    assert again.number == 1
    db_session.commit()
    third = queue.take_number(db_session, vault, umum.id, region_today(), now, **take)
    assert third.number == 2
    db_session.commit()


def test_unknown_channel_is_a_programming_error(db_session, vault, umum):
    with pytest.raises(ValueError, match="channel"):
        queue.take_number(
            db_session,
            vault,
            umum.id,
            region_today(),
            utcnow(),
            channel="fax",
            days_ahead=0,
            closed_on_holidays=False,
            timezone=TZ,
        )


def test_estimate_counts_only_waiting_numbers_before(db_session, vault, umum):
    now = utcnow()
    take = {"channel": "web", "days_ahead": 0, "closed_on_holidays": False, "timezone": TZ}
    tickets = [
        queue.take_number(db_session, vault, umum.id, region_today(), now, **take)
        for _n in range(4)
    ]
    tickets[0].status = "served"
    tickets[1].status = "cancelled"
    db_session.commit()
    assert queue.estimate(db_session, tickets[3]) == (1, 10)
    assert queue.estimate(db_session, tickets[2]) == (0, 0)
    assert queue.estimate(db_session, tickets[0]) == (0, 0)
