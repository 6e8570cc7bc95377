"""Sample data for ``balai demo``: a partner region (Kabupaten Lebak), the two sample
plugins it sent and the maintainer published, its evaluation of one of them
(answered), its usage report and an endorsement.

The sample plugins are real distributions kept beside this one, under
``registry/samples/`` (:data:`SAMPLES_DIR`; written by ``balai plugins new``, then
given their own content). The demo builds their wheels with pip, offline and
byte for byte the same each time (:func:`build_wheels`), sends each through the
registry's upload rules, runs the plugin check on it (:func:`check`) and publishes
it, as the region's admin, only when every check passed; a wheel that does not
pass stays *checked, awaiting a decision*, its report saying why.

Uploaded code is checked in bubblewrap only; the demo checks its own samples in
bubblewrap when that works here and otherwise without it, and the report and the
maintainer's comment say so. A check takes some 20 seconds, so its report is kept
in the demo's cache (``DEMO_CACHE``, else ``cache/`` of the instance folder, which
``balai demo --reset`` keeps), one file per wheel named by its SHA-256, and so are
the wheels, by the SHA-256 of their sources: a rebuild from unchanged samples neither
builds nor checks them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

import balai
from balai import storage
from balai.auth import User
from balai.db import utcnow
from balai_registry import feedback, jobs, services, usage
from balai_registry.models import Partner, Submission

__all__ = [
    "SAMPLES",
    "SAMPLES_DIR",
    "SampleError",
    "Wheel",
    "add_sample_registry",
    "build_wheels",
    "check",
    "sandboxed",
]

#: The folder of the sample distributions (there in a checkout of Balai).
SAMPLES_DIR = Path(__file__).resolve().parents[2] / "samples"
#: The sample distributions, by folder; the first is the one Kabupaten Lebak evaluates.
SAMPLES = ("balai-kebun-warga", "balai-bank-sampah")
#: The file time in every wheel (2026-01-01 00:00 UTC): the same bytes each build.
SOURCE_DATE_EPOCH = "1767225600"
#: What a build leaves in a source folder, and the tests (a wheel ships none).
NOT_COPIED = shutil.ignore_patterns(
    "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", "tests"
)
CHECKS_FOLDER = "registry-checks"
WHEELS_FOLDER = "registry-wheels"
#: How the metadata check's output starts when the checks ran in bubblewrap.
IN_SANDBOX = "checks ran in bubblewrap"
NO_SANDBOX_NOTE = (
    "Catatan: bubblewrap tidak tersedia di komputer demo ini, jadi pemeriksaan berjalan "
    "tanpa kotak pasir berkas (lihat keluaran pemeriksaan metadata)."
)


class SampleError(RuntimeError):
    """The sample wheels could not be built; the message says why."""


@dataclass(frozen=True)
class Wheel:
    """A built sample: its distribution name, version, file name and bytes."""

    name: str
    version: str
    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def build_wheels(
    names: tuple[str, ...] = SAMPLES, source: Path = SAMPLES_DIR, cache: Path | None = None
) -> list[Wheel]:
    """Build the wheels of the sample distributions ``names`` (folders of ``source``),
    in that order, with this environment's pip and setuptools: no network, no build
    isolation, and the same bytes every time for the same sources. With ``cache``, a
    wheel built before from the same sources by the same Python and setuptools is
    taken from there.

    :raises SampleError: a folder is missing or pip fails (with pip's output).
    """
    missing = [name for name in names if not (source / name / "pyproject.toml").is_file()]
    if missing:
        raise SampleError(f"no sample distribution {', '.join(missing)} in {source}")
    kept = {name: _kept_wheel(cache, source / name) for name in names}
    wanted = [name for name in names if _found(kept[name], name) is None]
    with tempfile.TemporaryDirectory(prefix="balai-demo-wheels-") as folder:
        built = _pip_wheel(source, wanted, Path(folder)) if wanted else Path(folder)
        wheels = []
        for name in names:
            path = _found(kept[name], name) or _found(built, name)
            if path is None:
                raise SampleError(f"pip wheel wrote no wheel of {name}")
            where = kept[name]
            if name in wanted and where is not None:
                where.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, where)
            wheels.append(_wheel(path, name))
    return wheels


def _pip_wheel(source: Path, names: list[str], work: Path) -> Path:
    """Build ``names`` into ``work/built`` from copies of their folders."""
    copies = [shutil.copytree(source / name, work / name, ignore=NOT_COPIED) for name in names]
    out = work / "built"
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    command += ["--no-build-isolation", "--no-index", "--disable-pip-version-check"]
    command += ["--wheel-dir", str(out), *map(str, copies)]
    environment = {
        **os.environ,
        "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INPUT": "1",
    }
    built = subprocess.run(  # noqa: S603
        command, cwd=work, env=environment, capture_output=True, text=True, check=False
    )
    if built.returncode != 0:
        raise SampleError(f"pip wheel failed:\n{built.stdout}{built.stderr}".rstrip())
    return out


def _kept_wheel(cache: Path | None, folder: Path) -> Path | None:
    """Where the wheel of the sources in ``folder`` is kept in ``cache``: a folder
    named by the SHA-256 of every file that goes into it, this Python and setuptools."""
    if cache is None:
        return None
    digest = hashlib.sha256(f"{sys.version}\n{_setuptools()}\n".encode())
    for path in sorted(_sources(folder)):
        relative = path.relative_to(folder).as_posix()
        digest.update(f"{relative}\0{path.stat().st_mode & 0o777:o}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return cache / WHEELS_FOLDER / digest.hexdigest()


def _sources(folder: Path) -> list[Path]:
    found = []
    for root, dirs, names in os.walk(folder):
        ignored = NOT_COPIED(root, [*dirs, *names])
        dirs[:] = [d for d in dirs if d not in ignored]
        found += [Path(root, n) for n in names if n not in ignored]
    return found


def _setuptools() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("setuptools")
    except PackageNotFoundError:
        return ""


def _found(folder: Path | None, name: str) -> Path | None:
    """The one wheel of ``name`` in ``folder``, if there is one."""
    found = sorted(folder.glob(f"{name.replace('-', '_')}-*.whl")) if folder else []
    return found[0] if len(found) == 1 else None


def _wheel(path: Path, name: str) -> Wheel:
    version = path.name.split("-")[1]
    return Wheel(name, version, path.name, path.read_bytes())


def check(wheel: Wheel, cache: Path | None) -> dict[str, Any]:
    """The plugin check's report of ``wheel``: from ``cache`` when this wheel (its
    SHA-256) was checked before by this version of Balai with bubblewrap installed
    or not as it is now; otherwise the check runs, and its report is kept there."""
    conditions = {"balai": balai.__version__, "bwrap": shutil.which("bwrap") is not None}
    kept = cache / CHECKS_FOLDER / f"{wheel.sha256}.json" if cache is not None else None
    if kept is not None and kept.is_file():
        try:
            found = json.loads(kept.read_text())
        except (OSError, ValueError):
            found = {}
        report: dict[str, Any] = found.get("report") or {}
        if report and all(found.get(key) == value for key, value in conditions.items()):
            return report
    click.echo(f"  registry: checking {wheel.filename} (some 20 seconds) ...")
    report = jobs.check_file(wheel.filename, wheel.data, require_sandbox=False)
    if kept is not None:
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(json.dumps({**conditions, "report": report}) + "\n")
    return report


def sandboxed(report: dict[str, Any]) -> bool:
    """Whether the checks of ``report`` ran in bubblewrap (its metadata check says)."""
    metadata = next((c for c in report.get("checks", []) if c.get("name") == "metadata"), {})
    return str(metadata.get("output", "")).startswith(IN_SANDBOX)


def _cache() -> Path | None:
    given = current_app.config.get("DEMO_CACHE")
    return Path(given) if given else Path(current_app.instance_path) / "cache"


def add_sample_registry(session: Session, tenant_id: int) -> None:
    """Kabupaten Lebak as a partner, its sample plugins checked and (if they pass)
    published, and its feedback on them."""
    partner, _token = services.issue_partner(
        session,
        "Kabupaten Lebak",
        "diskominfo@kabupaten-lebak.example",
        ["upload", "feedback", "report"],
        None,
    )
    admin = session.scalars(select(User).where(User.role == "admin").order_by(User.id)).first()
    try:
        wheels = build_wheels(cache=_cache())
    except SampleError as exc:
        click.echo(f"  registry: no sample plugins: {exc}", err=True)
        return
    now = utcnow()
    files = storage.for_tenant(tenant_id).within("registry")
    published = []
    for wheel in wheels:
        submission = _submit(session, partner, files, wheel)
        _check_and_decide(submission, wheel, admin, now)
        if submission.status == "published":
            published.append(wheel)
        else:
            click.echo(
                f"  registry: {wheel.filename} did not pass its checks; it awaits a decision "
                f"(its report says why)",
                err=True,
            )
    session.flush()
    _add_feedback(session, partner, wheels, published, admin, now)


def _submit(
    session: Session, partner: Partner, files: storage.TenantFiles, wheel: Wheel
) -> Submission:
    """As an upload of the partner: the upload rules, then the file kept under its key."""
    upload = services.Upload(
        "file_upload",
        wheel.name,
        wheel.version,
        "bdist_wheel",
        wheel.sha256,
        wheel.filename,
        wheel.data,
    )
    submission, _metadata = services.accept_upload(session, partner, upload)
    files.put(
        services.file_key(submission.sha256, wheel.filename),
        wheel.data,
        content_type="application/octet-stream",
    )
    return submission


def decision_comment(submission: Submission) -> str:
    """The demo maintainer's comment on a submission that passed, as its verdict says
    it: *every check passed* only when none was skipped."""
    skipped = submission.skipped
    if skipped:
        return (
            f"Lolos; {skipped} pemeriksaan dilewati (alasannya tertulis di laporan). "
            "Diterbitkan sebagai contoh untuk demo."
        )
    return "Semua pemeriksaan lulus; diterbitkan sebagai contoh untuk demo."


def _check_and_decide(
    submission: Submission, wheel: Wheel, admin: User | None, now: datetime
) -> None:
    """Record the check's report; publish, as the region's admin, what passed."""
    report = check(wheel, _cache())
    services.record_check(submission, report, now)
    if not submission.passed:
        return
    comment = decision_comment(submission)
    if not sandboxed(report):
        comment += " " + NO_SANDBOX_NOTE
    services.decide(submission, True, comment, admin.id if admin else None, now)


def _add_feedback(
    session: Session,
    partner: Partner,
    wheels: list[Wheel],
    published: list[Wheel],
    admin: User | None,
    now: datetime,
) -> None:
    """What Kabupaten Lebak sent back about the published samples, and the answer."""
    usage.record_report(
        session,
        partner,
        usage.Report(
            instance="demo-kabupaten-lebak",
            region="Kabupaten Lebak",
            core_version=balai.__version__,
            plugins=[(wheel.name, wheel.version) for wheel in published],
        ),
        now - timedelta(hours=6),
    )
    evaluated = wheels[0]
    if evaluated not in published:
        session.flush()
        return
    evaluation = feedback.submit_evaluation(
        session,
        partner,
        feedback.Draft(
            plugin=evaluated.name,
            version=evaluated.version,
            severity="medium",
            title="Peta kebun belum bisa memilih titik dari ponsel",
            body=(
                "Petugas kami di lapangan mendaftarkan kebun dari ponsel. Formulirnya meminta "
                "koordinat yang diketik; mohon tambahkan peta untuk memilih titik, dengan "
                "tombol 'gunakan lokasi saya'."
            ),
        ),
        now - timedelta(days=3),
    )
    if admin is not None:  # the region's admin answers, as a maintainer
        feedback.reply(
            session,
            evaluation,
            "Terima kasih. Peta pemilih titik kami jadwalkan untuk versi 0.2.",
            now - timedelta(days=1),
            maintainer=(admin.id, admin.name),
            status="planned",
        )
    feedback.endorse(
        session,
        evaluated.name,
        evaluated.version,
        "Dipakai di tiga kecamatan sejak bulan lalu.",
        now - timedelta(hours=5),
        partner=partner,
    )
    session.flush()
