"""Versions as PEP 440 compares them: ``0.2`` and ``0.2.0`` are one release, local
versions are refused, and a yank covers every file of a release."""

from __future__ import annotations

from sqlalchemy import text

from balai.db import db, utcnow
from balai.testing import downgraded
from balai_registry import services

from .conftest import basic, small_wheel, wheel_form

URL = "/registry/legacy/"
JSON = "application/vnd.pypi.simple.v1+json"
REVIEW = ("registry.review_submissions",)


def send(client, token, version, *, tag="py3-none-any", name="balai-kebun"):
    filename, data = small_wheel(name, version, tag=tag)
    form = wheel_form(filename, data, name, version)
    return client.post(URL, data=form, headers=basic(token), content_type="multipart/form-data")


def publish_all(db_session, stored):
    found = stored()
    for one in found:  # a release is published once every file of it is checked
        services.record_check(one, {"passed": True, "checks": [], "inspection": {}}, utcnow())
    for one in found:
        services.decide(one, True, "", None, utcnow())
    db_session.commit()


def test_a_local_version_is_refused_as_pypi_does(client, enabled, partner_token, stored):
    response = send(client, partner_token(), "0.2+lokal")
    assert response.status_code == 400, response.text
    assert "0.2+lokal adalah versi lokal" in response.text
    assert stored() == []


def test_two_spellings_of_a_version_are_one_release(
    client, enabled, partner_token, stored, login, db_session
):
    token = partner_token()
    assert send(client, token, "0.2").status_code == 200
    again = send(client, token, "0.2.0")
    assert again.status_code == 400
    assert "File already exists" in again.text
    assert "balai_kebun-0.2-py3-none-any.whl" in again.text
    assert send(client, token, "0.2.0", tag="py311-none-any").status_code == 200
    assert send(client, token, "1.0.0.RC1").status_code == 200
    assert [s.version for s in stored()] == ["0.2", "0.2", "1.0.0rc1"]
    publish_all(db_session, stored)

    simple = client.get("/registry/simple/balai-kebun/", headers={"Accept": JSON}).json
    assert simple["versions"] == ["0.2", "1.0.0rc1"]
    [release] = [
        v
        for v in client.get("/api/v1/registry/plugins/balai-kebun").json["versions"]
        if v["version"] == "0.2"
    ]
    assert len(release["files"]) == 2

    login(client, role="opd", permissions=REVIEW)
    url = "/registry/kelola/balai-kebun/0.2.0/tarik"
    assert client.post(url, data={"reason": "Merusak data"}).status_code == 302
    assert [s.yanked_reason for s in stored()] == ["Merusak data", "Merusak data", ""]
    simple = client.get("/registry/simple/balai-kebun/", headers={"Accept": JSON}).json
    assert [f["yanked"] for f in simple["files"]] == ["Merusak data", "Merusak data", False]
    assert client.post(url, data={"undo": "1"}).status_code == 302
    assert all(s.yanked_at is None for s in stored())


def test_the_migration_gives_a_release_one_normalised_spelling(
    app, client, enabled, partner_token, stored, db_session
):
    token = partner_token()
    for version in ("0.2.0", "0.3"):
        assert send(client, token, version).status_code == 200
    first, second = (s.id for s in stored())
    db_session.rollback()
    columns = (
        "key, partner_id, project, name, version, filename, filetype, sha256, size, kind,"
        " summary, licence, requires_python, requires_core, metadata_text, status, comment,"
        " yanked_reason, created_at, tenant_id"
    )
    with downgraded(app, "registry_0003_feedback"), db.all_tenants() as session:
        session.execute(
            text("UPDATE registry_submission SET version = :v WHERE id = :id"),
            [{"v": "0.2.0", "id": first}, {"v": "0.3.0.RC1", "id": second}],
        )
        row = session.execute(
            text(f"SELECT {columns} FROM registry_submission WHERE id = :id"),  # noqa: S608
            {"id": first},
        )
        copy = {
            **row.mappings().one(),
            "key": "another-key",
            "version": "0.2",
            "filename": "balai_kebun-0.2-py311-none-any.whl",
        }
        names = ", ".join(f":{c.strip()}" for c in columns.split(","))
        insert = f"INSERT INTO registry_submission ({columns}) VALUES ({names})"  # noqa: S608
        session.execute(text(insert), copy)
    assert [s.version for s in stored()] == ["0.2.0", "0.3.0rc1", "0.2.0"]
