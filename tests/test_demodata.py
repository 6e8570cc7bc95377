"""Sample people and places of the demo: plausible, varied, deterministic, in the region."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import date

import pytest

from balai.demodata import PLACES, NameMaker, region_for, sex_of_name

TANGERANG_KECAMATAN = {
    "Batuceper", "Benda", "Cibodas", "Ciledug", "Cipondoh", "Jatiuwung", "Karang Tengah",
    "Karawaci", "Larangan", "Neglasari", "Periuk", "Pinang", "Tangerang",
}  # fmt: skip
# The regions' extent (south, west, north, east), with a little margin.
BOUNDS = {
    "kota-tangerang": (-6.26, 106.55, -6.11, 106.76),
    "kabupaten-lebak": (-7.05, 105.85, -6.20, 106.60),
}


def test_the_same_seed_gives_the_same_names_and_another_seed_others() -> None:
    people = [(n % 2 == 0, date(1950 + n % 70, 1 + n % 12, 1)) for n in range(200)]

    def names(seed: str) -> list[str]:
        maker = NameMaker(seed)
        return [maker.name(female=f, born=b) for f, b in people]

    assert names("kota-tangerang") == names("kota-tangerang")
    assert names("kota-tangerang") != names("kabupaten-lebak")


def test_thousands_of_names_are_varied_and_match_sex_and_generation() -> None:
    maker, rng = NameMaker("x"), random.Random(1)
    people = [(rng.random() < 0.5, date(rng.randint(1935, 2025), 6, 1)) for _ in range(3000)]
    names = [maker.name(female=female, born=born) for female, born in people]
    counts = Counter(names)
    assert max(counts.values()) == 1  # unused names remain: none is given twice
    singles = [n for n in names if " " not in n]
    assert 0 < len(singles) < len(names) * 0.1
    assert Counter(n.split()[0] for n in names).most_common(1)[0][1] < len(names) * 0.04
    for name, (female, _born) in zip(names, people, strict=True):
        assert sex_of_name(name) == ("female" if female else "male"), name
        assert 1 <= len(name.split()) <= 3
    grandmothers = {
        n.split()[0] for n, (f, b) in zip(names, people, strict=True) if f and b.year < 1960
    }
    toddlers = {
        n.split()[0] for n, (f, b) in zip(names, people, strict=True) if f and b.year > 2020
    }
    assert "Siti" in grandmothers and not grandmothers & toddlers


def test_sex_of_a_name_it_does_not_know_is_unknown() -> None:
    assert sex_of_name("Siti Rahmawati") == "female"
    assert sex_of_name("Budi Santoso") == "male"
    assert sex_of_name("Petugas DLH") is None
    assert sex_of_name("") is None


def test_kota_tangerang_has_its_thirteen_kecamatan_and_lebak_its_towns() -> None:
    kota, lebak = PLACES["kota-tangerang"], PLACES["kabupaten-lebak"]
    assert {k.name for k in kota.kecamatan} == TANGERANG_KECAMATAN
    assert sorted(k.code for k in kota.kecamatan) == list(range(1, 14))
    assert {"Rangkasbitung", "Cibadak", "Malingping", "Bayah"} <= {k.name for k in lebak.kecamatan}
    assert (kota.regency, lebak.regency) == ("3671", "3602")
    assert region_for("kota-lain") is kota


@pytest.mark.parametrize("slug", sorted(PLACES))
def test_points_fall_in_one_kecamatan_square_inside_the_region(slug: str) -> None:
    region = PLACES[slug]
    south, west, north, east = BOUNDS[slug]
    for a, b in itertools.combinations(region.kecamatan, 2):
        ax0, ay0, ax1, ay1 = a.square(region.half)
        bx0, by0, bx1, by1 = b.square(region.half)
        assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, (a.name, b.name)
    rng = random.Random(7)
    for kecamatan in region.kecamatan:
        west_, south_, east_, north_ = kecamatan.square(region.half)
        for _ in range(50):
            place = region.place(rng, kecamatan)
            assert south_ < place.latitude < north_ and west_ < place.longitude < east_
            assert south < place.latitude < north and west < place.longitude < east
            assert place.village in kecamatan.villages and place.street in kecamatan.streets
    address = region.address(region.place(rng), rng)
    assert address.startswith(("Jl. ", "Kp. ")) and f", {region.village_kind} " in address
