"""Sample announcements for a demo region (``balai demo``), written as an OPD would.

Each is published in office hours (:data:`OFFICE_HOURS`, the region's time) of the
day its sample says, so a demo built at night has no announcement published at
three in the morning; a sample meant to be published already never lies ahead.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.auth import Department
from balai.db import utcnow
from balai.tenancy import DEFAULT_TIMEZONE
from balai_pengumuman.models import Announcement

__all__ = ["OFFICE_HOURS", "SAMPLES", "add_sample_announcements"]

#: When an OPD publishes: between these local times.
OFFICE_HOURS = (time(7, 30), time(15, 30))


@dataclass(frozen=True)
class Sample:
    """One sample: published ``days`` from now (negative: past), shown for ``lasts`` days."""

    title: str
    body: str
    category: str
    department: tuple[str, ...]  # words that find the department by code or name
    days: float
    lasts: float | None


SAMPLES: tuple[Sample, ...] = (
    Sample(
        "Gangguan distribusi air bersih di Kecamatan Utara",
        "Sehubungan dengan perbaikan pipa transmisi utama, distribusi air bersih ke "
        "Kelurahan Sukamaju, Sukajadi dan Mekarsari terhenti pada Sabtu pukul 08.00 "
        "sampai 16.00 WIB.\n\nMobil tangki air disiagakan di kantor kelurahan. "
        "Mohon maaf atas ketidaknyamanan ini.",
        "layanan",
        ("pdam", "air minum"),
        -1,
        3,
    ),
    Sample(
        "Vaksinasi campak dan rubela gratis untuk anak",
        "Dinas Kesehatan mengadakan vaksinasi campak dan rubela gratis bagi anak usia "
        "9 bulan sampai 15 tahun di seluruh puskesmas setiap Selasa dan Kamis, pukul "
        "08.00 sampai 12.00 WIB.\n\nBawa buku KIA atau kartu keluarga.",
        "kesehatan",
        ("dinkes", "kesehatan"),
        -2,
        30,
    ),
    Sample(
        "Penutupan Jalan Merdeka untuk karnaval HUT kota",
        "Jalan Merdeka antara Simpang Lima dan Alun-alun ditutup untuk kendaraan pada "
        "Minggu pukul 06.00 sampai 14.00 WIB. Pengendara diarahkan melalui Jalan "
        "Sudirman dan Jalan Ahmad Yani.\n\nPetugas Dinas Perhubungan berjaga di setiap simpang.",
        "lalu-lintas",
        ("dishub", "perhubungan"),
        -0.5,
        5,
    ),
    Sample(
        "Siaga banjir: tinggi muka air Sungai Cikaso naik",
        "BPBD menetapkan status Siaga untuk bantaran Sungai Cikaso. Warga di bantaran "
        "sungai diminta menyiapkan tas siaga dan mengikuti arahan petugas.\n\n"
        "Laporkan keadaan darurat ke nomor 112 (gratis, 24 jam).",
        "bencana",
        ("bpbd", "bencana"),
        -0.2,
        7,
    ),
    Sample(
        "Layanan KTP elektronik di hari Sabtu",
        "Mulai bulan ini Disdukcapil membuka layanan perekaman dan pencetakan KTP "
        "elektronik setiap Sabtu pukul 08.00 sampai 12.00 WIB di Mal Pelayanan Publik.\n\n"
        "Ambil nomor antrean secara daring atau langsung di lokasi.",
        "layanan",
        ("disdukcapil", "kependudukan"),
        -6,
        None,
    ),
    Sample(
        "Pendaftaran PPDB SD dan SMP negeri dibuka",
        "Pendaftaran Penerimaan Peserta Didik Baru (PPDB) jenjang SD dan SMP negeri "
        "dibuka mulai Senin. Siapkan kartu keluarga, akta kelahiran dan rapor.\n\n"
        "Panduan lengkap tersedia di setiap sekolah dan kantor Dinas Pendidikan.",
        "kegiatan",
        ("disdik", "pendidikan"),
        -3,
        21,
    ),
    Sample(
        "Pemeliharaan server: layanan daring berhenti sementara",
        "Layanan daring pemerintah daerah tidak dapat diakses pada Jumat pukul 22.00 "
        "sampai Sabtu pukul 02.00 WIB karena pemeliharaan server.\n\n"
        "Pengaduan darurat tetap dapat disampaikan melalui nomor 112.",
        "layanan",
        ("diskominfo", "komunikasi"),
        2,
        3,
    ),
    Sample(
        "Pemeriksaan kesehatan gratis bagi lansia di posyandu",
        "Posyandu lansia di setiap kelurahan membuka pemeriksaan tekanan darah, gula "
        "darah dan kolesterol gratis bagi warga berusia 60 tahun ke atas.\n\n"
        "Jadwal posyandu dapat ditanyakan ke ketua RW setempat.",
        "kesehatan",
        ("dinkes", "kesehatan"),
        -8,
        60,
    ),
    Sample(
        "Perbaikan jembatan Kali Bening, lalu lintas satu lajur",
        "Selama perbaikan jembatan Kali Bening, kendaraan melintas bergantian di satu "
        "lajur dengan sistem buka-tutup. Kendaraan di atas 8 ton dilarang melintas.\n\n"
        "Perbaikan diperkirakan selesai dalam dua pekan.",
        "lalu-lintas",
        ("dpupr", "pekerjaan umum"),
        -4,
        14,
    ),
    Sample(
        "Pembayaran PBB tanpa denda diperpanjang",
        "Batas pembayaran Pajak Bumi dan Bangunan (PBB) tanpa denda diperpanjang hingga "
        "akhir bulan. Pembayaran dapat dilakukan di bank daerah, kantor pos dan minimarket.",
        "umum",
        ("bapenda", "pendapatan"),
        -40,
        30,
    ),
    Sample(
        "Kerja bakti serentak membersihkan saluran air",
        "Dalam rangka menyambut musim hujan, warga diajak mengikuti kerja bakti "
        "serentak membersihkan selokan dan saluran air pada Minggu pagi.\n\n"
        "Kantong sampah dibagikan di kantor kelurahan.",
        "kegiatan",
        ("dlh", "lingkungan"),
        -20,
        7,
    ),
    Sample(
        "Pasar murah menjelang hari raya",
        "Pemerintah daerah menggelar pasar murah beras, minyak goreng, gula dan telur "
        "di lima kecamatan. Setiap warga dapat membeli dengan menunjukkan KTP.\n\n"
        "Jadwal: pukul 08.00 sampai habis.",
        "kegiatan",
        ("disperindag", "perdagangan"),
        -1.5,
        4,
    ),
)


def add_sample_announcements(
    session: Session, tenant_id: int, timezone: str = DEFAULT_TIMEZONE
) -> list[Announcement]:
    """Add every sample to ``tenant_id``, credited to a matching department if present.

    :param timezone: the region's zone, for its office hours.
    """
    departments = list(session.scalars(select(Department)))
    now = utcnow()
    added = []
    for sample in SAMPLES:
        published = _in_office_hours(sample, now, ZoneInfo(timezone))
        announcement = Announcement(
            tenant_id=tenant_id,
            title=sample.title,
            body=sample.body,
            category=sample.category,
            department_id=_department_for(sample, departments),
            published_at=published,
            expires_at=None if sample.lasts is None else published + timedelta(days=sample.lasts),
        )
        session.add(announcement)
        added.append(announcement)
    session.flush()
    return added


def _department_for(sample: Sample, departments: list[Department]) -> int | None:
    for department in departments:
        haystack = f"{department.code} {department.name}".lower()
        if any(word in haystack for word in sample.department):
            return department.id
    return None


def _in_office_hours(sample: Sample, now: datetime, zone: ZoneInfo) -> datetime:
    """The sample's day (``now`` plus its ``days``) at a time in office hours; a day
    earlier when that would put a sample meant for the past after ``now``."""
    day = (now + timedelta(days=sample.days)).astimezone(zone).date()
    opens, closes = (datetime.combine(day, t, zone) for t in OFFICE_HOURS)
    minutes = int((closes - opens).total_seconds() // 60)
    moment = opens + timedelta(minutes=zlib.crc32(sample.title.encode()) % minutes)
    if sample.days <= 0 and moment > now:
        moment -= timedelta(days=1)
    return moment.astimezone(now.tzinfo)
