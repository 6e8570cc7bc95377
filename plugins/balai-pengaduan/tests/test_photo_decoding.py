"""Photos are sized up from their headers before any is decoded.

One anonymous 340 KB request with three 6300 x 6300 PNGs once took seconds and grew
the worker by 370 MB: each was decoded whole before being shrunk. Now the pixels of
every photo of a request are counted from the headers first, and a request over
``IMAGE_REQUEST_PIXELS`` (or a photo over ``IMAGE_MAX_PIXELS``) is refused with no
decoding at all.
"""

from __future__ import annotations

import re
import struct
import zlib
from io import BytesIO

import pytest
from PIL import Image, ImageFile

from balai.images import probe

FORM = {
    "category": "SAMPAH",
    "description": "Sampah menumpuk di depan pasar.",
    "address": "Jl. Merdeka 1",
    "privacy": "anonymous",
}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, *, rows: int | None = None) -> bytes:
    """A grey PNG of ``width`` x ``height`` that compresses to almost nothing.

    With ``rows``, only that many rows are present: the header declares a size the
    data does not have (decoding it would fail, but only after allocating it all).
    """
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * (width * 3)
    body = b"".join(compressor.compress(row) for _ in range(height if rows is None else rows))
    body += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


@pytest.fixture
def decoded(monkeypatch) -> list[tuple[str, tuple[int, int]]]:
    """Every image Pillow decodes during the test: (format, size)."""
    calls: list[tuple[str, tuple[int, int]]] = []
    original = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile):  # type: ignore[no-untyped-def]
        if self.tile:  # pixels still to decode (a loaded image loads again for free)
            calls.append((str(self.format), self.size))
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return calls


def send(client, photos):
    form = {**FORM, "photos": [(BytesIO(raw), name) for raw, name in photos]}
    return client.post("/pengaduan/lapor", data=form, content_type="multipart/form-data")


def test_three_large_pngs_are_refused_before_any_is_decoded(
    client, enabled, sampah, stored, decoded
):
    big = png(6300, 6300)
    assert len(big) < 200_000  # a small request: the cost is all in decoding
    response = send(client, [(big, "satu.png"), (big, "dua.png"), (big, "tiga.png")])
    assert response.status_code == 422
    assert "satu.png berukuran 6300 kali 6300 piksel: paling banyak 24 megapiksel" in response.text
    assert decoded == []
    assert stored() == []


@pytest.mark.balai_config(IMAGE_REQUEST_PIXELS=30_000)
def test_the_limit_is_per_request_not_only_per_photo(client, enabled, sampah, stored, decoded):
    small = png(120, 100)  # 12,000 pixels each: one or two pass, three do not
    response = send(client, [(small, "a.png"), (small, "b.png"), (small, "c.png")])
    assert response.status_code == 422
    assert "terlalu banyak pikselnya untuk diolah sekaligus (1 megapiksel" in response.text
    assert decoded == []
    assert send(client, [(small, "a.png"), (small, "b.png")]).status_code == 302
    assert len(decoded) == 2 and len(stored()) == 1


def test_a_tiny_file_declaring_a_huge_image_is_refused_from_its_header(
    client, enabled, sampah, stored, decoded
):
    bomb = png(30_000, 30_000, rows=1)  # 900 megapixels declared, a few hundred bytes sent
    assert len(bomb) < 1_000
    response = send(client, [(bomb, "bom.png")])
    assert response.status_code == 422
    assert "bom.png terlalu banyak pikselnya: paling banyak 40 megapiksel" in response.text
    assert decoded == [] and stored() == []


@pytest.mark.balai_config(IMAGE_REQUEST_PIXELS=7_000_000)
def test_a_large_jpeg_is_decoded_at_a_reduced_scale(client, enabled, sampah, stored, decoded):
    out = BytesIO()
    Image.new("RGB", (4200, 3000), (90, 140, 60)).save(out, "JPEG")  # 12.6 megapixels
    photos = [(out.getvalue(), "kamera.jpg")] * 2  # 25.2 declared, 6.3 decoded
    response = send(client, photos)
    assert response.status_code == 302, re.findall(r'class="error"[^<]*<', response.text)
    assert decoded == [("JPEG", (2100, 1500))] * 2  # draft mode: half the width and height
    [complaint] = stored()
    assert [(p.width, p.height) for p in complaint.photos] == [(2048, 1463)] * 2


def test_probe_reads_only_the_header(decoded):
    found = probe(png(12_000, 10_000, rows=1), name="x.png", max_side=2048, max_pixels=10**9)
    assert (found.format, found.width, found.height) == ("PNG", 12_000, 10_000)
    assert found.decoded_pixels == 120_000_000
    assert decoded == []


def test_a_phone_photo_with_several_pictures_keeps_the_first(client, enabled, sampah, stored):
    """Many phone cameras write MPO: a JPEG followed by a preview or depth picture."""
    out = BytesIO()
    first, preview = Image.new("RGB", (640, 480), (200, 30, 30)), Image.new("RGB", (160, 120))
    first.save(out, "MPO", save_all=True, append_images=[preview])
    assert Image.open(BytesIO(out.getvalue())).format == "MPO"
    response = send(client, [(out.getvalue(), "kamera.jpg")])
    assert response.status_code == 302, re.findall(r'class="error"[^<]*<', response.text)
    [complaint] = stored()
    [photo] = complaint.photos
    assert (photo.width, photo.height) == (640, 480)


# -- photos are read last ------------------------------------------------------------
#
# The attack: photos were decoded before the submission limits and the form's own
# checks, so a client over its limit, or sending a form that could never be accepted,
# still made the server decode its images with every request.

ONE_PER_HOUR = pytest.mark.balai_config(
    PLUGIN_SETTINGS={"pengaduan": {"submit_limit_address": "1 per hour"}}
)


@pytest.fixture
def prepared(monkeypatch) -> list[int]:
    """How many photos reached :func:`balai.images.prepare`, call by call."""
    from balai_pengaduan import photos

    calls: list[int] = []
    original = photos.prepare_images

    def spy(raw, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(len(raw))
        return original(raw, **kwargs)

    monkeypatch.setattr(photos, "prepare_images", spy)
    return calls


@ONE_PER_HOUR
def test_over_the_limit_the_photos_are_never_read(
    client, enabled, sampah, stored, decoded, prepared
):
    photo = png(1200, 900)
    assert send(client, [(photo, "satu.png")]).status_code == 302
    assert prepared == [1] and len(decoded) == 1
    refused = send(client, [(photo, "dua.png"), (photo, "tiga.png")])
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert prepared == [1] and len(decoded) == 1  # nothing more was read
    assert len(stored()) == 1


@ONE_PER_HOUR
def test_a_form_with_an_error_gives_its_hit_back_only_without_photos(
    client, enabled, sampah, stored, decoded, prepared
):
    no_photo = client.post("/pengaduan/lapor", data={**FORM, "description": ""})
    assert no_photo.status_code == 422 and "Jelaskan masalahnya" in no_photo.text
    assert prepared == [] and decoded == [] and stored() == []
    # Its photos are kept for the corrected form, so they were read: the hit stays.
    form = {**FORM, "description": "", "photos": [(BytesIO(png(1200, 900)), "a.png")]}
    response = client.post("/pengaduan/lapor", data=form, content_type="multipart/form-data")
    assert response.status_code == 422 and "Jelaskan masalahnya" in response.text
    assert prepared == [1] and len(decoded) == 1 and stored() == []
    assert send(client, [(png(120, 90), "b.png")]).status_code == 429
    assert prepared == [1]


@ONE_PER_HOUR
def test_a_refused_photo_keeps_its_hit(client, enabled, sampah, stored, prepared):
    assert send(client, [(b"bukan foto", "rusak.png")]).status_code == 422
    assert prepared == [1]
    assert send(client, [(png(120, 90), "baik.png")]).status_code == 429
    assert prepared == [1] and stored() == []
