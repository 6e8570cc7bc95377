"""JSON API: list and create, with the platform's error shape and OpenAPI document."""

from __future__ import annotations

URL = "/api/v1/kebun_warga/"


def test_list_is_paginated_newest_first(client, enabled, add):
    for n in range(3):
        add(f"Entri {n}")
    body = client.get(f"{URL}?per_page=2").json
    assert [entry["title"] for entry in body["items"]] == ["Entri 2", "Entri 1"]
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (1, 2, 3, 2)


def test_officer_creates(client, enabled, login, stored):
    login(client, role="opd")
    response = client.post(URL, json={"title": "Rapat koordinasi"})
    assert response.status_code == 201, response.json
    [saved] = stored()
    assert (saved.id, saved.title) == (response.json["id"], "Rapat koordinasi")


def test_create_needs_the_permission(client, enabled, login, stored):
    assert client.post(URL, json={"title": "Tidak boleh"}).status_code == 401
    login(client, role="warga")
    assert client.post(URL, json={"title": "Tidak boleh"}).status_code == 403
    assert stored() == []


def test_invalid_input_is_a_422_naming_the_field(client, enabled, login, stored):
    login(client, role="opd")
    response = client.post(URL, json={"title": "   "})
    assert response.status_code == 422
    assert set(response.json["error"]) == {"code", "message", "fields"}
    assert response.json["error"]["fields"] == {"title": ["Isi nama lahan."]}
    assert stored() == []


def test_a_rule_refusal_is_a_422_naming_the_field(client, enabled, add, login, stored):
    add("Rapat koordinasi")
    login(client, role="opd")
    response = client.post(URL, json={"title": "Rapat koordinasi"})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"title": ["Sudah ada lahan dengan nama ini."]}
    assert len(stored()) == 1


def test_openapi_lists_the_endpoints_when_enabled(client, enabled):
    spec = client.get("/api/v1/openapi.json").json
    assert {"get", "post"} <= set(spec["paths"][URL])
    assert spec["paths"][URL]["get"]["security"] == []  # public
    assert "kebun_warga.PlotIn" in spec["components"]["schemas"]
