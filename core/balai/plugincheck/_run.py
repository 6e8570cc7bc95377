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

Three children: the installation; :mod:`balai.plugincheck._static` (our own Python,
the scratch folder read-only, nothing of the distribution imported) for the static
checks, which are authoritative; :mod:`balai.plugincheck._child` for the checks that
run the plugin's code, whose results that code can forge. Each sends its results as
JSON lines on a pipe made here, read with a size limit and never past the deadline;
nothing is read back from the scratch folder, and a missing check ends in ``error``.
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
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from balai.plugincheck._report import (
    CHECKS,
    INSPECTION_KEYS,
    N_,
    CheckReport,
    CheckResult,
    Message,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = ["run_check"]

SUFFIXES = (".whl", ".tar.gz", ".zip")
#: The checks worked out without running the distribution's code (authoritative).
STATIC_CHECKS = ("metadata", "bandit", "catalogue")
#: The checks that need an app with the plugin loaded.
APP_CHECKS = (
    "hooks",
    "conventions",
    "routes",
    "settings",
    "migrations-sqlite",
    "migrations-postgresql",
    "sweep",
)
#: The checks that run the distribution's code: evidence for a reviewer, not proof.
DYNAMIC_CHECKS = (*APP_CHECKS, "tests")
#: What the process running the plugin's code may add to the inspection.
DYNAMIC_INSPECTION = ("hooks", "permissions", "settings", "migrations")
#: Where PostgreSQL servers put their Unix socket (only looked at, never written).
SOCKET_DIRS = ("/var/run/postgresql", "/run/postgresql", "/tmp")  # noqa: S108  # nosec B108


def run_check(
    path: str | os.PathLike[str],
    *,
    postgres_url: str | None = None,
    time_limit: float = 600,
    memory_limit_mb: int = 1024,
    require_sandbox: bool = False,
    disk_limit_mb: int = 1024,
) -> CheckReport:
    """Install the wheel or sdist at ``path`` in a throw-away environment and check it.

    :param postgres_url: a PostgreSQL server (a user who may create databases) for
        the migrations check there; a scratch database is created and dropped.
    :param time_limit: seconds for everything; a check still running then ends in error.
    :param memory_limit_mb: address space of each child process.
    :param disk_limit_mb: what the scratch folder may hold; a child going over it is
        stopped and its checks end in error. A single file may take half of it: a write
        past that fails in the child (``File too large``), before the folder is full.
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
    limits = Limits(time.monotonic() + time_limit, memory_limit_mb, disk_mb=disk_limit_mb)
    with tempfile.TemporaryDirectory(prefix="balai-plugincheck-") as folder:
        work = Path(folder)
        try:
            python = make_environment(work)
            site = site_packages(python)
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
            return _single("metadata", "error", Message(NO_PIP), installed.output)
        if installed.returncode != 0 or installed.timed_out or installed.overflow:
            summary = Message(N_("the distribution does not install"))
            if installed.overflow:
                summary = Message(
                    N_(
                        "the distribution does not install (the scratch folder holds more"
                        " than %(mb)d MB or too many files)"
                    ),
                    mb=limits.disk_mb,
                )
            elif installed.timed_out:
                summary = Message(N_("the distribution does not install (time limit reached)"))
            return _single("metadata", "failed", summary, installed.output)
        # The build code could change the copy it was given: the checks read a new one.
        file = _fresh_copy(source, work / "dist")
        # Read before any of its code is imported, by our own Python, the folder read-only.
        static = [sys.executable, "-I", "-m", "balai.plugincheck._static", str(site), str(file)]
        read = limits.run(static, work, writable=False, channel=True)
        report = CheckReport(inspection=_inspection(read.messages, None))
        _take(report, read, STATIC_CHECKS)
        name = str(report.inspection.get("name") or "")
        kind = str(report.inspection.get("kind") or "")
        unavailable = None
        if kind != "plugin":
            why = Message(N_("not a plugin (no entry point)"))
            if kind:
                why = Message(N_("not a plugin (%(kind)s)"), kind=kind)
            for skipped in APP_CHECKS:
                _add(report, CheckResult(skipped, "skipped", why))
        if file.name.endswith(".whl"):
            why = Message(N_("a wheel ships no tests (upload the sdist too)"))
            _add(report, CheckResult("tests", "skipped", why))
        if any(report.get(check) is None for check in DYNAMIC_CHECKS):
            with scratch_postgres(_reachable(postgres_url)) as (scratch, unavailable):
                child = [str(python), "-m", "balai.plugincheck._child", str(work), str(file)]
                child += ["--name", name, "--kind", kind]
                if scratch:
                    child += ["--postgres", scratch]
                ran = limits.run(child, work, channel=True)
            report.inspection.update(_inspection(ran.messages, DYNAMIC_INSPECTION))
            _take(report, ran, DYNAMIC_CHECKS)
    if postgres_url and _reachable(postgres_url) is None:
        unavailable = Message(NO_SOCKET)
    if unavailable:
        _replace(report, CheckResult("migrations-postgresql", "error", unavailable))
    elif not postgres_url and report.get("migrations-postgresql") is not None:
        # No server was given, so nothing can have passed there, whatever the child said.
        _replace(report, CheckResult("migrations-postgresql", "skipped", Message(NO_POSTGRES)))
    report.checks.sort(key=lambda check: CHECKS.index(check.name))
    _note_isolation(report)
    return report


# -- the throw-away environment ------------------------------------------------------

NO_POSTGRES = N_("no PostgreSQL given (--postgres URL)")
NO_PIP = N_(
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


def _fresh_copy(source: Path, folder: Path) -> Path:
    """``folder`` emptied (a link or file left in its place removed, never followed) and
    a new copy of ``source`` in it."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    return Path(shutil.copy(source, folder / source.name))


def site_packages(python: Path) -> Path:
    """The site-packages folder of the throw-away environment of ``python``, asked before
    anything is installed there."""
    return Path(
        subprocess.run(  # noqa: S603 - the new environment's own Python
            [str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )


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
    #: The JSON messages the child sent on its results pipe.
    messages: list[dict[str, Any]] = field(default_factory=list)
    #: Why the results pipe was not read to its end (too much sent), if so.
    overflow: str = ""


#: The most a child may send on its results pipe.
RESULTS_MAX = 8 * 1024 * 1024
#: The end of a child's printed output kept (the end says what went wrong).
OUTPUT_KEPT = 20_000


@dataclass
class Limits:
    """The deadline and memory every child process of one check shares."""

    deadline: float
    memory_mb: int
    postgres_url: str | None = None
    #: What the scratch folder may hold; the largest file a child may write is half.
    disk_mb: int = 1024
    #: How many processes a child may start (where the kernel counts them: not root).
    processes: int = 128

    def run(
        self, command: list[str], work: Path, *, writable: bool = True, channel: bool = False
    ) -> Finished:
        """Run ``command`` limited and confined, read its output (and with ``channel``
        the results it sends on a pipe made here, ``--results-fd N`` added to its
        command line) without ever waiting past the deadline; the process group is
        killed at the end, whatever happened."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return Finished(-1, "time limit reached before it started", timed_out=True)
        # Isolated (-I): the wrapper runs outside the sandbox, started in ``work``, which
        # the distribution's build code may have written to; without -I ``-m`` would put
        # the current folder first on the path and import a planted balai/ from there.
        limited = [sys.executable, "-I", "-m", "balai.plugincheck._limits"]
        limited += [str(self.memory_mb), str(int(remaining) + 1)]
        limited += [str(max(1, self.disk_mb // 2)), str(self.processes), "--"]
        if sandbox_program() is not None:
            confined = sandbox(work, postgres_socket(self.postgres_url), writable=writable)
        else:
            confined = isolation()
        results, sent = os.pipe() if channel else (None, None)
        if sent is not None:
            command = [*command, "--results-fd", str(sent)]
        try:
            process = subprocess.Popen(  # noqa: S603 - our own command line, no shell
                limited + confined + command,
                cwd=work,
                env=child_environment(work),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=() if sent is None else (sent,),
            )
        finally:
            if sent is not None:
                os.close(sent)
        try:
            return self._collect(process, results, work)
        finally:
            _kill_group(process)
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
            if results is not None:
                os.close(results)

    def _collect(
        self, process: subprocess.Popen[bytes], results: int | None, work: Path
    ) -> Finished:
        import selectors

        assert process.stdout is not None
        output, sent = bytearray(), bytearray()
        streams = {process.stdout.fileno(): output}
        if results is not None:
            streams[results] = sent
        timed_out, overflow = False, ""
        with selectors.DefaultSelector() as selector:
            for fd in streams:
                selector.register(fd, selectors.EVENT_READ)
            looked = time.monotonic()
            while selector.get_map() and not (timed_out or overflow):
                left = self.deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                if time.monotonic() - looked >= DISK_EVERY:
                    looked = time.monotonic()
                    overflow = self._over_disk(work)
                for key, _events in selector.select(timeout=min(left, DISK_EVERY)):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fd)
                        continue
                    buffer = streams[key.fd]
                    buffer += chunk
                    if buffer is output and len(output) > 2 * OUTPUT_KEPT:
                        del output[:-OUTPUT_KEPT]
                    if buffer is sent and len(sent) > RESULTS_MAX:
                        overflow = Message(
                            N_("the check process stopped: it sent more than %(mb)d MB of results"),
                            mb=RESULTS_MAX // 1024 // 1024,
                        )
        while not (timed_out or overflow) and process.poll() is None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            try:
                process.wait(timeout=min(left, DISK_EVERY))
            except subprocess.TimeoutExpired:
                overflow = self._over_disk(work)
        overflow = overflow or self._over_disk(work)
        returncode = process.returncode if process.returncode is not None else -9
        return Finished(
            returncode, _text(bytes(output)), timed_out, _messages(bytes(sent)), overflow
        )

    def _over_disk(self, work: Path) -> str:
        """Why the scratch folder holds too much (a :class:`Message`), or nothing."""
        if disk_use(work, self.disk_mb * 1024 * 1024) > self.disk_mb * 1024 * 1024:
            return Message(
                N_(
                    "the check process stopped: the scratch folder holds more than %(mb)d MB"
                    " (or too many files)"
                ),
                mb=self.disk_mb,
            )
        return ""


#: Seconds between two looks at the scratch folder's size while a child runs.
DISK_EVERY = 2.0
#: More entries than this in the scratch folder count as too much.
MAX_ENTRIES = 200_000


def disk_use(folder: Path, cap: int) -> int:
    """The bytes the files under ``folder`` take (links not followed), counting no
    further than just over ``cap``; more than :data:`MAX_ENTRIES` entries count as over."""
    total, entries = 0, 0
    for root, dirs, files in os.walk(folder, followlinks=False):
        entries += len(dirs) + len(files)
        if entries > MAX_ENTRIES:
            return cap + 1
        for name in files:
            with suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
        if total > cap:
            return total
    return total


def _messages(sent: bytes) -> list[dict[str, Any]]:
    """The complete JSON lines of ``sent`` that are objects (anything else is left out)."""
    found = []
    for line in sent.split(b"\n")[:-1]:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            found.append(message)
    return found


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    import signal

    with suppress(ProcessLookupError):  # it ended by itself meanwhile
        os.killpg(process.pid, signal.SIGKILL)


def _text(output: bytes | None) -> str:
    text = (output or b"").decode("utf-8", "replace")
    return text[-OUTPUT_KEPT:]  # the end says what went wrong


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


def _scratch_tmp(work: Path) -> Path:
    """``work/tmp``, a folder of its own: made when missing, and made again when an
    earlier child left a link (or anything else) there, which bwrap would follow."""
    tmp = work / "tmp"
    if tmp.is_symlink() or (tmp.exists() and not tmp.is_dir()):
        tmp.unlink()
    tmp.mkdir(parents=True, exist_ok=True)
    return tmp


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


def sandbox(work: Path, socket: Path | None = None, *, writable: bool = True) -> list[str]:
    """The ``bwrap`` command line a child runs under: no network, no other process, a
    read-only view of the system's folders and the Python code folders
    (:func:`code_dirs`), ``work/tmp`` as its ``/tmp``, and ``work`` the only folder it
    may write to (read-only too unless ``writable``); ``socket`` (a PostgreSQL server's Unix
    socket) only when a server was given."""
    program = sandbox_program()
    if program is None:
        raise RuntimeError(NO_SANDBOX)
    command = [program, "--unshare-all", "--die-with-parent", "--new-session"]
    # The private /tmp first: bwrap mounts in order, so a code folder under /tmp (an
    # environment made there) is bound on top of it instead of hidden under it. It is
    # the scratch folder's tmp (counted with it), not memory of the host.
    if writable:
        command += ["--bind", str(_scratch_tmp(work)), "/tmp"]  # noqa: S108  # nosec B108
    else:
        command += ["--tmpfs", "/tmp"]  # noqa: S108  # nosec B108
    command += ["--proc", "/proc", "--dev", "/dev"]
    for folder in dict.fromkeys([*_existing(SYSTEM_DIRS), *code_dirs()]):
        command += ["--ro-bind", folder, folder]
    command += ["--bind" if writable else "--ro-bind", str(work), str(work)]
    command += ["--chdir", str(work)]
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


def _add(report: CheckReport, result: CheckResult) -> None:
    if report.get(result.name) is None:
        report.checks.append(result)


def _result(sent: dict[str, Any]) -> CheckResult:
    """A check a child sent, as :meth:`CheckReport.to_dict` writes one, read back with
    :meth:`CheckReport.from_dict` (its summary's message id and parameters kept), each
    part cut to size."""
    params = sent.get("params")
    if not isinstance(params, dict):
        params = {}
    kept = {
        str(k)[:100]: (v[:1000] if isinstance(v, str) else v)
        for k, v in list(params.items())[:20]
        if isinstance(v, (str, int, float)) and not isinstance(v, bool)
    }
    data = {
        "name": str(sent["name"]),
        "status": str(sent["status"]),
        "summary": str(sent.get("summary", ""))[:1000],
        "output": str(sent.get("output", ""))[-50_000:],
        "message": str(sent.get("message") or "")[:1000],
        "params": kept,
    }
    return CheckReport.from_dict({"checks": [data]}).checks[0]


def _take(report: CheckReport, finished: Finished, names: tuple[str, ...]) -> None:
    """The results of ``names`` the child sent (any other name, a second result of the
    same check or a malformed one is left out), then every one of ``names`` it did not
    send, in error with why."""
    for message in finished.messages:
        sent = message.get("check")
        if not isinstance(sent, dict) or sent.get("name") not in names:
            continue
        try:
            result = _result(sent)
        except (KeyError, ValueError, TypeError):
            continue
        _add(report, result)
    missing = [name for name in names if report.get(name) is None]
    if finished.overflow:
        stopped = finished.overflow
    elif finished.timed_out:
        stopped = Message(N_("the check process stopped: time limit reached"))
    elif finished.returncode < 0:
        stopped = Message(
            N_("the check process stopped: killed by signal %(signal)d (memory limit?)"),
            signal=-finished.returncode,
        )
    elif finished.returncode != 0:
        stopped = Message(
            N_("the check process stopped: exit status %(status)d"), status=finished.returncode
        )
    else:
        stopped = Message(N_("the check process stopped: no result sent"))
    for number, name in enumerate(missing):
        summary = stopped if number == 0 else Message(N_("not reached"))
        _add(report, CheckResult(name, "error", summary, finished.output if not number else ""))


def _inspection(messages: list[dict[str, Any]], keys: tuple[str, ...] | None) -> dict[str, Any]:
    """The inspection a child sent (only ``keys`` of it, when given)."""
    found: dict[str, Any] = {}
    for message in messages:
        sent = message.get("inspection")
        if isinstance(sent, dict):
            found.update(
                (k, v)
                for k, v in sent.items()
                if isinstance(k, str) and (keys is None or k in keys)
            )
    if keys is None:
        return {key: found.get(key) for key in dict.fromkeys([*INSPECTION_KEYS, *found])}
    return found


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
