"""Control characters never reach the database, and never break the Open311 XML.

An ESC, VT or NUL in a complaint used to be stored as sent; ``requests.xml`` then
carried it and no XML reader would parse the region's feed any more.
"""

from __future__ import annotations

from io import BytesIO
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select

from balai_pengaduan.clients import create_client
from balai_pengaduan.models import Category, Complaint, ComplaintEvent

BASE = "/pengaduan/open311/v2"
HOSTILE = "Sampah\x1b[31m menumpuk\x0b di\x00 pasar\r\nsejak\x7f tiga\ufffe hari\x85."
CLEANED = "Sampah[31m menumpuk di pasar\nsejak tiga hari."
FORBIDDEN = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)]


def parsed(response) -> ET.Element:
    assert response.status_code == 200, response.data[:300]
    return ET.fromstring(response.data)  # noqa: S314 - our own response, in a test


def assert_clean(text: str | None) -> None:
    assert text is not None
    assert not any(c in text for c in [*FORBIDDEN, "\r", "\ufffe", "\x85"]), repr(text)


def complaints(db_session) -> list[Complaint]:
    db_session.rollback()
    db_session.expire_all()
    return list(db_session.scalars(select(Complaint).order_by(Complaint.id)))


def test_web_form_drops_control_characters(client, enabled, sampah, db_session):
    form = {
        "category": "SAMPAH",
        "description": HOSTILE,
        "address": "Jl.\x1b Merdeka\x00 1",
        "privacy": "public",
        "reporter_name": "Siti\x0b Aminah",
    }
    assert client.post("/pengaduan/lapor", data=form).status_code == 302
    [saved] = complaints(db_session)
    assert saved.description == CLEANED
    assert (saved.address, saved.reporter_name) == ("Jl. Merdeka 1", "Siti Aminah")
    [request] = parsed(client.get(f"{BASE}/requests.xml"))
    assert request.findtext("description") == CLEANED


def test_a_field_of_nothing_but_control_characters_counts_as_empty(
    client, enabled, sampah, db_session
):
    form = {"category": "SAMPAH", "description": "\x00\x1b\x0b", "address": "Jl. Merdeka 1"}
    response = client.post("/pengaduan/lapor", data=form)
    assert response.status_code == 422
    assert "Jelaskan masalahnya" in response.text
    assert complaints(db_session) == []


def test_open311_post_drops_control_characters(client, enabled, sampah, db_session):
    _client, key = create_client(db_session, "Aplikasi\x1b Kota")
    db_session.commit()
    form = {
        "api_key": key,
        "service_code": "SAMPAH",
        "address_string": "Pasar\x00 Baru",
        "description": HOSTILE,
        "first_name": "Siti\x1b",
    }
    assert client.post(f"{BASE}/requests.xml", data=form).status_code == 200
    [saved] = complaints(db_session)
    assert (saved.description, saved.address, saved.reporter_name) == (
        CLEANED,
        "Pasar Baru",
        "Siti",
    )
    [request] = parsed(client.get(f"{BASE}/requests.xml"))
    assert request.findtext("description") == CLEANED


def test_sms_drops_control_characters(client, enabled, sampah, db_session, sms_webhook):
    response = client.post(
        "/-/sms/masuk",
        data={"from": "+6281234567890", "text": f"ADUAN SAMPAH {HOSTILE}"},
        headers=sms_webhook(),
    )
    assert response.status_code == 200
    [saved] = complaints(db_session)
    assert saved.description == CLEANED


def test_officer_notes_and_category_names_are_cleaned(
    client, enabled, sampah, login, complaint, db_session
):
    login(client, role="admin")
    filed = complaint()
    response = client.post(
        f"/pengaduan/petugas/{filed.id}/status",
        data={"target": "verified", "note": "Dicek\x1b\x00 ok"},
    )
    assert response.status_code == 302, response.text
    response = client.post(
        f"/pengaduan/kelola/kategori/{sampah.id}",
        data={"code": "SAMPAH", "name": "Sampah\x0b\x1b", "active": "y", "position": "1"},
    )
    assert response.status_code == 302, response.text
    db_session.expire_all()
    notes = db_session.scalars(select(ComplaintEvent.note)).all()
    assert "Dicek ok" in notes
    assert db_session.scalar(select(Category.name)) == "Sampah"
    for path in ("requests.xml", "services.xml", f"requests/{filed.id}.xml"):
        for element in parsed(client.get(f"{BASE}/{path}")).iter():
            assert_clean(element.text or "")


@pytest.mark.parametrize("path", ["requests.xml", "services.xml"])
def test_xml_stays_readable_whatever_is_stored(
    client, enabled, sampah, complaint, db_session, path
):
    """Text stored before it was cleaned (or by a path that forgot to): the writer drops it."""
    filed = complaint()
    filed.description = "Lama\x1b\x0b tersimpan\ufffe"  # PostgreSQL keeps no NUL
    sampah.name = "Sampah\x0b"
    sampah.description = "Di\x01 pasar"
    db_session.commit()
    root = parsed(client.get(f"{BASE}/{path}"))
    texts = [element.text or "" for element in root.iter()]
    assert "Lama tersimpan" in texts or "Sampah" in texts
    for text in texts:
        assert_clean(text)


def test_a_photos_file_name_is_shown_without_control_characters(client, enabled, sampah):
    form = {
        "category": "SAMPAH",
        "description": "Sampah menumpuk.",
        "address": "Jl. Merdeka 1",
        "photos": [(BytesIO(b"%PDF-1.4 bukan foto"), "foto\x1b[31m.jpg")],
    }
    response = client.post("/pengaduan/lapor", data=form, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "foto[31m.jpg bukan gambar JPEG, PNG, atau WebP." in response.text
    assert "\x1b" not in response.text
