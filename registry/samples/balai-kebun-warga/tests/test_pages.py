"""Web pages: the public list, and the officers' page behind its permission."""

from __future__ import annotations

import pytest

MANAGE = "kebun_warga.manage_plot"
PAGE = "/kebun_warga/"
MANAGE_PAGE = "/kebun_warga/kelola"
API = "/api/v1/kebun_warga/"


def test_routes_answer_404_until_the_plugin_is_enabled(client, tenant, login):
    login(client, role="admin")
    for url in (PAGE, MANAGE_PAGE, API):
        assert client.get(url).status_code == 404, url
    assert API not in client.get("/api/v1/openapi.json").json["paths"]


def test_public_page_lists_the_entries(client, enabled, add):
    add("Jadwal posyandu")
    page = client.get(PAGE).text
    assert "Jadwal posyandu" in page
    assert "Kelola lahan kebun" not in page  # Indonesian by default, no officer link for visitors


def test_empty_page_says_so(client, enabled):
    assert "Belum ada lahan kebun." in client.get(PAGE).text
    assert client.get(f"{PAGE}?page=2").status_code == 404


@pytest.mark.parametrize("url", [PAGE, MANAGE_PAGE])
def test_pages_show_twenty_entries_at_a_time(client, enabled, add, login, url):
    for n in range(21):
        add(f"Entri nomor {n:02d}")
    login(client, role="opd")
    first, second = client.get(url).text, client.get(f"{url}?page=2").text
    assert "Entri nomor 20" in first and "Entri nomor 01" in first
    assert "Entri nomor 00" not in first and 'rel="next"' in first
    assert "Entri nomor 00" in second and "Entri nomor 01" not in second
    assert client.get(f"{url}?page=3").status_code == 404
    assert client.get(f"{url}?page=x").status_code == 200  # not a page number: the first


def test_officers_see_the_entries_in_a_table(client, enabled, add, login):
    login(client, role="opd")
    assert "Belum ada lahan kebun." in client.get(MANAGE_PAGE).text
    add("Jadwal posyandu")
    page = client.get(MANAGE_PAGE).text
    assert '<th scope="col">Nama lahan</th>' in page
    assert "<td>Jadwal posyandu</td>" in page


def test_visitor_is_sent_to_log_in(client, enabled):
    response = client.get(MANAGE_PAGE)
    assert response.status_code == 302
    assert "/masuk" in response.headers["Location"]


def test_manage_page_needs_the_permission(client, enabled, login):
    login(client, role="warga")
    assert client.get(MANAGE_PAGE).status_code == 403
    assert client.post(MANAGE_PAGE, data={"title": "Tidak boleh"}).status_code == 403


def test_a_region_may_let_citizens_manage(client, enabled, login, grant):
    grant("warga", MANAGE)  # as the region's admin would on /admin/peran
    login(client, role="warga")
    assert client.get(MANAGE_PAGE).status_code == 200


def test_a_region_may_withdraw_it_from_officers(client, enabled, login, grant):
    grant("opd", MANAGE, granted=False)
    login(client, role="opd")
    assert client.get(MANAGE_PAGE).status_code == 403


def test_officer_adds_an_entry(client, enabled, login, stored):
    login(client, role="opd")
    response = client.post(MANAGE_PAGE, data={"title": "Rapat koordinasi"})
    assert response.status_code == 302
    assert [entry.title for entry in stored()] == ["Rapat koordinasi"]
    assert "Lahan sudah disimpan." in client.get(response.headers["Location"]).text
    assert "Rapat koordinasi" in client.get(PAGE).text


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("", "Isi nama lahan."),
        ("   ", "Isi nama lahan."),
        ("x" * 201, "terlalu panjang (paling banyak 200 karakter)"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    client, enabled, login, stored, title, message
):
    login(client, role="opd")
    response = client.post(MANAGE_PAGE, data={"title": title})
    assert response.status_code == 422
    assert 'id="title-error"' in response.text
    assert message in response.text
    assert stored() == []


def test_a_title_the_region_has_already_is_refused(client, enabled, add, login, stored):
    add("Rapat koordinasi")
    login(client, role="opd")
    response = client.post(MANAGE_PAGE, data={"title": " Rapat koordinasi "})
    assert response.status_code == 422
    assert 'id="title-error"' in response.text
    assert "Sudah ada lahan dengan nama ini." in response.text
    assert [entry.title for entry in stored()] == ["Rapat koordinasi"]
