"""A derived plugin sent with an evaluation: it becomes an ordinary submission under
every upload rule, linked to the evaluation's thread."""

from __future__ import annotations

import hashlib
import io
import random
import zipfile
from typing import Any

import pytest

from balai import storage
from balai_registry import packages, services
from balai_registry.feedback import Evaluation
from balai_registry.models import Submission

from .conftest import Built, basic, upload_form

API = "/api/v1/registry/evaluations"
DERIVED = f"{API}/derived"
GOOD = {
    "plugin": "balai-kebun",
    "version": "1.0.0",
    "severity": "medium",
    "title": "Lahan tidak bisa dibagi",
    "body": "Satu lahan warga tidak dapat dibagi menjadi beberapa petak.",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def send(client: Any, token: str, built: Built, **changes: Any) -> Any:
    content = changes.pop("content", built.data)
    filename = changes.pop("filename", built.path.name)
    form: dict[str, Any] = {**GOOD, "sha256_digest": built.sha256, **changes}
    form = {k: v for k, v in form.items() if v is not None}
    form["derived"] = (io.BytesIO(content), filename)
    return client.post(
        DERIVED, data=form, headers=bearer(token), content_type="multipart/form-data"
    )


def fields_of(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 422, response.get_data(as_text=True)
    return dict(response.json["error"]["fields"])


def nothing_kept(db_session: Any) -> bool:
    db_session.rollback()
    return db_session.query(Evaluation).count() == 0 and db_session.query(Submission).count() == 0


def test_the_derived_plugin_becomes_a_submission_of_the_thread(
    client, tenant, enabled, partner_token, build_dist, stored, fake_check, run_jobs, login
):
    fake_check(passed=True)
    token = partner_token()
    built = build_dist("balai-kebun-bali", "1.0.0")
    created = send(client, token, built)
    assert created.status_code == 201, created.get_data(as_text=True)
    derived = created.json["derived"]
    [submission] = stored()
    assert (derived["filename"], derived["project"], derived["version"]) == (
        built.path.name,
        "balai-kebun-bali",
        "1.0.0",
    )
    assert (derived["status"], derived["passed"]) == ("pending", None)
    assert derived["url"] == f"http://kota-a.test/registry/kiriman/{submission.key}"
    assert submission.evaluation_id == created.json["id"]
    assert submission.partner.region == "Kabupaten Lebak"
    files = storage.for_tenant(tenant.id).within("registry")
    assert files.read(services.file_key(built.sha256, built.path.name)) == built.data

    # The same check job as any upload; the partner reads the outcome in its evaluation.
    assert "checks passed" in run_jobs()
    one = client.get(f"{API}/{created.json['id']}", headers=bearer(token)).json
    assert (one["derived"]["status"], one["derived"]["passed"]) == ("checked", True)
    listed = client.get(API, headers=bearer(token)).json["items"]
    assert listed[0]["derived"]["filename"] == built.path.name

    # The maintainer's thread names it and links its report, which links back.
    login(client, role="admin")
    page = client.get(f"/registry/kelola/evaluasi/{created.json['id']}").get_data(as_text=True)
    assert f'<p class="derived"><code>{built.path.name}</code> &mdash;' in page
    assert page.count("Plugin turunan") == 1  # the heading, not repeated on its line
    assert "dengan plugin turunan" in client.get("/registry/kelola/evaluasi").text  # the list
    assert f'href="/registry/kiriman/{submission.key}"' in page
    report = client.get(f"/registry/kiriman/{submission.key}").get_data(as_text=True)
    assert f'href="/registry/kelola/evaluasi/{created.json["id"]}"' in report
    # ... and decides on it as on any submission.
    decided = client.post(
        f"/registry/kelola/kiriman/{submission.id}/putuskan", data={"decision": "publish"}
    )
    assert decided.status_code == 302
    one = client.get(f"{API}/{created.json['id']}", headers=bearer(token)).json
    assert one["derived"]["status"] == "published"


def test_an_evaluation_without_a_derived_plugin_says_none(client, enabled, partner_token):
    token = partner_token()
    created = client.post(API, json=GOOD, headers=bearer(token))
    assert created.status_code == 201
    assert client.get(f"{API}/{created.json['id']}", headers=bearer(token)).json["derived"] is None


def test_the_evaluated_plugin_itself_may_be_sent_by_its_owner(
    client, enabled, partner_token, build_dist, stored
):
    token = partner_token()
    assert send(client, token, build_dist("balai-kebun", "1.0.0")).status_code == 201
    assert send(client, token, build_dist("balai-kebun", "1.0.1")).status_code == 201
    assert [s.version for s in stored()] == ["1.0.0", "1.0.1"]


def test_a_token_needs_the_upload_scope_too(client, enabled, partner_token, build_dist, db_session):
    built = build_dist("balai-kebun-bali", "1.0.0")
    response = send(client, partner_token(scopes=("feedback",)), built)
    assert response.status_code == 403
    assert "upload" in response.json["error"]["message"]
    response = send(client, partner_token("Kota Serang", scopes=("upload",)), built)
    assert response.status_code == 403
    response = send(client, "balai-reg-unknown", built)
    assert response.status_code == 401
    assert nothing_kept(db_session)


def test_another_partners_name_is_refused_as_by_the_upload_api(
    client, enabled, partner_token, build_dist, db_session
):
    owner = partner_token()
    upload = client.post(
        "/registry/legacy/",
        data=upload_form(build_dist("balai-kebun", "1.0.0")),
        headers=basic(owner),
        content_type="multipart/form-data",
    )
    assert upload.status_code == 200
    # A name belongs to the region whose release of it was published first.
    db_session.query(Submission).update({"status": "published"})
    db_session.commit()
    other = partner_token("Kota Serang")
    for name in ("balai-kebun", "balai-kebun-bali"):
        if name == "balai-kebun-bali":  # the owner's own derived plugin, then another's
            assert send(client, owner, build_dist(name, "1.0.0")).status_code == 201
            db_session.query(Submission).update({"status": "published"})
            db_session.commit()
        refused = send(client, other, build_dist(name, "1.0.1"))
        errors = fields_of(refused)
        assert list(errors) == ["derived"]
        assert name in errors["derived"][0]
    db_session.rollback()
    assert db_session.query(Evaluation).count() == 1  # the owner's, none of Kota Serang's
    assert db_session.query(Submission).count() == 2


def test_another_name_must_be_new(client, enabled, partner_token, build_dist, stored):
    token = partner_token()
    # The partner's own plugin, sent through the upload API: not a derived plugin.
    own = client.post(
        "/registry/legacy/",
        data=upload_form(build_dist("balai-sawah", "1.0.0")),
        headers=basic(token),
        content_type="multipart/form-data",
    )
    assert own.status_code == 200
    refused = send(client, token, build_dist("balai-sawah", "1.0.1"))
    assert "balai-sawah sudah dipakai" in fields_of(refused)["derived"][0]
    # A derived plugin of balai-kebun is not one of balai-pengaduan.
    assert send(client, token, build_dist("balai-kebun-bali", "1.0.0")).status_code == 201
    refused = send(client, token, build_dist("balai-kebun-bali", "1.0.1"), plugin="balai-pengaduan")
    assert "balai-kebun-bali sudah dipakai" in fields_of(refused)["derived"][0]
    assert [s.filename.split("-")[0] for s in stored()] == ["balai_sawah", "balai_kebun_bali"]


@pytest.mark.parametrize(
    ("changes", "fields", "message"),
    [
        ({"severity": "urgent"}, ["severity"], None),
        ({"filename": "kebun.zip"}, ["derived"], "bukan nama wheel"),
        ({"sha256_digest": "0" * 64}, ["derived"], "SHA-256 berkas berbeda"),
        ({"content": b""}, ["derived"], "kosong"),
        ({"title": "", "content": b"not a wheel"}, ["title", "derived"], None),
    ],
)
def test_a_bad_evaluation_or_file_keeps_nothing(
    client, enabled, partner_token, build_dist, db_session, changes, fields, message
):
    response = send(client, partner_token(), build_dist("balai-kebun-bali"), **changes)
    errors = fields_of(response)
    assert sorted(errors) == sorted(fields)
    if message:
        assert message in errors["derived"][0]
    assert nothing_kept(db_session)


def test_without_a_file_the_field_is_named(client, enabled, partner_token, db_session):
    form = {**GOOD, "sha256_digest": "0" * 64}
    response = client.post(
        DERIVED, data=form, headers=bearer(partner_token()), content_type="multipart/form-data"
    )
    assert "Lampirkan berkas plugin turunan" in fields_of(response)["derived"][0]
    assert nothing_kept(db_session)


def _padded(data: bytes, size: int) -> bytes:
    """The wheel with an incompressible file added in its package, to reach ``size``."""
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as wheel:
        wheel.writestr("balai_kebun_bali/data.bin", random.Random(7).randbytes(size))
    return out.getvalue()


# Sizes stay under the 500 KB above which Werkzeug spools a body to a temporary file.
@pytest.mark.balai_config(MAX_CONTENT_LENGTH=128 * 1024)
def test_the_file_may_be_as_large_as_an_upload(
    app, client, enabled, partner_token, build_dist, stored
):
    built = build_dist("balai-kebun-bali")
    data = _padded(built.data, app.config["MAX_CONTENT_LENGTH"] + 1024)
    digest = hashlib.sha256(data).hexdigest()
    response = send(client, partner_token(), built, content=data, sha256_digest=digest)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert stored()[0].size == len(data)


def test_a_file_beyond_the_upload_limit_is_413(
    client, enabled, partner_token, build_dist, db_session, monkeypatch
):
    monkeypatch.setattr(services, "MAX_UPLOAD", 2 * 1024 * 1024)
    monkeypatch.setattr(packages, "FORM_MARGIN", -1900 * 1024)  # a limit of 148 KB
    built = build_dist("balai-kebun-bali")
    data = _padded(built.data, 200 * 1024)
    digest = hashlib.sha256(data).hexdigest()
    response = send(client, partner_token(), built, content=data, sha256_digest=digest)
    assert response.status_code == 413
    assert nothing_kept(db_session)


def test_a_file_not_of_balai_is_refused(client, enabled, partner_token, build_dist, db_session):
    response = send(client, partner_token(), build_dist("kebun-lain"))
    assert "harus diawali balai-" in fields_of(response)["derived"][0]
    assert nothing_kept(db_session)


def test_the_endpoint_is_in_the_openapi_document(client, enabled):
    document = client.get("/api/v1/openapi.json").json
    post = document["paths"][DERIVED]["post"]
    assert post["security"] == [{"bearer": []}]
    ref = post["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    body = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"plugin", "sha256_digest", "derived"} <= set(body["properties"])
    assert body["properties"]["derived"]["format"] == "binary"
    assert "parameters" not in post
    evaluation = document["components"]["schemas"]["registry.Evaluation"]
    assert "derived" in evaluation["properties"]


def test_another_region_does_not_see_the_derived_plugin(
    client, other_client, enabled, enable_plugin, other_tenant, partner_token, build_dist, login
):
    created = send(client, partner_token(), build_dist("balai-kebun-bali"))
    assert created.status_code == 201
    enable_plugin("registry", tenant=other_tenant)
    login(other_client, role="admin", tenant=other_tenant)
    key = created.json["derived"]["url"].rsplit("/", 1)[1]
    assert other_client.get(f"/registry/kiriman/{key}").status_code == 404
    assert other_client.get(f"/registry/kelola/evaluasi/{created.json['id']}").status_code == 404
