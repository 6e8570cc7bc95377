"""The simple index: PEP 503 HTML and PEP 691 JSON, hashes, PEP 658/714 metadata,
Requires-Python, PEP 592 yanking; only published files, only the region's own."""

from __future__ import annotations

import hashlib
import re

import pytest

from balai.db import utcnow
from balai_registry import services

JSON = "application/vnd.pypi.simple.v1+json"
HTML = "application/vnd.pypi.simple.v1+html"


def test_root_lists_published_projects_in_html_and_json(client, enabled, publish):
    publish()
    publish(name="balai-theme-sawah", kind="theme")
    page = client.get("/registry/simple/")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Accept" in page.headers["Vary"]
    assert '<meta name="pypi:repository-version" content="1.1">' in page.text
    assert '<a href="/registry/simple/balai-kebun/">balai-kebun</a>' in page.text
    answer = client.get("/registry/simple/", headers={"Accept": JSON})
    assert answer.headers["Content-Type"] == f"{JSON}; charset=utf-8"
    assert answer.json == {
        "meta": {"api-version": "1.1"},
        "projects": [{"name": "balai-kebun"}, {"name": "balai-theme-sawah"}],
    }


@pytest.mark.parametrize(
    ("accept", "answered"),
    [
        (None, "text/html"),
        ("*/*", "text/html"),
        ("text/html", "text/html"),
        (HTML, HTML),
        ("application/vnd.pypi.simple.latest+html", HTML),
        ("application/vnd.pypi.simple.latest+json", JSON),
        (f"{JSON}, {HTML};q=0.2, text/html;q=0.01", JSON),  # what pip sends
        (f"{JSON};q=0.1, {HTML}", HTML),
    ],
)
def test_content_negotiation(client, enabled, publish, accept, answered):
    publish()
    headers = {"Accept": accept} if accept else {}
    response = client.get("/registry/simple/balai-kebun/", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == f"{answered}; charset=utf-8"


def test_a_type_nobody_offers_is_406(client, enabled, publish):
    publish()
    response = client.get("/registry/simple/", headers={"Accept": "application/xml"})
    assert response.status_code == 406


def test_project_page_html_has_hashes_metadata_and_requires_python(client, enabled, publish):
    wheel = publish()
    sdist = publish(sdist=True)
    page = client.get("/registry/simple/balai-kebun/").text
    metadata_hash = hashlib.sha256(wheel.metadata_text.encode()).hexdigest()
    wheel_url = f"/registry/files/{wheel.sha256}/{wheel.filename}"
    assert (
        f'<a href="{wheel_url}#sha256={wheel.sha256}" data-requires-python="&gt;=3.11"'
        f' data-dist-info-metadata="sha256={metadata_hash}"'
        f' data-core-metadata="sha256={metadata_hash}">{wheel.filename}</a>'
    ) in page
    sdist_link = re.search(rf"<a [^>]*>{re.escape(sdist.filename)}</a>", page).group(0)
    assert f"#sha256={sdist.sha256}" in sdist_link
    assert "data-core-metadata" not in sdist_link  # only wheels have a metadata file


def test_project_json_and_the_files_it_names(client, enabled, publish):
    wheel = publish()
    answer = client.get("/registry/simple/balai-kebun/", headers={"Accept": JSON}).json
    assert answer["meta"] == {"api-version": "1.1"}
    assert (answer["name"], answer["versions"]) == ("balai-kebun", ["1.0.0"])
    [entry] = answer["files"]
    metadata_hash = hashlib.sha256(wheel.metadata_text.encode()).hexdigest()
    assert entry["filename"] == wheel.filename
    assert entry["hashes"] == {"sha256": wheel.sha256}
    assert entry["requires-python"] == ">=3.11"
    assert entry["core-metadata"] == entry["dist-info-metadata"] == {"sha256": metadata_hash}
    assert entry["yanked"] is False
    assert entry["size"] == wheel.size
    with client.get(entry["url"]) as downloaded:
        assert downloaded.status_code == 200
        assert hashlib.sha256(downloaded.data).hexdigest() == wheel.sha256
    metadata = client.get(entry["url"] + ".metadata")
    assert hashlib.sha256(metadata.data).hexdigest() == metadata_hash
    assert metadata.data.startswith(b"Metadata-Version:")


def test_other_spellings_redirect_to_the_normalised_name(client, enabled, publish):
    publish()
    response = client.get("/registry/simple/Balai_Kebun/")
    assert response.status_code == 301
    assert response.headers["Location"] == "/registry/simple/balai-kebun/"
    # No redirect to what is not there: the answer does not echo a name back.
    unknown = client.get("/registry/simple/balai_kebun-1.0.0-py3-none-any.whl/")
    assert unknown.status_code == 404
    assert "balai-kebun" not in unknown.text


def test_only_published_files_are_listed_and_served(
    client, enabled, publish, db_session, build_dist
):
    published = publish()
    newer = publish(version="1.1.0")
    newer.status = "checked"  # as if awaiting a decision
    db_session.commit()
    page = client.get("/registry/simple/balai-kebun/").text
    assert published.filename in page and newer.filename not in page
    assert client.get(f"/registry/files/{newer.sha256}/{newer.filename}").status_code == 404
    assert (
        client.get(f"/registry/files/{newer.sha256}/{newer.filename}.metadata").status_code == 404
    )
    assert client.get("/registry/simple/balai-lain/").status_code == 404


def test_a_yanked_version_is_marked_with_its_reason(client, enabled, publish, db_session):
    old = publish()
    publish(version="1.1.0")
    assert services.yank(db_session, "balai-kebun", "1.0.0", "Celah keamanan <CVE>", utcnow())
    db_session.commit()
    page = client.get("/registry/simple/balai-kebun/").text
    link = re.search(rf"<a [^>]*>{re.escape(old.filename)}</a>", page).group(0)
    assert 'data-yanked="Celah keamanan &lt;CVE&gt;"' in link
    files = client.get("/registry/simple/balai-kebun/", headers={"Accept": JSON}).json["files"]
    assert [f["yanked"] for f in files] == ["Celah keamanan <CVE>", False]
    with client.get(f"/registry/files/{old.sha256}/{old.filename}") as still:
        assert still.status_code == 200  # pip still installs it when asked for exactly it


def test_another_region_sees_none_of_it(
    client, other_client, enabled, enable_plugin, other_tenant, publish
):
    wheel = publish()
    enable_plugin("registry", tenant=other_tenant)
    assert "balai-kebun" not in other_client.get("/registry/simple/").text
    assert other_client.get("/registry/simple/balai-kebun/").status_code == 404
    assert other_client.get(f"/registry/files/{wheel.sha256}/{wheel.filename}").status_code == 404
