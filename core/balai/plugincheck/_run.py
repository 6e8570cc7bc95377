"""The calling side of a check: a throw-away environment, and limited child processes.

Nothing of the distribution is imported here. Its installation (an sdist runs its
build backend) and every check run in child processes, each started through
:mod:`balai.plugincheck._limits` (memory and CPU limits, then ``exec``) and, where
``unshare -rn`` works, in a network namespace of their own, with an environment
that carries none of this process's variables (no secrets, no database URL).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import venv
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from balai.plugincheck._report import CHECKS, CheckReport, CheckResult

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = ["run_check"]

SUFFIXES = (".whl", ".tar.gz", ".zip")
REPORT_FILE = "report.json"
#: Where PostgreSQL servers put their Unix socket (only looked at, never written).
SOCKET_DIRS = ("/var/run/postgresql", "/run/postgresql", "/tmp")  # noqa: S108  # nosec B108


def run_check(
    path: str | os.PathLike[str],
    *,
    postgres_url: str | None = None,
    time_limit: float = 600,
    memory_limit_mb: int = 1024,
) -> CheckReport:
    """Install the wheel or sdist at ``path`` in a throw-away environment and check it.

    :param postgres_url: a PostgreSQL server (a user who may create databases) for
        the migrations check there; a scratch database is created and dropped.
    :param time_limit: seconds for everything; a check still running then ends in error.
    :param memory_limit_mb: address space of each child process.
    :returns: the report; nothing raises for a bad distribution.
    """
    file = Path(path).resolve()
    if not file.is_file() or not file.name.endswith(SUFFIXES):
        return _single("metadata", "failed", f"{file.name}: not a wheel or sdist file")
    limits = Limits(time.monotonic() + time_limit, memory_limit_mb)
    with tempfile.TemporaryDirectory(prefix="balai-plugincheck-") as folder:
        work = Path(folder)
        try:
            python = make_environment(work)
        except (OSError, subprocess.CalledProcessError) as exc:
            return _single("metadata", "error", f"no throw-away environment: {exc}")
        installed = limits.run(_pip_install(python, file), work)
        if installed.returncode != 0:
            summary = "the distribution does not install" + _timed_out(installed)
            return _single("metadata", "failed", summary, installed.output)
        with scratch_postgres(postgres_url) as (scratch, unavailable):
            child = [str(python), "-m", "balai.plugincheck._child", str(work), str(file)]
            if scratch:
                child += ["--postgres", scratch]
            finished = limits.run(child, work)
        report = _read_report(work)
    report.checks = _complete(report.checks, finished)
    if unavailable:
        _replace(report, CheckResult("migrations-postgresql", "error", unavailable))
    _note_isolation(report)
    return report


# -- the throw-away environment ------------------------------------------------------


def make_environment(work: Path) -> Path:
    """A virtual environment in ``work/venv`` that also sees this one's packages
    (through a ``.pth`` file), without pip of its own; returns its Python."""
    target = work / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt", clear=True).create(target)
    python = target / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run(  # noqa: S603 - the new environment's own Python
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    lines = [f"import site; site.addsitedir({folder!r})" for folder in ours]
    Path(purelib, "balai-running-environment.pth").write_text("\n".join(lines) + "\n")
    for name in ("home", "tmp"):
        (work / name).mkdir()
    return python


def _pip_install(python: Path, file: Path) -> list[str]:
    return [
        str(python),
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-index",
        "--no-build-isolation",
        "--no-compile",
        "--disable-pip-version-check",
        "--quiet",
        str(file),
    ]


# -- child processes ---------------------------------------------------------------------


@dataclass
class Finished:
    returncode: int
    output: str
    timed_out: bool = False


@dataclass
class Limits:
    """The deadline and memory every child process of one check shares."""

    deadline: float
    memory_mb: int

    def run(self, command: list[str], work: Path) -> Finished:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return Finished(-1, "time limit reached before it started", timed_out=True)
        limited = [sys.executable, "-m", "balai.plugincheck._limits"]
        limited += [str(self.memory_mb), str(int(remaining) + 1), "--"]
        process = subprocess.Popen(  # noqa: S603 - our own command line, no shell
            limited + isolation() + command,
            cwd=work,
            env=child_environment(work),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            output, _ = process.communicate()
            return Finished(-1, _text(output), timed_out=True)
        return Finished(process.returncode, _text(output))


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    import signal

    with suppress(ProcessLookupError):  # it ended by itself meanwhile
        os.killpg(process.pid, signal.SIGKILL)


def _text(output: bytes | None) -> str:
    text = (output or b"").decode("utf-8", "replace")
    return text[-20_000:]  # the end says what went wrong


def child_environment(work: Path) -> dict[str, str]:
    """A fresh environment: a path, a language, a home and temporary folder in ``work``."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(work / "home"),
        "TMPDIR": str(work / "tmp"),
        "PYTHONNOUSERSITE": "1",
        "PIP_NO_INPUT": "1",
        "PIP_CONFIG_FILE": os.devnull,
    }


@lru_cache(maxsize=1)
def isolation() -> list[str]:
    """``unshare -rn`` (a network namespace with nothing in it) when it works here."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    try:
        tried = subprocess.run(  # noqa: S603
            [unshare, "-rn", "true"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [unshare, "-rn"] if tried.returncode == 0 else []


# -- a scratch PostgreSQL database ---------------------------------------------------------


@contextmanager
def scratch_postgres(url: str | None) -> Iterator[tuple[str | None, str | None]]:
    """A new empty database on the server of ``url``, dropped on leaving: yields the URL
    a child reaches it by (the server's Unix socket when the child has no network), or
    ``None`` and why it could not be created."""
    if not url:
        yield None, None
        return
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.exc import SQLAlchemyError

    name = f"balai_check_{secrets.token_hex(4)}"
    admin = make_url(url).set(drivername="postgresql+psycopg")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        engine.dispose()
        yield None, f"could not create a scratch database: {str(exc).splitlines()[0]}"
        return
    try:
        yield _as_seen_by_child(admin.set(database=name)), None
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def _as_seen_by_child(url: URL) -> str:
    if isolation() and url.host in (None, "", "localhost", "127.0.0.1", "::1"):
        socket = f".s.PGSQL.{url.port or 5432}"
        folder = next((d for d in SOCKET_DIRS if Path(d, socket).exists()), None)
        if folder is not None:
            url = url.set(host=None, port=None, query={"host": folder})
    return url.render_as_string(hide_password=False)


# -- the report ---------------------------------------------------------------------------


def _single(name: str, status: str, summary: str, output: str = "") -> CheckReport:
    return CheckReport(checks=[CheckResult(name, status, summary, output)])


def _timed_out(finished: Finished) -> str:
    return " (time limit reached)" if finished.timed_out else ""


def _read_report(work: Path) -> CheckReport:
    try:
        return CheckReport.from_dict(json.loads((work / REPORT_FILE).read_text()))
    except (OSError, ValueError, KeyError):
        return CheckReport()


def _complete(checks: list[CheckResult], finished: Finished) -> list[CheckResult]:
    """Every check in the report: the one the child died in, and those it never reached,
    end in error with the child's last output."""
    done = {check.name for check in checks}
    missing = [name for name in CHECKS if name not in done]
    if finished.returncode == 0 and not finished.timed_out:
        return checks
    why = "time limit reached" if finished.timed_out else f"exit status {finished.returncode}"
    if finished.returncode < 0 and not finished.timed_out:
        why = f"killed by signal {-finished.returncode} (memory limit?)"
    completed = list(checks)
    for number, name in enumerate(missing):
        summary = f"the check process stopped: {why}" if number == 0 else "not reached"
        completed.append(CheckResult(name, "error", summary, finished.output if not number else ""))
    return completed


def _replace(report: CheckReport, result: CheckResult) -> None:
    report.checks = [result if c.name == result.name else c for c in report.checks]


def _note_isolation(report: CheckReport) -> None:
    metadata = report.get("metadata")
    if metadata is None:
        return
    if isolation():
        note = "checks ran with no network (unshare -rn)"
    else:
        note = "NOTE: no network isolation here (unshare -rn does not work)"
    metadata.output = f"{note}\n{metadata.output}"
