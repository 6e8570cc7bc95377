"""The JSON API: published plugins, their versions and files, in the OpenAPI document."""

from __future__ import annotations

from balai.db import utcnow
from balai_registry import services


def test_list_is_the_core_list_shape_with_what_the_files_say(client, enabled, publish):
    publish()
    publish(version="1.1.0", summary="Kebun warga: lahan dan panen")
    publish(name="balai-theme-sawah", kind="theme", summary="Tema hijau sawah", core=">=0.1")
    answer = client.get("/api/v1/registry/plugins").json
    assert answer["items"] == [
        {
            "name": "balai-kebun",
            "kind": "plugin",
            "summary": "Kebun warga: lahan dan panen",
            "latest_version": "1.1.0",
            "requires_core": "<0.2,>=0.1",
            "yanked": False,
        },
        {
            "name": "balai-theme-sawah",
            "kind": "theme",
            "summary": "Tema hijau sawah",
            "latest_version": "1.0.0",
            "requires_core": ">=0.1",
            "yanked": False,
        },
    ]
    assert (answer["page"], answer["total"], answer["pages"]) == (1, 2, 1)


def test_search_and_pages(client, enabled, publish):
    for n in range(3):
        publish(name=f"balai-modul-{n}")
    publish(name="balai-theme-sawah", kind="theme", summary="Tema hijau sawah")
    found = client.get("/api/v1/registry/plugins?q=hijau").json
    assert [i["name"] for i in found["items"]] == ["balai-theme-sawah"]
    second = client.get("/api/v1/registry/plugins?q=modul&per_page=2&page=2").json
    assert ([i["name"] for i in second["items"]], second["total"], second["pages"]) == (
        ["balai-modul-2"],
        3,
        2,
    )
    assert client.get("/api/v1/registry/plugins?q=puskesmas").json["items"] == []
    assert client.get("/api/v1/registry/plugins?sort=name").status_code == 422


def test_one_plugin_with_versions_and_files(client, enabled, publish, db_session):
    wheel = publish()
    sdist = publish(sdist=True)
    newer = publish(version="1.1.0")
    services.yank(db_session, "balai-kebun", "1.1.0", "Merusak data", utcnow())
    db_session.commit()
    answer = client.get("/api/v1/registry/plugins/Balai_Kebun").json
    assert {k: answer[k] for k in ("name", "kind", "summary", "licence")} == {
        "name": "balai-kebun",
        "kind": "plugin",
        "summary": "Kebun warga: pendaftaran lahan",
        "licence": "Apache-2.0",
    }
    latest, first = answer["versions"]
    assert (latest["version"], latest["yanked"], latest["requires_core"]) == (
        "1.1.0",
        True,
        "<0.2,>=0.1",
    )
    assert latest["files"] == [
        {
            "filename": newer.filename,
            "url": f"http://kota-a.test/registry/files/{newer.sha256}/{newer.filename}",
            "sha256": newer.sha256,
        }
    ]
    assert (first["version"], first["yanked"]) == ("1.0.0", False)
    assert first["published_at"].endswith("Z") or "+00:00" in first["published_at"]
    assert {f["sha256"] for f in first["files"]} == {wheel.sha256, sdist.sha256}


def test_unknown_or_unpublished_plugins_are_404(client, enabled, publish, db_session):
    pending = publish()
    pending.status = "checked"
    db_session.commit()
    response = client.get("/api/v1/registry/plugins/balai-kebun")
    assert response.status_code == 404
    assert response.json["error"]["message"] == "Tidak ada plugin terbit dengan nama ini."
    assert client.get("/api/v1/registry/plugins").json["items"] == []


def test_in_the_openapi_document(client, enabled):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "/api/v1/registry/plugins" in paths
    assert "/api/v1/registry/plugins/{name}" in paths


def test_another_region_sees_none_of_it(
    client, other_client, enabled, enable_plugin, other_tenant, publish
):
    publish()
    enable_plugin("registry", tenant=other_tenant)
    assert other_client.get("/api/v1/registry/plugins").json["items"] == []
    assert other_client.get("/api/v1/registry/plugins/balai-kebun").status_code == 404
