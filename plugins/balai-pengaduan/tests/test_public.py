"""Public list, detail, map and search: filters and pages, never personal data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from balai_pengaduan import services

PERSONAL = ("Siti Aminah", "siti@example.test", "0812345")


@pytest.fixture
def reported(enabled, sampah, jalan, complaint, area, inside):
    """Complaints with identities in every privacy mode, one in the area, one rejected."""
    identity = {
        "reporter_name": "Siti Aminah",
        "reporter_email": "siti@example.test",
        "reporter_phone": "0812345",
    }
    return {
        "public": complaint("SAMPAH", latitude=inside[0], longitude=inside[1], **identity),
        "confidential": complaint("JALAN", privacy="confidential", **identity),
        "old": complaint("JALAN", now=datetime(2024, 3, 4, 3, tzinfo=UTC), **identity),
    }


def test_list_shows_complaints_without_personal_data(client, reported):
    page = client.get("/pengaduan/daftar").text
    assert page.count('class="card"') == 3
    assert not any(p in page for p in PERSONAL)
    for found in reported.values():
        detail = client.get(f"/pengaduan/{found.id}").text
        assert found.description in detail
        assert not any(p in detail for p in PERSONAL)
        assert found.tracking_code not in detail  # the code is the reporter's key


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("category=SAMPAH", 1),
        ("category=jalan", 2),
        ("status=received", 3),
        ("status=closed", 0),
        ("since=2025-01-01", 2),
        ("until=2024-03-04", 1),
        ("since=2024-03-04&until=2024-03-04", 1),
    ],
)
def test_list_filters(client, reported, query, count):
    response = client.get(f"/pengaduan/daftar?{query}")
    assert response.status_code == 200
    assert response.text.count('class="card"') == count


def test_list_filters_by_area(client, reported, area):
    assert client.get(f"/pengaduan/daftar?area={area.id}").text.count('class="card"') == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("category=GOSIP", "Kategori tidak dikenal."),
        ("status=hilang", "Status tidak dikenal."),
        ("since=kemarin", "Masukkan tanggal"),
        ("page=0", "Masukkan nomor halaman dari 1 sampai 1000000."),
        ("page=99999999999999999999", "Masukkan nomor halaman dari 1 sampai 1000000."),
    ],
)
def test_bad_filters_say_what_is_wrong(client, reported, query, message):
    response = client.get(f"/pengaduan/daftar?{query}")
    assert response.status_code == 400 and message in response.text


def test_list_pages_twenty_at_a_time(client, enabled, sampah, complaint):
    for _n in range(21):
        complaint()
    first = client.get("/pengaduan/daftar?category=SAMPAH").text
    assert first.count('class="card"') == 20
    assert "/pengaduan/daftar?page=2&amp;category=SAMPAH" in first or "page=2" in first
    second = client.get("/pengaduan/daftar?category=SAMPAH&page=2").text
    assert second.count('class="card"') == 1
    assert client.get("/pengaduan/daftar?page=3").status_code == 404


def test_rejected_complaints_are_not_public(client, reported, db_session, make_ctx):
    found = reported["public"]
    services.transition(
        db_session, found, "rejected", make_ctx(), actor_id=None, actor_label="x", note="Iklan."
    )
    db_session.commit()
    assert client.get(f"/pengaduan/{found.id}").status_code == 404
    assert client.get("/pengaduan/daftar").text.count('class="card"') == 2
    by_code = client.get(f"/pengaduan/lacak?kode={found.tracking_code}").text
    assert "Ditolak: Iklan." in by_code


def test_map_lists_points_as_plain_text(app, client, reported):
    page = client.get("/pengaduan/peta").text
    assert "-6.17800, 106.63000" in page
    assert page.count("<tr>") == 2  # the header and the one complaint with a point
    if "pengaduan_feeds.geojson" in app.view_functions:
        assert "GeoJSON" in page


def test_home_links_everything(client, reported):
    page = client.get("/pengaduan/").text
    for url in ("/pengaduan/lapor", "/pengaduan/daftar", "/pengaduan/peta", "/pengaduan/lacak"):
        assert url in page


def test_search_finds_public_complaints(client, reported):
    found = client.get("/cari?q=menumpuk").text
    assert f"/pengaduan/{reported['public'].id}" in found
    assert "Siti Aminah" not in found
    # One word for the service, whatever other installed plugins translate "complaint"
    # as (a patient's chief complaint is "keluhan").
    assert "Pengaduan" in found and "Keluhan" not in found


def test_menu_shows_the_service(client, reported):
    assert 'href="/pengaduan/"' in client.get("/").text


def test_other_region_sees_nothing(other_client, both, sampah, complaint):
    found = complaint()
    assert other_client.get(f"/pengaduan/{found.id}").status_code == 404
    assert other_client.get(f"/pengaduan/lacak?kode={found.tracking_code}").status_code == 404
    assert found.description not in other_client.get("/pengaduan/daftar").text
    assert other_client.post(f"/pengaduan/{found.id}/dukung").status_code == 404
    assert found.description not in other_client.get("/cari?q=menumpuk").text
