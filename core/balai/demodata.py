"""Sample people and places for ``balai demo``: names, kecamatan, villages, streets.

Plugins fill a demo region with people and addresses from here, so that the
whole demo agrees: the same kecamatan on the complaint map and in the patients'
addresses, and names an Indonesian tester would believe.

- :class:`NameMaker` makes plausible Indonesian names, deterministic for a seed:
  given names of the person's generation (a grandmother is *Siti Aminah* or
  *Onah*, her granddaughter *Khanza Azzahra*), second names, sometimes a middle
  one, rarely a single name (and then never twice). A full name is not repeated
  while unused ones are left to draw.
- :data:`PLACES` holds, for the demo's Kota Tangerang and Kabupaten Lebak, real
  kecamatan with their kelurahan or desa, streets, and a point near each
  kecamatan's centre (approximate, from public maps). :meth:`Kecamatan.point`
  draws a point inside the small square around that centre
  (:meth:`Kecamatan.square`), and the squares of a region never overlap, so a
  point belongs to exactly one kecamatan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

__all__ = [
    "PLACES",
    "Kecamatan",
    "NameMaker",
    "Place",
    "Region",
    "region_for",
    "sex_of_name",
]

# -- names --------------------------------------------------------------------------

# Given names by generation: (born before, men, women). Order matters: the first
# generation whose bound lies after the birth year is the person's.
GENERATIONS: tuple[tuple[int, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        1970,
        (
            "Abdul", "Ahmad", "Dadang", "Engkos", "Hasan", "Haryanto", "Juhana", "Karta",
            "Mulyadi", "Oman", "Rohmat", "Sarmadi", "Slamet", "Suherman", "Sumardi",
            "Suparman", "Sutrisno", "Udin", "Ujang", "Wahyudi", "Yahya", "Zainal",
        ),
        (
            "Aminah", "Cicih", "Entin", "Euis", "Imas", "Iyah", "Juariah", "Kartini",
            "Marni", "Nani", "Nengsih", "Onah", "Romlah", "Rohayati", "Siti", "Sri",
            "Sumarni", "Sumiati", "Tati", "Yati", "Warsih", "Odah",
        ),
    ),
    (
        1995,
        (
            "Agus", "Andi", "Arif", "Asep", "Bambang", "Budi", "Cecep", "Deden", "Dedi",
            "Dodi", "Eko", "Hadi", "Hendra", "Heri", "Irwan", "Iwan", "Joko", "Rahmat",
            "Rudi", "Tatang", "Teguh", "Wawan", "Yayan", "Yusuf",
        ),
        (
            "Ani", "Dewi", "Dian", "Endang", "Erna", "Eti", "Fitri", "Ika", "Lilis",
            "Lina", "Neneng", "Nining", "Nurhasanah", "Ratna", "Rina", "Rini", "Susi",
            "Wati", "Wulan", "Yanti", "Yuni", "Elis",
        ),
    ),
    (
        2011,
        (
            "Aditya", "Akbar", "Alif", "Bayu", "Dafa", "Dimas", "Fajar", "Farhan", "Fikri",
            "Galih", "Hafiz", "Ikhsan", "Ilham", "Rafi", "Rendi", "Reza", "Ridwan",
            "Rizky", "Taufik", "Yoga", "Fahmi", "Gilang",
        ),
        (
            "Amelia", "Anisa", "Aulia", "Ayu", "Citra", "Dinda", "Dita", "Fitria", "Indah",
            "Intan", "Maya", "Nabila", "Nadia", "Novita", "Nurul", "Putri", "Rahma",
            "Salsabila", "Suci", "Tiara", "Windi", "Yulia",
        ),
    ),
    (
        9999,
        (
            "Abrisam", "Alvaro", "Arkan", "Arsya", "Athar", "Azka", "Bima", "Daffa",
            "Devan", "Fathan", "Gibran", "Kenzo", "Muhammad", "Naufal", "Raka", "Rafa",
            "Rayyan", "Zaidan", "Zidan", "Rasya", "Fatih", "Yusuf",
        ),
        (
            "Adiba", "Aisyah", "Alesha", "Almira", "Alya", "Aqila", "Azzahra", "Hana",
            "Humaira", "Kayla", "Keisha", "Khanza", "Kirana", "Naura", "Nayla", "Safa",
            "Shakila", "Syifa", "Zahra", "Zalfa", "Zea", "Qirani",
        ),
    ),
)  # fmt: skip
MEN_SECOND = (
    "Akbar", "Anwar", "Apriansyah", "Effendi", "Fadillah", "Fauzi", "Firmansyah",
    "Gunawan", "Hakim", "Hamdani", "Herdiansyah", "Hermawan", "Hidayat", "Hidayatullah",
    "Iskandar", "Kurniawan", "Kusuma", "Maulana", "Mulyana", "Munandar", "Nugraha",
    "Permana", "Prasetyo", "Pratama", "Ramadhan", "Ramdani", "Rizal", "Rohman", "Santoso",
    "Saputra", "Setiawan", "Sopian", "Sunarya", "Supriatna", "Suryadi", "Susanto",
    "Sutisna", "Syahputra", "Wibowo", "Wijaya",
)  # fmt: skip
WOMEN_SECOND = (
    "Agustina", "Amalia", "Aminah", "Anggraini", "Fauziah", "Fitriani", "Handayani",
    "Hasanah", "Herlina", "Hidayah", "Jubaedah", "Kartika", "Khairunnisa", "Komariah",
    "Kurniasih", "Lestari", "Maesaroh", "Marlina", "Maryani", "Mulyani", "Novitasari",
    "Nuraeni", "Nurhayati", "Nurjanah", "Oktaviani", "Permatasari", "Purnamasari",
    "Puspitasari", "Rahmawati", "Ramadhani", "Rohaeni", "Rohaeti", "Rosita", "Safitri",
    "Septiani", "Setiawati", "Sumarni", "Suryani", "Susanti", "Wulandari", "Yulianti",
)  # fmt: skip
MEN_FIRST = frozenset(name for _bound, men, _women in GENERATIONS for name in men)
WOMEN_FIRST = frozenset(name for _bound, _men, women in GENERATIONS for name in women)
# How often a generation goes by one name only.
SINGLE_SHARE = {1970: 0.18, 1995: 0.04, 2011: 0.01, 9999: 0.0}
MIDDLE_SHARE = 0.12
TRIES = 40


def sex_of_name(name: str) -> str | None:
    """``female`` or ``male`` when the first word of ``name`` is a given name here."""
    first = name.split()[0] if name.split() else ""
    female, male = first in WOMEN_FIRST, first in MEN_FIRST
    if female != male:
        return "female" if female else "male"
    return None


class NameMaker:
    """Plausible Indonesian names, the same sequence for the same ``seed``.

    >>> names = NameMaker("kota-tangerang")
    >>> names.name(female=True, born=date(1958, 3, 1))  # doctest: +SKIP
    'Siti Komariah'
    """

    def __init__(self, seed: object) -> None:
        self.rng = random.Random(f"names:{seed}")
        self.used: set[str] = set()

    def name(self, *, female: bool, born: date) -> str:
        """A name for a person of that sex born on ``born``, unused so far if possible."""
        candidate = ""
        for _attempt in range(TRIES):
            candidate = self._draw(female, born)
            if candidate not in self.used:
                break
        if " " not in candidate and candidate in self.used:
            # A single name is never given twice: the second person gets a surname.
            candidate = f"{candidate} {self.rng.choice(WOMEN_SECOND if female else MEN_SECOND)}"
        self.used.add(candidate)
        return candidate

    def _draw(self, female: bool, born: date) -> str:
        rng = self.rng
        bound, men, women = next(g for g in GENERATIONS if born.year < g[0])
        pool = women if female else men
        first = rng.choice(pool)
        if rng.random() < SINGLE_SHARE[bound]:
            return first
        second = rng.choice(WOMEN_SECOND if female else MEN_SECOND)
        while second == first:
            second = rng.choice(WOMEN_SECOND if female else MEN_SECOND)
        if rng.random() < MIDDLE_SHARE:
            middle = rng.choice(pool)
            if middle != first:
                return f"{first} {middle} {second}"
        return f"{first} {second}"


# -- places -------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A drawn address: street line, village, kecamatan, and a point on the map."""

    street: str
    number: int
    village: str
    kecamatan: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Kecamatan:
    """A district (*kecamatan*): its villages, some streets, and a point near its centre."""

    name: str
    code: int  # Kemendagri district code: NIK digits 5-6 of people registered there
    latitude: float
    longitude: float
    villages: tuple[str, ...]
    streets: tuple[str, ...]

    def square(self, half: float) -> tuple[float, float, float, float]:
        """``(min_lon, min_lat, max_lon, max_lat)`` of the square ``half`` degrees around."""
        return (
            self.longitude - half,
            self.latitude - half,
            self.longitude + half,
            self.latitude + half,
        )

    def point(self, rng: random.Random, half: float) -> tuple[float, float]:
        """A point strictly inside :meth:`square` (latitude, longitude, six decimals)."""
        inner = half * 0.9
        return (
            round(self.latitude + rng.uniform(-inner, inner), 6),
            round(self.longitude + rng.uniform(-inner, inner), 6),
        )


@dataclass(frozen=True)
class Region:
    """A demo region's geography; ``regency`` is its Kemendagri code (NIK digits 1-4)."""

    slug: str
    name: str
    regency: str
    village_kind: str  # "Kel." (kelurahan, a city) or "Desa" (a regency)
    half: float  # half the side of each kecamatan's square, in degrees
    kecamatan: tuple[Kecamatan, ...]

    def place(self, rng: random.Random, kecamatan: Kecamatan | None = None) -> Place:
        """An address and point in ``kecamatan`` (default: one drawn)."""
        where = kecamatan or rng.choice(self.kecamatan)
        latitude, longitude = where.point(rng, self.half)
        return Place(
            street=rng.choice(where.streets),
            number=rng.randint(1, 150),
            village=rng.choice(where.villages),
            kecamatan=where.name,
            latitude=latitude,
            longitude=longitude,
        )

    def address(self, place: Place, rng: random.Random) -> str:
        """``Jl. ... No. 12, RT 003/RW 005, Kel. Cikokol, Kec. Tangerang``."""
        return (
            f"{place.street} No. {place.number}, RT {rng.randint(1, 12):03d}/"
            f"RW {rng.randint(1, 9):03d}, {self.village_kind} {place.village}, "
            f"Kec. {place.kecamatan}"
        )


def _k(name: str, code: int, lat: float, lon: float, villages: str, streets: str) -> Kecamatan:
    """A row of the tables below: villages comma-separated, streets semicolon-separated."""
    return Kecamatan(
        name,
        code,
        lat,
        lon,
        tuple(villages.split(", ")),
        tuple(street.strip() for street in streets.split(";")),
    )


TANGERANG = Region(
    "kota-tangerang",
    "Kota Tangerang",
    "3671",
    "Kel.",
    0.0095,
    (
        _k(
            "Tangerang", 1, -6.1783, 106.6320,
            "Babakan, Buaran Indah, Cikokol, Kelapa Indah, Sukaasih, Sukarasa, Sukasari, "
            "Tanah Tinggi",
            "Jl. Jenderal Sudirman; Jl. MH Thamrin; Jl. TMP Taruna; Jl. Kisamaun",
        ),
        _k(
            "Karawaci", 7, -6.1760, 106.6130,
            "Bojong Jaya, Bugel, Cimone, Cimone Jaya, Gerendeng, Karawaci, Karawaci Baru, "
            "Koang Jaya, Margasari, Nambo Jaya, Nusa Jaya, Pabuaran, Pabuaran Tumpeng, "
            "Pasar Baru, Sukajadi, Sumur Pancing",
            "Jl. Imam Bonjol; Jl. Otto Iskandar Dinata; Jl. Bouraq; Jl. Kali Pasir",
        ),
        _k(
            "Cibodas", 9, -6.1990, 106.6030,
            "Cibodas, Cibodas Baru, Cibodasari, Jatiuwung, Panunggangan Barat, Uwung Jaya",
            "Jl. Borobudur Raya; Jl. Prambanan Raya; Jl. Gatot Subroto",
        ),
        _k(
            "Jatiuwung", 2, -6.1980, 106.5730,
            "Alam Jaya, Gandasari, Jatake, Keroncong, Manis Jaya, Pasir Jaya",
            "Jl. Gatot Subroto; Jl. Industri Raya; Jl. Manis Raya",
        ),
        _k(
            "Periuk", 8, -6.1690, 106.5880,
            "Gebang Raya, Gembor, Periuk, Periuk Jaya, Sangiang Jaya",
            "Jl. Moh. Toha; Jl. Gembor Raya; Jl. Sangiang Raya",
        ),
        _k(
            "Neglasari", 10, -6.1450, 106.6280,
            "Karang Anyar, Karang Sari, Kedaung Baru, Kedaung Wetan, Mekarsari, Neglasari, "
            "Selapajang Jaya",
            "Jl. Iskandar Muda; Jl. Marsekal Suryadarma; Jl. Kedaung Wetan Raya",
        ),
        _k(
            "Batuceper", 3, -6.1580, 106.6600,
            "Batuceper, Batujaya, Batusari, Kebon Besar, Poris Gaga, Poris Gaga Baru, "
            "Poris Jaya",
            "Jl. Daan Mogot; Jl. Husein Sastranegara; Jl. Poris Raya",
        ),
        _k(
            "Benda", 4, -6.1330, 106.6930,
            "Belendung, Benda, Jurumudi, Jurumudi Baru, Pajang",
            "Jl. Husein Sastranegara; Jl. Jurumudi Raya; Jl. Benda Raya",
        ),
        _k(
            "Cipondoh", 5, -6.1850, 106.6880,
            "Cipondoh, Cipondoh Indah, Cipondoh Makmur, Gondrong, Kenanga, Ketapang, Petir, "
            "Poris Plawad, Poris Plawad Indah, Poris Plawad Utara",
            "Jl. KH Hasyim Ashari; Jl. Benteng Betawi; Jl. Maulana Hasanudin",
        ),
        _k(
            "Pinang", 11, -6.2220, 106.6670,
            "Cipete, Kunciran, Kunciran Indah, Kunciran Jaya, Nerogtog, Pakojan, Panunggangan, "
            "Panunggangan Timur, Panunggangan Utara, Pinang, Sudimara Pinang",
            "Jl. Kunciran Raya; Jl. KH Hasyim Ashari; Jl. Pinang Raya",
        ),
        _k(
            "Karang Tengah", 12, -6.2120, 106.7120,
            "Karang Mulya, Karang Tengah, Karang Timur, Parung Jaya, Pedurenan, Pondok Bahar, "
            "Pondok Pucung",
            "Jl. Raden Saleh; Jl. Karang Tengah Raya; Jl. Pedurenan Raya",
        ),
        _k(
            "Ciledug", 6, -6.2360, 106.7120,
            "Paninggilan, Paninggilan Utara, Parung Serab, Sudimara Barat, Sudimara Jaya, "
            "Sudimara Selatan, Sudimara Timur, Tajur",
            "Jl. HOS Cokroaminoto; Jl. Raden Fatah; Jl. Tajur Raya",
        ),
        _k(
            "Larangan", 13, -6.2350, 106.7380,
            "Cipadu, Cipadu Jaya, Gaga, Kreo, Kreo Selatan, Larangan Indah, Larangan Selatan, "
            "Larangan Utara",
            "Jl. Ciledug Raya; Jl. Kreo Raya; Jl. Larangan Raya",
        ),
    ),
)  # fmt: skip
LEBAK = Region(
    "kabupaten-lebak",
    "Kabupaten Lebak",
    "3602",
    "Desa",
    0.013,
    (
        _k(
            "Rangkasbitung", 14, -6.3570, 106.2500,
            "Muara Ciujung Timur, Muara Ciujung Barat, Rangkasbitung Timur, Rangkasbitung Barat, "
            "Cijoro Lebak, Cijoro Pasir, Jatimulya, Kolelet Wetan, Narimbang Mulia, Nameng",
            "Jl. Multatuli; Jl. RA Kartini; Jl. Hardiwinangun; Jl. Siliwangi; Jl. Sunan Kalijaga",
        ),
        _k(
            "Kalanganyar", 24, -6.3280, 106.2180,
            "Kalanganyar, Aweh, Cilangkap, Pasir Kupa, Sidamanik, Cikatapis",
            "Jl. Raya Rangkasbitung-Pandeglang; Kp. Cilangkap; Kp. Aweh",
        ),
        _k(
            "Cibadak", 18, -6.3950, 106.2300,
            "Cibadak, Tambakbaya, Asem, Bojongleles, Kaduagung Timur, Pasar Keong",
            "Jl. Raya Rangkasbitung-Pandeglang; Kp. Tambakbaya; Kp. Bojongleles",
        ),
        _k(
            "Warunggunung", 15, -6.3000, 106.1750,
            "Warunggunung, Jagabaya, Pasir Tangkil, Selaraja, Cibuah, Baros",
            "Jl. Raya Serang-Rangkasbitung; Kp. Jagabaya; Kp. Pasir Tangkil",
        ),
        _k(
            "Cimarga", 11, -6.4200, 106.2900,
            "Cimarga, Sudamanik, Jayasari, Margatirta, Intenjaya, Sangiang",
            "Jl. Raya Rangkasbitung-Cimarga; Kp. Sudamanik; Kp. Jayasari",
        ),
        _k(
            "Maja", 13, -6.3400, 106.4000,
            "Maja, Maja Baru, Curug Badak, Sindangmulya, Pasir Kembang, Gubugan Cibeureum",
            "Jl. Raya Maja; Jl. Stasiun Maja; Kp. Curug Badak",
        ),
        _k(
            "Sajira", 12, -6.4900, 106.3500,
            "Sajira, Sajira Mekar, Calungbungur, Paja, Mekarsari, Sukarame",
            "Jl. Raya Sajira; Kp. Calungbungur; Kp. Paja",
        ),
        _k(
            "Leuwidamar", 6, -6.5480, 106.2180,
            "Leuwidamar, Kanekes, Cisimeut, Lebak Parahiang, Wantisari, Margawangi",
            "Jl. Raya Leuwidamar; Kp. Cisimeut; Kp. Ciboleger",
        ),
        _k(
            "Cileles", 10, -6.4700, 106.1100,
            "Cileles, Parungkujang, Mekarjaya, Cikareo, Margamulya, Prabugantungan",
            "Jl. Raya Cileles; Kp. Parungkujang; Kp. Cikareo",
        ),
        _k(
            "Malingping", 1, -6.7770, 106.0170,
            "Malingping Utara, Malingping Selatan, Sukamanah, Kersaratu, Rahong, Cilangkahan",
            "Jl. Raya Saketi-Malingping; Jl. Raya Malingping-Bayah; Kp. Rahong",
        ),
        _k(
            "Panggarangan", 2, -6.8650, 106.1100,
            "Panggarangan, Gunung Gede, Sukajadi, Cimandiri, Jatake, Mekarjaya",
            "Jl. Raya Malingping-Bayah; Kp. Cimandiri; Kp. Gunung Gede",
        ),
        _k(
            "Bayah", 3, -6.9300, 106.2250,
            "Bayah Barat, Bayah Timur, Darmasari, Suwakan, Pamubulan, Sawarna",
            "Jl. Raya Bayah; Jl. Raya Bayah-Cikotok; Kp. Sawarna",
        ),
    ),
)  # fmt: skip
PLACES = {TANGERANG.slug: TANGERANG, LEBAK.slug: LEBAK}


def region_for(slug: str) -> Region:
    """The demo geography of the region ``slug``; Kota Tangerang's for any other region."""
    return PLACES.get(slug, TANGERANG)
