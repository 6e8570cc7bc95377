"""The checking side: ``python -m balai.plugincheck._child WORK FILE [--postgres URL]``.

Runs in the throw-away environment the distribution was installed into (a separate
process, limited by the caller), imports it, runs every check of
:data:`balai.plugincheck.CHECKS` and writes the report to ``WORK/report.json`` after
each one, so that a crash or the time limit keeps what was found so far.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import sysconfig
import tarfile
import time
import traceback
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path, PurePosixPath
from typing import Any

import importlib_metadata

from balai.plugincheck._inspect import distribution_facts, inspect_plugin
from balai.plugincheck._report import N_, CheckReport, CheckResult, Message
from balai.plugincheck._run import REPORT_FILE

PLUGIN_GROUP = "balai.plugins"
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
THEME_GROUP = "balai.themes"
#: Entry point groups from which pip writes commands into the environment's ``bin/``.
SCRIPT_GROUPS = ("console_scripts", "gui_scripts")
#: What a check function gives back: its status, a one-line summary and extra output.
Outcome = tuple[str, str, str]


class Checker:
    """Runs checks one by one, each with its output captured, saving the report."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.report = CheckReport()

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
        self.report.checks.append(CheckResult(name, status, summary, text[-50_000:]))
        self.save()
        return status

    def skip(self, name: str, why: str) -> None:  # a Message, to be translated
        self.run(name, lambda: ("skipped", why, ""))

    def save(self) -> None:
        path = self.work / REPORT_FILE
        path.write_text(json.dumps(self.report.to_dict(), default=str, indent=1))


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


def _problems(problems: list[str], passed: str) -> Outcome:
    """Failed with the first problem as the summary (all of them in the output), or passed."""
    if not problems:
        return "passed", passed, ""
    first = problems[0][:300]
    if len(problems) > 1:
        summary = Message(
            N_("%(problem)s (and %(more)d more)"), problem=first, more=len(problems) - 1
        )
    else:
        summary = Message(N_("%(problem)s"), problem=first)
    return "failed", summary, "\n".join(problems)


# -- the distribution ---------------------------------------------------------------------


def installed_distribution() -> importlib_metadata.Distribution:
    """The one distribution installed into this environment's own site-packages."""
    own = sysconfig.get_paths()["purelib"]
    found = list(importlib_metadata.distributions(path=[own]))
    if len(found) != 1:
        names = ", ".join(d.metadata.get("Name") for d in found) or "none"
        raise RuntimeError(f"expected one distribution in {own}, found: {names}")
    return found[0]


def metadata_check(
    dist: importlib_metadata.Distribution,
    inspection: dict[str, Any],
    archive_names: list[str] | None = None,
) -> Outcome:
    """Entry point, name, dependency on the core, README, the files it installs (and
    those of the wheel, ``archive_names``); fills ``inspection`` from it."""
    name = dist.metadata.get("Name") or ""
    points = [ep for ep in dist.entry_points if ep.group in (PLUGIN_GROUP, THEME_GROUP)]
    problems = []
    if len(points) != 1:
        listed = ", ".join(f"{ep.group}: {ep.name}" for ep in points) or "none"
        problems.append(
            f"one entry point in {PLUGIN_GROUP} or {THEME_GROUP} expected, found {listed}"
        )
    else:
        point = points[0]
        expected = (
            f"balai-theme-{point.name}" if point.group == THEME_GROUP else f"balai-{point.name}"
        )
        if _normalise(name) != _normalise(expected):
            problems.append(
                f"distribution is {name!r}; entry point {point.name!r} needs {expected!r}"
            )
    for script in (ep for ep in dist.entry_points if ep.group in SCRIPT_GROUPS):
        problems.append(
            f"{script.group} entry point {script.name!r} ({script.value}): "
            "a plugin may not install commands"
        )
    facts = distribution_facts(dist)
    inspection.update(facts)
    if not facts["requires_core"] and "balai" not in facts["requires"]:
        problems.append("it does not depend on balai (Requires-Dist: balai>=...)")
    if not facts["readme"].strip():
        problems.append("no README (long description)")
    installed = sorted(str(f) for f in dist.files or ())
    package = _normalise(name).replace("-", "_")
    problems += file_problems([*(archive_names or []), *installed], package)
    status, summary, output = _problems(problems, f"{name} {dist.version}")
    listing = "\n".join(f"  {f}" for f in installed) or "  (none listed)"
    return status, summary, f"{output}\nfiles it installs:\n{listing}".lstrip()


def file_problems(names: list[str], package: str) -> list[str]:
    """The files outside ``package/``, the distribution's own ``.dist-info/`` and
    ``.data/`` folders (whose ``purelib``/``platlib`` must hold ``package/`` only), and
    every ``.pth`` file: pip would install them beside the core's own packages."""
    problems = []
    for name in dict.fromkeys(names):
        if name.endswith("/"):
            continue
        if name.lower().endswith(".pth"):
            problems.append(f"{name}: a .pth file runs code in every Python process")
        elif not _inside(PurePosixPath(name).parts, package):
            problems.append(f"{name}: a file outside {package}/")
    return problems


def _inside(parts: tuple[str, ...], package: str) -> bool:
    if not parts or ".." in parts or parts[0] in ("", "/"):
        return False
    top = parts[0]
    own = top.lower().startswith(f"{package.lower()}-")
    if top == package or (own and top.endswith(".dist-info")):
        return True
    if own and top.endswith(".data"):
        if len(parts) > 1 and parts[1] in ("purelib", "platlib"):
            return _inside(parts[2:], package)
        return True
    return False


def wheel_names(file: Path) -> list[str]:
    """The members of a wheel file (none for an sdist)."""
    if not file.name.endswith(".whl"):
        return []
    with zipfile.ZipFile(file) as archive:
        return archive.namelist()


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


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
        checker.report.inspection.update(inspection)
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
    return "passed", last, output


def bandit_check(packages: list[Path]) -> Outcome:
    """bandit over the installed package: a high-severity finding fails, others are listed."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bandit", "--quiet", "--recursive", "--format", "json"]
        + [str(p) for p in packages],
        capture_output=True,
        text=True,
        check=False,
    )
    if "No module named bandit" in done.stderr:
        return "skipped", Message(N_("bandit is not installed")), done.stderr
    try:
        results = json.loads(done.stdout)["results"]
    except (ValueError, KeyError):
        return "error", Message(N_("bandit gave no report")), done.stdout + done.stderr
    lines = [_finding(r) for r in results]
    high = [line for line in lines if line.startswith("HIGH")]
    counts = {
        s: sum(1 for r in results if r["issue_severity"] == s) for s in ("HIGH", "MEDIUM", "LOW")
    }
    summary = Message(
        N_("%(high)d high, %(medium)d medium, %(low)d low"),
        high=counts["HIGH"],
        medium=counts["MEDIUM"],
        low=counts["LOW"],
    )
    if high:
        finding = Message(N_("high-severity finding: %(finding)s"), finding=high[0])
        return "failed", finding, "\n".join(lines)
    return "passed", summary, "\n".join(lines)


def _finding(result: dict[str, Any]) -> str:
    where = f"{Path(result['filename']).name}:{result['line_number']}"
    return f"{result['issue_severity']} {result['test_id']} {where} {result['issue_text']}"


def catalogue_check(packages: list[Path], kind: str) -> Outcome:
    from balai.proof import plugin as checks

    if kind == "theme" and not any((p / "translations").is_dir() for p in packages):
        return "skipped", Message(N_("a theme without catalogues of its own")), ""
    problems = [p for package in packages for p in checks.catalogue_problems(package)]
    return _problems(problems, Message(N_("Indonesian catalogue complete")))


def package_dirs(dist: importlib_metadata.Distribution) -> list[Path]:
    """The top-level packages the distribution installed."""
    tops = {Path(str(f)).parts[0] for f in dist.files or () if str(f).endswith(".py")}
    return sorted(
        Path(str(dist.locate_file(top)))
        for top in tops
        if not top.endswith((".dist-info", ".data")) and Path(str(dist.locate_file(top))).is_dir()
    )


# -- all of it ------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="balai.plugincheck._child")
    parser.add_argument("work", type=Path)
    parser.add_argument("file", type=Path)
    parser.add_argument("--postgres")
    args = parser.parse_args(argv)
    os.chdir(args.work)
    checker = Checker(args.work)
    dist = installed_distribution()
    checker.run(
        "metadata",
        lambda: metadata_check(dist, checker.report.inspection, wheel_names(args.file)),
    )
    kind = checker.report.inspection.get("kind") or ""
    name = checker.report.inspection.get("name") or ""
    packages = package_dirs(dist)
    if kind == "plugin":
        app_checks(checker, name, args.work, args.postgres)
    else:
        for skipped in APP_CHECKS:
            if kind:
                checker.skip(skipped, Message(N_("not a plugin (%(kind)s)"), kind=kind))
            else:
                checker.skip(skipped, Message(N_("not a plugin (no entry point)")))
    checker.run("tests", lambda: tests_check(args.file, args.work))
    checker.run("bandit", lambda: bandit_check(packages))
    checker.run("catalogue", lambda: catalogue_check(packages, kind))
    _order(checker.report)
    checker.save()
    return 0


def _order(report: CheckReport) -> None:
    from balai.plugincheck._report import CHECKS

    report.checks.sort(key=lambda check: CHECKS.index(check.name))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
