"""The lobby kiosk (goes back to its start by itself, a QR code of the follow link, big
touch targets) and the display board (the next numbers, where to go, a chime switched
on by a button, a reload that works without scripts). The time is frozen."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from balai.testing import travel
from balai_puskesmas import queue
from balai_puskesmas.models import Ticket
from balai_puskesmas.services import Actor
from balai_puskesmas.views import KIOSK_IDLE_SECONDS, KIOSK_RETURN_SECONDS

HOURS = {str(d): ["07:00", "16:00"] for d in range(1, 8)}
MONDAY_NINE = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 WIB
TODAY = date(2026, 11, 23)
TZ = "Asia/Jakarta"


@pytest.fixture(autouse=True)
def english(client):
    client.get("/bahasa?lang=en&next=/")


@pytest.fixture(autouse=True)
def frozen():
    with travel(MONDAY_NINE):
        yield


@pytest.fixture
def facility(enabled, make_facility, db_session):
    return db_session.merge(make_facility(hours=HOURS))


# -- the kiosk ---------------------------------------------------------------------------


def test_the_kiosk_goes_back_to_a_clean_start_by_itself(client, facility, open_kiosk):
    open_kiosk(client, facility)
    kiosk = f"/puskesmas/{facility.id}/kios"
    start = client.get(kiosk).text
    refresh = f'<meta http-equiv="refresh" content="{KIOSK_IDLE_SECONDS}; url={kiosk}"></noscript>'
    assert refresh in start
    refused = client.post(kiosk, data={"clinic": str(facility.clinics[0].id), "nik": "123"})
    assert refused.status_code == 400 and refresh in refused.text  # the NIK typed goes too


def test_the_kiosk_ticket_shows_a_qr_code_of_the_follow_link(
    client, facility, open_kiosk, db_session
):
    open_kiosk(client, facility)
    kiosk = f"/puskesmas/{facility.id}/kios"
    taken = client.post(kiosk, data={"clinic": str(facility.clinics[0].id)})
    page = client.get(taken.headers["Location"]).text
    ticket = db_session.scalars(select(Ticket)).one()
    link = f"http://kota-a.test/puskesmas/antrean/{ticket.code}"
    assert link in page
    assert 'class="kiosk-qr"><title>QR code' in page
    assert f'content="{KIOSK_RETURN_SECONDS}; url={kiosk}"' in page
    assert "goes back to the start by itself" in page
    assert "estimated call around 09.00" in page  # nobody ahead, open since 07:00


def test_the_qr_code_encodes_the_link():
    """The SVG is segno's drawing of exactly this text (decoded by segno's own matrix)."""
    import segno

    from balai_puskesmas.views import qr_svg

    link = "http://kota-a.test/puskesmas/antrean/ABCDEFGHJKMN"
    svg = str(qr_svg(link, "QR <&>"))
    assert svg.startswith("<svg ") and 'class="kiosk-qr"><title>QR &lt;&amp;&gt;</title>' in svg
    expected = segno.make(link, error="m", micro=False)
    assert svg == expected.svg_inline(
        scale=1, border=2, dark="#000", light="#fff", svgclass="kiosk-qr",
        title="QR <&>", omitsize=True,
    )  # fmt: skip


def static(client, name):
    response = client.get(f"/puskesmas/static/{name}")
    assert response.status_code == 200
    text = response.text
    response.close()
    return text


def test_the_kiosk_style_sheet_has_big_targets_on_a_portrait_screen(client, enabled):
    css = static(client, "puskesmas.css")
    portrait = css[css.index("@media (orientation:portrait) and (min-width:48rem)") :]
    assert ".kiosk-buttons button{font-size:2.75rem;min-height:10rem}" in portrait


# -- the board ------------------------------------------------------------------------


def take(db_session, vault, clinic, count):
    options = {"channel": "kiosk", "days_ahead": 0, "closed_on_holidays": False, "timezone": TZ}
    tickets = [
        queue.take_number(db_session, vault, clinic.id, TODAY, MONDAY_NINE, **options)
        for _n in range(count)
    ]
    db_session.commit()
    return tickets


def test_the_board_shows_where_to_go_and_the_next_numbers(client, facility, db_session, vault):
    umum = facility.clinics[0]
    take(db_session, vault, umum, 6)
    desk = Actor(user_id=None, label="desk", duties={facility.id: "registration"})
    called = queue.call_next(db_session, desk, umum.id, TODAY, MONDAY_NINE)
    db_session.commit()
    page = client.get(f"/puskesmas/{facility.id}/layar").text
    assert "UMUM-001" in page and "Please go to Poli Umum" in page
    upcoming = page[page.index('<ul class="upcoming">') :]
    upcoming = upcoming[: upcoming.index("</ul>")]
    assert [n for n in ("UMUM-002", "UMUM-003", "UMUM-004", "UMUM-005") if n in upcoming] == [
        "UMUM-002", "UMUM-003", "UMUM-004",
    ]  # fmt: skip
    assert f'data-called="{called.id}:0"' in page
    queue.recall(db_session, desk, called.id, MONDAY_NINE)
    db_session.commit()
    again = client.get(f"/puskesmas/{facility.id}/layar").text
    assert f'data-called="{called.id}:1"' in again  # called again: the chime plays again


def test_every_clinic_with_a_called_number_says_where_to_go(
    client, facility, db_session, vault
):
    """The number last called stays on the board once served: its card says where to
    go like every other card with a called number, and plays no chime."""
    umum, gigi = facility.clinics[0], facility.clinics[1]
    take(db_session, vault, umum, 2)
    take(db_session, vault, gigi, 2)
    desk = Actor(user_id=None, label="desk", duties={facility.id: "registration"})
    served = queue.call_next(db_session, desk, umum.id, TODAY, MONDAY_NINE)
    queue.call_next(db_session, desk, gigi.id, TODAY, MONDAY_NINE)
    db_session.commit()
    queue.finish(db_session, desk, served.id, MONDAY_NINE)
    db_session.commit()
    page = client.get(f"/puskesmas/{facility.id}/layar").text
    assert "UMUM-001" in page and "GIGI-001" in page
    assert "Please go to Poli Umum" in page and "Please go to Poli Gigi" in page
    assert f'data-called="{served.id}:' not in page


def test_the_board_reloads_without_scripts_and_chimes_with_them(client, facility):
    page = client.get(f"/puskesmas/{facility.id}/layar").text
    assert '<noscript><meta http-equiv="refresh" content="15"></noscript>' in page
    assert 'src="/puskesmas/static/board.js"' in page
    assert '<button type="button" id="board-sound" hidden' in page  # shown by the script
    assert 'id="board-live" data-refresh="15"' in page
    script = static(client, "board.js")
    assert "AudioContext" in script and "board-live" in script


def test_the_board_says_nothing_of_a_clinic_nobody_called(client, facility):
    page = client.get(f"/puskesmas/{facility.id}/layar").text
    assert "Please go to" not in page and 'class="upcoming"' not in page
