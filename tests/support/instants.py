"""Run the tests marked ``clock`` at every instant of ``balai.testing.INSTANTS``.

    python tests/support/instants.py [pytest options]

Each instant is one pytest session travelled there (``BALAI_TEST_NOW``), on the database
the environment names (SQLite without ``BALAI_TEST_DATABASE_URL``). The sessions also
run under different server time zones (``TZ``), since nothing may depend on the zone of
the machine either. ``BALAI_TEST_WORKERS`` sessions run at once (default: one per CPU;
0 or 1: one after another). Prints one line per instant, the output of any session that
failed, records figures (``tests/support/figures.py``) and exits non-zero if a session
failed or collected no test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from balai.testing import INSTANTS, NOW_VARIABLE

ROOT = Path(__file__).resolve().parents[2]
SUITE = ["tests", "plugins", "registry", "themes", "--ignore=tests/proof", "--ignore=tests/e2e"]
PART = "fixed instants"

#: The server's own time zone for each session, in turn: none of them may matter.
SERVER_ZONES = ("UTC", "Asia/Jayapura", "America/Los_Angeles", "Pacific/Kiritimati")


@dataclass
class Outcome:
    instant: str
    why: str
    zone: str
    tests: int = 0
    failed: int = 0
    seconds: float = 0.0
    exit_code: int = 0
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.failed == 0 and self.tests > 0


def run(instant: str, why: str, zone: str, options: list[str], folder: Path) -> Outcome:
    outcome = Outcome(instant, why, zone)
    report = folder / f"{instant.replace(':', '')}.xml"
    env = {**os.environ, NOW_VARIABLE: instant, "TZ": zone}
    command = [sys.executable, "-m", "pytest", *SUITE, "-m", "clock", "-q"]
    command += ["-p", "no:randomly", f"--junitxml={report}", *options]
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    outcome.seconds = time.perf_counter() - started
    outcome.exit_code, outcome.output = done.returncode, done.stdout + done.stderr
    if report.exists():
        suites = ET.parse(report).getroot()  # noqa: S314 - pytest's own report
        for suite in suites.iter("testsuite"):
            skipped = int(suite.get("skipped", 0))
            outcome.tests += int(suite.get("tests", 0)) - skipped
            outcome.failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    return outcome


def record(outcomes: list[Outcome]) -> None:
    """Figures for ``scripts/prove``'s table, one column per database."""
    path = os.environ.get("BALAI_FIGURES")
    if not path:
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from figures import Figures

    database = "postgresql" if os.environ.get("BALAI_TEST_DATABASE_URL") else "sqlite"
    figures = Figures(Path(path), database)
    figures.record(PART, "instants", len(outcomes))
    figures.record(PART, "tests run (all instants)", sum(o.tests for o in outcomes))
    figures.record(PART, "failures", sum(o.failed for o in outcomes))
    for o in outcomes:
        figures.record(PART, f"at {o.instant}: failed/run", f"{o.failed}/{o.tests}")


def workers() -> int:
    """Sessions at once: ``BALAI_TEST_WORKERS`` (``auto``: one per CPU; 0: one)."""
    value = os.environ.get("BALAI_TEST_WORKERS", "").strip() or "auto"
    return (os.cpu_count() or 1) if value == "auto" else max(int(value), 1)


def main(options: list[str]) -> int:
    sessions = [
        (instant, why, SERVER_ZONES[n % len(SERVER_ZONES)])
        for n, (instant, why) in enumerate(INSTANTS)
    ]
    with (
        tempfile.TemporaryDirectory(prefix="balai-instants-") as folder,
        ThreadPoolExecutor(max_workers=workers()) as pool,
    ):
        outcomes = list(pool.map(lambda s: run(*s, options, Path(folder)), sessions))
    for o in outcomes:
        if not o.ok:
            print(f"\n--- {o.instant} ({o.why}), TZ={o.zone}: exit {o.exit_code}")
            print(o.output.rstrip())
    print()
    for o in outcomes:
        state = "ok    " if o.ok else "FAILED"
        print(
            f"{state} {o.instant}  {o.failed:>3} failed of {o.tests:>4}  "
            f"({o.seconds:5.1f} s, TZ={o.zone})  {o.why}"
        )
    record(outcomes)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
