"""Evaluations from partner regions: the API, the maintainer's pages, endorsements."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import render_template

from balai.db import db
from balai.testing import csrf_token
from balai_registry import feedback
from balai_registry.feedback import Evaluation, EvaluationEvent
from balai_registry.models import Partner

from .conftest import basic

API = "/api/v1/registry/evaluations"
NOW = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
ANSWER = ("registry.answer_evaluations",)
GOOD = {
    "plugin": "balai-pengaduan",
    "version": "0.3.1",
    "severity": "high",
    "title": "Foto aduan hilang setelah diteruskan",
    "body": "Saat aduan diteruskan ke OPD lain, fotonya tidak ikut.",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def send(client: Any, token: str, **changes: Any) -> Any:
    return client.post(API, json={**GOOD, **changes}, headers=bearer(token))


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["code"] == code
    return error


# -- the API of partner regions ------------------------------------------------------


def test_partner_sends_and_reads_its_evaluation(client, enabled, partner_token):
    token = partner_token()
    patch = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"
    created = send(client, token, plugin="Balai_Pengaduan", version="0.3.1.0", patch=patch)
    assert created.status_code == 201, created.json
    assert created.json["status"] == "open"
    assert created.json["url"] == f"http://kota-a.test{API}/{created.json['id']}"
    one = client.get(f"{API}/{created.json['id']}", headers=bearer(token)).json
    assert {k: one[k] for k in ("plugin", "version", "severity", "title", "status")} == {
        "plugin": "balai-pengaduan",
        "version": "0.3.1.0",
        "severity": "high",
        "title": GOOD["title"],
        "status": "open",
    }
    assert one["replies"] == []
    assert one["created_at"].endswith("+00:00")
    listed = client.get(API, headers=bearer(token)).json
    assert (listed["total"], listed["page"], listed["pages"]) == (1, 1, 1)
    assert listed["items"][0]["id"] == one["id"]
    with db.tenant_session(enabled.id) as session:
        assert session.get(Evaluation, one["id"]).patch == patch


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"plugin": "bukan nama!"}, "plugin"),
        ({"plugin": ""}, "plugin"),
        ({"version": "versi-dua"}, "version"),
        ({"severity": "urgent"}, "severity"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"version": "1" * 5000}, "version"),
        ({"version": "1." * 40 + "0"}, "version"),
        ({"plugin": "balai-" + "x" * 200}, "plugin"),
        ({"body": None}, "body"),
        ({"body": "x" * 20_001}, "body"),
        ({"patch": "+" * (1024 * 1024 + 1)}, "patch"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_bad_evaluation_is_refused_naming_the_field(
    client, enabled, partner_token, db_session, changes, field
):
    body = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    response = client.post(API, json=body, headers=bearer(partner_token()))
    error = assert_error(response, 422, "unprocessable_entity")
    assert list(error["fields"]) == [field]
    assert db_session.query(Evaluation).count() == 0


def test_a_patch_of_exactly_one_megabyte_is_taken(client, enabled, partner_token):
    assert send(client, partner_token(), patch="+" * (1024 * 1024)).status_code == 201


def test_no_or_unknown_token_is_401_before_the_body_is_read(client, enabled):
    for headers in ({}, bearer("balai-reg-unknown"), bearer("balai_user_token")):
        response = client.post(API, json={"plugin": "!"}, headers=headers)
        assert_error(response, 401, "unauthorized")
        assert 'Bearer realm="Balai registry"' in response.headers.getlist("WWW-Authenticate")
        assert_error(client.get(API, headers=headers), 401, "unauthorized")


def test_a_token_without_the_feedback_scope_is_403(client, enabled, partner_token):
    token = partner_token(scopes=("upload", "report"))
    assert_error(send(client, token), 403, "forbidden")
    assert_error(client.get(API, headers=bearer(token)), 403, "forbidden")


def test_a_revoked_token_is_refused(client, enabled, partner_token, login, db_session):
    token = partner_token()
    assert send(client, token).status_code == 201
    [partner] = db_session.query(Partner).all()
    login(client, role="admin")
    client.post(f"/registry/kelola/mitra/{partner.id}/cabut", data={"confirm": "yes"})
    assert_error(client.get(API, headers=bearer(token)), 401, "unauthorized")
    assert_error(send(client, token), 401, "unauthorized")


def test_with_a_new_token_the_region_still_reads_its_threads(
    client, enabled, partner_token, login, db_session
):
    old = partner_token()
    sent = send(client, old).json["id"]
    [partner] = db_session.query(Partner).all()
    login(client, role="admin")
    rotated = client.post(
        f"/registry/kelola/mitra/{partner.id}/token-baru", data={"confirm": "yes"}
    )
    assert rotated.status_code == 303
    page = client.get("/registry/kelola/mitra").get_data(as_text=True)
    new = page.split('<code class="secret">')[1].split("<")[0]
    assert_error(client.get(API, headers=bearer(old)), 401, "unauthorized")
    assert [e["id"] for e in client.get(API, headers=bearer(new)).json["items"]] == [sent]
    assert client.get(f"{API}/{sent}", headers=bearer(new)).status_code == 200
    replied = client.post(
        f"{API}/{sent}/replies", json={"body": "Masih terjadi."}, headers=bearer(new)
    )
    assert replied.status_code == 201


def test_a_partner_sees_only_its_own_evaluations(client, enabled, partner_token):
    lebak, serang = partner_token(), partner_token("Kabupaten Serang")
    mine = send(client, lebak).json["id"]
    theirs = send(client, serang, title="Milik Serang").json["id"]
    assert [e["id"] for e in client.get(API, headers=bearer(lebak)).json["items"]] == [mine]
    assert_error(client.get(f"{API}/{theirs}", headers=bearer(lebak)), 404, "not_found")
    reply = client.post(f"{API}/{theirs}/replies", json={"body": "x"}, headers=bearer(lebak))
    assert_error(reply, 404, "not_found")
    assert_error(client.get(f"{API}/999999", headers=bearer(lebak)), 404, "not_found")


@pytest.mark.parametrize("evaluation_id", ["2147483648", "9" * 30])
def test_an_id_beyond_any_row_is_404_after_the_token_is_checked(
    client, enabled, partner_token, evaluation_id
):
    token = partner_token()
    url = f"{API}/{evaluation_id}"
    assert_error(client.get(url, headers=bearer(token)), 404, "not_found")
    reply = client.post(f"{url}/replies", json={"body": "x"}, headers=bearer(token))
    assert_error(reply, 404, "not_found")
    # The token is still checked first: a wrong or missing one is 401.
    assert client.get(url, headers=bearer("balai-reg-unknown")).status_code == 401
    assert client.post(f"{url}/replies", json={"body": "x"}).status_code == 401


def test_evaluations_list_pages(client, enabled, partner_token):
    token = partner_token()
    for number in range(3):
        send(client, token, title=f"Temuan {number}")
    page = client.get(f"{API}?page=2&per_page=2", headers=bearer(token)).json
    assert (page["total"], page["pages"], len(page["items"])) == (3, 2, 1)
    assert page["items"][0]["title"] == "Temuan 0"  # newest first
    assert_error(client.get(f"{API}?halaman=2", headers=bearer(token)), 422, "unprocessable_entity")


def test_the_maintainer_answers_and_the_partner_reads_it(client, enabled, partner_token, login):
    token = partner_token()
    evaluation_id = send(client, token).json["id"]
    maintainer = login(client, role="opd", permissions=ANSWER)
    thread = f"/registry/kelola/evaluasi/{evaluation_id}"
    answered = client.post(thread, data={"body": "Terima kasih, kami periksa.", "status": "open"})
    assert answered.status_code == 302
    seen = client.get(f"{API}/{evaluation_id}", headers=bearer(token)).json
    assert seen["status"] == "answered"  # a reply answers an open thread
    [reply] = seen["replies"]
    assert (reply["author"], reply["from_upstream"], reply["body"]) == (
        maintainer.name,
        True,
        "Terima kasih, kami periksa.",
    )
    partner_reply = client.post(
        f"{API}/{evaluation_id}/replies",
        json={"body": "Berkas log terlampir."},
        headers=bearer(token),
    )
    assert partner_reply.status_code == 201
    assert partner_reply.json["author"] == "Kabupaten Lebak"
    assert partner_reply.json["from_upstream"] is False
    again = client.get(f"{API}/{evaluation_id}", headers=bearer(token)).json
    assert again["status"] == "open"  # the partner's reply reopens it
    assert [r["from_upstream"] for r in again["replies"]] == [True, False]


def test_status_changes_are_kept_in_the_trail(client, enabled, partner_token, login, db_session):
    token = partner_token()
    evaluation_id = send(client, token).json["id"]
    login(client, role="admin")
    thread = f"/registry/kelola/evaluasi/{evaluation_id}"
    assert client.post(thread, data={"body": "", "status": "planned"}).status_code == 302
    assert client.post(thread, data={"body": "Rilis 0.4.", "status": "done"}).status_code == 302
    refused = client.post(thread, data={"body": "", "status": "done"})  # nothing changes
    assert refused.status_code == 422
    assert 'id="body-error"' in refused.get_data(as_text=True)
    assert client.post(thread, data={"status": "hapus"}).status_code == 422
    seen = client.get(f"{API}/{evaluation_id}", headers=bearer(token)).json
    assert seen["status"] == "done"
    assert len(seen["replies"]) == 1
    events = db_session.query(EvaluationEvent).order_by(EvaluationEvent.id).all()
    assert [(e.action, e.old_status, e.new_status) for e in events] == [
        ("opened", None, "open"),
        ("status", "open", "planned"),
        ("replied", None, None),
        ("status", "planned", "done"),
    ]
    assert events[0].actor == "Kabupaten Lebak"
    page = client.get(thread).get_data(as_text=True)
    assert "mengubah status dari direncanakan menjadi selesai" in page


def test_an_empty_partner_reply_is_refused(client, enabled, partner_token):
    token = partner_token()
    evaluation_id = send(client, token).json["id"]
    for body in (" ", "x" * 20_001):
        response = client.post(
            f"{API}/{evaluation_id}/replies", json={"body": body}, headers=bearer(token)
        )
        assert list(assert_error(response, 422, "unprocessable_entity")["fields"]) == ["body"]


def test_the_api_is_in_the_openapi_document(client, enabled):
    document = client.get("/api/v1/openapi.json").json
    post = document["paths"][API]["post"]
    assert post["security"] == [{"bearer": []}]
    assert post["operationId"] == "registry_create_evaluation"
    assert "registry.EvaluationIn" in document["components"]["schemas"]
    page = document["components"]["schemas"]["registry.EvaluationPage"]
    assert page["properties"]["items"]["items"]["$ref"].endswith("registry.Evaluation")
    for path in (f"{API}/{{evaluation_id}}/replies", "/api/v1/registry/reports"):
        assert document["paths"][path]["post"]["security"] == [{"bearer": []}]


# -- tenancy -------------------------------------------------------------------------


def test_another_region_sees_nothing(
    client, other_client, enabled, enable_plugin, other_tenant, partner_token, login
):
    enable_plugin("registry", tenant=other_tenant)
    token = partner_token()
    evaluation_id = send(client, token).json["id"]
    assert_error(other_client.get(API, headers=bearer(token)), 401, "unauthorized")
    login(other_client, role="admin", tenant=other_tenant)
    assert other_client.get(f"/registry/kelola/evaluasi/{evaluation_id}").status_code == 404
    assert other_client.get(f"/registry/kelola/evaluasi/{evaluation_id}/patch").status_code == 404
    listing = other_client.get("/registry/kelola/evaluasi").get_data(as_text=True)
    assert GOOD["title"] not in listing
    assert "Belum ada daerah mitra yang mengirim evaluasi." in listing
    answered = other_client.post(f"/registry/kelola/evaluasi/{evaluation_id}", data={"body": "x"})
    assert answered.status_code == 404


# -- the maintainer's pages ----------------------------------------------------------


def test_pages_are_for_maintainers_only(client, enabled, partner_token, login):
    evaluation_id = send(client, partner_token(), patch="+a\n").json["id"]
    pages = [
        "/registry/kelola/evaluasi",
        f"/registry/kelola/evaluasi/{evaluation_id}",
        f"/registry/kelola/evaluasi/{evaluation_id}/patch",
        "/registry/kelola/dukungan",
    ]
    for page in pages:
        assert client.get(page).status_code == 302  # to the login page
    login(client, role="opd")
    for page in pages:
        assert client.get(page).status_code == 403
    assert (
        client.post(f"/registry/kelola/evaluasi/{evaluation_id}", data={"body": "x"}).status_code
        == 403
    )
    assert (
        client.post("/registry/kelola/dukungan", data={"plugin": "a", "version": "1"}).status_code
        == 403
    )


@pytest.mark.parametrize(
    "permission", ["registry.answer_evaluations", "registry.review_submissions"]
)
def test_either_permission_opens_the_pages(client, enabled, login, permission):
    login(client, role="opd", permissions=(permission,))
    assert client.get("/registry/kelola/evaluasi").status_code == 200


def test_threads_filter_and_page(client, enabled, partner_token, login):
    token = partner_token()
    for number in range(21):
        send(client, token, title=f"Temuan pengaduan {number:02d}")
    send(client, token, plugin="balai-puskesmas", title="Antrean macet", severity="critical")
    login(client, role="admin")
    first = client.get("/registry/kelola/evaluasi?plugin=balai-pengaduan").get_data(as_text=True)
    assert "Temuan pengaduan 20" in first and "Temuan pengaduan 00" not in first
    assert "Antrean macet" not in first
    assert "Halaman 1 dari 2" in first
    assert "page=2" in first and "plugin=balai-pengaduan" in first
    second = client.get("/registry/kelola/evaluasi?plugin=balai-pengaduan&page=2").get_data(
        as_text=True
    )
    assert "Temuan pengaduan 00" in second
    critical = client.get("/registry/kelola/evaluasi?status=open&plugin=balai-puskesmas").text
    assert "Antrean macet" in critical and "kritis" in critical
    none = client.get("/registry/kelola/evaluasi?status=done").get_data(as_text=True)
    assert "Tidak ada evaluasi yang cocok dengan saringan ini." in none


def test_the_thread_shows_the_patch_escaped_and_offers_it(client, enabled, partner_token, login):
    patch = '+<script>alert("x")</script>\n'
    evaluation_id = send(client, partner_token(), patch=patch).json["id"]
    login(client, role="admin")
    page = client.get(f"/registry/kelola/evaluasi/{evaluation_id}").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "+&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "diskominfo@lebak.example.id" in page  # the maintainer may write to the partner
    download = client.get(f"/registry/kelola/evaluasi/{evaluation_id}/patch")
    assert download.get_data(as_text=True) == patch
    assert download.mimetype == "text/x-diff"
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="evaluasi-{evaluation_id}.patch"'
    )
    no_patch = send(client, partner_token("Kota Cilegon")).json["id"]
    assert client.get(f"/registry/kelola/evaluasi/{no_patch}/patch").status_code == 404


def test_english_pages(client, enabled, partner_token, login):
    send(client, partner_token())
    login(client, role="admin")
    client.set_cookie("balai_lang", "en", domain="kota-a.test")
    page = client.get("/registry/kelola/evaluasi").get_data(as_text=True)
    assert "Evaluations from partners" in page


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_answers_need_the_csrf_token(client, enabled, partner_token, login):
    evaluation_id = send(client, partner_token()).json["id"]
    login(client, role="admin")
    thread = f"/registry/kelola/evaluasi/{evaluation_id}"
    assert client.post(thread, data={"body": "Tanpa token"}).status_code == 400
    token = csrf_token(client, thread)
    assert (
        client.post(thread, data={"body": "Dengan token", "csrf_token": token}).status_code == 302
    )


# -- the public summary and endorsements --------------------------------------------


def test_the_summary_names_no_partner(app, client, enabled, partner_token, db_session):
    token = partner_token()
    send(client, token, title="Foto hilang", severity="critical")
    send(client, token, title="Ejaan", severity="low", version="0.2")
    closed = send(client, token, title="Sudah beres").json["id"]
    with db.tenant_session(enabled.id) as session:
        evaluation = session.get(Evaluation, closed)
        feedback.set_status(session, evaluation, "done", "admin", None, evaluation.created_at)
    summary = feedback.open_summary(db_session, "Balai_Pengaduan")
    assert (summary.total, summary.by_severity["critical"], summary.by_severity["low"]) == (2, 1, 1)
    assert [t[0] for t in summary.titles] == ["Ejaan", "Foto hilang"]
    with app.test_request_context(base_url="http://kota-a.test"):
        app.preprocess_request()
        html = render_template("registry/feedback/_summary.html", evaluation_summary=summary)
    assert "Foto hilang" in html and "Sudah beres" not in html
    assert "Lebak" not in html and "diskominfo" not in html
    assert "2 evaluasi dari daerah mitra masih terbuka." in html


def test_partners_and_maintainers_endorse(
    client, enabled, partner_token, login, db_session, released
):
    released("balai-pengaduan", "0.3.1")
    token = partner_token()
    endpoint = "/api/v1/registry/endorsements"
    body = {"plugin": "balai-pengaduan", "version": "0.3.1", "note": "Dipakai sejak Mei."}
    created = client.post(endpoint, json=body, headers=bearer(token))
    assert created.status_code == 201, created.json
    assert (created.json["endorser"], created.json["from_upstream"]) == ("Kabupaten Lebak", False)
    again = client.post(endpoint, json={**body, "note": "Stabil."}, headers=bearer(token))
    assert again.json["id"] == created.json["id"]  # one per region and version
    bad = client.post(endpoint, json={**body, "version": "terbaru"}, headers=bearer(token))
    assert list(assert_error(bad, 422, "unprocessable_entity")["fields"]) == ["version"]
    report_only = partner_token("Kota Serang", scopes=("report",))
    assert_error(client.post(endpoint, json=body, headers=bearer(report_only)), 403, "forbidden")
    assert_error(client.post(endpoint, json=body, headers=basic("nope")), 401, "unauthorized")
    login(client, role="admin")
    form = {"plugin": "Balai_Pengaduan", "version": "0.3.1.0", "note": "Kami uji."}
    assert client.post("/registry/kelola/dukungan", data=form).status_code == 302
    refused = client.post("/registry/kelola/dukungan", data={"plugin": "?", "version": "1"})
    assert refused.status_code == 422 and 'id="plugin-error"' in refused.get_data(as_text=True)
    listed = feedback.endorsements_of(db_session, "balai-pengaduan")
    assert [(e.endorser, e.from_upstream, e.note) for e in listed][1] == (
        "Kabupaten Lebak",
        False,
        "Stabil.",
    )
    # Upstream endorses as the region it is, not as the maintainer who clicked.
    assert (listed[0].endorser, listed[0].from_upstream) == (enabled.name, True)
    assert (listed[0].plugin, listed[0].version) == ("balai-pengaduan", "0.3.1")
    page = client.get("/registry/kelola/dukungan").get_data(as_text=True)
    assert "Stabil." in page and "Kami uji." in page


@pytest.mark.parametrize(
    ("plugin", "version", "field", "message"),
    [
        ("balai-tidak-ada", "9.9.9", "plugin", "Tidak ada plugin terbit"),
        ("kebun", "0.1.0", "plugin", "Tidak ada plugin terbit"),  # the short name
        ("balai-kebun", "9.9.9", "version", "tidak punya versi terbit"),
        ("balai-kebun", "0.2.0", "version", "Versi ini ditarik"),
        ("balai-draf", "1.0.0", "plugin", "Tidak ada plugin terbit"),  # sent, not published
    ],
)
def test_an_endorsement_names_a_published_release(
    client, enabled, login, db_session, released, partner_token, plugin, version, field, message
):
    released("balai-kebun", "0.1.0")
    released("balai-kebun", "0.2.0", yanked=True)
    draft = released("balai-draf", "1.0.0")
    draft.status = "checked"
    db_session.commit()
    login(client, role="admin")
    form = {"plugin": plugin, "version": version, "note": ""}
    refused = client.post("/registry/kelola/dukungan", data=form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f'id="{field}-error"' in page and message in page
    api = client.post(
        "/api/v1/registry/endorsements",
        json={"plugin": plugin, "version": version},
        headers=bearer(partner_token()),
    )
    assert list(assert_error(api, 422, "unprocessable_entity")["fields"]) == [field]
    assert feedback.endorsements_of(db_session) == []


def test_the_catalogue_context_fills_the_three_partials(
    app, client, enabled, partner_token, db_session, released
):
    released("balai-pengaduan", "0.3.1")
    token = partner_token()
    send(client, token, title="Foto hilang")
    endorsement = {"plugin": "balai-pengaduan", "version": "0.3.1", "note": "Stabil."}
    client.post("/api/v1/registry/endorsements", json=endorsement, headers=bearer(token))
    report = {
        "instance": "lebak-server-1",
        "region": "Kabupaten Lebak",
        "core_version": "0.1.0",
        "plugins": [{"name": "balai-pengaduan", "version": "0.3.1"}],
    }
    client.post("/api/v1/registry/reports", json=report, headers=bearer(token))
    context = feedback.feedback_context(db_session, "balai-pengaduan")
    assert context["running"] == {"0.3.1": [("Kabupaten Lebak", "Kabupaten Lebak")]}
    with app.test_request_context(base_url="http://kota-a.test"):
        app.preprocess_request()
        html = "".join(
            render_template(f"registry/feedback/{name}.html", **context)
            for name in ("_summary", "_running", "_endorsements")
        )
    assert "Foto hilang" in html
    assert "Kabupaten Lebak mendukung versi 0.3.1: Stabil." in html
    assert "diskominfo" not in html


def test_the_plugin_page_shows_who_runs_endorses_and_evaluates_it(
    client, enabled, partner_token, publish
):
    publish()  # balai-kebun 1.0.0
    token = partner_token()
    send(client, token, plugin="balai-kebun", version="1.0.0", title="Peta belum ada")
    endorsement = {"plugin": "balai-kebun", "version": "1.0.0", "note": "Dipakai tiga kecamatan."}
    client.post("/api/v1/registry/endorsements", json=endorsement, headers=bearer(token))
    report = {
        "instance": "lebak-server-1",
        "region": "Kabupaten Lebak",
        "core_version": "0.1.0",
        "plugins": [{"name": "balai-kebun", "version": "1.0.0"}],
    }
    client.post("/api/v1/registry/reports", json=report, headers=bearer(token))
    page = client.get("/registry/balai-kebun/").get_data(as_text=True)
    assert "<dt>1.0.0</dt><dd>Kabupaten Lebak (dilaporkan oleh Kabupaten Lebak)</dd>" in page
    assert "Kabupaten Lebak mendukung versi 1.0.0: Dipakai tiga kecamatan." in page
    assert "Peta belum ada" in page


@pytest.mark.balai_config(PLUGIN_SETTINGS={"registry": {"api_limit": "3 per hour"}})
def test_the_partner_api_is_limited_per_token_with_a_429_and_retry_after(
    client, enabled, partner_token
):
    token, other = partner_token(), partner_token("Kabupaten Serang")
    for _ in range(3):
        assert client.get(API, headers=bearer(token)).status_code == 200
    refused = client.post(API, json={}, headers=bearer(token))
    error = assert_error(refused, 429, "too_many_requests")
    assert "Terlalu banyak permintaan dengan token registri ini." in error["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert client.get(API, headers=bearer(other)).status_code == 200


@pytest.mark.parametrize("version", ["1" * 5000, "1." * 40 + "0"])
def test_an_endorsement_of_an_endless_version_names_the_field(
    client, enabled, partner_token, db_session, version
):
    api = client.post(
        "/api/v1/registry/endorsements",
        json={"plugin": "balai-pengaduan", "version": version},
        headers=bearer(partner_token()),
    )
    assert "version" in assert_error(api, 422, "unprocessable_entity")["fields"]
    with pytest.raises(feedback.FeedbackError) as refused:
        feedback.endorse(db_session, "balai-pengaduan", version, "", NOW, upstream=(1, "A"))
    assert "version" in refused.value.errors


def test_the_list_marks_a_new_reply_from_the_partner_and_a_patch(
    client, enabled, partner_token, login
):
    token = partner_token()
    patch = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"
    evaluation_id = send(client, token, patch=patch).json["id"]
    login(client, role="opd", permissions=ANSWER)
    listing = client.get("/registry/kelola/evaluasi").text
    assert "0 balasan" in listing and "dengan patch" in listing
    assert "balasan baru dari mitra" not in listing
    thread = f"/registry/kelola/evaluasi/{evaluation_id}"
    client.post(thread, data={"body": "Terima kasih, kami periksa.", "status": "open"})
    answered = client.get("/registry/kelola/evaluasi").text
    assert "1 balasan" in answered and "balasan baru dari mitra" not in answered
    client.post(f"{API}/{evaluation_id}/replies", json={"body": "Log."}, headers=bearer(token))
    replied = client.get("/registry/kelola/evaluasi").text
    assert "2 balasan" in replied and "balasan baru dari mitra" in replied


def test_the_maintainer_is_told_plainly_where_the_partner_reads_an_answer(
    client, enabled, partner_token, login
):
    evaluation_id = send(client, partner_token()).json["id"]
    login(client, role="opd", permissions=ANSWER)
    listing = client.get("/registry/kelola/evaluasi").text
    assert "melalui API" not in listing and "halaman Evaluasi ke hulu mereka" in listing
    thread = f"/registry/kelola/evaluasi/{evaluation_id}"
    client.post(thread, data={"body": "Terima kasih.", "status": "open"})
    page = client.get(thread).text
    assert "Tanggapan Anda tersimpan; daerah mitra melihatnya di halaman Evaluasi ke hulu" in page
    assert "melalui API" not in page
