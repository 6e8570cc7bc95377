"""One region never sees or changes another region's entries."""

from __future__ import annotations

import pytest

PAGE = "/bank_sampah/"
MANAGE_PAGE = "/bank_sampah/kelola"
API = "/api/v1/bank_sampah/"


@pytest.fixture
def both(enable_plugin, tenant, other_tenant):
    enable_plugin("bank_sampah")
    enable_plugin("bank_sampah", tenant=other_tenant)


def test_other_region_sees_nothing(client, other_client, both, add):
    add("Rahasia Kota A")
    assert "Rahasia Kota A" in client.get(PAGE).text
    assert "Rahasia Kota A" not in other_client.get(PAGE).text
    assert other_client.get(API).json["items"] == []


def test_new_entries_belong_to_the_region_that_wrote_them(
    client, other_client, other_tenant, both, login, stored
):
    login(other_client, role="opd", tenant=other_tenant)
    assert other_client.post(API, json={"title": "Kota B"}).status_code == 201
    assert other_client.post(MANAGE_PAGE, data={"title": "Kota B lagi"}).status_code == 302
    assert client.get(API).json["items"] == []
    assert "Kota B" not in client.get(PAGE).text
    assert stored() == []  # as tenant A's session sees them
    assert other_client.get(API).json["total"] == 2


def test_a_title_is_taken_only_in_its_own_region(other_client, other_tenant, both, add, login):
    add("Jadwal posyandu")
    login(other_client, role="opd", tenant=other_tenant)
    assert other_client.post(API, json={"title": "Jadwal posyandu"}).status_code == 201


def test_only_a_region_that_enabled_it_sees_it(client, tenant, make_tenant):
    make_tenant("kota-c", plugins=["bank_sampah"])
    assert client.get(PAGE, base_url="http://kota-c.test").status_code == 200
    assert client.get(PAGE).status_code == 404
