"""The dynamic checks: ``python -m balai.plugincheck._child WORK FILE --name NAME
--kind KIND --results-fd N [--postgres URL]``.

Runs in the throw-away environment the distribution was installed into (a separate
process, limited and sandboxed by the caller), imports it and runs the checks that
need its code: those of :data:`DYNAMIC_CHECKS`. Each result is written as one JSON
line to the pipe ``--results-fd`` the caller made (never to a file), so that a crash
or the time limit keeps what was found so far.

The plugin's code runs in this very process: it can write whatever it likes to that
pipe, so these results are evidence for a reviewer, not proof. The checks the
caller relies on are the static ones (:mod:`balai.plugincheck._static`).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import re
import subprocess
import sys
import tarfile
import time
import traceback
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from balai.plugincheck._inspect import inspect_plugin
from balai.plugincheck._report import N_, CheckResult, Message
from balai.plugincheck._run import APP_CHECKS
from balai.plugincheck._static import problems_outcome as _problems

#: What a check function gives back: its status, a one-line summary and extra output.
Outcome = tuple[str, str, str]


class Checker:
    """Runs checks one by one, each with its output captured, sending each result."""

    def __init__(self, channel: IO[str]) -> None:
        self.channel = channel
        self.checks: list[CheckResult] = []

    def run(self, name: str, check: Callable[[], Outcome]) -> str:
        buffer = io.StringIO()
        started = time.monotonic()
        with _captured(buffer):
            try:
                status, summary, output = check()
            except Exception as exc:
                status = "error"
                summary = Message(N_("%(error)s"), error=f"{type(exc).__name__}: {exc}")
                output = traceback.format_exc()
        printed = buffer.getvalue()
        took = f"({time.monotonic() - started:.1f} s)"
        text = "\n".join(part for part in (took, output.rstrip(), printed.rstrip()) if part)
        result = CheckResult(name, status, summary, text[-50_000:])
        self.checks.append(result)
        self.send({"check": asdict(result)})  # as CheckReport.to_dict writes a check
        return status

    def skip(self, name: str, why: str) -> None:  # a Message, to be translated
        self.run(name, lambda: ("skipped", why, ""))

    def send(self, message: dict[str, Any]) -> None:
        # A check goes as CheckReport.to_dict writes it; only the inspection may hold
        # values JSON has no form for (written as strings).
        loose = str if "inspection" in message else None
        self.channel.write(json.dumps(message, default=loose) + "\n")
        self.channel.flush()


@contextmanager
def _captured(buffer: io.StringIO) -> Iterator[None]:
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with redirect_stdout(buffer), redirect_stderr(buffer):
            yield
    finally:
        root.removeHandler(handler)


# -- checks that need the app -------------------------------------------------------------


def app_checks(checker: Checker, name: str, work: Path, postgres: str | None) -> dict[str, Any]:
    """Build an app on a scratch SQLite file and run every check that needs it."""
    from balai.db import db
    from balai.plugins import plugins
    from balai.proof import plugin as checks

    try:
        app = checks.scratch_app(f"sqlite:///{work / 'check.sqlite'}", work / "instance")
    except Exception as exc:  # the core itself could not start with it installed
        why = Message(N_("the app could not be built: %(error)s"), error=str(exc))
        failure = ("error", why, traceback.format_exc())
        checker.run("hooks", lambda: failure)
        for skipped in APP_CHECKS[1:]:
            checker.skip(skipped, Message(N_("the app could not be built")))
        return {}
    with app.app_context():
        hooks = checks.hook_problems(app, name) if plugins(app).get(name) else []
        checker.run("hooks", lambda: _loaded(app, name, hooks))
        info = plugins(app).get(name)
        if info is None or info.module is None:
            for skipped in APP_CHECKS[1:]:
                checker.skip(skipped, Message(N_("the plugin does not load")))
            db.engine_for(app).dispose()
            return {}
        checker.run(
            "conventions",
            lambda: _problems(
                checks.convention_problems(app, name), Message(N_("names and layout"))
            ),
        )
        checker.run("routes", lambda: _routes(app, name))
        checker.run(
            "settings",
            lambda: _problems(
                checks.settings_problems(app, name), Message(N_("settings schema loads"))
            ),
        )
        inspection = inspect_plugin(app, name)
        sqlite = checker.run("migrations-sqlite", lambda: _migrations(app, name, "SQLite"))
        if postgres:
            checker.run("migrations-postgresql", lambda: _on_postgres(name, postgres, work))
        else:
            checker.skip(
                "migrations-postgresql", Message(N_("no PostgreSQL given (--postgres URL)"))
            )
        checker.send({"inspection": inspection})
        if info.broken:
            left_out = Message(N_("the core left the plugin out: %(error)s"), error=info.error)
            checker.skip("sweep", left_out)
        elif sqlite != "passed":
            checker.skip("sweep", Message(N_("its migrations do not work on SQLite")))
        else:
            checker.run("sweep", lambda: _sweep(app, name))
    db.engine_for(app).dispose()
    return inspection


def _loaded(app: Any, name: str, problems: list[str]) -> Outcome:
    from balai.plugins import plugins

    if plugins(app).get(name) is None:
        missing = N_("hooks: no plugin %(name)r after loading its entry point")
        return "failed", Message(missing, name=name), ""
    return _problems(problems, Message(N_("check_pending: no misspelt hook")))


def _routes(app: Any, name: str) -> Outcome:
    from balai.proof import plugin as checks

    problems = checks.route_problems_of(app, name)
    count = len(checks.rules_of(app, name))
    return _problems(problems, Message(N_("%(count)d routes, each guarded or public"), count=count))


def _migrations(app: Any, name: str, database: str) -> Outcome:
    from balai.plugins import plugins
    from balai.proof import plugin as checks

    info = plugins(app).get(name)
    problems = checks.migration_problems(app, name)
    if info.migrations is None and not problems:
        return "passed", Message(N_("no tables, no migrations")), ""
    done = Message(
        N_("upgrade, models match, downgrade to base, upgrade again on %(database)s"),
        database=database,
    )
    return _problems(problems, done)


def _on_postgres(name: str, url: str, work: Path) -> Outcome:
    from balai.db import db
    from balai.proof import plugin as checks

    app = checks.scratch_app(url, work / "instance-postgresql")
    try:
        with app.app_context():
            return _migrations(app, name, "PostgreSQL")
    finally:
        db.engine_for(app).dispose()


def _sweep(app: Any, name: str) -> Outcome:
    from balai.proof import plugin as checks

    problems, figures = checks.sweep_problems(app, name)
    status, summary, output = _problems(problems, figures)
    return status, summary, f"{figures}\n{output}" if problems else ""


# -- checks of the files -------------------------------------------------------------------


def tests_check(file: Path, work: Path) -> Outcome:
    """The plugin's own tests, when the sdist ships them, on SQLite."""
    if file.name.endswith(".whl"):
        return "skipped", Message(N_("a wheel ships no tests (upload the sdist too)")), ""
    source = work / "source"
    if file.name.endswith(".zip"):
        with zipfile.ZipFile(file) as archive:
            # zipfile itself keeps every member inside ``source`` (no tarfile here).
            archive.extractall(source)  # noqa: S202  # nosec B202
    else:
        with tarfile.open(file) as archive:
            archive.extractall(source, filter="data")
    roots = [p for p in source.iterdir() if p.is_dir()]
    root = roots[0] if len(roots) == 1 else source
    tests = root / "tests"
    if not any(tests.glob("**/test_*.py")):
        return "skipped", Message(N_("the sdist ships no tests/test_*.py")), ""
    # The plugin's own tests, in this (limited) process's child.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    output = (done.stdout + done.stderr)[-30_000:]
    last = (done.stdout.strip().splitlines() or [""])[-1]
    if done.returncode != 0:
        return "failed", Message(N_("its tests fail: %(result)s"), result=last), output
    return "passed", _tests_passed(last), output


def _tests_passed(last: str) -> str:
    """pytest's last line (``30 passed, 2 skipped in 23.40s``) as a message id with
    its counts, or as it is when it reads otherwise."""
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|skipped)\b", last)}
    if "passed" not in counts:
        return last
    if counts.get("skipped"):
        return Message(
            N_("%(passed)d passed, %(skipped)d skipped"),
            passed=counts["passed"],
            skipped=counts["skipped"],
        )
    return Message(N_("%(passed)d passed"), passed=counts["passed"])


# -- all of it ------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="balai.plugincheck._child")
    parser.add_argument("work", type=Path)
    parser.add_argument("file", type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--kind", required=True)
    parser.add_argument("--results-fd", type=int, required=True)
    parser.add_argument("--postgres")
    args = parser.parse_args(argv)
    os.chdir(args.work)
    with open(args.results_fd, "w", encoding="utf-8") as channel:
        checker = Checker(channel)
        if args.kind == "plugin":
            app_checks(checker, args.name, args.work, args.postgres)
        if not args.file.name.endswith(".whl"):
            checker.run("tests", lambda: tests_check(args.file, args.work))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
