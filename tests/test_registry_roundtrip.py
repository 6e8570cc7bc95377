"""The registry's round trip between two live Balai apps, each with its own database.

App U (upstream) runs the registry plugin for Kota Tangerang, served by
:func:`balai.testing.serve` on 127.0.0.1: the region's domain is ``127.0.0.1``, so the
address its partners save, ``http://127.0.0.1:<port>``, reaches it (a region is found by
its host name without the port). App A (adopting, Kabupaten Lebak) has a database of its
own (a second SQLite file, or a second PostgreSQL database when
``BALAI_TEST_DATABASE_URL`` is set) and CSRF on; its region admin links A to U with the
token U's maintainer issued, sends an evaluation through the real form (with a patch and
a derived plugin, a wheel built here), and reads U's answer. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest
from databases import second_database
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from balai import storage
from balai.auth.accounts import create_user
from balai.cli import cli
from balai.db import db, utcnow
from balai.tenancy import TenantInfo, create_tenant
from balai.tenancy import enable_plugin as switch_on
from balai.testing import (
    PASSWORD,
    csrf_token,
    make_test_app,
    serve,
)

pytest.importorskip("balai_registry")
from balai_registry import services as registry
from balai_registry.models import Submission

# Messages are translatable; these tests read them in English.
pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

PLUGIN = "balai-pengumuman"
#: The derived plugin Kabupaten Lebak sends with its evaluation, under a new name.
DERIVED = "balai-pengumuman-sunda"
VERSION = installed_version(PLUGIN)
MAINTAINER = "maintainer@tangerang.test"
REGION_ADMIN = "admin@lebak.test"


def _user(app: Flask, tenant: TenantInfo, email: str) -> None:
    with app.app_context(), db.all_tenants() as session:
        create_user(
            session,
            tenant_id=tenant.id,
            email=email,
            name=email.split("@")[0],
            role="admin",
            password=PASSWORD,
        )


def _client(app: Flask, host: str, email: str) -> FlaskClient:
    """A region admin logged in at ``host`` (with the CSRF token when the app asks)."""
    client = app.test_client()
    client.host = host  # type: ignore[attr-defined]
    form = {"email": email, "password": PASSWORD}
    if app.config.get("WTF_CSRF_ENABLED"):
        form["csrf_token"] = csrf_token(client, "/masuk")
    assert client.post("/masuk", data=form).status_code == 302
    return client


def _wheel(folder: Path, project: str = PLUGIN) -> tuple[Path, bytes]:
    """A wheel of ``project`` (``balai-pengumuman``) at the installed version: metadata only."""
    package = project.replace("-", "_")
    info = f"{package}-{VERSION}.dist-info"
    files = {
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {project}\nVersion: {VERSION}\n"
            "Summary: Pengumuman daerah\nRequires-Dist: balai>=0.1\n"
        ),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n",
        f"{info}/entry_points.txt": f"[balai.plugins]\npengumuman = {package}.plugin\n",
    }
    path = folder / f"{package}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
        wheel.writestr(f"{info}/RECORD", "")
    return path, path.read_bytes()


def _publish(app: Flask, tenant: TenantInfo, folder: Path) -> None:
    """Publish the wheel on U as the upstream region's own upload (the project's own
    distributions are reserved to it), checked and decided."""
    path, data = _wheel(folder)
    digest = hashlib.sha256(data).hexdigest()
    with app.app_context(), db.tenant_session(tenant.id) as session:
        sender, _token = registry.issue_partner(
            session, "Kota Tangerang", "ti@tangerang.test", ["upload"], None, upstream=True
        )
        upload = registry.Upload(
            "file_upload", PLUGIN, VERSION, "bdist_wheel", digest, path.name, data
        )
        submission, _metadata = registry.accept_upload(session, sender, upload)
        files = storage.for_tenant(tenant.id).within("registry")
        files.put(registry.file_key(digest, path.name), data)
        registry.record_check(
            submission, {"passed": True, "checks": [], "inspection": {}}, utcnow()
        )
        registry.decide(submission, True, "", None, utcnow())
        session.commit()


def _token(app: Flask, tenant: TenantInfo) -> str:
    with app.app_context(), db.tenant_session(tenant.id) as session:
        _partner, token = registry.issue_partner(
            session,
            "Kabupaten Lebak",
            "diskominfo@lebak.test",
            ["feedback", "upload", "report"],
            None,
        )
        session.commit()
    return token


def _form(client: FlaskClient, path: str, **fields: object) -> dict[str, object]:
    return {"csrf_token": csrf_token(client, path), **fields}


@pytest.fixture
def upstream(make_app: Callable[..., Flask]) -> Iterator[tuple[Flask, TenantInfo, int]]:
    """App U on the session's database, Kota Tangerang running the registry, served."""
    app = make_app()
    with app.app_context():
        tenant = create_tenant(app, "tangerang", "Kota Tangerang", ["127.0.0.1"])
        switch_on(app, tenant, "registry", by="test")
    _user(app, tenant, MAINTAINER)
    with serve(app) as port:
        yield app, tenant, port


@pytest.fixture
def adopting(tmp_path: Path) -> Iterator[tuple[Flask, TenantInfo]]:
    """App A on a database of its own, CSRF on, Kabupaten Lebak running pengumuman."""
    with second_database(tmp_path, "adopting") as url:
        app = make_test_app(
            {
                "DATABASE_URL": url,
                "INSTANCE_PATH": str(tmp_path / "adopting"),
                "WTF_CSRF_ENABLED": True,
                "BABEL_DEFAULT_LOCALE": "en",
            }
        )
        with app.app_context():
            tenant = create_tenant(app, "lebak", "Kabupaten Lebak", ["lebak.test"])
            switch_on(app, tenant, "pengumuman", by="test")
        _user(app, tenant, REGION_ADMIN)
        try:
            yield app, tenant
        finally:
            db.engine_for(app).dispose()


def test_an_evaluation_and_a_usage_report_go_up_and_the_answers_come_back(
    upstream, adopting, tmp_path
):
    app_u, tangerang, port = upstream
    app_a, lebak = adopting
    url = f"http://127.0.0.1:{port}"
    _publish(app_u, tangerang, tmp_path)
    token = _token(app_u, tangerang)
    derived_path, derived_data = _wheel(tmp_path, DERIVED)
    maintainer = _client(app_u, "127.0.0.1", MAINTAINER)
    admin = _client(app_a, "lebak.test", REGION_ADMIN)

    # A's region admin links A to U, then sends an evaluation through the form.
    saved = admin.post(
        "/admin/registri", data=_form(admin, "/admin/registri", url=url, token=token)
    )
    assert saved.status_code == 302, saved.text
    new = "/admin/evaluasi/baru"
    sent = admin.post(
        new,
        data=_form(
            admin,
            new,
            plugin="pengumuman",
            severity="high",
            title="Pengumuman tanpa aksara Sunda",
            body="Pengumuman tidak dapat ditulis dalam aksara Sunda.",
            patch=(io.BytesIO(b"--- a/x.py\n+++ b/x.py\n"), "fix.patch"),
            derived=(io.BytesIO(derived_data), derived_path.name),
        ),
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302, sent.text
    thread_a = sent.headers["Location"]

    # The derived wheel became an ordinary pending submission of U, linked to the thread.
    with app_u.app_context(), db.tenant_session(tangerang.id) as session:
        [submission] = [s for s in session.scalars(select(Submission)) if s.project == DERIVED]
        assert (submission.status, submission.partner.region) == ("pending", "Kabupaten Lebak")
        assert submission.evaluation_id is not None
        key, submission_id = submission.key, submission.id
        files = storage.for_tenant(tangerang.id).within("registry")
        assert files.read(registry.file_key(submission.sha256, derived_path.name)) == derived_data
    page = admin.get(thread_a).text
    assert derived_path.name in page and "waiting for its checks" in page
    assert f'/registry/kiriman/{key}" rel="noopener noreferrer"' in page  # U's report page

    # U's maintainer sees it, named by the distribution, from Kabupaten Lebak.
    listed = maintainer.get(f"/registry/kelola/evaluasi?plugin={PLUGIN}")
    assert listed.status_code == 200 and "Pengumuman tanpa aksara Sunda" in listed.text
    found = re.search(r'href="/registry/kelola/evaluasi/(\d+)"', listed.text)
    assert found, listed.text
    thread_u = f"/registry/kelola/evaluasi/{found.group(1)}"
    page = maintainer.get(thread_u).text
    assert "Kabupaten Lebak" in page and PLUGIN in page and VERSION in page
    assert derived_path.name in page and f'href="/registry/kiriman/{key}"' in page

    # The check runs (its outcome recorded here: the job needs a sandbox); the
    # maintainer publishes it from its report page, and A's thread shows it.
    with app_u.app_context(), db.tenant_session(tangerang.id) as session:
        checked = session.get(Submission, submission_id)
        registry.record_check(checked, {"passed": True, "checks": [], "inspection": {}}, utcnow())
        session.commit()
    decided = maintainer.post(
        f"/registry/kelola/kiriman/{submission_id}/putuskan", data={"decision": "publish"}
    )
    assert decided.status_code == 302, decided.text
    page = admin.get(thread_a).text
    assert derived_path.name in page and "published" in page

    # The maintainer replies and plans a fix; A's thread shows both after syncing.
    answered = maintainer.post(
        thread_u, data={"body": "Direncanakan untuk versi berikut.", "status": "planned"}
    )
    assert answered.status_code == 302, answered.text
    page = admin.get(thread_a).text
    assert "Direncanakan untuk versi berikut." in page and "planned" in page
    assert f">Pengumuman {VERSION}<" in page  # the admin reads the title
    assert "planned" in admin.get("/admin/evaluasi").text

    # A's admin replies back, and U sees it.
    replied = admin.post(
        thread_a + "/balas", data=_form(admin, thread_a, body="Terima kasih, kami tunggu.")
    )
    assert replied.status_code == 302, replied.text
    assert "Terima kasih, kami tunggu." in maintainer.get(thread_u).text

    # The usage report: U's plugin page lists Kabupaten Lebak as running this version.
    before = maintainer.get(f"/registry/{PLUGIN}/").text
    assert "Kabupaten Lebak" not in before
    result = app_a.test_cli_runner().invoke(cli, ["registry", "report", "--tenant", lebak.slug])
    assert result.exit_code == 0, result.output
    assert f"reported {lebak.slug} to {url}" in result.output
    plugin_page = maintainer.get(f"/registry/{PLUGIN}/").text
    running = re.search(r'<section class="running">(.*?)</section>', plugin_page, re.S)
    assert running, plugin_page
    reported = "Kabupaten Lebak (reported by Kabupaten Lebak)"
    assert f"<dt>{VERSION}</dt><dd>{reported}</dd>" in running.group(1)


def test_the_commands_find_a_plugin_by_its_short_or_its_distribution_name(
    upstream, adopting, tmp_path
):
    app_u, tangerang, port = upstream
    app_a, _lebak = adopting
    _publish(app_u, tangerang, tmp_path)
    runner = app_a.test_cli_runner()
    url = f"http://127.0.0.1:{port}"
    for name in ("pengumuman", PLUGIN):
        # info needs no instance: it reads the deployment's language as the shell gives it.
        shown = runner.invoke(
            cli,
            ["plugins", "info", name, "--registry", url],
            env={"BALAI_BABEL_DEFAULT_LOCALE": "en"},
        )
        assert shown.exit_code == 0, shown.output
        assert f"{PLUGIN} (plugin)" in shown.output and f"installed: {VERSION}" in shown.output
        upgraded = runner.invoke(cli, ["plugins", "upgrade", name, "--registry", url])
        assert upgraded.exit_code == 0, upgraded.output
        assert f"{VERSION} is the newest version" in upgraded.output
    found = runner.invoke(cli, ["plugins", "search", "pengumuman", "--registry", url])
    assert found.exit_code == 0 and PLUGIN in found.output
