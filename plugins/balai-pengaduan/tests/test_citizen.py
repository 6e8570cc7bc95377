"""The citizen's side: own complaints, one complaint per form, the review step with
similar reports, publishing after verification, the satisfaction survey, the
progress stepper, the region's boundary, SMS instructions and kept photos."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from marshmallow import ValidationError
from PIL import Image
from sqlalchemy import select

from balai.db import utcnow
from balai.images import prepare as prepare_images
from balai.testing import travel
from balai_pengaduan import photos, services, views
from balai_pengaduan.clients import create_client
from balai_pengaduan.models import Complaint
from balai_pengaduan.settings import ComplaintSettings

from .conftest import SQUARE, post_big

VALID = {
    "category": "SAMPAH",
    "description": "Sampah menumpuk di depan Pasar Anyar sejak tiga hari.",
    "address": "Jl. Ki Samaun, depan Pasar Anyar",
    "privacy": "public",
}
OUTSIDE = (-6.30, 106.80)  # Jakarta, well outside the square
VERIFY_FIRST = pytest.mark.balai_config(
    PLUGIN_SETTINGS={"pengaduan": {"verify_before_public": True}}
)


def post(client, data, photos_=()):
    form = {**data, "photos": [(BytesIO(raw), name) for raw, name in photos_]}
    return client.post("/pengaduan/lapor", data=form, content_type="multipart/form-data")


def form_token(client) -> str:
    found = re.search(r'name="token" value="([^"]+)"', client.get("/pengaduan/lapor").text)
    assert found, "the form carries no one-time token"
    return found.group(1)


def stored_photos(app, tenant) -> list[str]:
    return [e.key for e in photos.files(tenant.id).list() if "/" not in e.key]


def kept_files(app, tenant) -> list[str]:
    return [e.key for e in photos.files(tenant.id).list(f"{photos.PENDING}/")]


def resolve(db_session, found, ctx):
    for target in ("verified", "forwarded", "in_progress", "resolved"):
        note = "Sudah dibersihkan." if target == "resolved" else ""
        services.transition(
            db_session, found, target, ctx, actor_id=None, actor_label="uji", note=note
        )
    db_session.commit()


def move(db_session, found, make_ctx, *targets):
    for target in targets:
        note = "Sudah dibersihkan." if target == "resolved" else ""
        services.transition(
            db_session, found, target, make_ctx(), actor_id=None, actor_label="uji", note=note
        )
    db_session.commit()


# -- 1. my complaints ----------------------------------------------------------------------


def test_my_complaints_lists_own_ones_newest_first_a_page_at_a_time(
    client, enabled, sampah, complaint, login, make_ctx
):
    user = login(client, role="warga")
    base = utcnow() - timedelta(days=30)
    for n in range(21):
        complaint(now=base + timedelta(hours=n), reporter_id=user.id, description=f"Laporan {n}")
    complaint(description="Laporan orang lain")
    first = client.get("/pengaduan/saya")
    assert first.status_code == 200
    assert "21 pengaduan" in first.text
    assert first.text.count('class="card"') == 20
    assert "Laporan 20" in first.text and "Laporan orang lain" not in first.text
    second = client.get("/pengaduan/saya?page=2")
    assert second.text.count('class="card"') == 1 and "Laporan 0" in second.text
    assert client.get("/pengaduan/saya?page=3").status_code == 404
    assert client.get("/pengaduan/saya?page=x").status_code == 404


def test_my_complaints_has_an_empty_state_and_needs_a_login(client, enabled, sampah, login):
    anonymous = client.get("/pengaduan/saya")
    assert anonymous.status_code == 302 and "/masuk" in anonymous.headers["Location"]
    login(client, role="warga")
    page = client.get("/pengaduan/saya")
    assert page.status_code == 200
    assert "Anda belum mengirim pengaduan" in page.text


def test_my_complaints_is_in_the_account_menu_when_logged_in(client, enabled, login):
    assert 'href="/pengaduan/saya"' not in client.get("/pengaduan/").text
    login(client, role="warga")
    assert 'href="/pengaduan/saya"' in client.get("/pengaduan/").text


def test_a_complaint_filed_while_logged_in_is_linked_and_the_confirmation_says_so(
    client, enabled, sampah, login, stored
):
    user = login(client, role="warga")
    response = post(client, VALID)
    assert response.status_code == 302
    [saved] = stored()
    assert saved.reporter_id == user.id
    confirmation = client.get(response.headers["Location"]).text
    assert "terhubung dengan akun Anda" in confirmation
    assert "tanpa akun" not in confirmation
    assert 'href="/pengaduan/saya"' in confirmation
    assert saved.tracking_code in client.get("/pengaduan/saya").text


def test_an_anonymous_complaint_of_a_logged_in_citizen_is_not_linked(
    client, enabled, sampah, login, stored
):
    login(client, role="warga")
    response = post(client, {**VALID, "privacy": "anonymous"})
    [saved] = stored()
    assert saved.reporter_id is None
    confirmation = client.get(response.headers["Location"]).text
    assert "tidak terhubung dengan akun Anda" in confirmation
    assert "Anda belum mengirim pengaduan" in client.get("/pengaduan/saya").text


def test_the_confirmation_for_a_visitor_speaks_of_following_without_an_account(
    client, enabled, sampah
):
    response = post(client, VALID)
    assert "tanpa akun" in client.get(response.headers["Location"]).text


# -- 2. one complaint per form, the review step, publishing after verification -------------


def test_posting_the_same_form_twice_makes_one_complaint(client, enabled, sampah, stored):
    token = form_token(client)
    first = post(client, {**VALID, "token": token})
    assert first.status_code == 302
    again = post(client, {**VALID, "token": token, "description": "Dikirim ulang."})
    assert again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    [saved] = stored()
    assert saved.description == VALID["description"]
    assert saved.submit_token == views.token_digest(token)
    assert post(client, {**VALID, "token": form_token(client)}).status_code == 302
    assert len(stored()) == 2


def test_a_form_stored_at_the_same_moment_elsewhere_shows_that_complaint(
    client, enabled, sampah, stored, monkeypatch
):
    token = form_token(client)
    first = post(client, {**VALID, "token": token})
    real = views._by_token
    calls = iter([None])  # the second request looks before the first one committed
    monkeypatch.setattr(views, "_by_token", lambda t: next(calls, real(t)))
    again = post(client, {**VALID, "token": token})
    assert again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert len(stored()) == 1


def test_similar_reports_nearby_are_shown_on_a_review_step_before_sending(
    app, client, tenant, enabled, sampah, complaint, stored, inside, make_jpeg
):
    near = complaint(latitude=inside[0], longitude=inside[1])
    token = form_token(client)
    data = {
        **VALID,
        "token": token,
        "latitude": str(inside[0] + 0.0005),
        "longitude": str(inside[1]),
    }
    review = post(client, data, [(make_jpeg(), "foto.jpg")])
    assert review.status_code == 200
    assert "Dukung laporan ini" in review.text
    assert f'action="/pengaduan/{near.id}/dukung"' in review.text
    assert f'name="token" value="{token}"' in review.text
    assert 'name="anyway" value="1"' in review.text
    assert "/pengaduan/lapor/foto/" in review.text  # the photo is kept, not chosen again
    assert len(stored()) == 1

    sent = post(client, {**data, "anyway": "1"})
    assert sent.status_code == 302
    mine = stored()[-1]
    assert len(stored()) == 2 and len(mine.photos) == 1
    assert kept_files(app, tenant) == []
    assert post(client, {**data, "anyway": "1"}).status_code == 303  # back, send again
    assert len(stored()) == 2


def test_supporting_from_the_review_step_forgets_the_kept_photos(
    app, client, tenant, enabled, sampah, complaint, stored, inside, make_jpeg
):
    near = complaint(latitude=inside[0], longitude=inside[1])
    token = form_token(client)
    data = {**VALID, "token": token, "latitude": str(inside[0]), "longitude": str(inside[1])}
    assert post(client, data, [(make_jpeg(), "foto.jpg")]).status_code == 200
    assert len(kept_files(app, tenant)) == 1
    supported = client.post(f"/pengaduan/{near.id}/dukung", data={"token": token})
    assert supported.status_code == 302
    assert kept_files(app, tenant) == []
    assert [c.supporters for c in stored()] == [1]


def test_the_review_step_can_go_back_to_the_form(client, enabled, sampah, complaint, inside):
    complaint(latitude=inside[0], longitude=inside[1])
    data = {**VALID, "latitude": str(inside[0]), "longitude": str(inside[1]), "anyway": "1"}
    back = post(client, {**data, "edit": "1"})
    assert back.status_code == 200
    assert "Kirim pengaduan" in back.text and VALID["description"] in back.text


@pytest.mark.balai_config(PLUGIN_SETTINGS={"pengaduan": {"duplicate_radius_m": 50}})
def test_similar_reports_follow_the_radius(client, enabled, sampah, complaint, stored, inside):
    complaint(latitude=inside[0], longitude=inside[1])
    data = {**VALID, "latitude": str(inside[0] + 0.001), "longitude": str(inside[1])}  # ~110 m
    assert post(client, data).status_code == 302


@VERIFY_FIRST
def test_with_verification_first_a_new_complaint_is_public_only_once_verified(
    app, client, enabled, sampah, complaint, db_session, make_ctx, inside, make_jpeg
):
    fresh = post(
        client,
        {**VALID, "latitude": str(inside[0]), "longitude": str(inside[1])},
        [(make_jpeg(), "foto.jpg")],
    )
    assert fresh.status_code == 302
    found = db_session.scalar(select(Complaint))
    [photo] = found.photos
    description = VALID["description"][:30]

    def shown(url: str) -> bool:
        response = client.get(url)
        response.close()
        return response.status_code == 200

    def public_everywhere() -> list[bool]:
        return [
            description in client.get("/pengaduan/").text,
            description in client.get("/pengaduan/daftar").text,
            description in client.get("/pengaduan/peta").text,
            bool(client.get("/pengaduan/peta.geojson").json["features"]),
            bool(client.get("/pengaduan/open311/v2/requests.json").json),
            shown(f"/pengaduan/{found.id}"),
            shown(f"/pengaduan/foto/{photo.id}"),
        ]

    assert public_everywhere() == [False] * 7
    track = client.get(f"/pengaduan/lacak?kode={found.tracking_code}")
    assert track.status_code == 200 and description in track.text
    with_code = client.get(f"/pengaduan/foto/{photo.id}?kode={found.tracking_code}")
    with_code.close()
    assert with_code.status_code == 200
    assert not shown(f"/pengaduan/foto/{photo.id}?kode=ADU-22222-22222")
    # not offered as a similar report either: it is not public
    near = {**VALID, "latitude": str(inside[0]), "longitude": str(inside[1])}
    assert post(client, near).status_code == 302

    move(db_session, found, make_ctx, "verified")
    assert public_everywhere() == [True] * 7


def test_without_verification_first_a_new_complaint_is_public_at_once(
    client, enabled, sampah, complaint
):
    found = complaint()
    assert client.get(f"/pengaduan/{found.id}").status_code == 200


# -- 3. the satisfaction survey and the progress stepper -----------------------------------


def test_the_reporter_rates_a_resolved_complaint_once(
    client, enabled, sampah, complaint, db_session, stored, make_ctx
):
    found = complaint()
    code = found.tracking_code
    early = client.post("/pengaduan/lacak/nilai", data={"kode": code, "rating": "5"})
    assert early.status_code == 422
    assert "Hanya pengaduan yang sudah selesai" in early.text
    assert 'action="/pengaduan/lacak/nilai"' not in client.get(f"/pengaduan/lacak?kode={code}").text

    resolve(db_session, found, make_ctx())
    assert 'action="/pengaduan/lacak/nilai"' in client.get(f"/pengaduan/lacak?kode={code}").text
    for bad in ("", "0", "6", "lima"):
        refused = client.post("/pengaduan/lacak/nilai", data={"kode": code, "rating": bad})
        assert refused.status_code == 422, bad
        assert 'id="rating-error"' in refused.text
    assert stored()[0].rated_at is None
    wrong = client.post("/pengaduan/lacak/nilai", data={"kode": "ADU-22222-22222", "rating": "4"})
    assert wrong.status_code == 404

    rated = client.post(
        "/pengaduan/lacak/nilai",
        data={"kode": code, "rating": "4", "comment": "Cepat ditangani."},
    )
    assert rated.status_code == 302
    [saved] = stored()
    assert (saved.rating, saved.rating_comment) == (4, "Cepat ditangani.")
    again = client.post("/pengaduan/lacak/nilai", data={"kode": code, "rating": "1"})
    assert again.status_code == 422 and "sudah dinilai" in again.text
    assert stored()[0].rating == 4
    page = client.get(f"/pengaduan/lacak?kode={code}").text
    assert "4 dari 5 bintang" in page and 'action="/pengaduan/lacak/nilai"' not in page


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")
def test_the_dashboard_reports_satisfaction(
    client, enabled, sampah, complaint, db_session, login, make_ctx
):
    login(client, role="admin")
    assert "No reporter has rated a result yet." in client.get("/dasbor").text
    for stars in (5, 4, 4):
        found = complaint()
        resolve(db_session, found, make_ctx())
        assert (
            client.post(
                "/pengaduan/lacak/nilai", data={"kode": found.tracking_code, "rating": str(stars)}
            ).status_code
            == 302
        )
    page = client.get("/dasbor").text
    assert "Citizen satisfaction" in page
    widget = page[page.index("Citizen satisfaction") :]
    widget = widget[: widget.index("</figure>")]
    assert '<p class="figure"><strong>4.3 / 5</strong> 3 ratings</p>' in widget
    assert '<figure class="chart">' in widget and "Ratings by number of stars" in widget
    bars = re.findall(
        r'<span class="bar-label">([^<]+)</span>\s*<svg[^>]*>.*?</svg>\s*'
        r'<span class="bar-value">(\d+)</span>',
        widget,
        re.S,
    )
    assert bars == [
        ("5 stars", "1"),
        ("4 stars", "2"),
        ("3 stars", "0"),
        ("2 stars", "0"),
        ("1 star", "0"),
    ]
    assert "<dl>" not in widget


def test_the_tracking_page_shows_an_accessible_progress_stepper(
    client, enabled, sampah, complaint, db_session, make_ctx
):
    found = complaint()
    move(db_session, found, make_ctx, "verified", "forwarded")
    page = client.get(f"/pengaduan/lacak?kode={found.tracking_code}").text
    stepper = page[page.index('<ol class="stepper"') : page.index("</ol>", page.index("stepper"))]
    assert stepper.count("<li") == 5
    assert stepper.count('aria-current="step"') == 1
    current = stepper[: stepper.index('aria-current="step"')]
    assert current.count("step-done") == 2  # received, verified
    assert "Diteruskan" in stepper[stepper.index('aria-current="step"') :]

    rejected = complaint()
    services.transition(
        db_session, rejected, "rejected", make_ctx(), actor_id=None, actor_label="uji", note="Spam"
    )
    db_session.commit()
    assert (
        'class="stepper"' not in client.get(f"/pengaduan/lacak?kode={rejected.tracking_code}").text
    )


def test_the_stepper_counts_a_closed_complaint_as_done(
    enabled, sampah, complaint, db_session, make_ctx
):
    found = complaint()
    resolve(db_session, found, make_ctx())
    assert views.progress(found)[-1] == ("resolved", "current")
    found.status = "closed"
    assert {state for _, state in views.progress(found)} == {"done"}


# -- 4. the region's boundary and the SMS instructions -------------------------------------


BOUNDARY = pytest.mark.balai_config(PLUGIN_SETTINGS={"pengaduan": {"boundary": json.dumps(SQUARE)}})


@BOUNDARY
def test_a_point_outside_the_boundary_is_refused_naming_the_region(
    app, client, tenant, enabled, sampah, stored, inside
):
    outside = post(client, {**VALID, "latitude": str(OUTSIDE[0]), "longitude": str(OUTSIDE[1])})
    assert outside.status_code == 422
    assert 'id="latitude-error"' in outside.text
    assert f"Titik ini berada di luar {tenant.name}" in outside.text
    assert stored() == []
    inside_ = post(client, {**VALID, "latitude": str(inside[0]), "longitude": str(inside[1])})
    assert inside_.status_code == 302
    assert post(client, VALID).status_code == 302  # an address alone is not checked


@BOUNDARY
def test_open311_refuses_a_point_outside_the_boundary(client, enabled, sampah, db_session, stored):
    _client, key = create_client(db_session, "Aplikasi")
    db_session.commit()
    response = client.post(
        "/pengaduan/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "SAMPAH",
            "description": "Sampah menumpuk.",
            "lat": str(OUTSIDE[0]),
            "long": str(OUTSIDE[1]),
        },
    )
    assert response.status_code == 400
    assert "luar" in response.json[0]["description"]
    assert stored() == []


def test_without_a_boundary_any_point_is_accepted(client, enabled, sampah, stored):
    data = {**VALID, "latitude": str(OUTSIDE[0]), "longitude": str(OUTSIDE[1])}
    assert post(client, data).status_code == 302


@pytest.mark.balai_config(PLUGIN_SETTINGS={"pengaduan": {"boundary_from_areas": True}})
def test_the_areas_can_be_the_boundary(client, tenant, enabled, sampah, area, stored, inside):
    outside = post(client, {**VALID, "latitude": str(OUTSIDE[0]), "longitude": str(OUTSIDE[1])})
    assert outside.status_code == 422 and tenant.name in outside.text
    inside_ = post(client, {**VALID, "latitude": str(inside[0]), "longitude": str(inside[1])})
    assert inside_.status_code == 302


@pytest.mark.balai_config(PLUGIN_SETTINGS={"pengaduan": {"boundary_from_areas": True}})
def test_with_no_area_yet_the_boundary_is_unknown(client, enabled, sampah):
    data = {**VALID, "latitude": str(OUTSIDE[0]), "longitude": str(OUTSIDE[1])}
    assert post(client, data).status_code == 302


def test_the_boundary_setting_must_be_a_polygon(app):
    schema = ComplaintSettings()
    feature = {"type": "Feature", "properties": {}, "geometry": SQUARE}
    loaded = schema.load(
        {"boundary": json.dumps({"type": "FeatureCollection", "features": [feature]})}
    )
    assert json.loads(loaded["boundary"])["type"] == "FeatureCollection"
    for bad in ("{", '{"type": "Point", "coordinates": [106.6, -6.2]}', "[1, 2]"):
        with app.test_request_context(), pytest.raises(ValidationError) as refused:
            schema.load({"boundary": bad})
        assert "boundary" in refused.value.messages


def test_the_sms_instructions_name_the_number_and_the_codes(
    client, enabled, sampah, jalan, db_session, set_plugin_settings, sms_webhook
):
    assert "Lapor lewat SMS" not in client.get("/pengaduan/").text  # no number, no webhook
    set_plugin_settings("pengaduan", sms_number="0812 1708 1708")
    assert "Lapor lewat SMS" not in client.get("/pengaduan/").text  # the webhook is not set up
    sms_webhook()
    page = client.get("/pengaduan/").text
    assert "Lapor lewat SMS" in page
    assert "0812 1708 1708" in page
    assert "ADUAN &lt;kode kategori&gt; &lt;isi pengaduan&gt;" in page
    assert "<td><code>SAMPAH</code></td><td>Sampah</td>" in page
    assert "<td><code>JALAN</code></td><td>Jalan rusak</td>" in page
    assert "0812 1708 1708" in client.get("/pengaduan/lapor").text


# -- 5. kept photos and big phone photos --------------------------------------------------


def test_photos_chosen_before_an_error_are_kept_and_can_be_left_out(
    app, client, tenant, enabled, sampah, stored, make_jpeg
):
    token = form_token(client)
    refused = post(
        client,
        {**VALID, "token": token, "description": ""},
        [(make_jpeg(), "satu.jpg"), (make_jpeg(), "dua.jpg")],
    )
    assert refused.status_code == 422
    assert stored() == [] and stored_photos(app, tenant) == []
    thumbnails = re.findall(r'src="(/pengaduan/lapor/foto/[^"]+)"', refused.text)
    assert len(thumbnails) == 2
    assert token not in thumbnails[0]  # the address does not reveal the form's token
    shown = client.get(thumbnails[0])
    shown.close()
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert (
        client.get("/pengaduan/lapor/foto/" + "0" * 32 + "/00-0000000000000000.jpg").status_code
        == 404
    )
    assert client.get("/pengaduan/lapor/foto/..%2F..%2Fx/a.jpg").status_code == 404
    names = re.findall(r'name="remove_photo" value="([^"]+)"', refused.text)
    assert len(names) == 2

    sent = post(client, {**VALID, "token": token, "remove_photo": names[0]})
    assert sent.status_code == 302
    [saved] = stored()
    assert len(saved.photos) == 1 and len(stored_photos(app, tenant)) == 1
    assert kept_files(app, tenant) == []


@pytest.mark.balai_config(PLUGIN_SETTINGS={"pengaduan": {"max_photos": 2}})
def test_kept_photos_count_towards_the_limit(client, enabled, sampah, stored, make_jpeg):
    token = form_token(client)
    first = post(client, {**VALID, "token": token, "description": ""}, [(make_jpeg(), "a.jpg")])
    assert first.status_code == 422
    too_many = post(
        client, {**VALID, "token": token}, [(make_jpeg(), "b.jpg"), (make_jpeg(), "c.jpg")]
    )
    assert too_many.status_code == 422 and "Paling banyak 1 foto." in too_many.text
    assert post(client, {**VALID, "token": token}, [(make_jpeg(), "b.jpg")]).status_code == 302
    assert len(stored()[0].photos) == 2


def test_a_big_phone_photo_is_made_smaller_rather_than_refused(
    app, client, tenant, enabled, sampah, stored
):
    noisy = Image.frombytes("RGB", (3000, 2250), os.urandom(3000 * 2250 * 3))
    out = BytesIO()
    noisy.save(out, format="JPEG", quality=95)
    raw = out.getvalue()
    assert len(raw) > 6 * 1024 * 1024  # above the old 5 MB limit
    response = post_big(client, VALID, [(raw, "IMG_20260817.jpg")])
    assert response.status_code == 302, response.text
    [photo] = stored()[0].photos
    assert (photo.width, photo.height) == (2048, 1536)
    assert photo.size < len(raw)


@pytest.mark.balai_config(PLUGIN_SETTINGS={"pengaduan": {"max_photo_mb": 1}})
def test_a_photo_over_the_limit_in_mb_is_refused_naming_it(
    client, enabled, sampah, stored, make_jpeg
):
    page = client.get("/pengaduan/lapor").text
    assert "paling besar 1 MB" in page
    noisy = Image.frombytes("RGB", (800, 800), os.urandom(800 * 800 * 3))
    out = BytesIO()
    noisy.save(out, format="PNG")
    assert len(out.getvalue()) > 1024 * 1024
    refused = post_big(client, VALID, [(out.getvalue(), "besar.png")])
    assert refused.status_code == 422
    assert "besar.png lebih besar dari 1 MB." in refused.text
    assert stored() == []


def test_the_form_states_the_limits_in_mb(client, enabled, sampah):
    page = client.get("/pengaduan/lapor").text
    assert "paling besar 16 MB" in page  # the request bounds the default 25 MB
    assert not re.search(r"\d\s*KB\b", page)  # a size in KB, not letters of a token


def test_the_sweep_removes_kept_photos_of_forms_abandoned(app, tenant, make_jpeg):
    folder = photos.files(tenant.id)
    kept = photos.Pending(folder, "t" * 32)
    with app.test_request_context():
        [name] = kept.add(prepare_images([(make_jpeg(), "a.jpg")], max_side=photos.MAX_SIDE))
    assert photos.sweep(folder, [], older_than=timedelta(minutes=60)) == []
    with travel(datetime.now(UTC) + timedelta(days=2), tick=True):
        assert photos.sweep(folder, [], older_than=timedelta(minutes=60)) == [
            f"pending/{kept.key}/{name}"
        ]
    assert kept.names() == [] and kept_files(app, tenant) == []
