"""The adopting region's side of the registry (``balai.upstream``): its link to the
upstream, and the evaluations it sends, against a stand-in upstream over real HTTP."""

from __future__ import annotations

import json
import logging
import socket
import zipfile
from collections.abc import Iterator
from importlib.metadata import version as installed_version
from io import BytesIO

import pytest
from sqlalchemy import select
from upstream import Release, Upstream, make_upstream

from balai.cli import cli
from balai.crypto import sealer
from balai.db import db, utcnow
from balai.tenancy.archive import export_tenant
from balai.testing import serve, travel
from balai.upstream import RegistryClient, UpstreamRefused, UpstreamUnreachable, services
from balai.upstream.client import UpstreamNotFound
from balai.upstream.models import UpstreamEvaluation, UpstreamLink
from balai.upstream.services import SYNC_FRESH, TOKEN_KEY

# Messages are translatable; these tests read them in English.
pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

TOKEN = "balai-reg-kota-a-0123456789"
OTHER = "balai-reg-kota-b-9876543210"


@pytest.fixture
def state() -> Upstream:
    found = Upstream(tokens={TOKEN: {"upload", "feedback", "report"}, OTHER: {"feedback"}})
    found.add_plugin(
        "pengumuman", Release("0.1.0", ">=0.1,<0.2"), summary="Announcements of a region"
    )
    return found


@pytest.fixture
def upstream_url(state: Upstream) -> Iterator[str]:
    with serve(make_upstream(state)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def admin(client, login, enable_plugin):
    enable_plugin("pengumuman")
    return login(client, role="admin")


def _link(client, url: str, token: str = TOKEN) -> None:
    response = client.post("/admin/registri", data={"url": url, "token": token})
    assert response.status_code == 302, response.text


def _send(client, **fields) -> object:
    data = {
        "plugin": "pengumuman",
        "severity": "high",
        "title": "No Balinese",
        "body": "Announcements cannot be written in Balinese script.",
        **fields,
    }
    return client.post("/admin/evaluasi/baru", data=data, content_type="multipart/form-data")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the client ----------------------------------------------------------------------


def test_the_client_reads_the_catalogue(upstream_url):
    with RegistryClient(upstream_url, allow_private=True) as client:
        listed = client.plugins("announce")
        assert [p["name"] for p in listed["items"]] == ["balai-pengumuman"]
        assert client.plugin("balai-pengumuman")["versions"][0]["requires_core"] == ">=0.1,<0.2"
        with pytest.raises(UpstreamNotFound):
            client.plugin("nothing")


def test_an_unreachable_upstream_and_a_refused_token_say_so(app, upstream_url):
    unreachable = RegistryClient(f"http://127.0.0.1:{_closed_port()}", TOKEN, allow_private=True)
    with unreachable, pytest.raises(UpstreamUnreachable, match="cannot be reached"):
        unreachable.evaluations()
    refusing = RegistryClient(upstream_url, "balai-reg-wrong", allow_private=True)
    with refusing, pytest.raises(UpstreamRefused, match="refused the region's registry token"):
        refusing.evaluations()


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="id")
def test_the_messages_are_indonesian_first(app, upstream_url):
    refusing = RegistryClient(upstream_url, "balai-reg-wrong", allow_private=True)
    with refusing, pytest.raises(UpstreamRefused) as refused:
        refusing.evaluations()
    assert "menolak token registri" in str(refused.value)


# -- the link ------------------------------------------------------------------------


def test_the_token_is_stored_sealed_and_never_shown(app, client, admin, tenant, upstream_url):
    _link(client, upstream_url)
    with db.tenant_session(tenant.id) as session:
        stored = session.scalar(select(UpstreamLink))
        assert stored.url == upstream_url
        assert stored.token.startswith("v1:") and TOKEN not in stored.token
        assert sealer(TOKEN_KEY, tenant.id, app).open(stored.token) == TOKEN
    page = client.get("/admin/registri").text
    assert TOKEN not in page and "…6789" in page
    # Saving again without a token keeps it.
    _link(client, upstream_url, token="")
    with db.tenant_session(tenant.id) as session:
        assert session.scalar(select(UpstreamLink.token)).startswith("v1:")
    # Removing it leaves none.
    response = client.post("/admin/registri", data={"url": upstream_url, "forget_token": "1"})
    assert response.status_code == 302
    with db.tenant_session(tenant.id) as session:
        assert session.scalar(select(UpstreamLink.token)) is None


@pytest.mark.balai_config(REGISTRY_URL="https://registry.example.go.id/")
def test_the_address_defaults_to_the_deployments(client, admin):
    page = client.get("/admin/registri").text
    assert "https://registry.example.go.id" in page
    assert "reads the replies (Evaluations sent upstream)" in page  # as its menu names it


def test_a_wrong_address_or_token_is_refused_naming_the_field(client, admin, tenant):
    response = client.post("/admin/registri", data={"url": "ftp://x", "token": "abc"})
    assert response.status_code == 400
    assert 'id="url-error"' in response.text and 'id="token-error"' in response.text
    with db.tenant_session(tenant.id) as session:
        assert session.scalar(select(UpstreamLink)) is None


def test_an_empty_form_saves_nothing_and_says_what_is_needed(client, admin, tenant):
    response = client.post("/admin/registri", data={"url": "", "token": ""})
    assert response.status_code == 400
    assert "Nothing was saved: enter the registry token" in response.text
    assert "have been saved" not in response.text
    with db.tenant_session(tenant.id) as session:
        assert session.scalar(select(UpstreamLink)) is None


def test_a_token_the_upstream_refuses_is_not_saved(client, admin, tenant, upstream_url):
    response = client.post(
        "/admin/registri", data={"url": upstream_url, "token": "balai-reg-salah"}
    )
    assert response.status_code == 400
    assert 'id="token-error"' in response.text
    assert f"The upstream registry at {upstream_url} refused this token" in response.text
    assert "have been saved" not in response.text
    with db.tenant_session(tenant.id) as session:
        assert session.scalar(select(UpstreamLink)) is None
    _link(client, upstream_url)  # the right one is
    page = client.get("/admin/registri").text
    assert "have been saved" in page and "could not be checked" not in page


def test_a_token_without_the_evaluations_scope_is_saved_with_a_note(
    client, admin, tenant, state, upstream_url
):
    state.tokens["balai-reg-lapor-saja"] = {"report"}  # usage reports only
    response = client.post(
        "/admin/registri", data={"url": upstream_url, "token": "balai-reg-lapor-saja"}
    )
    assert response.status_code == 302
    page = client.get("/admin/registri").text
    assert "have been saved" in page
    assert "The token could not be checked with the upstream registry" in page
    with db.tenant_session(tenant.id) as session:
        assert session.scalar(select(UpstreamLink.url)) == upstream_url


def test_a_token_is_saved_unchecked_while_the_upstream_cannot_be_reached(client, admin, tenant):
    url = f"http://127.0.0.1:{_closed_port()}"
    _link(client, url)
    page = client.get("/admin/registri").text
    assert "have been saved" in page
    assert "The token could not be checked with the upstream registry" in page
    with db.tenant_session(tenant.id) as session:
        assert session.scalar(select(UpstreamLink.url)) == url


# -- evaluations ---------------------------------------------------------------------


def test_an_evaluation_is_sent_with_the_installed_version(client, admin, state, upstream_url):
    _link(client, upstream_url)
    patch = b"--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"
    response = _send(client, patch=(BytesIO(patch), "fix.patch"))
    assert response.status_code == 302, response.text
    [sent] = state.evaluations
    assert sent["plugin"] == "balai-pengumuman"  # the registry's name: the distribution's
    assert sent["version"] == installed_version("balai-pengumuman")
    assert sent["severity"] == "high" and sent["patch"] == patch.decode()
    thread = client.get(response.headers["Location"]).text
    assert "No Balinese" in thread and "high" in thread
    listed = client.get("/admin/evaluasi").text
    assert "No Balinese" in listed and "open" in listed
    for page in (thread, listed):  # the admin reads the plugin's title
        assert ">Pengumuman " + installed_version("balai-pengumuman") + "<" in page
    # The thread shows the patch sent, and names the evaluation upstream without
    # linking to the JSON API (it answers 401 to a browser).
    assert "<code>--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n</code>" in thread
    assert "/api/v1/registry/evaluations" not in thread
    assert f"no. 1 at {upstream_url}" in thread


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"plugin": "pengaduan"}, "plugin"),  # installed, but not enabled for the region
        ({"severity": "urgent"}, "severity"),
        ({"title": ""}, "title"),
        ({"body": ""}, "body"),
    ],
)
def test_a_wrong_evaluation_names_its_field_and_sends_nothing(
    client, admin, state, upstream_url, fields, field
):
    _link(client, upstream_url)
    response = _send(client, **fields)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text
    assert state.evaluations == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"x" * 1001, "at most 1 MB"),
        (b"\xff\xfe\x00binary", "text file"),
    ],
)
def test_a_patch_must_be_text_of_at_most_a_megabyte(
    client, admin, state, upstream_url, monkeypatch, content, message
):
    assert services.PATCH_MAX_BYTES == 1024 * 1024
    # A smaller limit here: the test client leaves a body over 500 kB in an unclosed file.
    monkeypatch.setattr(services, "PATCH_MAX_BYTES", 1000)
    _link(client, upstream_url)
    response = _send(client, patch=(BytesIO(content), "fix.patch"))
    assert response.status_code == 400
    assert 'id="patch-error"' in response.text and message in response.text
    assert state.evaluations == []


def test_without_a_token_nothing_is_sent_and_the_page_says_why(client, admin, state):
    response = _send(client)
    assert response.status_code == 400
    assert "no upstream registry address" in response.text.lower()


def test_before_the_link_is_set_up_the_list_sends_the_admin_to_it(client, admin):
    page = client.get("/admin/evaluasi").text
    assert "<title>Evaluations sent upstream" in page
    assert "<h1>Evaluations sent upstream</h1>" in page
    assert "The upstream registry is not set up yet" in page
    assert '<a href="/admin/registri">Upstream registry</a>' in page
    assert "has sent no evaluation yet" not in page
    assert "Not synced with the upstream registry yet" not in page


def test_the_list_syncs_replies_and_works_while_the_upstream_is_down(
    client, admin, state, upstream_url
):
    _link(client, upstream_url)
    for n in range(3):  # more than one of the stand-in's pages
        assert _send(client, title=f"Lack {n}").status_code == 302
    state.answer(1, "Planned for 0.2.", status="planned")
    page = client.get("/admin/evaluasi").text
    assert "planned" in page and "3 evaluations" in page
    state.down = True
    with travel(utcnow() + SYNC_FRESH):  # the copy is stale: the page asks again
        page = client.get("/admin/evaluasi").text
    assert "Lack 0" in page and "Lack 2" in page
    assert "answered with an error (HTTP 503)" in page
    assert "Last synced with the upstream registry" in page


def test_the_thread_shows_replies_and_sends_the_regions_reply(
    client, admin, state, upstream_url, caplog
):
    with caplog.at_level(logging.INFO):
        _link(client, upstream_url)
        location = _send(client).headers["Location"]
        state.answer(1, "Which screen?")
        assert "Which screen?" in client.get(location).text
        response = client.post(location + "/balas", data={"body": "The announcement form."})
    assert response.status_code == 302
    assert state.evaluations[0]["replies"][-1]["body"] == "The announcement form."
    assert client.post(location + "/balas", data={"body": ""}).status_code == 400
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for action in ("upstream.saved", "evaluation.sent", "evaluation.replied"):
        assert f"admin {action} tenant=kota-a" in logged
    assert TOKEN not in logged


def test_the_job_syncs_each_region_with_a_token(app, client, admin, tenant, state, upstream_url):
    _link(client, upstream_url)
    _send(client)
    state.answer(1, "Fixed in 0.1.1.", status="done")
    result = app.test_cli_runner().invoke(
        cli, ["jobs", "run", "core.sync-evaluations", "--tenant", tenant.slug]
    )
    assert result.exit_code == 0, result.output
    with db.tenant_session(tenant.id) as session:
        row = session.scalar(select(UpstreamEvaluation))
        assert row.status == "done" and row.replies[-1]["body"] == "Fixed in 0.1.1."


def test_another_region_sees_neither_the_link_nor_the_evaluations(
    app, client, admin, other_client, other_tenant, login, state, upstream_url
):
    _link(client, upstream_url)
    location = _send(client).headers["Location"]
    login(other_client, role="admin", tenant=other_tenant)
    assert other_client.get(location).status_code == 404
    assert "No Balinese" not in other_client.get("/admin/evaluasi").text
    assert upstream_url not in other_client.get("/admin/registri").text


@pytest.mark.parametrize("role", ["warga", "opd"])
def test_only_region_admins_send_evaluations(client, login, role):
    login(client, role=role)
    assert client.get("/admin/evaluasi").status_code in {302, 403}
    assert client.get("/admin/registri").status_code in {302, 403}


def test_a_thread_is_not_mixed_up_with_another_upstreams(client, admin, state, upstream_url):
    _link(client, upstream_url)
    location = _send(client).headers["Location"]
    other = Upstream(tokens={TOKEN: {"feedback"}})
    with serve(make_upstream(other)) as port:
        _link(client, f"http://127.0.0.1:{port}")
        assert other.requests == [("GET", "/api/v1/registry/evaluations")]  # the token's check
        other.requests.clear()
        page = client.get(location).text
        assert "sent to another upstream registry" in page and "No Balinese" in page
        response = client.post(location + "/balas", data={"body": "Still there?"})
    assert response.status_code == 400
    assert other.requests == [] and len(state.evaluations[0]["replies"]) == 0


@pytest.mark.balai_config(REGISTRY_URL_PER_REGION=False)
def test_the_operator_may_keep_every_region_on_the_deployments_address(
    app, client, admin, tenant, state, upstream_url
):
    app.config["REGISTRY_URL"] = upstream_url
    assert 'name="url"' not in client.get("/admin/registri").text
    _link(client, "http://10.0.0.1:8080")  # ignored: only the token is the region's
    with db.tenant_session(tenant.id) as session:
        assert session.scalar(select(UpstreamLink.url)) is None
    assert _send(client).status_code == 302
    assert len(state.evaluations) == 1


def test_a_regions_archive_keeps_the_address_but_not_the_token(app, tenant, tmp_path):
    with db.tenant_session(tenant.id) as session:
        services.save_link(session, tenant.id, app, url="https://hulu.example.go.id", token=TOKEN)
    manifest = export_tenant(app, tenant.slug, tmp_path / "a.zip")
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        rows = archive.read("tables/balai_upstream_link.jsonl").decode().splitlines()
    [row] = [json.loads(line) for line in rows]
    assert row["url"] == "https://hulu.example.go.id" and row["token"] is None
    assert "upstream registry token" in manifest["dropped"]


@pytest.mark.parametrize("url", ["javascript:alert(document.domain)", "data:text/html,x", "/x"])
def test_only_a_web_address_from_the_upstream_becomes_a_link(db_session, url):
    item = {"id": 7, "plugin": "balai-pengumuman", "version": "0.1.0", "title": "T", "url": url}
    kept = services.store_evaluation(db_session, "http://hulu.example", item, utcnow())
    assert kept is not None and kept.url is None
    item["url"] = "https://hulu.example/registry/kelola/evaluasi/7"
    kept = services.store_evaluation(db_session, "http://hulu.example", item, utcnow())
    assert kept.url == item["url"]


# -- a derived plugin sent with an evaluation ------------------------------------------

DERIVED = "balai_pengumuman_bali-0.1.0-py3-none-any.whl"


def _wheel(name: str = "balai_pengumuman_bali") -> bytes:
    """A tiny wheel: the region checks only the file's name, kind and size."""
    out = BytesIO()
    stamp = (2026, 1, 1, 0, 0, 0)  # fixed, so two builds give the same bytes
    with zipfile.ZipFile(out, "w") as wheel:
        info = f"{name}-0.1.0.dist-info"
        metadata = f"Metadata-Version: 2.1\nName: {name}\n"
        wheel.writestr(zipfile.ZipInfo(f"{info}/METADATA", stamp), metadata)
        wheel.writestr(zipfile.ZipInfo(f"{info}/RECORD", stamp), "")
    return out.getvalue()


def test_a_derived_plugin_goes_with_the_evaluation_and_its_status_comes_back(
    app, client, admin, tenant, state, upstream_url
):
    _link(client, upstream_url)
    response = _send(client, derived=(BytesIO(_wheel()), DERIVED))
    assert response.status_code == 302, response.text
    [sent] = state.evaluations
    assert sent["title"] == "No Balinese" and sent["plugin"] == "balai-pengumuman"
    assert state.files == {DERIVED: _wheel()}
    assert sent["derived"]["status"] == "pending"
    thread = client.get(response.headers["Location"]).text
    assert f"<code>{DERIVED}</code> &mdash; waiting for its checks" in thread
    assert thread.count("Derived plugin") == 1  # the heading, not repeated in its line
    assert f'href="{sent["derived"]["url"]}"' in thread

    state.check_derived(1, "checked", passed=True)  # the thread asks the upstream again
    thread = client.get(response.headers["Location"]).text
    assert "checks passed, awaiting a decision" in thread

    state.check_derived(1, "published")
    result = app.test_cli_runner().invoke(
        cli, ["jobs", "run", "core.sync-evaluations", "--tenant", tenant.slug]
    )
    assert result.exit_code == 0, result.output
    with db.tenant_session(tenant.id) as session:
        row = session.scalar(select(UpstreamEvaluation))
        assert (row.derived["filename"], row.derived["status"]) == (DERIVED, "published")


def test_an_evaluation_without_a_derived_plugin_keeps_none(client, admin, tenant, upstream_url):
    _link(client, upstream_url)
    location = _send(client).headers["Location"]
    assert "Derived plugin:" not in client.get(location).text
    with db.tenant_session(tenant.id) as session:
        assert session.scalar(select(UpstreamEvaluation.derived)) is None


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("pengumuman.zip", _wheel(), "Choose a wheel (.whl) or an sdist (.tar.gz) file."),
        ("balai_bali-x.y-py3-none-any.whl", _wheel(), "not that of a Python distribution"),
        ("pengumuman_bali-0.1.0-py3-none-any.whl", _wheel(), "must start with balai-"),
        (DERIVED, b"", "The file is empty."),
        (DERIVED, b"#!/bin/sh\nrm -rf /\n", "cannot be read as one"),
        ("balai_bali-0.1.0.tar.gz", _wheel(), "cannot be read as one"),  # a zip, not gzip
        (DERIVED, _wheel() + b"x" * 1000, "The file may be at most"),
    ],
)
def test_a_wrong_derived_file_names_its_field_and_sends_nothing(
    client, admin, state, upstream_url, monkeypatch, filename, content, message
):
    monkeypatch.setattr(services, "DERIVED_MAX_BYTES", 1000)
    _link(client, upstream_url)
    response = _send(client, derived=(BytesIO(content), filename))
    assert response.status_code == 400
    assert 'id="derived-error"' in response.text and message in response.text
    assert "Nothing was sent" in response.text
    assert state.evaluations == [] and state.files == {}
    assert ("POST", "/api/v1/registry/evaluations/derived") not in state.requests


def test_a_token_without_upload_sends_no_derived_plugin(client, admin, state, upstream_url):
    _link(client, upstream_url, token=OTHER)  # feedback only
    response = _send(client, derived=(BytesIO(_wheel()), DERIVED))
    assert response.status_code == 400
    assert 'id="derived-error"' in response.text
    assert "allows both feedback and upload" in response.text
    assert state.evaluations == [] and state.files == {}
    # Without the file the same token sends the evaluation.
    assert _send(client).status_code == 302


def test_the_upstreams_refusal_of_the_file_is_shown_on_its_field(
    client, admin, state, upstream_url
):
    state.taken.add("balai-pengumuman-bali")
    _link(client, upstream_url)
    response = _send(client, derived=(BytesIO(_wheel()), DERIVED))
    assert response.status_code == 400
    assert 'id="derived-error"' in response.text
    # Only which field was refused: nothing the upstream wrote is echoed.
    assert "The upstream registry refused this value." in response.text
    assert "belongs to another partner region" not in response.text
    assert state.evaluations == []


def test_an_older_upstream_without_derived_plugins_says_so(client, admin, state, upstream_url):
    state.takes_derived = False
    _link(client, upstream_url)
    response = _send(client, derived=(BytesIO(_wheel()), DERIVED))
    assert response.status_code == 400
    assert 'id="derived-error"' in response.text
    assert "does not take derived plugins yet" in response.text
    assert state.evaluations == []


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="id")
def test_the_derived_field_speaks_indonesian(client, admin):
    page = client.get("/admin/evaluasi/baru").text
    assert "Plugin turunan (opsional)" in page
