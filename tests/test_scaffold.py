"""The author kit: ``balai plugins new`` and ``balai db revision --plugin``.

The scaffold is tested the way an author meets it: a plugin is generated into a
temporary folder, checked with ruff, installed (editable) into a throw-away virtual
environment that sees this one's packages, and its own tests run there; then a live
app of that environment enables it and serves its page and API. No network: pip
builds with the setuptools already installed here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from throwaway import throwaway_python

from balai import __version__
from balai.cli import cli
from balai.scaffold import core_range, new_plugin, spec_for
from balai.scaffold.commands import new_command

ROOT = Path(__file__).resolve().parent.parent
RUFF = [sys.executable, "-m", "ruff"]


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None, ok: bool = True) -> Any:
    done = subprocess.run(  # noqa: S603 - our own interpreter and ruff
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if ok:
        assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _ruff_is_clean(folder: Path) -> None:
    _run([*RUFF, "check", "--no-cache", "."], folder)
    _run([*RUFF, "format", "--check", "--no-cache", "."], folder)


# -- names and what is written -----------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.1.0", ">=0.1,<0.2"), ("1.12.3", ">=1.12,<1.13"), ("2", ">=2.0,<2.1")],
)
def test_core_range_is_the_running_minor_series(version, expected):
    assert core_range(version) == expected


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["Kebun"], "must be a lowercase identifier"),
        (["1kebun"], "must be a lowercase identifier"),
        (["kebun-raya"], "must be a lowercase identifier"),
        (["kebun__raya"], "must be a lowercase identifier"),
        (["class"], "must be a lowercase identifier"),
        (["k" * 21], "too long (at most 20 characters)"),
        (["api"], "reserved by the core"),
        (["pengumuman"], "a plugin named 'pengumuman' is already installed"),
        (["kebun", "--noun", "Plot"], "--noun 'Plot' must be a lowercase identifier"),
        (["kebun", "--title", 'Kebun "Kota"'], "--title must be 1 to 40 characters"),
        (["kebun", "--title", "   "], "--title must be 1 to 40 characters"),
        (["kebun", "--description", "x{y}"], "--description must be 1 to 200 characters"),
    ],
)
def test_bad_names_are_refused_and_nothing_is_written(tmp_path, args, reason):
    result = CliRunner().invoke(new_command, [*args, "--dir", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert reason in result.output
    assert list(tmp_path.iterdir()) == []


def test_the_commands_belong_to_the_balai_command(tmp_path, monkeypatch):
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")  # FlaskGroup sets it; keep it here
    monkeypatch.setenv("BALAI_INSTANCE_PATH", str(tmp_path / "no-instance"))
    result = CliRunner().invoke(cli, ["plugins", "new", "kebun", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "balai-kebun" / "balai_kebun" / "plugin.py").is_file()
    assert not (tmp_path / "no-instance").exists()  # no instance needed, none made
    usage = CliRunner().invoke(cli, ["db", "revision", "--help"])
    assert "--plugin" in usage.output


def test_an_existing_folder_is_refused(tmp_path):
    (tmp_path / "balai-kebun").mkdir()
    result = CliRunner().invoke(new_command, ["kebun", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "balai-kebun already exists" in result.output
    assert list((tmp_path / "balai-kebun").iterdir()) == []


def test_a_name_with_an_underscore_gets_the_normalised_distribution_name(tmp_path):
    result = CliRunner().invoke(new_command, ["pengumuman_sunda", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["balai-pengumuman-sunda"]
    target = tmp_path / "balai-pengumuman-sunda"
    assert f"wrote {target}" in result.output
    assert f"pip install -e {target}" in result.output
    project = tomllib.loads((target / "pyproject.toml").read_text())["project"]
    assert project["name"] == "balai-pengumuman-sunda"
    assert project["entry-points"]["balai.plugins"] == {
        "pengumuman_sunda": "balai_pengumuman_sunda.plugin"
    }
    assert (target / "balai_pengumuman_sunda" / "plugin.py").is_file()
    assert "pip install balai-pengumuman-sunda" in (target / "README.md").read_text()
    assert "balai plugins enable pengumuman_sunda" in result.output


def test_the_distribution_declares_the_plugin(tmp_path):
    result = CliRunner().invoke(
        new_command, ["kebun", "--dir", str(tmp_path), "--title", "Kebun Kota", "--noun", "plot"]
    )
    assert result.exit_code == 0, result.output
    target = tmp_path / "balai-kebun"
    project = tomllib.loads((target / "pyproject.toml").read_text())["project"]
    assert project["name"] == "balai-kebun"
    assert project["entry-points"]["balai.plugins"] == {"kebun": "balai_kebun.plugin"}
    assert project["dependencies"] == [f"balai{core_range(__version__)}"]
    plugin = (target / "balai_kebun" / "plugin.py").read_text()
    assert 'title="Kebun Kota"' in plugin
    assert f'core="{core_range(__version__)}"' in plugin
    assert '__tablename__ = "kebun_plot"' in (target / "balai_kebun" / "models.py").read_text()
    assert 'MANAGE = "kebun.manage_plot"' in (target / "balai_kebun" / "views.py").read_text()
    migration = target / "balai_kebun" / "migrations" / "versions" / "0001_kebun.py"
    assert 'branch_labels: str | Sequence[str] | None = ("kebun",)' in migration.read_text()
    catalogue = target / "balai_kebun" / "translations"
    for name in ("messages.pot", "id/LC_MESSAGES/messages.po", "id/LC_MESSAGES/messages.mo"):
        assert (catalogue / name).is_file(), name
    indonesian = (catalogue / "id/LC_MESSAGES/messages.po").read_text()
    assert 'msgstr "Kelola entri"' in indonesian
    assert 'msgstr "Kebun Kota: layanan pemerintah daerah."' in indonesian
    tests = "".join(path.read_text() for path in (target / "tests").glob("test_*.py"))
    assert tests.count('check_plugin("kebun")') == 1  # the platform's checks, once


@pytest.mark.parametrize(
    "options",
    [
        {"name": "kebun"},
        # The longest names and texts allowed: every line still within ruff's limits.
        {
            "name": "abcdefghij_klmnopqrs",
            "title": "T" * 40,
            "noun": "abcdefgh_ijklmno",
            "description": "Layanan " * 24 + "ini.",
        },
    ],
    ids=["short", "longest"],
)
def test_what_is_written_passes_ruff_as_it_is(tmp_path, options):
    name = options.pop("name")
    _ruff_is_clean(new_plugin(spec_for(name, **options), tmp_path))


def _private_uses() -> Callable[[str, str], list[str]]:
    """The rule of tests/test_public_surface.py, which every shipped plugin keeps."""
    spec = importlib.util.spec_from_file_location(
        "public_surface_rule", ROOT / "tests" / "test_public_surface.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.private_uses


def test_the_distribution_uses_only_the_public_surface(tmp_path):
    """Its package, migrations and tests alike: the author copies what they see."""
    private_uses = _private_uses()
    target = new_plugin(spec_for("kebun"), tmp_path)
    sources = sorted(target.rglob("*.py"))
    assert {"plugin.py", "0001_kebun.py", "conftest.py", "test_hooks.py"} <= {
        path.name for path in sources
    }
    found = {str(p.relative_to(target)): private_uses(p.read_text(), str(p)) for p in sources}
    assert {path: uses for path, uses in found.items() if uses} == {}


# -- in a throw-away environment ------------------------------------------------------


@pytest.fixture(scope="module")
def author_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment that sees this one's packages (but installs its own)."""
    return throwaway_python(tmp_path_factory.mktemp("author") / "venv")


def _env(instance: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "BALAI_"))}
    env.update({k: v for k, v in os.environ.items() if k.startswith("BALAI_TEST_")})
    if instance is not None:
        env["BALAI_INSTANCE_PATH"] = str(instance)
    return env


PIP_OFFLINE = ["--no-deps", "--no-build-isolation", "--no-index", "--disable-pip-version-check"]


def _install(python: Path, target: Path) -> None:
    _run([str(python), "-m", "pip", "install", "--quiet", *PIP_OFFLINE, "-e", str(target)], target)


def _balai(python: Path, instance: Path, *args: str, ok: bool = True) -> Any:
    command = [str(python), "-c", "from balai.cli import main; main()", *args]
    return _run(command, instance.parent, _env(instance), ok=ok)


LIVE_APP = """
import json, sys, urllib.request
from balai import create_app
from balai.testing import serve

app = create_app()
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
found = {}
with serve(app) as port:
    for path in sys.argv[1:]:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
        request.add_header("Host", "kota-a.test")
        with opener.open(request, timeout=60) as response:
            found[path] = [response.status, response.read().decode()]
print(json.dumps(found))
"""


def test_a_new_plugin_passes_its_own_tests_and_serves_in_a_live_app(author_python, tmp_path):
    target = new_plugin(spec_for("kebun", title="Kebun Kota"), tmp_path)
    _ruff_is_clean(target)
    _install(author_python, target)

    tests = _run([str(author_python), "-m", "pytest", "-q", "-p", "no:xdist"], target, _env())
    summary = tests.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed in .*", summary), tests.stdout[
        -3000:
    ]  # none failed or skipped

    instance = tmp_path / "instance"
    _balai(author_python, instance, "init")
    _balai(author_python, instance, "tenants", "create", "kota-a", "--name", "Kota A")
    listed = _balai(author_python, instance, "plugins", "list").stdout
    assert any(
        line.split()[:1] == ["kebun"] and line.endswith("ok") for line in listed.splitlines()
    )
    _balai(author_python, instance, "plugins", "enable", "kebun", "--tenant", "kota-a")
    pages = ["/kebun/", "/api/v1/kebun/", "/api/v1/openapi.json"]
    served = _run([str(author_python), "-c", LIVE_APP, *pages], tmp_path, _env(instance))
    found = json.loads(served.stdout)
    status, page = found["/kebun/"]
    assert status == 200 and "<h1>Kebun Kota</h1>" in page
    status, body = found["/api/v1/kebun/"]
    assert (status, json.loads(body)["items"]) == (200, [])
    assert "/api/v1/kebun/" in json.loads(found["/api/v1/openapi.json"][1])["paths"]


def test_db_revision_writes_only_the_plugins_changes_on_its_branch(author_python, tmp_path):
    target = new_plugin(spec_for("kebun_baru", noun="plot"), tmp_path)
    package = target / "balai_kebun_baru"
    versions = package / "migrations" / "versions"
    (versions / "0001_kebun_baru.py").unlink()  # the branch starts with the first revision
    _install(author_python, target)
    instance = tmp_path / "instance"
    _balai(author_python, instance, "init")
    database = instance / "balai.sqlite"
    with sqlite3.connect(database) as connection:  # what autogenerate would otherwise drop
        connection.execute("ALTER TABLE pengumuman_announcement ADD COLUMN stray INTEGER")
        connection.execute("CREATE TABLE stray_table (id INTEGER PRIMARY KEY)")

    _balai(author_python, instance, "db", "revision", "--plugin", "kebun_baru", "-m", "plots")
    first = (versions / "0001_kebun_baru_plots.py").read_text()
    assert 'revision: str = "kebun_baru_0001"' in first
    assert 'branch_labels: str | Sequence[str] | None = ("kebun_baru",)' in first
    assert 'depends_on: str | Sequence[str] | None = "0001"' in first
    assert 'op.create_table(\n        "kebun_baru_plot"' in first
    assert "stray" not in first and "pengumuman" not in first
    _balai(author_python, instance, "db", "upgrade")

    models = package / "models.py"
    models.write_text(
        models.read_text().replace(
            "    created_at: Mapped[datetime] = mapped_column(default=utcnow)\n",
            "    created_at: Mapped[datetime] = mapped_column(default=utcnow)\n"
            "    colour: Mapped[str | None] = mapped_column(String(20))\n",
        )
    )
    _balai(author_python, instance, "db", "revision", "--plugin", "kebun_baru", "-m", "colour")
    second = (versions / "0002_kebun_baru_colour.py").read_text()
    assert 'down_revision: str | Sequence[str] | None = "kebun_baru_0001"' in second
    assert 'batch_op.add_column(sa.Column("colour", sa.String(length=20), nullable=True))' in second
    assert second.count("batch_alter_table(") == 2  # upgrade and downgrade, kebun_baru_plot
    assert "stray" not in second and "pengumuman" not in second
    _ruff_is_clean(target)

    _balai(author_python, instance, "db", "upgrade")
    with sqlite3.connect(database) as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(kebun_baru_plot)")}
    assert "colour" in columns

    again = _balai(
        author_python, instance, "db", "revision", "--plugin", "kebun_baru", "-m", "x", ok=False
    )
    assert again.returncode == 1
    assert "no changes in the tables of kebun_baru" in again.stderr
    assert sorted(p.name for p in versions.glob("*.py")) == [
        "0001_kebun_baru_plots.py",
        "0002_kebun_baru_colour.py",
    ]


def test_a_distribution_with_missing_metadata_does_not_stop_the_name_check(tmp_path, monkeypatch):
    """A broken install (a dist-info whose METADATA has no Name) is passed over."""
    from balai.scaffold import installed_names

    info = tmp_path / "kosong-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nVersion: 0.1.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "pengumuman" in installed_names()
