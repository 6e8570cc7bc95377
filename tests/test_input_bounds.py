"""Numbers beyond what the database holds are refused, never a server error.

``?page=99999999999999999999`` once reached SQLite as an integer it cannot hold
(``OverflowError``) and PostgreSQL as ``integer out of range``: a 500 on every list,
filter and Open311 lookup that read a number without a bound.
"""

from __future__ import annotations

import pytest

HUGE = "99999999999999999999"
BIG = "9223372036854775808"  # 2**63: beyond even a BIGINT
JUST_OVER = "2147483648"  # 2**31: beyond an INTEGER

ANONYMOUS = [
    f"/pengaduan/daftar?page={HUGE}",
    f"/pengaduan/daftar?area={BIG}",
    f"/pengaduan/daftar?area={JUST_OVER}",
    f"/pengaduan/peta?area={BIG}&page={HUGE}",
    f"/pengaduan/peta.geojson?area={BIG}",
    f"/pengaduan/open311/v2/requests.xml?service_request_id={HUGE}",
    f"/pengaduan/open311/v2/requests.json?service_request_id=1,{BIG}",
    f"/pengaduan/open311/v2/requests/{HUGE}.xml",
    f"/pengaduan/open311/v2/requests/{JUST_OVER}.json",
    f"/pengumuman/?page={HUGE}",
    f"/pengumuman/arsip?page={BIG}",
    f"/puskesmas/?page={HUGE}",
]
ADMIN = [
    f"/pengaduan/petugas/?page={HUGE}",
    f"/pengaduan/petugas/?department={BIG}&area={JUST_OVER}",
    f"/puskesmas/kelola/?page={HUGE}",
    f"/puskesmas/kelola/audit?patient={BIG}&page={HUGE}",
    f"/puskesmas/kelola/audit.csv?patient={BIG}",
    f"/puskesmas/kelola/audit.csv?facility={JUST_OVER}",
    f"/puskesmas/pasien/?page={HUGE}",
    f"/puskesmas/kirim/?page={HUGE}",
    f"/admin/pengguna?page={HUGE}",
    f"/admin/libur?year={HUGE}&page={BIG}",
    f"/admin/sms?page={HUGE}",
    f"/api/v1/pengaduan/complaints?page={HUGE}",
    f"/api/v1/pengaduan/complaints?area_id={BIG}",
]


@pytest.fixture
def region(enable_plugin, tenant):
    for name in ("pengaduan", "pengumuman", "puskesmas"):
        enable_plugin(name)
    return tenant


def _read(client, url: str):
    response = client.get(url)
    response.get_data()  # a streamed body is read whole: an error half-way fails here
    return response


@pytest.mark.parametrize("url", ANONYMOUS)
def test_huge_numbers_in_public_addresses_are_refused(client, region, url):
    response = _read(client, url)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]


@pytest.mark.parametrize("url", ADMIN)
def test_huge_numbers_in_officers_addresses_are_refused(client, region, login, url):
    login(client, role="admin")
    response = _read(client, url)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]


def test_a_filter_out_of_range_is_explained_on_the_list(client, region):
    response = client.get(f"/pengaduan/daftar?area={BIG}")
    assert response.status_code == 400
    assert "Beberapa saringan tidak sah." in response.text


def test_an_id_out_of_range_is_simply_not_found_in_open311(client, region):
    response = client.get(f"/pengaduan/open311/v2/requests/{HUGE}.json")
    assert response.status_code == 404
    listed = client.get(f"/pengaduan/open311/v2/requests.json?service_request_id={HUGE}")
    assert (listed.status_code, listed.json) == (200, [])


def test_the_audit_csv_is_refused_before_it_starts(client, region, login):
    login(client, role="admin")
    response = client.get(f"/puskesmas/kelola/audit.csv?patient={BIG}")
    assert (response.status_code, response.mimetype) == (400, "text/plain")
    assert response.text.startswith("patient: ")
