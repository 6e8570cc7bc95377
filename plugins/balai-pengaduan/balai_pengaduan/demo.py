"""Sample data for ``balai demo``: categories, kecamatan and a few hundred complaints.

Deterministic per region (``random.Random(tenant.id)``) so two demo builds look
alike; every timeline follows the workflow and every deadline the region's
working-day calendar, so the officers' pages, the map and the dashboard have
something true to show. Categories go to the region's departments by code when
it has them (the core demo's DLH, DPUPR, DISKOMINFO, ...), else stay unrouted.

Places and people come from :mod:`balai.demodata`: the region's real kecamatan
(an area each, a square around its centre), their kelurahan or desa and streets,
and reporters with plausible names. Citizens report at any hour; officers act in
office hours (:data:`OFFICE_HOURS`) on working days.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.auth import Department
from balai.calendar import WorkingCalendar, calendar_for, local_date
from balai.crypto import Sealer
from balai.db import utcnow
from balai.demodata import NameMaker, Region, region_for
from balai.tenancy import DEFAULT_TIMEZONE
from balai_pengaduan import geo
from balai_pengaduan.models import Area, Category, Complaint, ComplaintEvent
from balai_pengaduan.reporters import reporter_sealer
from balai_pengaduan.services import CODE_ALPHABET, is_overdue
from balai_pengaduan.settings import ComplaintSettings

__all__ = ["COMPLAINTS", "populate"]

COMPLAINTS = 300


@dataclass(frozen=True)
class DemoCategory:
    code: str
    name: str
    group: str
    departments: tuple[str, ...]  # the first the region has gets the complaints
    weight: int
    descriptions: tuple[str, ...]


CATEGORIES = (
    DemoCategory(
        "SAMPAH",
        "Sampah tidak diangkut",
        "Kebersihan",
        ("DLH",),
        22,
        (
            "Sampah menumpuk di pinggir {street} sudah tiga hari, baunya menyengat.",
            "Truk sampah tidak lewat di {street} sejak minggu lalu.",
            "Ada pembuangan sampah liar di lahan kosong dekat {street}.",
            "Bak sampah di depan pasar {street} penuh dan meluber ke jalan.",
        ),
    ),
    DemoCategory(
        "JALAN",
        "Jalan rusak atau berlubang",
        "Infrastruktur",
        ("DPUPR",),
        18,
        (
            "Jalan berlubang cukup dalam di {street}, sudah ada pengendara motor yang jatuh.",
            "Aspal {street} mengelupas sepanjang kurang lebih 50 meter.",
            "Trotoar di {street} ambles dan membahayakan pejalan kaki.",
        ),
    ),
    DemoCategory(
        "LAMPU",
        "Lampu lalu lintas mati",
        "Lalu lintas",
        ("DISHUB", "DPUPR"),
        6,
        (
            "Lampu merah di perempatan {street} mati sejak pagi, lalu lintas semrawut.",
            "Lampu lalu lintas di {street} berkedip kuning terus.",
        ),
    ),
    DemoCategory(
        "BANJIR",
        "Banjir dan genangan",
        "Infrastruktur",
        ("BPBD", "DPUPR"),
        10,
        (
            "Genangan setinggi lutut di {street} setiap hujan deras, saluran tersumbat.",
            "Gorong-gorong di {street} mampet, air masuk ke rumah warga.",
            "Tanggul kali dekat {street} rembes, warga khawatir banjir.",
        ),
    ),
    DemoCategory(
        "MACET",
        "Kemacetan lalu lintas",
        "Lalu lintas",
        ("DISHUB",),
        8,
        (
            "Parkir liar di bahu {street} membuat macet setiap sore.",
            "Angkot ngetem di mulut {street}, antrean kendaraan panjang.",
        ),
    ),
    DemoCategory(
        "PJU",
        "Penerangan jalan umum padam",
        "Infrastruktur",
        ("DISHUB", "DPUPR"),
        12,
        (
            "Lampu PJU di {street} padam sudah seminggu, jalan gelap dan rawan.",
            "Tiang PJU di {street} miring hampir roboh.",
        ),
    ),
    DemoCategory(
        "AIR",
        "Air bersih tidak mengalir",
        "Air bersih",
        ("PDAM", "DPUPR"),
        8,
        (
            "Air PDAM di sekitar {street} tidak mengalir sejak dua hari.",
            "Pipa air bocor di {street}, air terbuang ke jalan.",
        ),
    ),
    DemoCategory(
        "POHON",
        "Pohon tumbang atau rawan tumbang",
        "Kebersihan",
        ("DLH", "DPUPR"),
        6,
        (
            "Pohon besar di {street} tumbang menutup separuh jalan.",
            "Dahan pohon di {street} menjuntai ke kabel listrik, mohon dipangkas.",
        ),
    ),
    DemoCategory(
        "PELAYANAN",
        "Pelayanan publik",
        "Pelayanan",
        ("INSPEKTORAT", "DISKOMINFO"),
        10,
        (
            "Antrean pembuatan KTP di kantor kecamatan sangat lama, petugas sering tidak ada.",
            "Petugas kelurahan meminta biaya tambahan untuk surat pengantar.",
            "Situs layanan perizinan tidak bisa diakses sejak kemarin.",
        ),
    ),
)


# When officers act on a complaint: working days, local time.
OFFICE_HOURS = (time(8, 0), time(16, 0))
# Final status and its weight; rejected and duplicate are picked before these.
OUTCOMES = (
    ("closed", 45),
    ("resolved", 15),
    ("in_progress", 10),
    ("forwarded", 8),
    ("verified", 5),
    ("received", 9),
)
PATH = ("received", "verified", "forwarded", "in_progress", "resolved", "closed")
NOTES = {
    "verified": "Laporan sesuai, akan diteruskan ke dinas terkait.",
    "in_progress": "Tim sudah dijadwalkan ke lokasi.",
    "resolved": "Sudah ditangani. Mohon dicek, laporkan bila belum beres.",
    "closed": "",
    "forwarded": "",
}
STEP_HOURS = {
    "verified": (1, 20),
    "forwarded": (2, 30),
    "in_progress": (12, 72),
    "resolved": (24, 120),
    "closed": (72, 170),
}


def populate(session: Session, tenant: Any) -> None:
    """Categories, areas and a few hundred complaints over the demo city (once per region)."""
    if session.scalar(select(Category.id).limit(1)) is not None:
        return  # the region already has its own categories: leave them be
    rng = random.Random(tenant.id)
    city = region_for(tenant.slug)
    categories = _categories(session)
    areas = _areas(session, city)
    now = utcnow()
    zone = str(tenant.settings.get("timezone") or DEFAULT_TIMEZONE)
    calendar = calendar_for(session, range(now.year - 1, now.year + 2))
    keys = reporter_sealer(tenant.id)  # contacts are sealed like real ones
    builder = _Builder(rng, city, areas, calendar, zone, now, tenant.name, keys)
    complaints = [builder.complaint(_pick(rng, categories)) for _n in range(COMPLAINTS)]
    session.add_all(complaints)
    session.flush()
    _merge_duplicates(rng, complaints)


def _categories(session: Session) -> list[tuple[Category, DemoCategory]]:
    departments = {d.code: d.id for d in session.scalars(select(Department))}
    made = []
    for position, spec in enumerate(CATEGORIES, start=1):
        routed = next((departments[c] for c in spec.departments if c in departments), None)
        category = Category(
            code=spec.code,
            name=spec.name,
            description=f"Laporkan {spec.name.lower()}: sebutkan lokasi dan sejak kapan.",
            group=spec.group,
            department_id=routed,
            position=position,
            active=True,
        )
        made.append((category, spec))
    session.add_all(c for c, _spec in made)
    session.flush()
    return made


def _areas(session: Session, city: Region) -> list[Area]:
    """One area per kecamatan of the region: the square around its centre."""
    areas = []
    for kecamatan in city.kecamatan:
        west, south, east, north = kecamatan.square(city.half)
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        geometry = {"type": "Polygon", "coordinates": [ring]}
        min_lon, min_lat, max_lon, max_lat = geo.bounding_box(geometry)
        areas.append(
            Area(
                code=f"KEC{kecamatan.code:02d}",
                name=f"Kecamatan {kecamatan.name}",
                geometry=geometry,
                min_lon=min_lon,
                min_lat=min_lat,
                max_lon=max_lon,
                max_lat=max_lat,
            )
        )
    session.add_all(areas)
    session.flush()
    return areas


def _pick(rng: random.Random, categories: Sequence[tuple[Category, DemoCategory]]) -> Any:
    return rng.choices(categories, weights=[spec.weight for _c, spec in categories])[0]


class _Builder:
    """Makes one complaint at a time, with a timeline that follows the workflow."""

    def __init__(
        self,
        rng: random.Random,
        city: Region,
        areas: list[Area],
        calendar: WorkingCalendar,
        zone: str,
        now: datetime,
        region: str,
        keys: Sealer,
    ) -> None:
        self.rng, self.city, self.areas, self.keys = rng, city, areas, keys
        self.calendar, self.zone, self.now = calendar, zone, now
        self.verifier = f"Admin {region}"
        self.names = NameMaker(region)
        settings = ComplaintSettings().load({})
        self.forward_days, self.followup_days = settings["forward_days"], settings["followup_days"]

    def complaint(self, chosen: tuple[Category, DemoCategory]) -> Complaint:
        category, spec = chosen
        rng = self.rng
        place = self.city.place(rng)
        street = place.street
        target = self._outcome()
        recent = target in ("received", "verified", "forwarded")
        age = timedelta(days=rng.uniform(0, 12 if recent else 120), hours=rng.uniform(0, 23))
        submitted = self.now - age
        complaint = Complaint(
            tracking_code=self._code(),
            category_id=category.id,
            department_id=category.department_id,
            description=rng.choice(spec.descriptions).format(street=street),
            address=(
                f"{street} No. {place.number}, {self.city.village_kind} {place.village}, "
                f"Kec. {place.kecamatan}"
            ),
            channel=rng.choices(("web", "sms", "open311"), weights=(70, 20, 10))[0],
            submitted_at=submitted,
            forward_due=self.calendar.add_working_days(self._day(submitted), self.forward_days),
            supporters=rng.choice((0, 0, 0, 1, 2, 3, 5)),
            status="received",
            **self._where(place.latitude, place.longitude),
            **self._who(),
        )
        complaint.area_id = self._area_of(complaint)
        complaint.events.append(
            ComplaintEvent(at=submitted, to_status="received", actor_label=complaint.channel)
        )
        self._walk(complaint, target, category.department_id)
        complaint.updated_at = complaint.events[-1].at
        complaint.overdue_announced = is_overdue(complaint, self._day(self.now))
        return complaint

    def _outcome(self) -> str:
        roll = self.rng.random()
        if roll < 0.05:
            return "rejected"
        if roll < 0.08:
            return "duplicate"
        return self.rng.choices([s for s, _w in OUTCOMES], weights=[w for _s, w in OUTCOMES])[0]

    def _code(self) -> str:
        chars = "".join(self.rng.choice(CODE_ALPHABET) for _ in range(10))
        return f"ADU-{chars[:5]}-{chars[5:]}"

    def _day(self, moment: datetime) -> Any:
        return local_date(moment, self.zone)

    def _where(self, latitude: float, longitude: float) -> dict[str, Any]:
        if self.rng.random() < 0.1:  # address only, as an SMS often is
            return {"latitude": None, "longitude": None}
        return {"latitude": latitude, "longitude": longitude}

    def _area_of(self, complaint: Complaint) -> int | None:
        if complaint.latitude is None or complaint.longitude is None:
            return None
        for area in self.areas:
            if geo.contains(area.geometry, complaint.latitude, complaint.longitude):
                return area.id
        return None

    def _who(self) -> dict[str, Any]:
        privacy = self.rng.choices(("public", "confidential", "anonymous"), weights=(60, 15, 25))[0]
        if privacy == "anonymous":
            return {"privacy": privacy}
        rng = self.rng
        born = date(self.now.year - rng.randint(19, 65), rng.randint(1, 12), 1)
        name = self.names.name(female=rng.random() < 0.5, born=born)
        phone = f"08{rng.choice('1235789')}{rng.randint(10_000_000, 999_999_999)}"
        local = ".".join(name.lower().split()[:2]) + str(rng.choice(("", "", born.year % 100)))
        email = f"{local}@{rng.choice(('contoh.id', 'surel.example', 'contoh.co.id'))}"
        return {
            "privacy": privacy,
            "reporter_name": name,
            "reporter_phone_sealed": self.keys.seal(phone),
            "reporter_email_sealed": self.keys.seal(email),
        }

    def _walk(self, complaint: Complaint, target: str, department_id: int | None) -> None:
        """Step through the workflow up to ``target``, stopping where the clock does."""
        at = complaint.submitted_at
        if target in ("rejected", "duplicate"):
            at = self._office(at + timedelta(hours=self.rng.uniform(1, 20)))
            if at < self.now:
                self._step(complaint, target, at)
            return
        for status in PATH[1 : PATH.index(target) + 1]:
            low, high = STEP_HOURS[status]
            at = self._office(at + timedelta(hours=self.rng.uniform(low, high)))
            if at >= self.now:
                return
            self._step(complaint, status, at, department_id)

    def _office(self, moment: datetime) -> datetime:
        """``moment``, or a moment early in the next office hours of a working day."""
        zone = ZoneInfo(self.zone)
        local = moment.astimezone(zone)
        opens, closes = OFFICE_HOURS
        day = local.date()
        if self.calendar.is_working_day(day) and opens <= local.time() < closes:
            return moment
        if local.time() >= opens or not self.calendar.is_working_day(day):
            day = self.calendar.add_working_days(day, 1)
        start = datetime.combine(day, opens, zone) + timedelta(minutes=self.rng.randint(0, 90))
        return start.astimezone(moment.tzinfo)

    def _step(
        self, complaint: Complaint, status: str, at: datetime, department_id: int | None = None
    ) -> None:
        officer = (
            self.verifier
            if status in ("verified", "forwarded", "rejected", "duplicate")
            else "Petugas dinas"
        )
        note = NOTES.get(status, "")
        if status == "rejected":
            note = "Bukan kewenangan pemerintah daerah; silakan hubungi PLN."
            complaint.rejection_reason = note
        if status == "duplicate":
            note = "Sama dengan laporan sebelumnya di lokasi yang sama."
        complaint.events.append(
            ComplaintEvent(
                at=at,
                actor_label=officer,
                from_status=complaint.status,
                to_status=status,
                note=note,
            )
        )
        complaint.status = status
        if status == "forwarded":
            complaint.forwarded_at = at
            complaint.followup_due = self.calendar.add_working_days(
                self._day(at), self.followup_days
            )
        elif status == "resolved":
            complaint.resolved_at = at
        elif status == "closed":
            complaint.closed_at = at


def _merge_duplicates(rng: random.Random, complaints: list[Complaint]) -> None:
    """Point each duplicate at an earlier complaint, of its category where there is one."""
    originals = [c for c in complaints if c.status not in ("rejected", "duplicate")]
    for complaint in complaints:
        if complaint.status != "duplicate":
            continue
        earlier = [c for c in originals if c.submitted_at < complaint.submitted_at]
        same = [c for c in earlier if c.category_id == complaint.category_id]
        original = rng.choice(same or earlier or originals)
        complaint.duplicate_of_id = original.id
        original.supporters += 1
