"""Code and tests keep to the application's clock, the one tests can freeze and move.

Time comes from ``balai.db.utcnow()`` (an aware UTC datetime) and becomes a calendar
day only in the region's time zone. Reading the machine's local zone (``date.today()``,
``datetime.now()`` without a zone) makes the answer depend on where the server runs;
reading the database server's clock (``now()``, ``CURRENT_TIMESTAMP``) escapes both
time-machine and ``BALAI_TEST_NOW``. ``scripts/prove`` runs the tests marked ``clock``
at every instant of ``balai.testing.INSTANTS``; see docs/testing.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from balai.db import db
from balai.testing import DatabaseClockError

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    ROOT / "core" / "balai",
    *sorted(ROOT.glob("plugins/balai-*/balai_*")),
    *sorted(ROOT.glob("registry/balai-*/balai_*")),
    *sorted(ROOT.glob("themes/balai-theme-*/balai_theme_*")),
]
TESTS = [
    ROOT / "tests",
    *sorted(ROOT.glob("plugins/balai-*/tests")),
    *sorted(ROOT.glob("registry/balai-*/tests")),
]

#: Calls that read the clock in the machine's local time zone, or give naive values.
LOCAL_CLOCK = {
    ("date", "today"): "date.today() is the machine's day",
    ("datetime", "today"): "datetime.today() is the machine's local time",
    ("datetime", "utcnow"): "datetime.utcnow() is naive",
    ("datetime", "utcfromtimestamp"): "datetime.utcfromtimestamp() is naive",
    ("time", "localtime"): "time.localtime() is the machine's local time",
    ("time", "ctime"): "time.ctime() is the machine's local time",
    ("time", "mktime"): "time.mktime() reads the machine's zone",
}
#: These read the machine's zone unless a zone is passed (keyword ``tz``/``tzinfo`` or
#: the given positional argument).
ZONE_ARGUMENT = {("datetime", "now"): 0, ("datetime", "fromtimestamp"): 1}
DATABASE_CLOCK_FUNCTIONS = {
    "now",
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "sysdate",
}


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _python_files(folders: list[Path]) -> list[Path]:
    """The Python files under ``folders``, except this one (its examples break the rules)."""
    here = Path(__file__).resolve()
    return sorted(p for folder in folders for p in folder.rglob("*.py") if p.resolve() != here)


def _owner(node: ast.expr) -> str | None:
    """``date`` for ``date.today``, ``datetime.date.today`` and ``dt.date.today``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def local_clock_reads(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        key = (_owner(node.func.value) or "", node.func.attr)
        why = LOCAL_CLOCK.get(key)
        if key in ZONE_ARGUMENT:
            zoned = len(node.args) > ZONE_ARGUMENT[key] or any(
                k.arg in {"tz", "tzinfo"} for k in node.keywords
            )
            why = None if zoned else f"{key[0]}.{key[1]}() without a zone is naive, local"
        if why:
            found.append(f"{_shown(path)}:{node.lineno}: {why}")
    return found


def database_clock_reads(path: Path) -> list[str]:
    """``func.now()`` and friends: SQL that asks the database server for the time."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.lower() in DATABASE_CLOCK_FUNCTIONS
            and _owner(node.value) == "func"
        ):
            found.append(f"{_shown(path)}:{node.lineno}: func.{node.attr}")
    return found


@pytest.mark.parametrize("folders", [SOURCES, TESTS], ids=["code", "tests"])
def test_nothing_reads_the_clock_of_the_machines_time_zone(folders: list[Path]) -> None:
    found = [line for path in _python_files(folders) for line in local_clock_reads(path)]
    assert found == [], "use balai.db.utcnow() and the region's time zone:\n" + "\n".join(found)


def test_the_check_finds_local_clock_reads(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import datetime as dt\nfrom datetime import UTC, date, datetime\n"
        "date.today()\ndt.date.today()\ndatetime.now()\ndatetime.now(UTC)\n"
        "datetime.now(tz=UTC)\ndatetime.fromtimestamp(0)\ndatetime.fromtimestamp(0, UTC)\n"
        "dt.datetime.utcnow()\n",
        encoding="utf-8",
    )
    found = local_clock_reads(sample)
    assert [line.split(":")[1] for line in found] == ["3", "4", "5", "8", "10"]


@pytest.mark.parametrize("folders", [SOURCES, TESTS], ids=["code", "tests"])
def test_no_sql_asks_the_database_for_the_time(folders: list[Path]) -> None:
    found = [line for path in _python_files(folders) for line in database_clock_reads(path)]
    assert found == [], "pass balai.db.utcnow() as a parameter:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "statement",
    [
        text("SELECT CURRENT_TIMESTAMP"),
        text("SELECT current_date"),
        select(func.now()),
        select(func.current_timestamp()),
    ],
    ids=["CURRENT_TIMESTAMP", "current_date", "func.now", "func.current_timestamp"],
)
def test_a_statement_reading_the_database_clock_fails_the_test(app, tenant, statement) -> None:
    session = db.new_session(tenant.id)
    try:
        with pytest.raises(DatabaseClockError, match="database server's clock"):
            session.execute(statement)
    finally:
        session.close()


def test_statements_naming_the_time_otherwise_run(app, tenant) -> None:
    session = db.new_session(tenant.id)
    try:
        assert session.execute(text("SELECT 'known' AS utcnow_at")).scalar() == "known"
    finally:
        session.close()
