"""Complaint photos in the region's store (instance folder and S3): served only to
whom may see them, never to another region, revalidated by ETag, swept when orphaned."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from sqlalchemy import select

from balai import storage
from balai.testing import travel
from balai_pengaduan import photos
from balai_pengaduan.commands import sweep_photos
from balai_pengaduan.models import Complaint

VALID = {
    "category": "SAMPAH",
    "description": "Sampah menumpuk di depan Pasar Anyar sejak tiga hari.",
    "address": "Jl. Ki Samaun, depan Pasar Anyar",
    "privacy": "public",
}
VERIFY_FIRST = pytest.mark.balai_config(
    PLUGIN_SETTINGS={"pengaduan": {"verify_before_public": True}}
)


def post(client, data, photos_=()):
    form = {**data, "photos": [(BytesIO(raw), name) for raw, name in photos_]}
    return client.post("/pengaduan/lapor", data=form, content_type="multipart/form-data")


def status(client, url: str, **headers: str) -> int:
    with client.get(url, headers=headers) as response:
        return response.status_code


@VERIFY_FIRST
def test_a_private_photo_is_served_only_to_whom_may_see_it(
    app, client, other_client, tenant, both, sampah, db_session, make_jpeg, storage_backend
):
    assert post(client, VALID, [(make_jpeg(), "foto.jpg")]).status_code == 302
    found = db_session.scalar(select(Complaint))
    [photo] = found.photos
    url = f"/pengaduan/foto/{photo.id}"
    stored = photos.files(tenant.id).read(photo.filename)

    assert status(client, url) == 404  # not public until verified
    assert status(other_client, f"{url}?kode={found.tracking_code}") == 404  # not there
    with client.get(f"{url}?kode={found.tracking_code}") as shown:
        assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
        assert shown.data == stored
        assert shown.headers["Cache-Control"] == "private, max-age=3600"
        etag = shown.headers["ETag"]
    again = status(client, f"{url}?kode={found.tracking_code}", **{"If-None-Match": etag})
    assert again == 304
    assert status(client, f"{url}?kode=ADU-22222-22222", **{"If-None-Match": etag}) == 404


def test_photos_kept_for_a_form_are_served_to_that_form_only(
    client, other_client, both, sampah, make_jpeg, storage_backend
):
    refused = post(client, {**VALID, "description": ""}, [(make_jpeg(), "a.jpg")])
    assert refused.status_code == 422
    [thumbnail] = re.findall(r'src="(/pengaduan/lapor/foto/[0-9a-f]{32}/[^"]+)"', refused.text)
    with client.get(thumbnail) as shown:
        assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
        assert shown.headers["Cache-Control"] == "private, max-age=600"
    assert status(other_client, thumbnail) == 404  # the same key names nothing in region B
    assert status(client, re.sub(r"/[0-9a-f]{32}/", "/" + "0" * 32 + "/", thumbnail)) == 404


def test_the_form_shows_while_the_store_is_unreachable_and_sending_photos_waits(
    make_app, tenant, enabled, sampah, make_jpeg, balai_s3_server
):
    # A bucket that does not exist: every call fails, as with a store out of reach.
    worker = make_app(STORAGE_URL="s3://no-such-bucket/uji", S3_ENDPOINT_URL=balai_s3_server)
    client = worker.test_client()
    client.host = tenant.domains[0]
    form = client.get("/pengaduan/lapor")
    assert form.status_code == 200
    assert 'name="photos"' in form.text and "/pengaduan/lapor/foto/" not in form.text
    sent = post(client, VALID, [(make_jpeg(), "foto.jpg")])
    assert sent.status_code == 503 and sent.headers["Retry-After"] == "30"
    assert "Penyimpanan berkas tidak dapat dihubungi" in sent.text


def test_the_sweep_deletes_orphans_in_every_store(app, tenant, enabled, make_jpeg, storage_backend):
    files = photos.files(tenant.id)
    files.put("0" * 32 + ".jpg", make_jpeg())  # written by a worker killed before its commit
    assert sweep_photos(tenant, timedelta(minutes=60)) == []  # may still commit
    with travel(datetime.now(UTC) + timedelta(hours=2), tick=True):
        assert sweep_photos(tenant, timedelta(minutes=60)) == ["0" * 32 + ".jpg"]
    assert list(files.list()) == []
    assert list(storage.for_tenant(tenant.id).list()) == []
