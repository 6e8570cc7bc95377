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
- A citizen creates an account with an e-mail address and the code the demo's mailbox
  shows, logs out, sets a new password with a second code and logs in with it.
- A logged-in citizen reports a problem, finds it under "My complaints", and once an
  officer has resolved it rates the result on the tracking page.
- A region admin makes a role of the region's own and gives it to an officer, whose
  menu then leads to the page the role allows.
- A region admin invites an officer, who opens the link from the mailbox, chooses a
  password and finds the complaint inbox in the account menu.
- The puskesmas's lobby kiosk gives a number, and its ticket page goes back to the
  start by itself (the page's refresh names the kiosk's start).

Citizens walk on a phone, officers and admins at a desk; on a phone the main menu is
the compact one, opened first.
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
    "Account": "Akun",
    "Add a role": "Tambah peran",
    "Address or landmark": "Alamat atau patokan",
    "Administration": "Administrasi",
    "Call the next number": "Panggil nomor berikutnya",
    "Called": "Dipanggil",
    "Category": "Kategori",
    "Code": "Kode",
    "Comment (optional)": "Komentar (opsional)",
    "Complaint categories": "Kategori pengaduan",
    "Complaint inbox": "Kotak masuk pengaduan",
    "Complaint received": "Pengaduan diterima",
    "Complaints": "Pengaduan",
    "Confirm": "Konfirmasi",
    "Create an account": "Buat akun",
    "Create my account": "Buat akun saya",
    "Create the role": "Buat peran",
    "Demo mailbox": "Kotak surat demo",
    "Department": "OPD",
    "Department officer": "Petugas OPD",
    "E-mail address or mobile number": "Alamat email atau nomor ponsel",
    "Edit": "Ubah",
    "Enter your code": "Masukkan kode Anda",
    "Estimated call": "Perkiraan dipanggil",
    "Estimated wait": "Perkiraan waktu tunggu",
    "Filter": "Saring",
    "Follow a complaint": "Lacak pengaduan",
    "Follow this complaint": "Lacak pengaduan ini",
    "Forgot your password?": "Lupa kata sandi?",
    "Forward": "Teruskan",
    "Forward to": "Teruskan ke",
    "Forwarded": "Diteruskan",
    "Full name": "Nama lengkap",
    "In progress": "Sedang ditangani",
    "Invitation": "Undangan",
    "Invite a user": "Undang pengguna",
    "Latitude": "Lintang",
    "Log in": "Masuk",
    "Log out": "Keluar",
    "Longitude": "Bujur",
    "Main navigation": "Navigasi utama",
    "Menu": "Menu",
    "My complaints": "Pengaduan saya",
    "Name": "Nama",
    "New password": "Kata sandi baru",
    "New password again": "Ulangi kata sandi baru",
    "Note": "Catatan",
    "Now called": "Sedang dipanggil",
    "Open the kiosk on this device": "Buka kios di perangkat ini",
    "Password": "Kata sandi",
    "Pause reloading": "Jeda pemuatan ulang",
    "Password again": "Ulangi kata sandi",
    "Photos": "Foto",
    "Plugins": "Plugin",
    "Puskesmas and clinic": "Puskesmas dan poli",
    "Puskesmas queue": "Antrean puskesmas",
    "Queue desk": "Loket antrean",
    "Rate the result": "Nilai hasilnya",
    "Reason for rejection": "Alasan penolakan",
    "Received": "Diterima",
    "Reject": "Tolak",
    "Report a problem": "Laporkan masalah",
    "Resolve": "Selesaikan",
    "Resolved": "Selesai",
    "Role": "Peran",
    "Roles": "Peran",
    "Save": "Simpan",
    "Send a code": "Kirim kode",
    "Send complaint": "Kirim pengaduan",
    "Send rating": "Kirim penilaian",
    "Send the invitation": "Kirim undangan",
    "Services (plugins)": "Layanan (plugin)",
    "Set a new password": "Buat kata sandi baru",
    "Set the new password": "Simpan kata sandi baru",
    "Slug": "Kode singkat",
    "Start work": "Kerjakan",
    "Switch on": "Aktifkan",
    "Take a number": "Ambil nomor",
    "Thank you for rating the result.": "Terima kasih telah menilai hasilnya.",
    "Tracking code": "Kode lacak",
    "Users": "Pengguna",
    "Verified": "Terverifikasi",
    "Verify": "Verifikasi",
    "Welcome! Your account is ready": "Selamat datang! Akun Anda sudah siap",
    "What is the problem?": "Apa masalahnya?",
    "What was done": "Yang sudah dikerjakan",
    "Words or tracking code": "Kata atau kode lacak",
    "Withdraw": "Tarik",
    "Your name": "Nama Anda",
    "Your queue number": "Nomor antrean Anda",
    "Your rating": "Penilaian Anda",
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
        expect(
            page.locator("header.site .account").get_by_role("link", name=self.t("Log in"))
        ).to_be_visible()

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


def work_and_resolve(
    run: Run, code: str, address: str = email("dpupr"), status: str = "Forwarded"
) -> None:
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
    estimate = f"{t('Estimated call')}|{t('Estimated wait')}"
    expect(patient.locator(".ticket dl.facts")).to_contain_text(re.compile(estimate))
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
    run.account(desk).get_by_role("link", name=t("Queue desk")).click()
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


# -- the demo's mailbox ----------------------------------------------------------------------


def mailbox_letter(run: Run, page: Page, slug: str, address: str) -> Locator:
    """Open the region's demo mailbox and return the newest message to ``address``."""
    page.goto(run.site.url(slug, demo.MAILBOX_PATH))
    expect(page.get_by_role("heading", level=1)).to_have_text(run.t("Demo mailbox"))
    letter = page.locator("article.mailbox-letter").filter(has_text=address).first
    expect(letter).to_be_visible()
    return letter


def code_in(letter: Locator) -> str:
    found = re.search(r"\b(\d{6})\b", letter.locator(".mailbox-body").inner_text())
    assert found, letter.inner_text()
    return found.group(1)


# -- accounts: registration and a new password --------------------------------------------


def test_citizen_registers_logs_out_resets_password_and_logs_in(run: Run) -> None:
    run.journal.flow("e: a citizen registers with a code, then sets a new password")
    t = run.t
    address = f"warga.baru.{run.lang}@contoh.example"
    first, second = "sandi-pertama-2026", "sandi-kedua-2026!"
    citizen = run.arrive(CITY, phone=True)
    citizen.locator("header.site .account").get_by_role("link", name=t("Log in")).click()
    citizen.get_by_role("link", name=t("Create an account")).click()
    run.field(citizen, "Your name").fill("Dewi Lestari")
    run.field(citizen, "E-mail address or mobile number").fill(address)
    run.shot(citizen, "registration form filled in")
    citizen.get_by_role("main").get_by_role("button", name=t("Create an account")).click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text(t("Enter your code"))
    run.shot(citizen, "the code page")

    code = code_in(mailbox_letter(run, citizen, CITY, address))
    run.shot(citizen, "the code arrives in the mailbox")
    citizen.go_back()
    expect(run.field(citizen, "E-mail address or mobile number")).to_have_value(address)
    run.field(citizen, "Code").fill(code)
    # The password is chosen with the code: only who receives the code chooses it.
    run.field(citizen, "Password").fill(first)
    run.field(citizen, "Password again").fill(first)
    citizen.get_by_role("button", name=t("Confirm")).click()
    expect(citizen.locator(".flash")).to_contain_text(t("Welcome! Your account is ready"))
    run.shot(citizen, "account confirmed and logged in")
    run.log_out(citizen)
    run.shot(citizen, "logged out")

    citizen.locator("header.site .account").get_by_role("link", name=t("Log in")).click()
    citizen.get_by_role("link", name=t("Forgot your password?")).click()
    run.field(citizen, "E-mail address or mobile number").fill(address)
    run.shot(citizen, "asking for a code to set a new password")
    citizen.get_by_role("button", name=t("Send a code")).click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text(t("Set a new password"))
    reset_page = citizen.url
    code = code_in(mailbox_letter(run, citizen, CITY, address))
    citizen.goto(reset_page)
    run.field(citizen, "Code").fill(code)
    run.field(citizen, "New password").fill(second)
    run.field(citizen, "New password again").fill(second)
    run.shot(citizen, "new password with the code")
    citizen.get_by_role("button", name=t("Set the new password")).click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text(t("Log in"))
    run.shot(citizen, "password changed: log in again")
    run.fill_login(citizen, address, first)  # the old password no longer works
    expect(citizen.locator("header.site details.account-menu")).to_have_count(0)
    run.fill_login(citizen, address, second)
    expect(citizen.locator("header.site details.account-menu > summary")).to_be_visible()
    run.shot(citizen, "logged in with the new password")


# -- complaints: my complaints and a rating --------------------------------------------------


OWN_POINTS = {"id": ("-6.15300", "106.59800"), "en": ("-6.19800", "106.66200")}


def test_citizen_follows_own_complaint_and_rates_it(run: Run) -> None:
    run.journal.flow("f: a citizen's own complaint, resolved and rated")
    t = run.t
    citizen = run.arrive(CITY, phone=True)
    run.log_in(citizen, email("budi"))
    run.menu(citizen).get_by_role("link", name=t("Complaints"), exact=True).click()
    citizen.get_by_role("link", name=t("Report a problem")).click()
    citizen.get_by_label(t("Category")).select_option(label=GARBAGE)
    citizen.get_by_label(t("What is the problem?")).fill(
        "Tempat sampah umum di taman sudah penuh dan tidak dikosongkan seminggu."
    )
    latitude, longitude = OWN_POINTS[run.lang]
    citizen.get_by_label(t("Latitude")).fill(latitude)
    citizen.get_by_label(t("Longitude")).fill(longitude)
    run.shot(citizen, "complaint form of a logged-in citizen")
    citizen.get_by_role("button", name=t("Send complaint")).click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text(t("Complaint received"))
    code = citizen.locator(".code strong").inner_text()
    run.shot(citizen, "complaint received")

    run.account(citizen).get_by_role("link", name=t("My complaints")).click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text(t("My complaints"))
    mine = citizen.locator("ul.complaints li").filter(has_text=code)
    expect(mine.locator(".status")).to_have_text(t("Received"))
    run.shot(citizen, "the complaint under my complaints")

    officer = run.arrive(CITY)
    run.log_in(officer, email("dlh"))
    open_from_inbox(run, officer, code)
    act(run, officer, "Verify")
    expect(status_of(officer)).to_have_text(t("Verified"))
    act(run, officer, "Start work")  # routed to the department: no forwarding
    expect(status_of(officer)).to_have_text(t("In progress"))
    act(run, officer, "Resolve", "Tempat sampah dikosongkan dan jadwal pengangkutan diperbaiki.")
    expect(status_of(officer)).to_have_text(t("Resolved"))
    run.shot(officer, "the officer resolves it")

    citizen.reload()
    expect(mine.locator(".status")).to_have_text(t("Resolved"))
    run.shot(citizen, "my complaints shows it resolved")
    mine.get_by_role("link", name=t("Rate the result")).click()
    expect(citizen.get_by_role("heading", name=code)).to_be_visible()
    expect(citizen.locator(".stepper")).to_be_visible()
    run.shot(citizen, "tracking page with the progress and the rating form")
    rating = citizen.locator("section#nilai")
    rating.get_by_role("radio", name="4").check()
    rating.get_by_label(t("Comment (optional)")).fill("Cepat ditangani, terima kasih.")
    rating.get_by_role("button", name=t("Send rating")).click()
    expect(citizen.locator(".flash")).to_contain_text(t("Thank you for rating the result."))
    expect(rating.get_by_role("heading")).to_have_text(t("Your rating"))
    expect(rating).to_contain_text("Cepat ditangani")
    run.shot(citizen, "the rating is shown")


# -- administration: a custom role, an invitation -------------------------------------------


MANAGE_CATEGORIES = "pengaduan.manage_categories"
# The regency's officers have no administration page of their own: one per run.
ROLE_HOLDER = {"id": "dlh", "en": "dishub"}


def admin_tab(run: Run, admin: Page, tab: str) -> None:
    run.menu(admin).get_by_role("link", name=run.t("Administration")).click()
    tabs = admin.get_by_role("navigation", name=run.t("Administration"))
    tabs.get_by_role("link", name=run.t(tab), exact=True).click()


def test_custom_role_given_to_an_officer_shows_its_menu(run: Run) -> None:
    run.journal.flow("g: a region admin makes a role of the region's own and gives it")
    t = run.t
    holder = email(ROLE_HOLDER[run.lang], REGENCY)
    officer = run.arrive(REGENCY)
    run.log_in(officer, holder)
    expect(run.menu(officer)).not_to_contain_text(t("Administration"))
    run.shot(officer, "the officer has no administration")

    admin = run.arrive(REGENCY)
    run.log_in(admin, email("admin", REGENCY))
    admin_tab(run, admin, "Roles")
    admin.get_by_role("link", name=t("Add a role")).click()
    name = f"Pengelola kategori {run.lang}"
    run.field(admin, "Slug").fill(f"kategori-{run.lang}")
    run.field(admin, "Name").fill(name)
    admin.get_by_label(MANAGE_CATEGORIES).check()
    run.shot(admin, "a new role with one permission")
    admin.get_by_role("button", name=t("Create the role")).click()
    expect(admin.locator(".flash")).to_contain_text(name)
    run.shot(admin, "the role is created")

    admin_tab(run, admin, "Users")
    admin.get_by_role("row").filter(has_text=holder).get_by_role("link", name=t("Edit")).click()
    admin.locator("#custom-roles").get_by_label(name).check()
    run.shot(admin, "the role ticked for the officer")
    admin.get_by_role("main").get_by_role("button", name=t("Save"), exact=True).click()
    expect(admin.locator(".flash")).to_be_visible()
    run.shot(admin, "the officer's account saved")

    officer.reload()  # the role's only administration page is where the menu leads
    run.menu(officer).get_by_role("link", name=t("Administration")).click()
    expect(officer.get_by_role("heading", level=1)).to_have_text(t("Complaint categories"))
    run.shot(officer, "the officer manages complaint categories")


def waiting_invitation(run: Run, admin: Page, address: str) -> Locator:
    """The row of the invitation to ``address`` among those waiting for an answer."""
    withdraw = admin.get_by_role("button", name=run.t("Withdraw"))
    return admin.get_by_role("row").filter(has_text=address).filter(has=withdraw)


def test_admin_invites_an_officer_who_sets_a_password(run: Run) -> None:
    run.journal.flow("h: a region admin invites an officer, who joins")
    # The regency, whose officer role still holds the complaint inbox.
    t = run.t
    address = f"petugas.baru.{run.lang}@{REGENCY}.example"
    admin = run.arrive(REGENCY)
    run.log_in(admin, email("admin", REGENCY))
    admin_tab(run, admin, "Users")
    admin.get_by_role("link", name=t("Invite a user")).click()
    run.field(admin, "E-mail address or mobile number").fill(address)
    run.field(admin, "Full name").fill("Rina Marlina")
    run.field(admin, "Role").select_option(label=t("Department officer"))
    run.field(admin, "Department").select_option(label=f"DLH · {demo.DEPARTMENTS['DLH']}")
    run.shot(admin, "the invitation form")
    admin.get_by_role("button", name=t("Send the invitation")).click()
    expect(admin.locator(".flash")).to_contain_text(address)
    expect(waiting_invitation(run, admin, address)).to_have_count(1)
    run.shot(admin, "the invitation waits on the users page")

    officer = run.arrive(REGENCY)
    letter = mailbox_letter(run, officer, REGENCY, address)
    run.shot(officer, "the invitation in the mailbox")
    letter.locator('.mailbox-body a[href*="/undangan/"]').click()
    expect(officer.get_by_role("heading", level=1)).to_have_text(t("Invitation"))
    expect(officer.get_by_role("main")).to_contain_text(address)
    run.field(officer, "Password").fill("petugas-baru-2026")
    run.field(officer, "Password again").fill("petugas-baru-2026")
    run.shot(officer, "choosing a password")
    officer.get_by_role("button", name=t("Create my account")).click()
    expect(officer.locator(".flash")).to_contain_text(t("Welcome! Your account is ready"))
    expect(run.account(officer).get_by_role("link", name=t("Complaint inbox"))).to_be_visible()
    run.shot(officer, "the new officer is in, with the complaint inbox")

    admin.reload()
    expect(waiting_invitation(run, admin, address)).to_have_count(0)
    run.shot(admin, "the invitation is used")


# -- the puskesmas kiosk -----------------------------------------------------------------------


@pytest.mark.usefixtures("open_clinic")
def test_kiosk_gives_a_number_and_goes_back_to_its_start(run: Run) -> None:
    run.journal.flow("i: the lobby kiosk gives a number and returns to its start by itself")
    t, clinic = run.t, CLINIC[1]
    kiosk = run.arrive(CITY)
    run.log_in(kiosk, email(f"loket.{FACILITY[0].lower()}"))
    run.account(kiosk).get_by_role("link", name=t("Queue desk")).click()
    kiosk.get_by_role("button", name=t("Open the kiosk on this device")).click()
    expect(kiosk.get_by_role("heading", level=1)).to_have_text(FACILITY[1])
    start = kiosk.url
    assert start.endswith("/kios"), start
    run.shot(kiosk, "the kiosk's start page")
    kiosk.get_by_role("button", name=re.compile(rf"^{clinic}")).click()
    expect(kiosk.get_by_role("heading", level=1)).to_have_text(clinic)
    expect(kiosk.locator(".kiosk-ticket .number")).to_be_visible()
    run.shot(kiosk, "the kiosk's ticket")
    # The ticket goes back to the start by itself (a timer with a Pause button; a meta
    # refresh without scripts): the page names the delay and the kiosk's address.
    spec = kiosk.locator("noscript[data-refresh]")
    seconds, target = spec.get_attribute("data-refresh"), spec.get_attribute("data-refresh-url")
    assert seconds and 0 < int(seconds) <= 120
    assert target and run.site.url(CITY, target) == start
    expect(kiosk.get_by_role("button", name=t("Pause reloading"))).to_be_visible()
    kiosk.goto(run.site.url(CITY, target))
    expect(kiosk.get_by_role("heading", level=1)).to_have_text(FACILITY[1])
    run.shot(kiosk, "back at the start")
