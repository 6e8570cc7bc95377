"""The region admin manages categories, areas and area routes; bad input writes nothing."""

from __future__ import annotations

import json
import re
from io import BytesIO

import pytest
from sqlalchemy import select

from balai.testing import csrf_token
from balai_pengaduan.clients import create_client, find_client
from balai_pengaduan.models import ApiClient, Area, AreaRoute, Category, Complaint

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[106.6, -6.2], [106.7, -6.2], [106.7, -6.1], [106.6, -6.1], [106.6, -6.2]]],
}


def rows(db_session, model):
    db_session.rollback()
    db_session.expire_all()
    return list(db_session.scalars(select(model).order_by(model.id)))


@pytest.fixture
def admin(client, enabled, login):
    login(client, role="admin")
    return client


def test_only_admins_manage(client, enabled, login):
    login(client, role="opd", department=None)
    assert client.get("/pengaduan/kelola/").status_code == 403


def test_admin_adds_and_edits_a_category(admin, dlh, db_session):
    form = {"code": "sampah_liar", "name": "Sampah liar", "department_id": dlh.id, "active": "y"}
    assert admin.post("/pengaduan/kelola/kategori/baru", data=form).status_code == 302
    [saved] = rows(db_session, Category)
    assert (saved.code, saved.department_id, saved.active) == ("SAMPAH_LIAR", dlh.id, True)
    assert "SAMPAH_LIAR" in admin.get("/pengaduan/kelola/").text
    edit = {**form, "name": "Sampah sembarangan", "active": ""}
    assert admin.post(f"/pengaduan/kelola/kategori/{saved.id}", data=edit).status_code == 302
    [changed] = rows(db_session, Category)
    assert (changed.name, changed.active) == ("Sampah sembarangan", False)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"code": "", "name": "X"}, "code", "Isi kode."),
        ({"code": "SAMPAH LIAR", "name": "X"}, "code", "huruf kapital"),
        ({"code": "SAMPAH", "name": "X"}, "code", "Kode ini sudah dipakai kategori lain."),
        ({"code": "BARU", "name": ""}, "name", "Isi nama."),
        ({"code": "BARU", "name": "X", "department_id": "9999"}, "department_id", "Pilih OPD"),
        ({"code": "BARU", "name": "X", "position": "dua"}, "position", "Masukkan angka."),
    ],
)
def test_bad_categories_are_refused(admin, sampah, db_session, form, field, message):
    response = admin.post("/pengaduan/kelola/kategori/baru", data=form)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text and message in response.text
    assert [c.code for c in rows(db_session, Category)] == ["SAMPAH"]


def test_a_category_in_use_is_not_deleted(admin, sampah, complaint, db_session):
    complaint()
    response = admin.post(f"/pengaduan/kelola/kategori/{sampah.id}/hapus", follow_redirects=True)
    assert "nonaktifkan saja" in response.text
    assert len(rows(db_session, Category)) == 1


def test_an_unused_category_is_deleted(admin, sampah, db_session):
    assert admin.post(f"/pengaduan/kelola/kategori/{sampah.id}/hapus").status_code == 302
    assert rows(db_session, Category) == []


@pytest.mark.parametrize(
    "document",
    [
        SQUARE,
        {"type": "Feature", "properties": {}, "geometry": SQUARE},
        {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": SQUARE}]},
        {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"]]},
    ],
)
def test_admin_adds_an_area_from_geojson(admin, db_session, document):
    form = {"code": "kec1", "name": "Kecamatan Satu", "geojson": json.dumps(document)}
    assert admin.post("/pengaduan/kelola/wilayah/baru", data=form).status_code == 302
    [saved] = rows(db_session, Area)
    assert saved.code == "KEC1"
    assert (saved.min_lon, saved.min_lat, saved.max_lon, saved.max_lat) == (
        106.6,
        -6.2,
        106.7,
        -6.1,
    )


def test_area_can_be_uploaded_as_a_file(admin, db_session):
    data = {
        "code": "KEC2",
        "name": "Kecamatan Dua",
        "geojson_file": (BytesIO(json.dumps(SQUARE).encode()), "kec2.geojson"),
    }
    response = admin.post("/pengaduan/kelola/wilayah/baru", data=data)
    assert response.status_code == 302
    assert rows(db_session, Area)[0].geometry == SQUARE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bukan json",
        json.dumps({"type": "Point", "coordinates": [106.6, -6.2]}),
        json.dumps({"type": "Polygon", "coordinates": [[[106.6, -6.2], [106.7, -6.2]]]}),
        json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 2]]]}),
        json.dumps({"type": "Polygon", "coordinates": [[[200, 0], [1, 0], [1, 1], [200, 0]]]}),
        json.dumps({"type": "FeatureCollection", "features": []}),
    ],
)
def test_bad_areas_are_refused(admin, db_session, text):
    form = {"code": "KEC1", "name": "Kecamatan Satu", "geojson": text}
    response = admin.post("/pengaduan/kelola/wilayah/baru", data=form)
    assert response.status_code == 422 and 'id="geojson-error"' in response.text
    assert rows(db_session, Area) == []


def test_area_code_is_unique(admin, area, db_session):
    form = {"code": "KEC1", "name": "Lagi", "geojson": json.dumps(SQUARE)}
    response = admin.post("/pengaduan/kelola/wilayah/baru", data=form)
    assert response.status_code == 422 and "Kode ini sudah dipakai wilayah lain." in response.text


def test_editing_an_area_keeps_its_outline(admin, area, db_session):
    form = {"code": "KEC1", "name": "Kecamatan Baru", "geojson": ""}
    assert admin.post(f"/pengaduan/kelola/wilayah/{area.id}", data=form).status_code == 302
    [saved] = rows(db_session, Area)
    assert saved.name == "Kecamatan Baru" and saved.geometry["type"] == "Polygon"


def test_area_route_sends_complaints_elsewhere(admin, sampah, area, pupr, db_session, inside):
    form = {"category_id": sampah.id, "area_id": area.id, "department_id": pupr.id}
    assert admin.post("/pengaduan/kelola/rute", data=form).status_code == 302
    again = admin.post("/pengaduan/kelola/rute", data=form)
    assert again.status_code == 422 and "sudah memiliki rute" in again.text
    assert len(rows(db_session, AreaRoute)) == 1
    submitted = admin.post(
        "/pengaduan/lapor",
        data={
            "category": "SAMPAH",
            "description": "Sampah di selokan.",
            "latitude": str(inside[0]),
            "longitude": str(inside[1]),
        },
    )
    assert submitted.status_code == 302
    [complaint] = rows(db_session, Complaint)
    assert complaint.department_id == pupr.id
    [route] = rows(db_session, AreaRoute)
    assert admin.post(f"/pengaduan/kelola/rute/{route.id}/hapus").status_code == 302
    assert rows(db_session, AreaRoute) == []


def test_route_needs_known_rows(admin, sampah, area, db_session):
    form = {"category_id": sampah.id, "area_id": area.id, "department_id": "9999"}
    response = admin.post("/pengaduan/kelola/rute", data=form)
    assert response.status_code == 422 and "Pilih OPD dari daftar." in response.text
    assert rows(db_session, AreaRoute) == []


def test_other_regions_admin_cannot_touch_categories(
    other_client, other_tenant, both, sampah, login, db_session
):
    login(other_client, role="admin", tenant=other_tenant)
    assert "SAMPAH" not in other_client.get("/pengaduan/kelola/").text
    assert other_client.get(f"/pengaduan/kelola/kategori/{sampah.id}").status_code == 404
    assert other_client.post(f"/pengaduan/kelola/kategori/{sampah.id}/hapus").status_code == 404
    assert len(rows(db_session, Category)) == 1


# -- Open311 keys ------------------------------------------------------------------

KEYS = "/pengaduan/kelola/kunci-api"


def test_admin_makes_lists_and_revokes_an_open311_key(admin, db_session):
    made = admin.post(KEYS, data={"name": "  Aplikasi Kota  "})
    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    key = re.search(r"o311_[\w-]+", made.text).group(0)
    [client] = rows(db_session, ApiClient)
    assert client.name == "Aplikasi Kota" and client.key_hash not in made.text
    assert find_client(db_session, key).id == client.id
    listed = admin.get(KEYS)
    assert "Aplikasi Kota" in listed.text and key not in listed.text
    assert f"/kunci-api/{client.id}/cabut" in listed.text
    assert admin.post(f"{KEYS}/{client.id}/cabut").status_code == 302
    [revoked] = rows(db_session, ApiClient)
    assert revoked.revoked_at is not None and find_client(db_session, key) is None
    assert f"/kunci-api/{client.id}/cabut" not in admin.get(KEYS).text


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_an_open311_key_needs_a_name(admin, db_session, name):
    response = admin.post(KEYS, data={"name": name})
    assert response.status_code == 422 and "o311_" not in response.text
    assert rows(db_session, ApiClient) == []


def test_only_admins_manage_open311_keys(client, enabled, login, db_session):
    login(client, role="opd", department=None)
    assert client.get(KEYS).status_code == 403
    assert client.post(KEYS, data={"name": "Aplikasi"}).status_code == 403
    assert rows(db_session, ApiClient) == []


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_making_an_open311_key_needs_the_csrf_token(admin, db_session):
    assert admin.post(KEYS, data={"name": "Aplikasi"}).status_code == 400
    assert rows(db_session, ApiClient) == []
    form = {"name": "Aplikasi", "csrf_token": csrf_token(admin, KEYS)}
    assert admin.post(KEYS, data=form).status_code == 200
    assert len(rows(db_session, ApiClient)) == 1


def test_other_regions_admin_cannot_revoke_a_key(
    other_client, other_tenant, both, login, db_session
):
    client, key = create_client(db_session, "Aplikasi Kota")
    db_session.commit()
    login(other_client, role="admin", tenant=other_tenant)
    assert "Aplikasi Kota" not in other_client.get(KEYS).text
    assert other_client.post(f"{KEYS}/{client.id}/cabut").status_code == 404
    assert find_client(db_session, key) is not None
