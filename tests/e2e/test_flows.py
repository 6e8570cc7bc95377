"""The main flows of Balai, walked in Chromium by the people who use them.

Each flow runs in Bahasa Indonesia (the default) and again in English, chosen as a
visitor does, with the language buttons at the foot of the page. Locators are
labels, roles and visible text in the page's language, so a missing label, an
untranslated button or a form that cannot be filled in fails the flow.

- A citizen reports a problem with a map point and a photo, and follows it by its
  tracking code; officers verify it, forward it to another department, work on it
  and resolve it, and the citizen's tracking page shows the new status.
- A patient takes a queue number at a puskesmas, the registration desk calls it,
  and the waiting room's display board shows it once it reloads.
- A region admin switches a plugin on, and its menu appears at once, for the admin
  and for visitors, without a restart.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from balai import demo
from balai.db import db
from balai.tenancy import disable_plugin, registry, save_plugin_settings

CITY, REGENCY = (t.slug for t in demo.TENANTS)
# Indonesian for the English text the flows look for (the pages' catalogues say the same).
INDONESIAN = {
    "Administration": "Administrasi",
    "Account": "Akun",
    "Call the next number": "Panggil nomor berikutnya",
    "Called": "Dipanggil",
    "Category": "Kategori",
    "Complaint inbox": "Kotak masuk pengaduan",
    "Complaint received": "Pengaduan diterima",
    "Complaints": "Pengaduan",
    "E-mail address or mobile number": "Alamat email atau nomor ponsel",
    "Filter": "Saring",
    "Follow a complaint": "Lacak pengaduan",
    "Follow this complaint": "Lacak pengaduan ini",
    "Forward to": "Teruskan ke",
    "Forward": "Teruskan",
    "Forwarded": "Diteruskan",
    "In progress": "Sedang ditangani",
    "Latitude": "Lintang",
    "Log in": "Masuk",
    "Log out": "Keluar",
    "Longitude": "Bujur",
    "Main navigation": "Navigasi utama",
    "Address or landmark": "Alamat atau patokan",
    "Note": "Catatan",
    "Now called": "Sedang dipanggil",
    "Password": "Kata sandi",
    "Photos": "Foto",
    "Plugins": "Plugin",
    "Puskesmas and clinic": "Puskesmas dan poli",
    "Puskesmas queue": "Antrean puskesmas",
    "Queue desk": "Loket antrean",
    "Received": "Diterima",
    "Reason for rejection": "Alasan penolakan",
    "Reject": "Tolak",
    "Resolve": "Selesaikan",
    "Report a problem": "Laporkan masalah",
    "Resolved": "Selesai",
    "Send complaint": "Kirim pengaduan",
    "Services (plugins)": "Layanan (plugin)",
    "Start work": "Kerjakan",
    "Switch on": "Aktifkan",
    "Take a number": "Ambil nomor",
    "Tracking code": "Kode lacak",
    "Verified": "Terverifikasi",
    "Verify": "Verifikasi",
    "What was done": "Yang sudah dikerjakan",
    "What is the problem?": "Apa masalahnya?",
    "Words or tracking code": "Kata atau kode lacak",
    "Your queue number": "Nomor antrean Anda",
}
# A point far from the demo's complaints of the same category, one per language, so
# neither run is offered the other's complaint as a possible duplicate.
POINTS = {"id": ("-6.16250", "106.61150"), "en": ("-6.17400", "106.68600")}
GARBAGE = "Sampah tidak diangkut"  # a demo category, routed to DLH
PUBLIC_WORKS = demo.DEPARTMENTS["DPUPR"]
# The puskesmas whose desk the queue flow uses, and the clinic it opens there.
FACILITY = ("CIPONDOH", "Puskesmas Cipondoh")
CLINIC = ("MTBS", "Poli MTBS")
ALL_DAY = ["00:00", "23:59"]


@dataclass
class Run:
    """The flows in one language: people arrive, act, and every step is screenshot."""

    site: Any
    journal: Any
    person: Callable[..., Page]
    lang: str

    def t(self, text: str) -> str:
        """The page's words for an English text, in the language of the run."""
        return text if self.lang == "en" else INDONESIAN[text]

    def arrive(self, slug: str, path: str = "/", phone: bool = False) -> Page:
        """Someone new opens ``path`` of a region and, for English, switches language
        with the buttons at the foot of the page."""
        page = self.person(phone=phone)
        page.goto(self.site.url(slug, path))
        if self.lang == "en":
            page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", self.lang)
        return page

    def log_in(self, page: Page, address: str, password: str = demo.DEMO_PASSWORD) -> None:
        """Log in from the header's link; the login page sends the user back where they were."""
        page.locator("header.site .account").get_by_role("link", name=self.t("Log in")).click()
        self.fill_login(page, address, password)
        expect(page.locator("header.site details.account-menu > summary")).to_be_visible()

    def fill_login(self, page: Page, address: str, password: str) -> None:
        page.get_by_label(self.t("E-mail address or mobile number")).fill(address)
        self.field(page, "Password").fill(password)
        page.get_by_role("main").get_by_role("button", name=self.t("Log in")).click()

    def field(self, where: Page | Locator, label: str) -> Locator:
        """The field labelled exactly ``label`` (in the run's language), a required one's
        star aside: "Password" is not "Password again"."""
        return where.get_by_label(re.compile(rf"^\s*{re.escape(self.t(label))}\s*\*?\s*$"))

    def account(self, page: Page) -> Locator:
        """The account menu of the header (a ``<details>``), opened."""
        menu = page.locator("header.site details.account-menu")
        if menu.get_attribute("open") is None:
            menu.locator("summary").click()
        return menu.get_by_role("navigation", name=self.t("Account"))

    def log_out(self, page: Page) -> None:
        self.account(page).get_by_role("button", name=self.t("Log out")).click()
        expect(page.locator("header.site .account").get_by_role("link", name=self.t("Log in"))).to_be_visible()

    def menu(self, page: Page) -> Locator:
        """The main navigation: on a phone, the compact menu is opened first."""
        compact = page.locator("header.site details.menu.compact")
        if compact.is_visible() and compact.get_attribute("open") is None:
            compact.locator("summary").click()
        return page.get_by_role("navigation", name=self.t("Main navigation"))

    def shot(self, page: Page, step: str) -> None:
        self.journal.check(page, step)


@pytest.fixture(params=["id", "en"])
def run(request: pytest.FixtureRequest, site, journal, person) -> Run:
    return Run(site, journal, person, request.param)


def email(user: str, slug: str = CITY) -> str:
    return f"{user}@{slug}.example"


def photo() -> bytes:
    """A small real JPEG: a grey street with a green heap of rubbish."""
    image = Image.new("RGB", (320, 240), (150, 150, 150))
    ImageDraw.Draw(image).ellipse((100, 120, 220, 200), fill=(60, 110, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def status_of(page: Page) -> Locator:
    """The status badge among a complaint's facts."""
    return page.locator("dl.facts .status").first


# -- complaints --------------------------------------------------------------------------


def test_complaint_reported_forwarded_resolved_and_followed(run: Run) -> None:
    code = report_complaint(run)
    verify_and_forward(run, code)
    work_and_resolve(run, code)
    follow_by_code(run, code)


def report_complaint(run: Run) -> str:
    run.journal.flow("a: a citizen reports a problem and follows it")
    t = run.t
    citizen = run.arrive(CITY, phone=True)
    run.log_in(citizen, email("siti"))
    run.shot(citizen, "citizen logged in")
    run.menu(citizen).get_by_role("link", name=t("Complaints"), exact=True).click()
    citizen.get_by_role("link", name=t("Report a problem")).click()
    citizen.get_by_label(t("Category")).select_option(label=GARBAGE)
    citizen.get_by_label(t("What is the problem?")).fill(
        "Sampah rumah tangga menumpuk di tepi jalan sejak Senin dan menutup saluran air."
    )
    citizen.get_by_label(t("Address or landmark")).fill("Jl. Imam Bonjol, depan pos ronda")
    latitude, longitude = POINTS[run.lang]
    citizen.get_by_label(t("Latitude")).fill(latitude)
    citizen.get_by_label(t("Longitude")).fill(longitude)
    citizen.get_by_label(t("Photos")).set_input_files(
        [{"name": "sampah.jpg", "mimeType": "image/jpeg", "buffer": photo()}]
    )
    run.shot(citizen, "complaint form filled in")
    citizen.get_by_role("button", name=t("Send complaint")).click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text(t("Complaint received"))
    code = citizen.locator(".code strong").inner_text()
    assert re.fullmatch(r"ADU-[0-9A-Z]{5}-[0-9A-Z]{5}", code), code
    run.shot(citizen, "complaint received with its tracking code")
    citizen.get_by_role("link", name=t("Follow this complaint")).click()
    expect(citizen.get_by_role("heading", name=code)).to_be_visible()
    expect(status_of(citizen)).to_have_text(t("Received"))
    expect(citizen.locator("dl.facts")).to_contain_text(f"{latitude}, {longitude}")
    shown = citizen.locator("ul.photos img").first
    expect(shown).to_be_visible()
    assert shown.evaluate("img => img.complete && img.naturalWidth") == 320
    run.shot(citizen, "tracking page with the photo and the map point")
    return code


def open_from_inbox(run: Run, officer: Page, code: str) -> None:
    run.account(officer).get_by_role("link", name=run.t("Complaint inbox")).click()
    officer.get_by_label(run.t("Words or tracking code")).fill(code)
    officer.get_by_role("button", name=run.t("Filter")).click()
    run.shot(officer, "the inbox finds the complaint by its code")
    officer.get_by_role("link", name=code).click()
    expect(officer.get_by_role("heading", level=1)).to_have_text(code)


# Each action of the officer's page is a form of its own, with its own note.
ACTIONS = {"Verify": "aksi-verify", "Start work": "aksi-start", "Forward": "aksi-forward"}
ACTIONS |= {"Resolve": "aksi-resolve", "Reject": "aksi-reject"}
NOTE_LABELS = {"Resolve": "What was done", "Reject": "Reason for rejection"}


def act(run: Run, officer: Page, verb: str, note: str = "") -> None:
    """Press an action's button (Verify, Start work, Forward, Resolve, Reject), with a
    note for the public timeline."""
    form = officer.locator(f"form#{ACTIONS[verb]}")
    if note:
        form.get_by_label(run.t(NOTE_LABELS.get(verb, "Note"))).fill(note)
    form.get_by_role("button", name=run.t(verb), exact=True).click()


def verify_and_forward(run: Run, code: str) -> None:
    run.journal.flow("b: officers forward and resolve it")
    officer = run.arrive(CITY)
    run.log_in(officer, email("dlh"))
    open_from_inbox(run, officer, code)
    run.shot(officer, "environment officer opens the complaint")
    act(run, officer, "Verify")
    expect(status_of(officer)).to_have_text(run.t("Verified"))
    run.shot(officer, "complaint verified")
    forward = officer.locator("form#aksi-forward")
    forward.get_by_label(run.t("Forward to")).select_option(label=PUBLIC_WORKS)
    act(run, officer, "Forward", "Saluran tertutup sampah: diteruskan ke Dinas PUPR.")
    # No longer the department's: back to its inbox, where it is not listed any more.
    expect(officer.get_by_role("heading", level=1)).to_have_text(run.t("Complaint inbox"))
    expect(officer.locator(".flash")).to_contain_text(run.t("Forwarded"))
    expect(officer.get_by_role("link", name=code)).to_have_count(0)
    run.shot(officer, "complaint forwarded to public works")


def work_and_resolve(run: Run, code: str, address: str = email("dpupr"), status: str = "Forwarded") -> None:
    officer = run.arrive(CITY)
    run.log_in(officer, address)
    open_from_inbox(run, officer, code)
    expect(status_of(officer)).to_have_text(run.t(status))
    run.shot(officer, "the officer opens the complaint")
    act(run, officer, "Start work")
    expect(status_of(officer)).to_have_text(run.t("In progress"))
    # The result is required: without it the complaint stays in progress.
    act(run, officer, "Resolve")
    expect(status_of(officer)).to_have_text(run.t("In progress"))
    act(run, officer, "Resolve", "Sampah diangkut dan saluran dibersihkan.")
    expect(status_of(officer)).to_have_text(run.t("Resolved"))
    run.shot(officer, "complaint resolved")


def follow_by_code(run: Run, code: str) -> None:
    citizen = run.arrive(CITY, "/pengaduan/", phone=True)
    citizen.get_by_label(run.t("Tracking code")).fill(code.lower().replace("-", " "))
    citizen.get_by_role("button", name=run.t("Follow a complaint")).click()
    expect(citizen.get_by_role("heading", name=code)).to_be_visible()
    expect(status_of(citizen)).to_have_text(run.t("Resolved"))
    expect(citizen.locator("ol.timeline")).to_contain_text("saluran dibersihkan")
    run.shot(citizen, "the tracking page shows it resolved")


# -- the puskesmas queue -------------------------------------------------------------------


@pytest.fixture(scope="module")
def open_clinic(site) -> None:
    """A clinic with an empty queue, at a puskesmas open every day at every hour.

    The demo's clinics already have today's queue and close in the afternoon; the
    flow needs its number to be the next one called, whatever the day and hour.
    """
    from balai_puskesmas.models import Clinic, Facility

    with site.app.app_context():
        tenant = registry(site.app).by_slug(CITY)
        assert tenant is not None
        save_plugin_settings(site.app, tenant, "puskesmas", {"closed_on_holidays": False})
        with db.tenant_session(tenant.id) as session:
            facility = session.scalar(select(Facility).where(Facility.code == FACILITY[0]))
            assert facility is not None, f"the demo has no puskesmas {FACILITY[0]}"
            facility.hours = {str(day): ALL_DAY for day in range(1, 8)}
            code, name = CLINIC
            session.add(Clinic(facility_id=facility.id, code=code, name=name, daily_quota=None))


@pytest.mark.usefixtures("open_clinic")
def test_queue_number_taken_called_and_shown_on_the_board(run: Run) -> None:
    run.journal.flow("c: a patient takes a number, the desk calls it, the board shows it")
    t, clinic = run.t, CLINIC[1]
    patient = run.arrive(CITY, phone=True)
    run.menu(patient).get_by_role("link", name=t("Puskesmas queue")).click()
    patient.get_by_role("link", name=f"{t('Take a number')} · {clinic}").click()
    chosen = patient.get_by_label(t("Puskesmas and clinic")).locator("option:checked")
    expect(chosen).to_have_text(f"{clinic} ({FACILITY[1]})")
    run.shot(patient, "patient chooses the clinic")
    patient.get_by_role("button", name=t("Take a number")).click()
    expect(patient.get_by_role("heading", level=1)).to_have_text(t("Your queue number"))
    number = patient.locator(".ticket .number").inner_text()
    run.shot(patient, "patient holds a number")
    board = patient.get_by_role("link", name=FACILITY[1]).get_attribute("href")
    assert board

    screen = run.arrive(CITY)  # the board itself is bare: its language is chosen before
    screen.goto(run.site.url(CITY, board))
    card = screen.locator(".board-card").filter(has=screen.get_by_role("heading", name=clinic))
    expect(card.locator(".number")).not_to_have_text(number)
    run.shot(screen, "display board before the call")

    desk = run.arrive(CITY)
    run.log_in(desk, email(f"loket.{FACILITY[0].lower()}"))
    desk.get_by_role("link", name=t("Queue desk")).click()
    desk.get_by_role("link", name=clinic).click()
    desk.get_by_role("button", name=t("Call the next number")).click()
    expect(desk.locator(".flash")).to_contain_text(number)
    expect(desk.locator(".desk-now .number").get_by_text(number, exact=True)).to_be_visible()
    run.shot(desk, "the desk calls the number")

    screen.reload()
    expect(card.locator(".number")).to_have_text(number)
    run.shot(screen, "display board shows the number")
    patient.reload()
    expect(patient.locator(".ticket .badge")).to_have_text(t("Called"))
    run.shot(patient, "patient sees the number called")


# -- switching a plugin on -----------------------------------------------------------------


@pytest.fixture
def regency_without_puskesmas(site) -> None:
    """The regency's health-centre service off, whatever an earlier run did."""
    with site.app.app_context():
        tenant = registry(site.app).by_slug(REGENCY)
        assert tenant is not None
        if "puskesmas" in tenant.plugins:
            disable_plugin(site.app, tenant, "puskesmas", by="test")


@pytest.mark.usefixtures("regency_without_puskesmas")
def test_plugin_switched_on_shows_its_menu_without_restart(run: Run) -> None:
    run.journal.flow("d: a region admin switches a plugin on")
    t = run.t
    admin = run.arrive(REGENCY)
    run.log_in(admin, email("admin", REGENCY))
    expect(run.menu(admin)).not_to_contain_text(t("Puskesmas queue"))
    run.shot(admin, "admin home without the puskesmas queue")
    run.menu(admin).get_by_role("link", name=t("Administration")).click()
    tabs = admin.get_by_role("navigation", name=t("Administration"))
    tabs.get_by_role("link", name=t("Plugins")).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(t("Services (plugins)"))
    run.shot(admin, "plugins page")
    row = admin.get_by_role("row").filter(has_text="e-Puskesmas")
    row.get_by_role("button", name=t("Switch on")).click()
    expect(admin.locator(".flash")).to_contain_text("e-Puskesmas")
    run.shot(admin, "puskesmas switched on")
    run.menu(admin).get_by_role("link", name=t("Puskesmas queue")).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(t("Puskesmas queue"))
    run.shot(admin, "the new menu opens the service")

    visitor = run.arrive(REGENCY)
    expect(run.menu(visitor).get_by_role("link", name=t("Puskesmas queue"))).to_be_visible()
    run.shot(visitor, "visitors see the new menu too")
