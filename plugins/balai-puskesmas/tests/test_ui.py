"""What the pages show and how, where QA found them wanting: the display board as a
screen of its own, the list of puskesmas, private ticket pages, asking before a number
is cancelled, the desk's and the menu's links by duty, NIK inputs that keep a pasted
number whole, wording, units and the plugin's style sheet on every page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from balai.db import utcnow
from balai_puskesmas import manage, queue, views
from balai_puskesmas.models import Clinic, Facility, Ticket, Visit

from .conftest import NIK_MAN

TZ = "Asia/Jakarta"
TAKE = "/puskesmas/antrean/ambil"
EVERY_DAY = {str(d): ["00:00", "23:59"] for d in range(1, 8)}
PLUGIN = Path(views.__file__).parent
TEMPLATES = PLUGIN / "templates" / "puskesmas"


@pytest.fixture(autouse=True)
def english(client) -> None:
    """Pages in English: the assertions read message ids, whatever the catalogue says."""
    client.get("/bahasa?lang=en&next=/")


@pytest.fixture
def open_facility(enabled, make_facility: Callable[..., Facility]) -> Facility:
    return make_facility(hours=EVERY_DAY, phone="(021) 552-3456")


@pytest.fixture
def umum(open_facility: Facility) -> Clinic:
    return open_facility.clinics[0]


def take_code(client, clinic: Clinic) -> str:
    today = queue.region_today(utcnow(), TZ)
    response = client.post(TAKE, data={"clinic": str(clinic.id), "day": today.isoformat()})
    assert response.status_code == 302, response.text
    return response.headers["Location"].rsplit("/", 1)[-1]


def tickets(db_session) -> list[Ticket]:
    db_session.rollback()
    db_session.expire_all()
    return list(db_session.scalars(select(Ticket).order_by(Ticket.id)))


def test_no_template_has_inline_script_or_style():
    """The CSP allows scripts and styles from files of this site only: a template may
    name a script file (``<script src=... defer></script>``), never hold one."""
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert "style=" not in text and "<style" not in text, path
        # a script only from a file of this site (the CSP allows nothing else), and only
        # to enhance a page that works without it (the board's chime)
        for script in re.findall(r"<script[^>]*>(.*?)</script>", text, re.S):
            assert script == "", path
        assert re.findall(r"<script(?![^>]*\bsrc=)", text) == [], path


# -- the display board -----------------------------------------------------------------


def test_the_board_is_a_screen_without_the_site_around_it(client, open_facility, tenant):
    page = client.get(f"/puskesmas/{open_facility.id}/layar").text
    assert '<header class="site"' not in page and '<footer class="site"' not in page
    # the theme's and the region's style sheets, so the region's colours apply
    assert re.search(r'href="/-/theme/[^"]+/balai\.css"', page)
    assert 'href="/-/tenant.css"' in page and "puskesmas.css" in page
    assert f'<p class="board-region">{tenant.name}</p>' in page
    assert f"<h1>{open_facility.name}</h1>" in page
    assert '<span class="board-time">' in page  # the clock: the time of the last refresh
    assert '<ul class="board-clinics board-n3 board-short"' in page
    assert page.count('<li class="board-card"') == 3


@pytest.mark.parametrize(
    ("codes", "classes"),
    [
        (("UMUM", "LANSIA"), "board-n2"),  # LANSIA-012: ten characters
        (("UMUM", "IMUNISASI"), "board-n2 board-long"),
        (("KESEHATAN-ANAK",), "board-n1 board-longer"),
        (tuple(f"P{n:02d}" for n in range(13)), "board-many board-short"),
    ],
)
def test_the_boards_grid_follows_the_clinics(client, enabled, make_facility, codes, classes):
    facility = make_facility("PKM", clinics=codes, hours=EVERY_DAY)
    page = client.get(f"/puskesmas/{facility.id}/layar").text
    assert f'<ul class="board-clinics {classes}"' in page


def test_the_board_css_sizes_the_number_to_its_card(client, enabled):
    response = client.get("/puskesmas/static/puskesmas.css")
    css = response.text
    response.close()
    assert "body.screen" in css and ".board-card{--fs:" in css
    assert "min-width:0" in css  # grid items and fieldsets shrink to a phone's width


# -- the list of puskesmas ---------------------------------------------------------------


def test_an_empty_region_shows_only_the_empty_state(client, enabled):
    page = client.get("/puskesmas/").text
    assert "This region has not listed its puskesmas yet." in page
    assert f'href="{TAKE}"' not in page and "By SMS" not in page


def test_the_list_shows_the_phone_as_a_link(client, open_facility, umum):
    page = client.get("/puskesmas/").text
    assert '<a href="tel:0215523456">(021) 552-3456</a>' in page
    assert f'href="{TAKE}"' in page
    assert f'href="{TAKE}?poli={umum.id}"' in page


def test_the_sms_instructions_name_the_number_or_are_not_shown(
    app, client, enabled, open_facility, umum, set_plugin_settings, sms_webhook
):
    page = client.get("/puskesmas/").text
    assert "By SMS" not in page and "SMS code" not in page  # no number, no webhook
    set_plugin_settings("puskesmas", closed_on_holidays=False, sms_number="0812 1234 5678")
    page = client.get("/puskesmas/").text
    assert "By SMS" not in page and "SMS code" not in page  # the webhook is not set up
    sms_webhook()
    page = client.get("/puskesmas/").text
    assert "By SMS to 0812 1234 5678: ANTRE &lt;kode puskesmas&gt; &lt;kode poli&gt; [NIK]" in page
    assert "<code>CIP UMUM</code>" in page


def test_tel_uri():
    assert views.tel_uri("021 5523 0101") == "tel:02155230101"
    assert views.tel_uri("+62 21-5523-0101") == "tel:+622155230101"


# -- following and cancelling a number ---------------------------------------------------


@pytest.mark.clock
def test_the_ticket_page_is_private_and_cancelling_asks_first(client, umum, db_session):
    code = take_code(client, umum)
    page = client.get(f"/puskesmas/antrean/{code}")
    assert page.headers["Cache-Control"] == "no-store"
    assert f'href="/puskesmas/antrean/{code}/batal"' in page.text
    assert 'method="post"' not in page.text  # the button leads to the question

    question = client.get(f"/puskesmas/antrean/{code}/batal")
    assert question.status_code == 200
    assert question.headers["Cache-Control"] == "no-store"
    assert "<h1>Cancel number UMUM-001?</h1>" in question.text
    assert f'<form method="post" action="/puskesmas/antrean/{code}/batal"' in question.text
    assert f'href="/puskesmas/antrean/{code}"' in question.text  # keep it
    assert [t.status for t in tickets(db_session)] == ["waiting"]

    done = client.post(f"/puskesmas/antrean/{code}/batal", follow_redirects=True)
    assert [t.status for t in tickets(db_session)] == ["cancelled"]
    assert "This number is cancelled" in done.text
    assert f'href="{TAKE}?poli={umum.id}">Take a new number</a>' in done.text
    assert "Keep the address of this page" not in done.text
    assert "/batal" not in done.text
    again = client.get(f"/puskesmas/antrean/{code}/batal")
    assert again.status_code == 302 and again.headers["Location"].endswith(code)


def test_cancelling_an_unknown_number_is_404(client, enabled):
    assert client.get("/puskesmas/antrean/tidak-ada/batal").status_code == 404


# -- the kiosk -----------------------------------------------------------------------------


@pytest.mark.clock
def test_the_kiosk_keeps_nothing_for_the_next_person(client, open_facility, umum, open_kiosk):
    open_kiosk(client, open_facility)
    kiosk = f"/puskesmas/{open_facility.id}/kios"
    page = client.get(kiosk)
    assert page.headers["Cache-Control"] == "no-store"
    taken = client.post(kiosk, data={"clinic": str(umum.id), "nik": NIK_MAN})
    shown = client.get(taken.headers["Location"])
    assert shown.status_code == 200 and "UMUM-001" in shown.text
    assert shown.headers["Cache-Control"] == "no-store"
    # the next person's Back button (or the address typed in) gets the buttons back
    again = client.get(taken.headers["Location"])
    assert again.status_code == 302 and again.headers["Location"] == kiosk
    assert again.headers["Cache-Control"] == "no-store"
    refused = client.post(kiosk, data={"clinic": str(umum.id), "nik": "123"})
    assert refused.status_code == 400 and refused.headers["Cache-Control"] == "no-store"


@pytest.mark.clock
def test_a_ticket_taken_elsewhere_is_not_shown_at_the_kiosk(client, open_facility, umum):
    code = take_code(client, umum)
    response = client.get(f"/puskesmas/{open_facility.id}/kios/{code}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/puskesmas/{open_facility.id}/kios"


# -- NIK inputs ------------------------------------------------------------------------------


def nik_inputs(html: str) -> list[str]:
    return re.findall(r'<input id="f-nik"[^>]*>', html)


@pytest.mark.clock
def test_nik_inputs_do_not_cut_a_pasted_number(
    app, client, open_facility, umum, officer, db_session, open_kiosk
):
    kiosk = app.test_client()
    kiosk.host = client.host
    open_kiosk(kiosk, open_facility)
    pages = [(client, TAKE), (kiosk, f"/puskesmas/{open_facility.id}/kios")]
    officer(client, open_facility, "registration")
    pages += [
        (client, url)
        for url in (f"/puskesmas/loket/{umum.id}", "/puskesmas/pasien/", "/puskesmas/pasien/baru")
    ]
    for browser, url in pages:
        [tag] = nik_inputs(browser.get(url).text)
        assert 'maxlength="16"' not in tag, url
        assert 'inputmode="numeric"' in tag and 'autocomplete="off"' in tag, url
    today = queue.region_today(utcnow(), TZ)
    data = {"clinic": str(umum.id), "day": today.isoformat(), "nik": NIK_MAN + "1"}
    refused = client.post(TAKE, data=data)
    assert refused.status_code == 400 and 'id="nik-error"' in refused.text
    assert tickets(db_session) == []


# -- the desk and the menu by duty ---------------------------------------------------------


def account_menu(client) -> str:
    page = client.get("/puskesmas/").text
    return page[page.index('<div class="account"') :]


@pytest.mark.parametrize(
    ("duty", "desk", "patients"),
    [("registration", True, True), ("clinician", True, True), ("viewer", False, True)],
)
def test_the_menu_follows_the_duty(client, open_facility, officer, duty, desk, patients):
    officer(client, open_facility, duty)
    menu = account_menu(client)
    assert ('href="/puskesmas/loket/"' in menu) is desk
    assert ('href="/puskesmas/pasien/"' in menu) is patients


def test_an_officer_without_a_duty_gets_neither_item(client, open_facility, login):
    login(client, role="opd")
    menu = account_menu(client)
    assert "/puskesmas/loket/" not in menu and "/puskesmas/pasien/" not in menu


def test_a_citizen_gets_their_visits(client, open_facility, login):
    login(client)
    menu = account_menu(client)
    assert 'href="/puskesmas/kunjungan-saya">My health visits</a>' in menu
    assert "/puskesmas/loket/" not in menu
    assert "<h1>My health visits</h1>" in client.get("/puskesmas/kunjungan-saya").text


# -- wording -------------------------------------------------------------------------------


def test_saved_messages_name_the_thing_once(client, enabled, login, db_session):
    login(client, role="admin")
    form = {"code": "CIKOKOL", "name": "Puskesmas Cikokol", "active": "y"}
    form |= {"open_1": "07:30", "close_1": "14:00"}
    saved = client.post("/puskesmas/kelola/baru", data=form, follow_redirects=True)
    assert "Puskesmas Cikokol was saved." in saved.text
    facility = db_session.scalar(select(Facility).where(Facility.code == "CIKOKOL"))
    clinic = {"code": "UMUM", "name": "Poli Umum", "minutes_per_patient": "10", "active": "y"}
    saved = client.post(
        f"/puskesmas/kelola/{facility.id}/poli/baru", data=clinic, follow_redirects=True
    )
    assert "Poli Umum was saved." in saved.text


def test_every_audited_action_has_an_accurate_label(client, enabled, login):
    sources = "".join(
        (PLUGIN / name).read_text()
        for name in ("patients.py", "visits.py", "exports.py", "facilities.py")
    )
    audited = set(re.findall(r'"((?:patient|visit|ticket|staff)\.[a-z_]+)"', sources))
    assert audited and audited <= set(manage.ACTIONS)
    login(client, role="admin")
    page = client.get("/puskesmas/kelola/audit").text
    # visit.export is an officer downloading the bundle, not the bundle being sent
    assert '<option value="visit.export">Visit\'s FHIR bundle downloaded</option>' in page
    assert '<option value="patient.lookup">Patient looked up by NIK</option>' in page


def test_units_are_translated(client, open_facility, umum, officer, add_patient, db_session):
    officer(client, open_facility, "clinician")
    budi = add_patient()
    visit = Visit(
        patient_id=budi.id,
        facility_id=open_facility.id,
        clinic_id=umum.id,
        started_at=datetime(2026, 11, 23, 2, 0, tzinfo=UTC),
        heart_rate=88,
        respiratory_rate=20,
    )
    db_session.add(visit)
    db_session.commit()
    page = client.get(f"/puskesmas/kunjungan/{visit.id}").text
    assert "88 /min" in page
    assert f'href="/puskesmas/pasien/{budi.id}">&larr; Patient record</a>' in page
    client.get("/bahasa?lang=id&next=/")
    assert "88 /menit" in client.get(f"/puskesmas/kunjungan/{visit.id}").text
    form = client.get(f"/puskesmas/kunjungan/baru?pasien={budi.id}&poli={umum.id}").text
    assert "(/menit)" in form


# -- the plugin's style sheet everywhere -----------------------------------------------------


def test_record_manage_and_export_pages_use_the_plugins_style_sheet(
    client, open_facility, login, assign, add_patient
):
    admin = login(client, role="admin")
    assign(admin, open_facility, "registration")
    budi = add_patient()
    for url in (
        "/puskesmas/pasien/",
        f"/puskesmas/pasien/{budi.id}",
        "/puskesmas/kelola/",
        f"/puskesmas/kelola/{open_facility.id}",
        "/puskesmas/kelola/audit",
        "/puskesmas/kirim/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert page.text.count("/puskesmas/static/puskesmas.css") == 1, url


def test_the_desk_forms_lay_out_choices_and_tell_information_from_errors(
    client, open_facility, umum, officer, db_session
):
    """Radio buttons sit beside their labels; a line that informs is not styled as an
    error; the birth date's help says only what the page does (no script fills it)."""
    officer(client, open_facility, "registration")
    ticket = Ticket(
        code="UI1", facility_id=open_facility.id, clinic_id=umum.id, number=1,
        day=queue.region_today(utcnow(), TZ), status="called",
    )  # fmt: skip
    db_session.add(ticket)
    db_session.commit()
    form = client.get(f"/puskesmas/pasien/baru?tiket={ticket.id}").text
    search = client.get(f"/puskesmas/pasien/?tiket={ticket.id}").text
    for page in (form, search):
        assert 'class="alert" role="status"' not in page
        assert '<p class="notice" role="status">' in page
    assert form.count('<div class="choice">') == 4  # two sexes, two identity documents
    assert "Filled in from the NIK when this form is opened with one" in form
    assert "when it is given first" not in form and "<script" not in form
    response = client.get("/puskesmas/static/puskesmas.css")
    css = response.text
    response.close()
    assert ".choice{display:flex" in css
    assert ".field .choice label,.choice label{display:inline" in css
    assert ".notice{" in css
