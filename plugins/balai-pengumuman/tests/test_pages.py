"""Web pages: citizens read, officers publish, bad input is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import babel.dates
import pytest

from balai.db import utcnow
from balai.testing import travel

VALID = {
    "title": "Vaksinasi polio gratis",
    "body": "Di seluruh puskesmas, Selasa pukul 08.00 WIB.",
    "category": "kesehatan",
}


def test_routes_answer_404_until_the_plugin_is_enabled(client, tenant, login):
    login(client, role="admin")
    for url in ("/pengumuman/", "/pengumuman/arsip", "/pengumuman/1", "/pengumuman/baru"):
        assert client.get(url).status_code == 404, url
    assert client.post("/pengumuman/baru", data=VALID).status_code == 404
    assert client.get("/api/v1/pengumuman/").status_code == 404
    assert "/api/v1/pengumuman/" not in client.get("/api/v1/openapi.json").json["paths"]


def test_citizen_reads_the_list_and_an_announcement(client, enabled, add, login):
    announcement = add("Penutupan Jalan Merdeka", body="Ditutup Minggu.\n\nGunakan Jalan Sudirman.")
    page = client.get("/pengumuman/").get_data(as_text=True)
    assert "Penutupan Jalan Merdeka" in page
    detail = client.get(f"/pengumuman/{announcement.id}").get_data(as_text=True)
    assert "<p>Gunakan Jalan Sudirman.</p>" in detail
    assert "Arsipkan sekarang" not in detail  # Indonesian by default, no officer buttons
    login(client, role="warga")
    assert client.get("/pengumuman/baru").status_code == 403


def test_visitor_is_sent_to_log_in_before_writing(client, enabled):
    response = client.get("/pengumuman/baru")
    assert response.status_code == 302
    assert "/masuk" in response.headers["Location"]


def test_empty_list_says_so(client, enabled):
    page = client.get("/pengumuman/").get_data(as_text=True)
    assert "Belum ada pengumuman yang berlaku." in page


def test_officer_publishes(client, enabled, login, stored):
    officer = login(client, role="opd")
    response = client.post("/pengumuman/baru", data=VALID)
    assert response.status_code == 302
    [saved] = stored()
    assert (saved.title, saved.author_id) == (VALID["title"], officer.id)
    assert saved.published_at <= utcnow()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Pengumuman sudah diterbitkan." in page
    assert VALID["title"] in client.get("/pengumuman/").get_data(as_text=True)


def test_form_times_are_local_time_of_the_region(client, enabled, login, stored):
    login(client, role="opd")
    data = {**VALID, "published_at": "2030-01-02T08:00", "expires_at": "2030-01-03T08:00"}
    assert client.post("/pengumuman/baru", data=data).status_code == 302
    [saved] = stored()
    assert saved.published_at.isoformat() == "2030-01-02T01:00:00+00:00"  # WIB is UTC+7
    assert saved.status == "scheduled"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": ""}, "title", "Isi judul pengumuman."),
        ({"title": "   "}, "title", "Isi judul pengumuman."),
        ({"category": "gosip"}, "category", "Pilih salah satu kategori yang tersedia."),
        (
            {"published_at": "2030-01-05T08:00", "expires_at": "2030-01-04T08:00"},
            "expires_at",
            "Waktu berakhir harus sesudah waktu terbit.",
        ),
        ({"published_at": "besok pagi"}, "published_at", "Isi tanggal dan jam"),
        ({"department_id": "999"}, "department_id", "Pilih OPD dari daftar."),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    client, enabled, login, stored, change, field, message
):
    login(client, role="admin")
    response = client.post("/pengumuman/baru", data={**VALID, **change})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in page
    assert message in page
    assert stored() == []


def test_scheduled_announcement_is_hidden_from_citizens(client, other_client, enabled, add, login):
    later = add("Pemeliharaan server", published_at=utcnow() + timedelta(days=2))
    assert client.get(f"/pengumuman/{later.id}").status_code == 404
    assert "Pemeliharaan server" not in client.get("/pengumuman/").get_data(as_text=True)
    login(client, role="opd")
    assert client.get(f"/pengumuman/{later.id}").status_code == 200
    assert "Terjadwal" in client.get("/pengumuman/").get_data(as_text=True)


def test_officer_edits_and_archives_own_announcement(client, enabled, login, stored):
    login(client, role="opd")
    client.post("/pengumuman/baru", data=VALID)
    [saved] = stored()
    form = client.get(f"/pengumuman/{saved.id}/ubah").get_data(as_text=True)
    assert VALID["title"] in form
    edited = {**VALID, "title": "Vaksinasi polio gratis (diperpanjang)"}
    assert client.post(f"/pengumuman/{saved.id}/ubah", data=edited).status_code == 302
    assert client.post(f"/pengumuman/{saved.id}/arsipkan").status_code == 302
    [saved] = stored()
    assert saved.title == edited["title"]
    assert saved.status == "archived"
    assert edited["title"] in client.get("/pengumuman/arsip").get_data(as_text=True)
    assert edited["title"] not in client.get("/pengumuman/").get_data(as_text=True)


def test_edit_with_bad_input_changes_nothing(client, enabled, add, login, stored):
    announcement = add()
    login(client, role="admin")
    bad = {**VALID, "published_at": "2030-01-05T08:00", "expires_at": "2030-01-01T08:00"}
    assert client.post(f"/pengumuman/{announcement.id}/ubah", data=bad).status_code == 422
    assert stored()[0].title == announcement.title


def test_officer_may_not_edit_another_departments_announcement(
    client, enabled, add, login, department
):
    health = department("DINKES", "Dinas Kesehatan")
    department("DISHUB", "Dinas Perhubungan")
    announcement = add(department_id=health.id)
    login(client, role="opd", department="DISHUB")
    assert client.get(f"/pengumuman/{announcement.id}/ubah").status_code == 403
    assert client.post(f"/pengumuman/{announcement.id}/arsipkan").status_code == 403
    refused = client.post("/pengumuman/baru", data={**VALID, "department_id": str(health.id)})
    assert "Anda hanya dapat menerbitkan untuk OPD Anda sendiri." in refused.get_data(as_text=True)


def test_department_officer_edits_the_departments_announcements(
    client, enabled, add, login, department
):
    health = department("DINKES", "Dinas Kesehatan")
    announcement = add(department_id=health.id)
    login(client, role="opd", department="DINKES")
    assert client.get(f"/pengumuman/{announcement.id}/ubah").status_code == 200


def test_category_filter(client, enabled, add):
    add("Jalan ditutup", category="lalu-lintas")
    add("Posyandu lansia", category="kesehatan")
    page = client.get("/pengumuman/?category=kesehatan").get_data(as_text=True)
    assert "Posyandu lansia" in page
    assert "Jalan ditutup" not in page
    assert client.get("/pengumuman/?category=gosip").status_code == 404


def test_pages_of_twenty(client, enabled, add):
    start = utcnow() - timedelta(days=1)
    for n in range(25):
        add(f"Pengumuman nomor {n:02d}", published_at=start + timedelta(minutes=n))
    first = client.get("/pengumuman/").get_data(as_text=True)
    assert first.count('class="card"') == 20
    assert "Pengumuman nomor 24" in first  # newest first
    assert "page=2" in first
    second = client.get("/pengumuman/?page=2").get_data(as_text=True)
    assert second.count('class="card"') == 5
    assert client.get("/pengumuman/?page=3").status_code == 404


def test_form_text_with_browser_line_endings_keeps_its_paragraphs(client, enabled, login, stored):
    login(client, role="opd")
    data = {**VALID, "body": "Di seluruh puskesmas.\r\n\r\nBawa buku KIA.\r\nGratis."}
    response = client.post("/pengumuman/baru", data=data)
    [saved] = stored()
    assert saved.body == "Di seluruh puskesmas.\n\nBawa buku KIA.\nGratis."
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<p>Di seluruh puskesmas.</p>" in detail
    assert "<p>Bawa buku KIA.\nGratis.</p>" in detail


def test_stored_text_with_crlf_or_spaced_blank_lines_shows_paragraphs(client, enabled, add):
    announcement = add(body="Ditutup Minggu.\r\n\r\nLewat Jalan Sudirman.\n  \n\nTerima kasih.")
    detail = client.get(f"/pengumuman/{announcement.id}").get_data(as_text=True)
    for paragraph in ("Ditutup Minggu.", "Lewat Jalan Sudirman.", "Terima kasih."):
        assert f"<p>{paragraph}</p>" in detail


def test_scheduled_announcement_is_announced_as_scheduled(client, enabled, login):
    login(client, role="opd")
    data = {**VALID, "published_at": "2030-01-02T08:00"}
    response = client.post("/pengumuman/baru", data=data)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Pengumuman terjadwal dan akan terbit pada 2 Januari 2030, 08.00" in page
    assert "Pengumuman sudah diterbitkan." not in page


def test_scheduled_time_says_wib_in_english_too(client, enabled, login):
    client.post("/bahasa", data={"lang": "en", "next": "/"})
    login(client, role="opd")
    data = {**VALID, "published_at": "2030-01-02T08:00"}
    response = client.post("/pengumuman/baru", data=data)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "will be published on 2 January 2030, 08.00 WIB" in page
    assert "GMT" not in page


def test_archive_lists_newest_first(client, enabled, add):
    now = utcnow()
    add(
        "Pembayaran PBB", published_at=now - timedelta(days=40), expires_at=now - timedelta(days=10)
    )
    add("Kerja bakti", published_at=now - timedelta(days=20), expires_at=now - timedelta(days=13))
    page = client.get("/pengumuman/arsip").get_data(as_text=True)
    assert page.index("Kerja bakti") < page.index("Pembayaran PBB")


def test_list_pages_link_the_plugins_stylesheet(client, enabled):
    page = client.get("/pengumuman/").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/pengumuman/static/pengumuman.css">' in page
    with client.get("/pengumuman/static/pengumuman.css") as css:
        assert css.status_code == 200
        assert css.mimetype == "text/css"
        rules = css.get_data(as_text=True)
    assert ".categories a[aria-current=page]" in rules
    assert ".announcements{list-style:none" in rules


@travel("2026-03-05T09:00:00+07:00")
def test_list_dates_follow_the_language_and_the_regions_zone(client, enabled, add, login):
    add("Kerja bakti", published_at=datetime(2026, 3, 4, 16, 59, tzinfo=UTC))  # 23.59 WIB
    add("Posyandu", published_at=datetime(2026, 3, 5, 1, 0, tzinfo=UTC))  # 08.00 WIB

    def dates() -> list[str]:
        page = client.get("/pengumuman/").get_data(as_text=True)
        return re.findall(r"<time datetime=[^>]+>([^<]+)</time>", page)

    expected_id = ["5 Maret 2026, 08.00 WIB", "4 Maret 2026, 23.59 WIB"]
    assert dates() == expected_id
    assert dates() == expected_id  # the second time from what the first one wrote
    client.post("/bahasa", data={"lang": "en", "next": "/"})
    assert dates() == ["5 March 2026, 08.00 WIB", "4 March 2026, 23.59 WIB"]
    login(client, role="admin")
    form = {"name": "Kota A", "theme": "default", "timezone": "Asia/Makassar",
            "primary": "#0b5d7a", "accent": "#c8102e", "background": "#ffffff"}  # fmt: skip
    assert client.post("/admin/tampilan", data=form).status_code == 302
    assert dates() == ["5 March 2026, 09.00 WITA", "5 March 2026, 00.59 WITA"]
    client.post("/bahasa", data={"lang": "id", "next": "/"})
    assert dates() == ["5 Maret 2026, 09.00 WITA", "5 Maret 2026, 00.59 WITA"]


def test_a_list_formats_each_date_once(client, enabled, add, monkeypatch):
    for day in range(1, 21):
        add(f"Pengumuman {day}", published_at=utcnow() - timedelta(days=day))
    calls = []
    format_datetime = babel.dates.format_datetime

    def counted(*args, **kwargs):
        calls.append(args[0])
        return format_datetime(*args, **kwargs)

    monkeypatch.setattr(babel.dates, "format_datetime", counted)
    first = client.get("/pengumuman/").get_data(as_text=True)
    assert len(calls) <= 20
    calls.clear()
    assert client.get("/pengumuman/").get_data(as_text=True) == first
    assert calls == []  # the same twenty moments, already written in this language and zone
