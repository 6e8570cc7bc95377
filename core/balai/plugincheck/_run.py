"""The calling side of a check: a throw-away environment, and limited child processes.

Nothing of the distribution is imported here. Its installation (an sdist runs its
build backend) and every check run in child processes, each started through
:mod:`balai.plugincheck._limits` (memory and CPU limits, then ``exec``) inside
bubblewrap (``bwrap``): no network, and a filesystem of the system's folders and
the Python code folders, read-only, with only the check's scratch folder writable
(:func:`sandbox`). Without bwrap an author's own check falls back to ``unshare -rn``
(no network, the whole filesystem reachable) and says so; a check that must hold
uploaded code (``require_sandbox=True``) refuses to run. The environment of a child
carries none of this process's variables (no secrets, no database URL).
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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from balai.plugincheck._report import CHECKS, N_, CheckReport, CheckResult, Message

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
    require_sandbox: bool = False,
) -> CheckReport:
    """Install the wheel or sdist at ``path`` in a throw-away environment and check it.

    :param postgres_url: a PostgreSQL server (a user who may create databases) for
        the migrations check there; a scratch database is created and dropped.
    :param time_limit: seconds for everything; a check still running then ends in error.
    :param memory_limit_mb: address space of each child process.
    :param require_sandbox: refuse to run anything (an ``error`` report) when bubblewrap
        is not there to keep the code under check from the filesystem: for uploaded code.
    :returns: the report; nothing raises for a bad distribution.
    """
    source = Path(path).resolve()
    if not source.is_file() or not source.name.endswith(SUFFIXES):
        not_one = Message(N_("%(file)s: not a wheel or sdist file"), file=source.name)
        return _single("metadata", "failed", not_one)
    if require_sandbox and sandbox_program() is None:
        return _single("metadata", "error", Message(NO_SANDBOX))
    limits = Limits(time.monotonic() + time_limit, memory_limit_mb)
    with tempfile.TemporaryDirectory(prefix="balai-plugincheck-") as folder:
        work = Path(folder)
        try:
            python = make_environment(work)
            # The children see the scratch folder only: the file goes in there.
            (work / "dist").mkdir()
            file = Path(shutil.copy(source, work / "dist" / source.name))
        except (OSError, subprocess.CalledProcessError) as exc:
            none = Message(N_("no throw-away environment: %(error)s"), error=str(exc))
            return _single("metadata", "error", none)
        if postgres_url:
            limits.postgres_url = postgres_url
        installed = limits.run(_pip_install(python, file), work)
        if installed.returncode != 0 and "No module named pip" in installed.output:
            return _single("metadata", "error", NO_PIP, installed.output)
        if installed.returncode != 0:
            summary = Message(N_("the distribution does not install"))
            if installed.timed_out:
                summary = Message(N_("the distribution does not install (time limit reached)"))
            return _single("metadata", "failed", summary, installed.output)
        with scratch_postgres(_reachable(postgres_url)) as (scratch, unavailable):
            child = [str(python), "-m", "balai.plugincheck._child", str(work), str(file)]
            if scratch:
                child += ["--postgres", scratch]
            finished = limits.run(child, work)
        report = _read_report(work)
    report.checks = _complete(report.checks, finished)
    if postgres_url and _reachable(postgres_url) is None:
        unavailable = Message(NO_SOCKET)
    if unavailable:
        _replace(report, CheckResult("migrations-postgresql", "error", unavailable))
    _note_isolation(report)
    return report


# -- the throw-away environment ------------------------------------------------------

NO_PIP = (
    "no pip in the environment running the check (the throw-away environment borrows"
    " it): python -m ensurepip, or pip install pip"
)


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
    postgres_url: str | None = None

    def run(self, command: list[str], work: Path) -> Finished:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return Finished(-1, "time limit reached before it started", timed_out=True)
        limited = [sys.executable, "-m", "balai.plugincheck._limits"]
        limited += [str(self.memory_mb), str(int(remaining) + 1), "--"]
        if sandbox_program() is not None:
            confined = sandbox(work, postgres_socket(self.postgres_url))
        else:
            confined = isolation()
        process = subprocess.Popen(  # noqa: S603 - our own command line, no shell
            limited + confined + command,
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


NO_SANDBOX = N_("bubblewrap is needed to check uploaded code: apt-get install bubblewrap")
#: The system's folders every child sees, read-only (those that exist).
SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc")


def sandbox_program() -> str | None:
    """The ``bwrap`` program, when it is installed and works here (user namespaces)."""
    program = shutil.which("bwrap")
    return program if program is not None and _bwrap_works(program) else None


@lru_cache(maxsize=4)
def _bwrap_works(program: str) -> bool:
    probe = [program, "--unshare-all", "--die-with-parent"]
    probe += [arg for folder in _existing(SYSTEM_DIRS) for arg in ("--ro-bind", folder, folder)]
    try:
        tried = subprocess.run(  # noqa: S603
            [*probe, "--proc", "/proc", "--dev", "/dev", "true"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return tried.returncode == 0


def sandbox(work: Path, socket: Path | None = None) -> list[str]:
    """The ``bwrap`` command line a child runs under: no network, no other process, a
    read-only view of the system's folders and the Python code folders
    (:func:`code_dirs`), a private ``/tmp``, and ``work`` the only folder it may write
    to; ``socket`` (a PostgreSQL server's Unix socket) only when a server was given."""
    program = sandbox_program()
    if program is None:
        raise RuntimeError(NO_SANDBOX)
    command = [program, "--unshare-all", "--die-with-parent", "--new-session"]
    # The private /tmp first: bwrap mounts in order, so a code folder under /tmp (an
    # environment made there) is bound on top of it instead of hidden under it.
    command += ["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"]  # noqa: S108  # nosec B108
    for folder in dict.fromkeys([*_existing(SYSTEM_DIRS), *code_dirs()]):
        command += ["--ro-bind", folder, folder]
    command += ["--bind", str(work), str(work), "--chdir", str(work)]
    if socket is not None:
        where = socket if socket.parent == Path("/tmp") else socket.parent  # noqa: S108  # nosec B108
        command += ["--bind", str(where), str(where)]
    return command


def _existing(folders: Iterable[str]) -> list[str]:
    return [str(Path(f)) for f in folders if f and Path(f).is_dir()]


@lru_cache(maxsize=1)
def code_dirs() -> tuple[str, ...]:
    """Where this environment's Python code lives: the prefixes, site-packages and every
    existing folder on ``sys.path`` that comes from them (editable installs through
    ``.pth`` files), and the source folders of setuptools' editable finders."""
    paths = sysconfig.get_paths()
    sites = _existing([paths["purelib"], paths["platlib"], paths["stdlib"], paths["platstdlib"]])
    found = _existing([sys.base_prefix, sys.prefix, *sites])
    for site in sites:
        for pth in sorted(Path(site).glob("*.pth")):
            with suppress(OSError, UnicodeDecodeError):
                lines = pth.read_text().splitlines()
                found += _existing(
                    str(Path(site, line.strip()))
                    for line in lines
                    if line.strip() and not line.startswith(("#", "import ", "import\t"))
                )
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("__editable__"):
            mapping = getattr(module, "MAPPING", {})
            found += _existing(str(p) for p in mapping.values())
    return tuple(dict.fromkeys(found))


NO_SOCKET = N_(
    "bubblewrap lets the check reach PostgreSQL through a local server's Unix socket"
    " only, and that server has none"
)


def _reachable(url: str | None) -> str | None:
    """``url`` unless the children run in bubblewrap and cannot reach that server."""
    if url and sandbox_program() is not None and postgres_socket(url) is None:
        return None
    return url


def postgres_socket(url: str | None) -> Path | None:
    """The Unix socket of the local PostgreSQL server of ``url``, if there is one."""
    if not url:
        return None
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.host not in (None, "", "localhost", "127.0.0.1", "::1"):
        return None
    name = f".s.PGSQL.{parsed.port or 5432}"
    return next((Path(d, name) for d in SOCKET_DIRS if Path(d, name).exists()), None)


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
        first = str(exc).splitlines()[0]
        yield None, Message(N_("could not create a scratch database: %(error)s"), error=first)
        return
    try:
        yield _as_seen_by_child(admin.set(database=name)), None
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def _as_seen_by_child(url: URL) -> str:
    local = url.host in (None, "", "localhost", "127.0.0.1", "::1")
    if (sandbox_program() is not None or isolation()) and local:
        socket = f".s.PGSQL.{url.port or 5432}"
        folder = next((d for d in SOCKET_DIRS if Path(d, socket).exists()), None)
        if folder is not None:
            url = url.set(host=None, port=None, query={"host": folder})
    return url.render_as_string(hide_password=False)


# -- the report ---------------------------------------------------------------------------


def _single(name: str, status: str, summary: str, output: str = "") -> CheckReport:
    return CheckReport(checks=[CheckResult(name, status, summary, output)])


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
    if finished.timed_out:
        stopped = Message(N_("the check process stopped: time limit reached"))
    elif finished.returncode < 0:
        stopped = Message(
            N_("the check process stopped: killed by signal %(signal)d (memory limit?)"),
            signal=-finished.returncode,
        )
    else:
        stopped = Message(
            N_("the check process stopped: exit status %(status)d"), status=finished.returncode
        )
    completed = list(checks)
    for number, name in enumerate(missing):
        summary = stopped if number == 0 else Message(N_("not reached"))
        completed.append(CheckResult(name, "error", summary, finished.output if not number else ""))
    return completed


def _replace(report: CheckReport, result: CheckResult) -> None:
    report.checks = [result if c.name == result.name else c for c in report.checks]


def _note_isolation(report: CheckReport) -> None:
    metadata = report.get("metadata")
    if metadata is None:
        return
    if sandbox_program() is not None:
        note = "checks ran in bubblewrap: no network, only the scratch folder writable"
    elif isolation():
        note = (
            "NOTE: the filesystem is not isolated (bubblewrap is not installed):"
            " checks ran with no network (unshare -rn) but could read and write"
            " every file of this user"
        )
    else:
        note = (
            "NOTE: the filesystem is not isolated (bubblewrap is not installed) and"
            " no network isolation here (unshare -rn does not work)"
        )
    metadata.output = f"{note}\n{metadata.output}"
