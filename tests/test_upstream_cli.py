"""``balai plugins search|info|install|upgrade`` and ``balai registry report`` against a
stand-in upstream served over HTTP. Installing runs the real pip, into a throw-away
virtual environment that sees this one's packages (never into this one)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest
from throwaway import child_env, throwaway_python
from upstream import Release, Upstream, make_upstream

from balai import __version__
from balai.cli import cli
from balai.db import db
from balai.testing import serve
from balai.upstream import install, services

pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

TOKEN = "balai-reg-kota-a-0123456789"
FITS = ">=0.1,<1"
TOO_NEW = ">=9"


@pytest.fixture
def state() -> Upstream:
    found = Upstream(tokens={TOKEN: {"report", "feedback"}})
    found.add_plugin(
        "pengumuman",
        Release("0.1.0", FITS),
        Release("0.9.0", TOO_NEW),
        summary="Announcements of a region",
    )
    found.add_plugin("future", Release("2.0.0", TOO_NEW), summary="Needs a newer core")
    return found


@pytest.fixture
def upstream_url(state: Upstream) -> Iterator[str]:
    with serve(make_upstream(state)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def run(app, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"no process may start here: {args}")

    monkeypatch.setattr(subprocess, "run", refuse)  # pip and migrations stay untouched
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(cli, list(args))


def test_search_lists_plugins_and_whether_they_fit_this_core(run, upstream_url):
    result = run("plugins", "search", "announce", "--registry", upstream_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["NAME", "LATEST", "CORE", "FITS"]
    assert lines[1].split()[:4] == ["balai-pengumuman", "0.9.0", TOO_NEW, "no"]


def test_search_marks_a_plugin_whose_every_version_is_yanked(run, upstream_url, state):
    state.add_plugin("kios", Release("0.1.0", FITS, yanked=True), summary="A yanked kiosk")
    result = run("plugins", "search", "kiosk", "--registry", upstream_url)
    assert result.exit_code == 0, result.output
    row = result.output.splitlines()[1]
    assert row.split()[:5] == ["balai-kios", "0.1.0", FITS, "no", "(yanked)"]


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="id")
def test_the_commands_speak_the_deployments_language(run, upstream_url):
    found = run("plugins", "search", "nothing-like-this", "--registry", upstream_url)
    assert found.exit_code == 0 and found.output.strip() == "tidak ada plugin yang ditemukan"
    listed = run("plugins", "search", "announce", "--registry", upstream_url)
    assert listed.output.split()[:5] == ["NAMA", "TERBARU", "INTI", "COCOK", __version__]
    shown = run("plugins", "info", "pengumuman", "--registry", upstream_url)
    assert f"terpasang: {installed_version('balai-pengumuman')}" in shown.output
    assert ["VERSI", "INTI", "COCOK", __version__] in [
        line.split() for line in shown.output.splitlines()
    ]
    missing = run("plugins", "search")
    assert missing.exit_code == 1
    assert "tidak ada registri: beri --registry URL, atau atur REGISTRY_URL" in missing.output
    refused = run("plugins", "install", "future", "--registry", upstream_url)
    assert refused.exit_code == 1
    assert (
        f"future 2.0.0 memerlukan inti Balai '{TOO_NEW}', sedangkan inti yang terpasang "
        f"{__version__}, dan tidak ada versi future yang cocok"
    ) in " ".join(refused.output.split())


def test_info_shows_every_version_with_its_core_range(run, upstream_url):
    result = run("plugins", "info", "pengumuman", "--registry", upstream_url)
    assert result.exit_code == 0, result.output
    assert f"installed: {installed_version('balai-pengumuman')}" in result.output
    rows = [line.split() for line in result.output.splitlines() if line[:1].isdigit()]
    assert rows == [["0.9.0", TOO_NEW, "no"], ["0.1.0", FITS, "yes"]]


@pytest.mark.balai_config(REGISTRY_URL=None)
def test_without_a_registry_the_commands_say_how_to_name_one(run):
    result = run("plugins", "search")
    assert result.exit_code == 1
    assert "give --registry URL, or set REGISTRY_URL" in result.output


def test_info_names_the_plugin_the_registry_does_not_have(run, upstream_url):
    result = run("plugins", "info", "nope", "--registry", upstream_url)
    assert result.exit_code == 1
    assert f"the registry at {upstream_url} has no plugin balai-nope" in result.output


def _without_instance(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``balai *args`` in a folder with no instance: no balai.cfg, no secret key."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BALAI_", "FLASK_"))}
    clean.update(BALAI_INSTANCE_PATH=str(tmp_path / "instance"), **env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "balai", *args],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_search_and_info_need_no_instance(upstream_url, tmp_path):
    found = _without_instance(tmp_path, "plugins", "search", "--registry", upstream_url)
    assert found.returncode == 0, found.stderr
    assert "balai-pengumuman" in found.stdout and "SECRET_KEY" not in found.stderr
    info = _without_instance(
        tmp_path, "plugins", "info", "pengumuman", BALAI_REGISTRY_URL=upstream_url
    )
    assert info.returncode == 0, info.stderr
    assert "0.9.0" in info.stdout
    none = _without_instance(tmp_path, "plugins", "search")
    assert none.returncode == 1
    assert "tidak ada registri: beri --registry URL" in none.stderr
    assert "SECRET_KEY" not in none.stderr
    assert not (tmp_path / "instance").exists()  # nothing was written


def test_without_an_app_search_and_info_speak_the_instances_language(upstream_url, tmp_path):
    """As the shell runs them, with no app: the instance's language, else Indonesian."""
    bare = _without_instance(tmp_path, "plugins", "search", "announce", "--registry", upstream_url)
    assert bare.stdout.split()[:4] == ["NAMA", "TERBARU", "INTI", "COCOK"], bare.stderr
    info = _without_instance(tmp_path, "plugins", "info", "future", "--registry", upstream_url)
    assert "terpasang: tidak" in info.stdout and "installed" not in info.stdout, info.stderr
    gone = _without_instance(tmp_path, "plugins", "info", "nope", "--registry", upstream_url)
    assert f"registri di {upstream_url} tidak memiliki plugin balai-nope" in gone.stderr
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "balai.cfg").write_text("BABEL_DEFAULT_LOCALE = 'en'\n")
    english = _without_instance(tmp_path, "plugins", "info", "future", "--registry", upstream_url)
    assert "installed: no" in english.stdout, english.stderr


def test_an_unreachable_registry_is_one_line(run):
    result = run("plugins", "info", "x", "--registry", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert "cannot be reached" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            ["future"],
            f"future 2.0.0 requires Balai core '{TOO_NEW}', but the installed core is "
            f"{__version__}, and no version of future fits core {__version__}: upgrade the "
            "core to a version inside that range first",
        ),
        (["pengumuman2"], "has no plugin balai-pengumuman2"),
    ],
)
def test_install_is_refused_outside_the_core_range_before_pip_runs(run, upstream_url, args, reason):
    result = run("plugins", "install", *args, "--registry", upstream_url)
    assert result.exit_code == 1
    assert reason in result.output


def test_a_pinned_version_outside_the_core_range_is_refused(run, upstream_url, state):
    state.add_plugin("kios", Release("1.0.0", FITS), Release("1.1.0", TOO_NEW))
    result = run("plugins", "install", "kios", "--version", "1.1.0", "--registry", upstream_url)
    assert result.exit_code == 1
    assert (
        f"kios 1.1.0 requires Balai core '{TOO_NEW}', but the installed core is {__version__}: "
        "install a version that fits this core ('balai plugins info kios' lists which do), "
        "or upgrade the core first"
    ) in " ".join(result.output.split())


def test_upgrade_stays_when_the_newer_version_needs_another_core(run, upstream_url):
    result = run("plugins", "upgrade", "pengumuman", "--registry", upstream_url)
    assert result.exit_code == 0, result.output
    present = installed_version("balai-pengumuman")
    assert f"pengumuman {present} is the newest version for core {__version__}" in result.output
    assert (
        f"(pengumuman 0.9.0 requires Balai core '{TOO_NEW}', but the installed core is "
        f"{__version__}: upgrade the core first to use 0.9.0)"
    ) in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("present", "expected"),
    [(None, "1.1.0"), ("1.0.0", "1.1.0"), ("1.1.0", None), ("1.2.0", None)],
)
def test_the_newest_compatible_release_is_chosen(present, expected):
    plugin = {
        "versions": [
            {"version": "2.0.0", "requires_core": TOO_NEW},
            {"version": "1.2.0", "requires_core": FITS, "yanked": True},
            {"version": "1.1.0", "requires_core": FITS},
            {"version": "1.0.0", "requires_core": ""},
        ]
    }
    chosen = install.choose_release("kios", plugin, newer_than=present)
    assert (str(chosen.version) if chosen else None) == expected


# -- the usage report ---------------------------------------------------------------


def test_the_report_names_the_instance_region_core_and_plugins(
    app, run, tenant, enable_plugin, state, upstream_url
):
    enable_plugin("pengumuman")
    with db.tenant_session(tenant.id) as session:
        services.save_link(session, tenant.id, app, url=upstream_url, token=TOKEN)
    for _ in range(2):
        result = run("registry", "report")
        assert result.exit_code == 0, result.output
        assert f"reported {tenant.slug} to {upstream_url}" in result.output
    first, second = state.reports
    assert first == second  # the same installation, the same id
    assert first["region"] == tenant.name and first["core_version"] == __version__
    assert first["plugins"] == [
        {"name": "balai-pengumuman", "version": installed_version("balai-pengumuman")}
    ]
    stored = (Path(app.instance_path) / "instance-id").read_text().strip()
    assert first["instance"] == stored and len(stored) == 36


def test_the_report_with_a_token_given_and_a_dry_run(app, run, tenant, state, upstream_url):
    shown = run("registry", "report", "--registry", upstream_url, "--token", TOKEN, "--dry-run")
    assert json.loads(shown.output)["region"] == tenant.name
    assert state.reports == []
    refused = run("registry", "report", "--registry", upstream_url, "--token", "balai-reg-no")
    assert refused.exit_code == 1 and "refused the region's registry token" in refused.output
    sent = run("registry", "report", "--registry", upstream_url, "--token", TOKEN)
    assert sent.exit_code == 0, sent.output
    assert [r["region"] for r in state.reports] == [tenant.name]


@pytest.mark.balai_config(REGISTRY_ALLOW_PRIVATE_ADDRESSES=False)
def test_a_region_refused_does_not_stop_the_others(
    app, run, tenant, other_tenant, state, upstream_url
):
    local = upstream_url.replace("127.0.0.1", "localhost")
    with db.tenant_session(tenant.id) as session:
        services.save_link(session, tenant.id, app, url=local, token=TOKEN)
    with db.tenant_session(other_tenant.id) as session:
        services.save_link(session, other_tenant.id, app, url=upstream_url, token=TOKEN)
    app.config["REGISTRY_URL"] = upstream_url  # the operator's address may be private

    result = run("registry", "report")

    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert f"Error: {tenant.slug}: {local} leads to a private" in said
    assert "set REGISTRY_ALLOW_PRIVATE_ADDRESSES = True in balai.cfg" in said
    assert "give the address with --registry" in said
    assert f"reported {other_tenant.slug} to {upstream_url}" in said
    assert f"not reported: {tenant.slug}" in said
    assert [r["region"] for r in state.reports] == [other_tenant.name]


def test_a_dry_run_skips_the_regions_the_real_run_skips(
    app, run, tenant, other_tenant, state, upstream_url
):
    with db.tenant_session(tenant.id) as session:
        services.save_link(session, tenant.id, app, url=upstream_url, token=TOKEN)

    shown = run("registry", "report", "--dry-run")

    assert shown.exit_code == 0, shown.output
    assert f"skipped {other_tenant.slug}: no registry address or token" in shown.output
    assert '"registry": null' not in shown.output
    report = shown.output[shown.output.index("{") : shown.output.rindex("}") + 1]
    assert json.loads(report)["region"] == tenant.name
    assert json.loads(report)["registry"] == upstream_url
    assert state.reports == []


def test_without_any_token_nothing_is_reported(run, tenant, upstream_url):
    result = run("registry", "report", "--registry", upstream_url)
    assert result.exit_code == 1
    assert f"skipped {tenant.slug}" in result.output and "nothing was reported" in result.output


# -- installing for real --------------------------------------------------------------

PLUGIN = '''"""A plugin made by the tests: one table."""
from balai import Manifest

manifest = Manifest(title="Greet", core="{core}")
'''
MIGRATION = '''"""greet: one table

Revision ID: greet_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "greet_0001"
down_revision = None
branch_labels = ("greet",)
depends_on = "0001"


def upgrade():
    op.create_table("greet_note", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade():
    op.drop_table("greet_note")
'''


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(
    folder: Path, version: str, *, tag: str = "py3-none-any", origin: str | None = None
) -> Path:
    """``balai_greet-<version>-<tag>.whl``: a plugin ``greet`` with a migration (and
    ``balai_greet.ORIGIN``, saying where it comes from, if given)."""
    info = f"balai_greet-{version}.dist-info"
    marker = f"ORIGIN = {origin!r}\n" if origin else ""
    files = {
        "balai_greet/__init__.py": PLUGIN.format(core=FITS) + marker,
        "balai_greet/migrations/versions/0001_greet.py": MIGRATION,
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: balai-greet\nVersion: {version}\nSummary: Greetings\n"
        ),
        f"{info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: {tag}\n"
        ),
        f"{info}/entry_points.txt": "[balai.plugins]\ngreet = balai_greet\n",
    }
    path = folder / f"balai_greet-{version}-{tag}.whl"
    record = [_record_line(name, text.encode()) for name, text in files.items()]
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
        wheel.writestr(f"{info}/RECORD", "\n".join([*record, f"{info}/RECORD,,"]) + "\n")
    return path


@pytest.fixture
def throwaway(tmp_path: Path) -> Path:
    """A virtual environment of its own that also sees this environment's packages."""
    return throwaway_python(tmp_path / "venv")


def _balai(
    python: Path, tmp_path: Path, *args: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = child_env(
        BALAI_INSTANCE_PATH=str(tmp_path / "instance"),
        BALAI_SECRET_KEY="test-secret-key",
        BALAI_DATABASE_URL=f"sqlite:///{tmp_path / 'instance' / 'balai.sqlite'}",
        **settings,
    )
    return subprocess.run(  # noqa: S603
        [str(python), "-m", "balai", *args], env=env, capture_output=True, text=True, timeout=600
    )


def _tables(tmp_path: Path) -> set[str]:
    with sqlite3.connect(tmp_path / "instance" / "balai.sqlite") as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


def _greet_version(python: Path) -> str:
    found = subprocess.run(  # noqa: S603
        [str(python), "-c", "import importlib.metadata as m; print(m.version('balai-greet'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip()


def test_install_then_upgrade_with_pip_and_the_plugins_migrations(
    tmp_path, throwaway, state, upstream_url
):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    state.add_plugin(
        "greet",
        Release("0.1.0", FITS, wheel=build_wheel(wheels, "0.1.0")),
        Release("0.2.0", FITS, wheel=build_wheel(wheels, "0.2.0")),
        Release("0.3.0", TOO_NEW, wheel=build_wheel(wheels, "0.3.0")),
    )
    installed = _balai(
        throwaway, tmp_path, "plugins", "install", "greet", "--version", "0.1.0",
        "--registry", upstream_url,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # The instance speaks its default language, Indonesian.
    assert "greet 0.1.0 terpasang" in installed.stdout
    assert "basis data sudah mutakhir" in installed.stdout
    assert "database is up to date" not in installed.stdout
    assert _greet_version(throwaway) == "0.1.0"
    assert "greet_note" in _tables(tmp_path)  # the plugin's migration ran
    listed = _balai(throwaway, tmp_path, "plugins", "list")
    assert "greet" in listed.stdout

    upgraded = _balai(
        throwaway, tmp_path, "plugins", "upgrade", "greet", "--registry", upstream_url
    )
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert "greet dinaikkan dari 0.1.0 ke 0.2.0" in upgraded.stdout  # 0.3.0 needs core 9
    assert _greet_version(throwaway) == "0.2.0"
    with pytest.raises(PackageNotFoundError):  # this environment was left alone
        installed_version("balai-greet")


# -- only the registry's own file ------------------------------------------------------

#: The most specific pure-Python tag of this interpreter, which pip prefers to ``py3``.
OWN_TAG = f"py{sys.version_info.major}{sys.version_info.minor}-none-any"


def _origin(python: Path) -> str:
    found = subprocess.run(  # noqa: S603
        [str(python), "-c", "import balai_greet; print(getattr(balai_greet, 'ORIGIN', '-'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip()


@pytest.fixture
def lookalike(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Another index offering its own ``balai-greet`` 0.1.0 (a wheel pip would prefer,
    with this interpreter's tag), and the URL of its simple index."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    other = Upstream()
    wheel = build_wheel(folder, "0.1.0", tag=OWN_TAG, origin="elsewhere")
    other.add_plugin("greet", Release("0.1.0", FITS, wheel=wheel))
    with serve(make_upstream(other)) as port:
        yield f"http://127.0.0.1:{port}/registry/simple/", wheel


def test_install_takes_the_registrys_file_whatever_other_indexes_offer(
    tmp_path, throwaway, state, upstream_url, lookalike
):
    elsewhere, _wheel = lookalike
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    state.add_plugin(
        "greet", Release("0.1.0", FITS, wheel=build_wheel(wheels, "0.1.0", origin="registry"))
    )
    installed = _balai(
        throwaway, tmp_path, "plugins", "install", "greet", "--registry", upstream_url,
        "--extra-index-url", elsewhere,
        PIP_INDEX_URL=elsewhere, PIP_EXTRA_INDEX_URL=elsewhere,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert _origin(throwaway) == "registry"
    assert _greet_version(throwaway) == "0.1.0"


def test_a_file_that_is_not_the_one_the_registry_lists_is_not_installed(
    tmp_path, throwaway, state, upstream_url, lookalike
):
    _elsewhere, other = lookalike
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    ours = build_wheel(wheels, "0.1.0", origin="registry")
    # The registry lists its own file and hash; the address serves the look-alike.
    state.add_plugin("greet", Release("0.1.0", FITS, wheel=ours, served=other))
    refused = _balai(throwaway, tmp_path, "plugins", "install", "greet", "--registry", upstream_url)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    expected = hashlib.sha256(ours.read_bytes()).hexdigest()
    got = hashlib.sha256(other.read_bytes()).hexdigest()
    assert (  # in the deployment's language, Indonesian by default
        f"Error: {ours.name} dari {upstream_url}/registry/files/{expected}/{ours.name} bukan "
        f"berkas yang tercantum di registri (SHA-256 {got}, registri mencantumkan {expected}): "
        "tidak ada yang dipasang"
    ) in refused.stderr
    with pytest.raises(subprocess.CalledProcessError):
        _greet_version(throwaway)
    assert "greet_note" not in _tables(tmp_path)
