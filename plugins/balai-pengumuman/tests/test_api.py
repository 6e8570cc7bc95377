"""JSON API: list, get and create, with the platform's error shape."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from balai.db import utcnow

README = Path(__file__).resolve().parent.parent / "README.md"

NEW = {
    "title": "Jalan Ahmad Yani ditutup",
    "body": "Ada perbaikan gorong-gorong.",
    "category": "lalu-lintas",
}


def test_list_is_paginated_and_filtered(client, enabled, add):
    start = utcnow() - timedelta(days=1)
    for n in range(3):
        add(f"Layanan {n}", published_at=start + timedelta(minutes=n))
    add("Posyandu", category="kesehatan")
    add("Lama", published_at=start, expires_at=start + timedelta(hours=1))
    response = client.get("/api/v1/pengumuman/?per_page=2")
    assert response.status_code == 200
    body = response.json
    assert [a["title"] for a in body["items"]] == ["Posyandu", "Layanan 2"]
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (1, 2, 4, 2)
    second = client.get("/api/v1/pengumuman/?per_page=2&page=2").json["items"]
    assert [a["title"] for a in second] == ["Layanan 1", "Layanan 0"]
    kesehatan = client.get("/api/v1/pengumuman/?category=kesehatan").json["items"]
    assert [a["title"] for a in kesehatan] == ["Posyandu"]
    archived = client.get("/api/v1/pengumuman/?status=archived").json["items"]
    assert [(a["title"], a["status"]) for a in archived] == [("Lama", "archived")]


def test_unknown_filter_is_a_422_naming_the_field(client, enabled):
    response = client.get("/api/v1/pengumuman/?category=gosip")
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"category"}


def test_get_one(client, enabled, add, department):
    health = department("DINKES", "Dinas Kesehatan")
    announcement = add("Vaksinasi", category="kesehatan", department_id=health.id)
    body = client.get(f"/api/v1/pengumuman/{announcement.id}").json
    assert body["title"] == "Vaksinasi"
    assert body["department"] == {"id": health.id, "code": "DINKES", "name": "Dinas Kesehatan"}
    assert body["status"] == "active"
    assert body["published_at"].endswith("+00:00")
    assert client.get("/api/v1/pengumuman/999").status_code == 404


def test_scheduled_is_hidden_from_the_public(client, enabled, add):
    later = add(published_at=utcnow() + timedelta(days=1))
    assert client.get(f"/api/v1/pengumuman/{later.id}").status_code == 404
    assert client.get("/api/v1/pengumuman/").json["items"] == []


def test_officer_creates(client, enabled, login, stored):
    officer = login(client, role="opd")
    response = client.post("/api/v1/pengumuman/", json=NEW)
    assert response.status_code == 201, response.json
    assert response.json["title"] == NEW["title"]
    [saved] = stored()
    assert (saved.id, saved.author_id) == (response.json["id"], officer.id)


def test_create_needs_the_publish_permission(client, enabled, login, stored):
    assert client.post("/api/v1/pengumuman/", json=NEW).status_code == 401
    login(client, role="warga")
    assert client.post("/api/v1/pengumuman/", json=NEW).status_code == 403
    assert stored() == []


def test_invalid_input_is_a_422_with_fields_and_nothing_is_written(client, enabled, login, stored):
    login(client, role="opd")
    response = client.post("/api/v1/pengumuman/", json={"body": "", "category": "gosip"})
    assert response.status_code == 422
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"}
    assert set(error["fields"]) == {"title", "body", "category"}
    late = {
        **NEW,
        "published_at": "2030-01-02T08:00:00+07:00",
        "expires_at": "2030-01-01T00:00:00Z",
    }
    response = client.post("/api/v1/pengumuman/", json=late)
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["expires_at"]
    assert stored() == []


def test_openapi_lists_the_endpoints_when_enabled(client, enabled):
    spec = client.get("/api/v1/openapi.json").json
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/pengumuman/"])
    assert "pengumuman.AnnouncementIn" in spec["components"]["schemas"]
    assert spec["paths"]["/api/v1/pengumuman/"]["get"]["security"] == []  # public


@pytest.mark.parametrize("title", ["", "   "])
def test_empty_title_is_asked_for_not_called_too_long(client, enabled, login, stored, title):
    login(client, role="opd")
    response = client.post("/api/v1/pengumuman/", json={**NEW, "title": title})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"title": ["Isi judul pengumuman."]}
    assert stored() == []


def test_empty_body_is_asked_for_not_called_too_long(client, enabled, login):
    login(client, role="opd")
    response = client.post("/api/v1/pengumuman/", json={**NEW, "body": ""})
    assert response.json["error"]["fields"] == {"body": ["Isi teks pengumuman."]}


def test_readme_describes_paging_as_it_is_sent(client, enabled):
    response = client.get("/api/v1/pengumuman/")
    assert "X-Pagination" not in response.headers
    [row] = [line for line in README.read_text().splitlines() if "`GET` list" in line]
    assert "X-Pagination" not in row
    assert all(f"`{key}`" in row for key in response.json)
