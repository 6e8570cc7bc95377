"""Citizens submit, follow by tracking code, support and reopen; bad input writes nothing."""

from __future__ import annotations

import os
from datetime import timedelta
from io import BytesIO

import pytest
from PIL import Image

from balai.db import utcnow
from balai_pengaduan import photos, runtime, services
from balai_pengaduan.models import Photo

from .conftest import post_big

VALID = {
    "category": "SAMPAH",
    "description": "Sampah menumpuk di depan Pasar Anyar sejak tiga hari.",
    "address": "Jl. Ki Samaun, depan Pasar Anyar",
    "privacy": "public",
    "reporter_name": "Siti Aminah",
    "reporter_email": "siti@example.test",
    "reporter_phone": "0812 3456 7890",
}


def files_in(app, tenant) -> list[str]:
    """The photos stored with complaints (not those kept for a form not sent yet)."""
    return [e.key for e in photos.files(tenant.id).list() if "/" not in e.key]


def post(client, data, photos=()):
    form = {**data, "photos": [(BytesIO(raw), name) for raw, name in photos]}
    return client.post("/pengaduan/lapor", data=form, content_type="multipart/form-data")


def test_routes_answer_404_until_the_plugin_is_enabled(client, login):
    login(client, role="admin")
    for url in ("/pengaduan/", "/pengaduan/lapor", "/pengaduan/daftar", "/pengaduan/petugas/"):
        assert client.get(url).status_code == 404, url


def test_form_lists_the_active_categories(client, enabled, sampah, category):
    category("LAMA", name="Kategori lama", active=False)
    page = client.get("/pengaduan/lapor").text
    assert 'value="SAMPAH"' in page and "Sampah" in page
    assert "LAMA" not in page
    assert "Laporkan masalah" in page  # Indonesian by default


def test_citizen_submits_with_photo_and_location_and_follows_it(
    app, client, tenant, enabled, sampah, area, stored, inside, make_jpeg, contacts_of
):
    data = {**VALID, "latitude": str(inside[0]), "longitude": str(inside[1])}
    response = post(client, data, [(make_jpeg(gps=True), "foto.jpg")])
    assert response.status_code == 302, response.text
    [saved] = stored()
    assert saved.status == "received"
    assert (saved.area_id, saved.department_id) == (area.id, sampah.department_id)
    assert saved.channel == "web" and contacts_of(saved).email == "siti@example.test"
    assert saved.tracking_code in response.headers["Location"]

    confirmation = client.get(response.headers["Location"]).text
    assert saved.tracking_code in confirmation

    [photo] = saved.photos
    [stored_file] = files_in(app, tenant)
    assert stored_file == photo.filename and photo.content_type == "image/jpeg"
    with Image.open(BytesIO(photos.files(tenant.id).read(stored_file))) as image:
        assert image.format == "JPEG"
        assert not image.getexif()  # the phone's GPS position is gone

    track = client.get(f"/pengaduan/lacak?kode={saved.tracking_code}")
    assert track.status_code == 200
    assert "Diterima" in track.text and "Linimasa" in track.text
    assert f"/pengaduan/foto/{photo.id}" in track.text
    served = client.get(f"/pengaduan/foto/{photo.id}")
    served.close()
    assert served.status_code == 200 and served.mimetype == "image/jpeg"


def test_tracking_code_is_forgiving_about_case_and_dashes(client, enabled, sampah, complaint):
    code = complaint().tracking_code
    typed = code.replace("-", " ").lower()
    assert code in client.get(f"/pengaduan/lacak?kode={typed}").text


def test_unknown_tracking_code_says_so(client, enabled):
    response = client.get("/pengaduan/lacak?kode=ADU-22222-22222")
    assert response.status_code == 404
    assert "Tidak ada pengaduan dengan kode lacak ini." in response.text
    assert client.get("/pengaduan/lacak").status_code == 200


def test_logged_in_citizen_is_the_reporter(client, enabled, sampah, login, stored, contacts_of):
    user = login(client, role="warga", email="budi@example.test")
    data = {k: v for k, v in VALID.items() if not k.startswith("reporter_")}
    assert post(client, data).status_code == 302
    [saved] = stored()
    assert (saved.reporter_id, contacts_of(saved).email) == (user.id, "budi@example.test")


def test_anonymous_complaint_stores_no_identity(client, enabled, sampah, login, stored):
    login(client, role="warga")
    assert post(client, {**VALID, "privacy": "anonymous"}).status_code == 302
    [saved] = stored()
    assert saved.privacy == "anonymous"
    identity = (saved.reporter_id, saved.reporter_name, saved.reporter_email_sealed)
    assert identity == (None, None, None) and saved.reporter_phone_sealed is None


def test_confidential_complaint_keeps_identity(client, enabled, sampah, stored):
    assert post(client, {**VALID, "privacy": "confidential"}).status_code == 302
    assert stored()[0].reporter_name == "Siti Aminah"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"description": ""}, "description", "Jelaskan masalahnya."),
        ({"category": ""}, "category", "Pilih kategori."),
        ({"category": "GOSIP"}, "category", "Kategori tidak dikenal."),
        ({"address": "", "latitude": "95", "longitude": "106.6"}, "latitude", "-90"),
        ({"latitude": "-6.1", "longitude": "200"}, "longitude", "-180"),
        ({"latitude": "-6.1"}, "latitude", "Berikan lintang dan bujur"),
        ({"latitude": "nan", "longitude": "106.6"}, "latitude", "Masukkan angka."),
        ({"address": ""}, "address", "Berikan lokasinya"),
        ({"privacy": "rahasia"}, "privacy", "Pilih bagaimana identitas Anda"),
        ({"reporter_email": "bukan-email"}, "reporter_email", "alamat email yang benar"),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_written(
    app, client, tenant, enabled, sampah, stored, change, field, message, make_jpeg
):
    response = post(client, {**VALID, **change}, [(make_jpeg(), "foto.jpg")])
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text or field == "category"
    assert message in response.text
    assert stored() == [] and files_in(app, tenant) == []


def test_a_30_mb_photo_gets_the_413_page(app, client, tenant, enabled, sampah, stored):
    huge = b"\xff\xd8\xff" + b"\0" * (30 * 1024 * 1024)
    boundary = "batas"
    body = b"".join(
        [
            *(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
                for name, value in VALID.items()
            ),
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="photos"; filename="besar.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode(),
            huge,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    response = client.post(
        "/pengaduan/lapor", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 413
    assert stored() == [] and files_in(app, tenant) == []


def test_a_pdf_renamed_jpg_is_refused(app, client, tenant, enabled, sampah, stored):
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    response = post(client, VALID, [(pdf, "foto.jpg")])
    assert response.status_code == 422
    assert "foto.jpg bukan gambar JPEG, PNG, atau WebP." in response.text
    assert stored() == [] and files_in(app, tenant) == []


def test_a_truncated_photo_is_refused(app, client, enabled, sampah, stored, make_jpeg):
    response = post(client, VALID, [(make_jpeg((300, 300))[:200], "patah.jpg")])
    assert response.status_code == 422
    assert stored() == []


@pytest.mark.balai_config(PLUGIN_SETTINGS={"pengaduan": {"max_photo_mb": 1, "max_photos": 2}})
def test_photo_size_and_count_follow_the_settings(
    app, client, tenant, enabled, sampah, stored, make_jpeg
):
    noisy = Image.frombytes("RGB", (800, 800), os.urandom(800 * 800 * 3))
    out = BytesIO()
    noisy.save(out, format="PNG")
    assert len(out.getvalue()) > 1024 * 1024
    too_big = post_big(client, VALID, [(out.getvalue(), "besar.png")])
    assert too_big.status_code == 422 and "lebih besar dari 1 MB" in too_big.text
    too_many = post(client, VALID, [(make_jpeg(), f"{n}.jpg") for n in range(3)])
    assert too_many.status_code == 422 and "Paling banyak 2 foto." in too_many.text
    assert stored() == [] and files_in(app, tenant) == []
    assert (
        post(client, VALID, [(make_jpeg(fmt="PNG"), "a.png"), (make_jpeg(), "b.jpg")]).status_code
        == 302
    )
    assert len(files_in(app, tenant)) == 2


def test_files_are_removed_when_the_transaction_fails(
    app, client, tenant, enabled, sampah, stored, monkeypatch, make_jpeg
):
    def refuse(complaint):
        raise RuntimeError("another plugin refused")

    monkeypatch.setattr(runtime, "announce_submitted", refuse)
    with pytest.raises(RuntimeError):
        post(client, VALID, [(make_jpeg(), "foto.jpg")])
    assert stored() == [] and files_in(app, tenant) == []


def test_nearby_open_complaint_is_offered_before_a_new_one(
    client, enabled, sampah, complaint, stored, inside
):
    near = complaint(latitude=inside[0], longitude=inside[1])
    data = {**VALID, "latitude": str(inside[0] + 0.0005), "longitude": str(inside[1])}
    offer = post(client, data)
    assert offer.status_code == 200
    assert "Dukung laporan ini" in offer.text
    assert f"/pengaduan/{near.id}/dukung" in offer.text
    assert 'name="anyway" value="1"' in offer.text
    assert f'name="description" value="{VALID["description"]}"' in offer.text
    assert len(stored()) == 1

    assert client.post(f"/pengaduan/{near.id}/dukung").status_code == 302
    assert client.post(f"/pengaduan/{near.id}/dukung").status_code == 302  # counted once
    assert stored()[0].supporters == 1

    assert post(client, {**data, "anyway": "1"}).status_code == 302
    assert len(stored()) == 2


def test_a_closed_complaint_cannot_be_supported(
    client, enabled, sampah, complaint, db_session, make_ctx
):
    found = complaint()
    services.transition(
        db_session, found, "rejected", make_ctx(), actor_id=None, actor_label="uji", note="Spam"
    )
    db_session.commit()
    assert client.post(f"/pengaduan/{found.id}/dukung").status_code == 404


def resolve(db_session, found, ctx):
    for target in ("verified", "forwarded", "in_progress", "resolved"):
        services.transition(
            db_session, found, target, ctx, actor_id=None, actor_label="uji", note="Beres."
        )
    db_session.commit()


def test_reporter_reopens_a_resolved_complaint(
    client, enabled, sampah, complaint, db_session, stored, make_ctx
):
    found = complaint()
    resolve(db_session, found, make_ctx(utcnow() - timedelta(days=2)))
    page = client.get(f"/pengaduan/lacak?kode={found.tracking_code}").text
    assert "Buka kembali pengaduan" in page
    missing_note = client.post(
        "/pengaduan/lacak/buka-kembali", data={"kode": found.tracking_code, "note": ""}
    )
    assert missing_note.status_code == 422
    response = client.post(
        "/pengaduan/lacak/buka-kembali",
        data={"kode": found.tracking_code, "note": "Sampah kembali menumpuk."},
    )
    assert response.status_code == 302
    [saved] = stored()
    assert saved.status == "in_progress"
    assert saved.events[-1].note == "Sampah kembali menumpuk."
    assert (
        "Dibuka kembali oleh pelapor"
        in client.get(f"/pengaduan/lacak?kode={found.tracking_code}").text
    )


def test_reopening_is_refused_after_the_window(
    client, enabled, sampah, complaint, db_session, stored, make_ctx
):
    found = complaint()
    resolve(db_session, found, make_ctx(utcnow() - timedelta(days=30)))
    assert (
        "Buka kembali pengaduan"
        not in client.get(f"/pengaduan/lacak?kode={found.tracking_code}").text
    )
    response = client.post(
        "/pengaduan/lacak/buka-kembali", data={"kode": found.tracking_code, "note": "Belum."}
    )
    assert response.status_code == 422
    assert "dalam 14 hari" in response.text
    assert stored()[0].status == "resolved"
    wrong_code = client.post(
        "/pengaduan/lacak/buka-kembali", data={"kode": "ADU-22222-22222", "note": "Belum."}
    )
    assert wrong_code.status_code == 404


def test_stylesheet_is_served(client, enabled):
    response = client.get("/pengaduan/static/pengaduan.css")
    response.close()
    assert response.status_code == 200 and response.mimetype == "text/css"


def test_photo_rows_point_at_files_of_their_region(
    app, client, tenant, enabled, sampah, db_session, make_jpeg
):
    assert post(client, VALID, [(make_jpeg(), "foto.jpg")]).status_code == 302
    [row] = db_session.query(Photo).all()
    assert files_in(app, tenant) == [row.filename]
    assert row.tenant_id == tenant.id


def test_coordinates_may_use_a_decimal_comma():
    from balai_pengaduan.forms import SubmitForm

    loaded = SubmitForm().load(
        {"category": "SAMPAH", "description": "x", "latitude": "-6,2101", "longitude": "106,63"}
    )
    assert (loaded["latitude"], loaded["longitude"]) == (-6.2101, 106.63)
