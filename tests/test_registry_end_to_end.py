"""The registry's acceptance, end to end, between two live Balai instances.

Four plugins are made with ``balai plugins new`` and three of them broken on purpose,
each by the smallest change: ``pasar`` has a route that declares no access, ``sawah``
lists the entries of every region, ``ladang`` has a migration that fails. Their wheels
are built (offline) and sent with twine to instance U, where Kota Tangerang runs the
registry (served on 127.0.0.1, the region's domain). U's job runner runs the real plugin
check on each, in bubblewrap; the maintainer reads each report page, sees every bad one
refused with the failing check named and why, rejects them and publishes the good one,
``taman``.

Instance B, on a database of its own and in a throw-away virtual environment, then runs
``balai plugins install taman --registry <U>`` (pip and the plugin's migrations), switches
it on for Kota A only, and serves it: its page answers in Kota A and is 404 in Kota B.
Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from databases import second_database
from flask import Flask
from flask.testing import FlaskClient
from throwaway import child_env, throwaway_python

from balai.auth.accounts import create_user
from balai.cli import cli
from balai.db import db
from balai.plugincheck._run import NO_SANDBOX, sandbox_program
from balai.tenancy import create_tenant
from balai.tenancy import enable_plugin as switch_on
from balai.testing import PASSWORD, serve

pytest.importorskip("balai_registry")
from balai_registry import services as registry

pytestmark = [
    # Messages are translatable; this test reads them in English.
    pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en"),
    # The registry checks uploaded code only in bubblewrap; without it every check errs.
    pytest.mark.skipif(sandbox_program() is None, reason=NO_SANDBOX),
]

MAINTAINER = "maintainer@tangerang.test"
GOOD = "taman"
VERSION = "0.1.0"

#: The smallest change that breaks each bad plugin: (file in the package, old, new).
BREAKAGES: dict[str, list[tuple[str, str, str]]] = {
    "pasar": [  # the officers' page declares no access
        ("views.py", "@require(MANAGE)\ndef manage()", "def manage()"),
        ("views.py", "import public, require\n", "import public\n"),
    ],
    "sawah": [  # the public list reads the entries of every region
        (
            "views.py",
            "    found = services.list_items(db.session, number, PER_PAGE)\n",
            "    with db.all_tenants() as every:\n"
            "        found = services.list_items(every, number, PER_PAGE)\n",
        ),
    ],
    "ladang": [  # the migration creates a column twice
        (
            "migrations/versions/0001_ladang.py",
            '        sa.Column("title", sa.String(length=200), nullable=False),\n',
            '        sa.Column("title", sa.String(length=200), nullable=False),\n' * 2,
        ),
    ],
}

#: The check each bad plugin fails, and the reason its report gives.
REFUSALS = {
    "pasar": ("routes", "/pasar/kelola (pasar.manage): the view declares no access"),
    "sawah": ("sweep", "shows B's"),
    "ladang": ("migrations-sqlite", "upgrade failed"),
}


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(  # noqa: S603 - our own interpreters and arguments
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The wheel of each plugin, made by ``balai plugins new`` (and broken), built once."""
    sources = tmp_path_factory.mktemp("sources")
    house = tmp_path_factory.mktemp("wheelhouse")
    runner = CliRunner(env={"FLASK_RUN_FROM_CLI": "false"})
    for name in (GOOD, *BREAKAGES):
        made = runner.invoke(cli, ["plugins", "new", name, "--dir", str(sources)])
        assert made.exit_code == 0, made.output
        target = sources / f"balai-{name}"
        for where, old, new in BREAKAGES.get(name, []):
            path = target / f"balai_{name}" / where
            text = path.read_text()
            assert text.count(old) == 1, (name, where, old)
            path.write_text(text.replace(old, new))
        _run(
            [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(house)],
            target,
        )
    found = {path.name.split("-")[0].removeprefix("balai_"): path for path in house.iterdir()}
    assert sorted(found) == sorted([GOOD, *BREAKAGES])
    return found


@pytest.fixture
def upstream(make_app: Callable[..., Flask]) -> Any:
    """Instance U: Kota Tangerang at 127.0.0.1 runs the registry; a partner token that
    may upload, and the maintainer's account."""
    app = make_app()
    with app.app_context():
        tenant = create_tenant(app, "tangerang", "Kota Tangerang", ["127.0.0.1"])
        switch_on(app, tenant, "registry", by="test")
    with app.app_context(), db.tenant_session(tenant.id) as session:
        create_user(
            session,
            tenant_id=tenant.id,
            email=MAINTAINER,
            name="maintainer",
            role="admin",
            password=PASSWORD,
        )
        _partner, token = registry.issue_partner(
            session, "Kabupaten Lebak", "diskominfo@lebak.test", ["upload"], None
        )
        session.commit()
    return app, token


def _maintainer(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.host = "127.0.0.1"  # type: ignore[attr-defined]
    form = {"email": MAINTAINER, "password": PASSWORD}
    assert client.post("/masuk", data=form).status_code == 302
    return client


def _report_pages(client: FlaskClient) -> dict[str, str]:
    """Each submission's report page, by plugin name, from the maintainer's list."""
    listed = client.get("/registry/kelola/").text
    links = re.findall(r'href="(/registry/kiriman/[^"]+)">balai_(\w+)-', listed)
    return {name: link for link, name in links}


def _decide(client: FlaskClient, page: str, decision: str, comment: str = "") -> Any:
    action = re.search(r'action="(/registry/kelola/kiriman/\d+/putuskan)"', page)
    assert action, page
    return client.post(action.group(1), data={"decision": decision, "comment": comment})


LIVE_APP = """
import json, sys, urllib.error, urllib.request
from balai import create_app
from balai.testing import serve

opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
found = {}
with serve(create_app()) as port:
    for host, path in json.loads(sys.argv[1]):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
        request.add_header("Host", host)
        try:
            with opener.open(request, timeout=60) as response:
                found[host] = [response.status, response.read().decode()]
        except urllib.error.HTTPError as error:
            found[host] = [error.code, ""]
print(json.dumps(found))
"""


def test_bad_plugins_are_refused_and_a_good_one_is_installed_and_works(
    upstream, wheelhouse, tmp_path, monkeypatch
):
    app_u, token = upstream
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")  # FlaskGroup sets it; keep it here
    with serve(app_u) as port:
        url = f"http://127.0.0.1:{port}"

        # A partner region sends the four wheels with twine, as its developers would.
        twine = [sys.executable, "-m", "twine", "upload", "--non-interactive"]
        twine += ["--disable-progress-bar", "--repository-url", f"{url}/registry/legacy/"]
        twine += ["--username", "__token__", "--password", token]
        _run([*twine, *map(str, wheelhouse.values())], tmp_path, child_env())

        # U's job runner checks each of them for real, in the sandbox.
        ran = app_u.test_cli_runner().invoke(cli, ["jobs", "run-due"])
        assert ran.exit_code == 0, ran.output
        assert ran.output.count("checks passed") == 1, ran.output
        assert ran.output.count("checks did not pass") == 3, ran.output

        maintainer = _maintainer(app_u)
        pages = _report_pages(maintainer)
        assert sorted(pages) == sorted(wheelhouse), pages

        # Each bad one: its page names the failing check and why; it cannot be published.
        for name, (check, reason) in REFUSALS.items():
            page = maintainer.get(pages[name]).text
            assert "Some checks did not pass." in page, page
            failed = re.findall(r'<h3>([\w-]+): <span class="status failed">', page)
            assert check in failed, (name, failed)
            assert reason in html.unescape(page), (name, reason)
            assert 'value="publish"' not in page
            assert _decide(maintainer, page, "publish").status_code == 422
            rejected = _decide(maintainer, page, "reject", f"{check}: {reason}")
            assert rejected.status_code == 302
            assert "rejected" in maintainer.get(pages[name]).text

        # The good one passed every check; the maintainer publishes it.
        page = maintainer.get(pages[GOOD]).text
        # (a wheel ships no tests: that check, at least, is skipped, and said so)
        assert re.search(r"Passed, \d+ checks? skipped\.|Every check passed\.", page), page
        assert _decide(maintainer, page, "publish").status_code == 302
        index = maintainer.get("/registry/simple/").text
        assert f"balai-{GOOD}" in index
        assert not any(f"balai-{name}" in index for name in REFUSALS)

        # Instance B installs it from U into its own environment and database.
        with second_database(tmp_path, "adopting") as database:
            python = throwaway_python(tmp_path / "venv")
            env = child_env(
                BALAI_INSTANCE_PATH=str(tmp_path / "adopting"),
                BALAI_SECRET_KEY="adopting-secret-key",
                BALAI_DATABASE_URL=database,
                NO_PROXY="127.0.0.1",
            )

            def balai(*args: str) -> str:
                return _run([str(python), "-m", "balai", *args], tmp_path, env)

            installed = balai("plugins", "install", GOOD, "--registry", url)
            assert f"{GOOD} {VERSION} terpasang" in installed  # the deployment speaks Indonesian
            for slug in ("kota-a", "kota-b"):
                balai("tenants", "create", slug, "--name", slug, "--domain", f"{slug}.test")
            balai("plugins", "enable", GOOD, "--tenant", "kota-a")
            asked = json.dumps([["kota-a.test", f"/{GOOD}/"], ["kota-b.test", f"/{GOOD}/"]])
            served = json.loads(_run([str(python), "-c", LIVE_APP, asked], tmp_path, env))
        status, body = served["kota-a.test"]
        assert status == 200 and "<h1>Taman</h1>" in body, body
        assert served["kota-b.test"][0] == 404
    with pytest.raises(ModuleNotFoundError):  # this environment was left alone
        __import__(f"balai_{GOOD}")
