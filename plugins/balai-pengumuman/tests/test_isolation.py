"""Tenant B never sees or changes tenant A's announcements."""

from __future__ import annotations

import pytest


@pytest.fixture
def both(enable_plugin, tenant, other_tenant):
    enable_plugin("pengumuman")
    enable_plugin("pengumuman", tenant=other_tenant)


def test_other_region_sees_nothing(client, other_client, both, add):
    secret = add("Rahasia Kota A", body="Hanya untuk warga Kota A.")
    assert "Rahasia Kota A" in client.get("/pengumuman/").get_data(as_text=True)
    assert "Rahasia Kota A" not in other_client.get("/pengumuman/").get_data(as_text=True)
    assert other_client.get(f"/pengumuman/{secret.id}").status_code == 404
    assert other_client.get("/api/v1/pengumuman/").json["items"] == []
    assert other_client.get(f"/api/v1/pengumuman/{secret.id}").status_code == 404
    found = other_client.get("/cari?q=Rahasia").get_data(as_text=True)
    assert "Rahasia Kota A" not in found
    assert "Rahasia Kota A" in client.get("/cari?q=Rahasia").get_data(as_text=True)


def test_other_regions_officer_cannot_change_it(
    other_client, other_tenant, both, add, login, stored
):
    secret = add("Rahasia Kota A")
    login(other_client, role="admin", tenant=other_tenant)
    assert other_client.get(f"/pengumuman/{secret.id}/ubah").status_code == 404
    assert other_client.post(f"/pengumuman/{secret.id}/arsipkan").status_code == 404
    assert other_client.get("/pengumuman/").status_code == 200
    assert stored()[0].status == "active"


def test_new_announcements_belong_to_the_region_that_wrote_them(
    client, other_client, other_tenant, both, login
):
    login(other_client, role="opd", tenant=other_tenant)
    created = other_client.post(
        "/api/v1/pengumuman/", json={"title": "Kota B", "body": "Isi", "category": "umum"}
    )
    assert created.status_code == 201
    assert client.get("/api/v1/pengumuman/").json["items"] == []
    assert client.get(f"/api/v1/pengumuman/{created.json['id']}").status_code == 404
