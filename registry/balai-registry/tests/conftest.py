"""Fixtures for the registry tests, on top of those of ``balai.testing``."""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import subprocess
import sys
import types
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from balai import storage
from balai.channels import Delivery, OutboxMessage, open_message
from balai.db import utcnow
from balai.tenancy import TenantInfo
from balai_registry import services
from balai_registry.models import SCOPES, Submission


@pytest.fixture
def enabled(enable_plugin: Callable[..., TenantInfo]) -> TenantInfo:
    """``tenant`` (the upstream region) with the registry switched on."""
    return enable_plugin("registry")


@pytest.fixture
def partner_token(db_session: Session) -> Callable[..., str]:
    """``partner_token(region="Kabupaten Lebak", scopes=SCOPES)``: issue a token of ``tenant``."""

    def issue(region: str = "Kabupaten Lebak", scopes: tuple[str, ...] = SCOPES) -> str:
        existing = services.partner_of_region(db_session, region)
        if existing is not None:  # a region is a partner once: it gets a new token
            existing.scopes = " ".join(scopes)
            token = services.rotate_partner(db_session, existing, None, utcnow())
        else:
            _partner, token = services.issue_partner(
                db_session, region, "diskominfo@lebak.example.id", list(scopes), None
            )
        db_session.commit()
        return token

    return issue


@pytest.fixture
def released(db_session: Session) -> Callable[..., Submission]:
    """``released(project, version, yanked=False)``: a published file of ``tenant``, as
    a row only (no file, no check run): for what needs a release to exist."""

    def add(project: str, version: str, *, yanked: bool = False) -> Submission:
        filename = f"{project.replace('-', '_')}-{version}-py3-none-any.whl"
        submission = Submission(
            key=hashlib.sha256(filename.encode()).hexdigest()[:32],
            project=project,
            name=project,
            version=version,
            filename=filename,
            filetype="bdist_wheel",
            sha256=hashlib.sha256(filename.encode()).hexdigest(),
            size=1,
            metadata_text=f"Metadata-Version: 2.4\nName: {project}\nVersion: {version}\n",
            status="published",
            yanked_at=utcnow() if yanked else None,
        )
        db_session.add(submission)
        db_session.commit()
        return submission

    return add


def basic(token: str, user: str = "__token__") -> dict[str, str]:
    """The ``Authorization`` header twine sends with a token."""
    encoded = base64.b64encode(f"{user}:{token}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


# -- distributions built for the tests ---------------------------------------------

PYPROJECT = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = "{summary}"
readme = "README.md"
requires-python = ">=3.11"
license = {{text = "Apache-2.0"}}
dependencies = ["balai{core}"]

[project.entry-points."{group}"]
{short} = "{package}.plugin"

[tool.setuptools]
packages = ["{package}"]
"""

README = """\
# {name}

Sebuah plugin **uji** untuk registri.

<script>alert("xss")</script>

[tautan](javascript:alert(1))
"""


@dataclass(frozen=True)
class Built:
    """A distribution file built for a test."""

    path: Path
    name: str
    version: str

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def filetype(self) -> str:
        return "bdist_wheel" if self.path.name.endswith(".whl") else "sdist"


def _build(
    into: Path,
    name: str,
    version: str,
    summary: str,
    core: str,
    kind: str,
    sdist: bool,
) -> Path:
    short = name.removeprefix("balai-").removeprefix("theme-").replace("-", "_")
    package = f"balai_theme_{short}" if kind == "theme" else f"balai_{short}"
    source = into / f"src-{name}-{version}-{'sdist' if sdist else 'wheel'}"
    (source / package).mkdir(parents=True)
    group = "balai.themes" if kind == "theme" else "balai.plugins"
    (source / "pyproject.toml").write_text(
        PYPROJECT.format(
            name=name,
            version=version,
            summary=summary,
            core=core,
            group=group,
            short=short,
            package=package,
        )
    )
    (source / "README.md").write_text(README.format(name=name))
    (source / package / "__init__.py").write_text('"""A plugin built for a test."""\n')
    (source / package / "plugin.py").write_text(
        "from balai import Manifest\n\nmanifest = Manifest(title='Uji')\n"
    )
    out = into / "dist"
    out.mkdir(exist_ok=True)
    hook = "build_sdist" if sdist else "build_wheel"
    script = f"import setuptools.build_meta as b; print(b.{hook}({str(out)!r}))"
    result = subprocess.run(  # noqa: S603  (our own interpreter and arguments)
        [sys.executable, "-c", script],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out / result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def build_dist(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Built]:
    """``build_dist("balai-kebun", "1.0.0", summary=..., core=..., kind=..., sdist=False)``:
    a wheel (or sdist) built with setuptools, offline; each one is built once a session."""
    built: dict[tuple[Any, ...], Built] = {}

    def build(
        name: str = "balai-kebun",
        version: str = "1.0.0",
        *,
        summary: str = "Kebun warga: pendaftaran lahan",
        core: str = ">=0.1,<0.2",
        kind: str = "plugin",
        sdist: bool = False,
    ) -> Built:
        key = (name, version, summary, core, kind, sdist)
        if key not in built:
            into = tmp_path_factory.mktemp("dist")
            path = _build(into, name, version, summary, core, kind, sdist)
            built[key] = Built(path, name, version)
        return built[key]

    return build


def upload_form(built: Built, **changes: Any) -> dict[str, Any]:
    """The form twine sends for ``built``, with ``changes`` (``content`` bytes too)."""
    content = changes.pop("content", built.data)
    form: dict[str, Any] = {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.4",
        "name": built.name,
        "version": built.version,
        "filetype": built.filetype,
        "pyversion": "py3" if built.filetype == "bdist_wheel" else "source",
        "sha256_digest": built.sha256,
    }
    form.update(changes)
    form["content"] = (io.BytesIO(content), changes.get("filename", built.path.name))
    return {k: v for k, v in form.items() if v is not None and k != "filename"}


def small_wheel(
    name: str, version: str, *, inside: str | None = None, tag: str = "py3-none-any"
) -> tuple[str, bytes]:
    """A small wheel of ``name`` ``version`` built in memory: its filename and bytes
    (``inside``: another Version in its METADATA; ``tag``: its compatibility tag)."""
    package = name.replace("-", "_")
    info = f"{package}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.4\nName: {name}\nVersion: {inside or version}\n"
    files = {
        f"{package}/__init__.py": "",
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n",
        f"{info}/entry_points.txt": f"[balai.plugins]\nx = {package}\n",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)
    return f"{package}-{version}-{tag}.whl", out.getvalue()


def wheel_form(filename: str, data: bytes, name: str, version: str) -> dict[str, Any]:
    """The form twine sends for a wheel made by :func:`small_wheel`."""
    return {
        ":action": "file_upload",
        "name": name,
        "version": version,
        "filetype": "bdist_wheel",
        "sha256_digest": hashlib.sha256(data).hexdigest(),
        "content": (io.BytesIO(data), filename),
    }


@pytest.fixture
def fake_check(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[Path]]:
    """Replace ``balai.plugincheck.run_check`` (which installs and tests the file in a
    scratch environment) by a quick one; ``fake_check(passed)`` sets the verdict and
    returns the paths it was asked to check. Where the core has no ``balai.plugincheck``
    yet, a stand-in module with the same interface takes its place."""
    seen: list[Path] = []
    verdict = {"passed": True}
    try:
        plugincheck: Any = importlib.import_module("balai.plugincheck")
    except ModuleNotFoundError:
        plugincheck = _stand_in_plugincheck()
        monkeypatch.setitem(sys.modules, "balai.plugincheck", plugincheck)

    def run_check(path: Any, **options: Any) -> Any:
        seen.append(Path(path))
        good = verdict["passed"]
        checks = [
            plugincheck.CheckResult("metadata", "passed", "Name, version and summary", "ok"),
            plugincheck.CheckResult(
                "tests",
                "passed" if good else "failed",
                "The plugin's tests",
                "3 passed" if good else "1 failed: test_x",
            ),
        ]
        # The real report passes only with every check in it.
        checks += [
            plugincheck.CheckResult(name, "passed", "ok", "")
            for name in getattr(plugincheck, "CHECKS", ())
            if name not in ("metadata", "tests")
        ]
        return plugincheck.CheckReport(checks=checks, inspection=dict(INSPECTION))

    monkeypatch.setattr(plugincheck, "run_check", run_check)

    def configure(passed: bool = True) -> list[Path]:
        verdict["passed"] = passed
        return seen

    return configure


def _stand_in_plugincheck() -> types.ModuleType:
    """A module with the contract's interface of ``balai.plugincheck``."""

    @dataclass
    class CheckResult:
        name: str
        status: str
        summary: str = ""
        output: str = ""

    @dataclass
    class CheckReport:
        checks: list[CheckResult]
        inspection: dict[str, Any]

        @property
        def passed(self) -> bool:
            return bool(self.checks) and all(c.status in ("passed", "skipped") for c in self.checks)

        def to_dict(self) -> dict[str, Any]:
            return {
                "passed": self.passed,
                "checks": [vars(c) for c in self.checks],
                "inspection": self.inspection,
            }

    module = types.ModuleType("balai.plugincheck")
    module.CheckResult = CheckResult  # type: ignore[attr-defined]
    module.CheckReport = CheckReport  # type: ignore[attr-defined]
    return module


@pytest.fixture
def run_jobs(run_command: Callable[..., Any]) -> Callable[[], str]:
    """``run_jobs()``: ``balai jobs run-due`` (enqueued checks run); returns its output."""

    def run() -> str:
        result = run_command("jobs", "run-due")
        assert result.exit_code == 0, result.output
        return str(result.output)

    return run


@pytest.fixture
def mails(db_session: Session) -> Callable[[], list[Delivery]]:
    """``mails()``: the e-mails in ``tenant``'s outbox, opened, oldest first."""

    def read() -> list[Delivery]:
        db_session.rollback()
        db_session.expire_all()
        rows = db_session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "email").order_by(OutboxMessage.id)
        )
        return [open_message(row) for row in rows]

    return read


@pytest.fixture
def stored(db_session: Session) -> Callable[[], list[Submission]]:
    """``stored()``: ``tenant``'s submissions as the database holds them now."""

    def read() -> list[Submission]:
        db_session.rollback()
        db_session.expire_all()
        return list(db_session.scalars(select(Submission).order_by(Submission.id)))

    return read


INSPECTION: dict[str, Any] = {
    "hooks": ["register_routes", "register_permissions", "menu_items"],
    "permissions": ["kebun.manage_plot"],
    "settings": ["page_size"],
    "migrations": ["kebun_0001", "kebun_0002_plots"],
    "languages": {"id": 100, "en": 75},
}


@pytest.fixture
def publish(
    tenant: TenantInfo, db_session: Session, build_dist: Callable[..., Built]
) -> Callable[..., Submission]:
    """``publish(built=None, **build_args)``: send, pass and publish a file as a partner
    of ``tenant`` would, without HTTP; the published submission."""
    partner, _token = services.issue_partner(
        db_session, "Kabupaten Lebak", "ti@lebak.example.id", ["upload"], None
    )
    db_session.commit()

    def send(built: Built | None = None, **build_args: Any) -> Submission:
        built = built or build_dist(**build_args)
        upload = services.Upload(
            "file_upload",
            built.name,
            built.version,
            built.filetype,
            built.sha256,
            built.path.name,
            built.data,
        )
        submission, _metadata = services.accept_upload(db_session, partner, upload)
        files = storage.for_tenant(tenant.id).within("registry")
        files.put(services.file_key(built.sha256, built.path.name), built.data)
        report = {"passed": True, "checks": [], "inspection": dict(INSPECTION)}
        services.record_check(submission, report, utcnow())
        services.decide(submission, True, "", None, utcnow())
        db_session.commit()
        return submission

    return send
