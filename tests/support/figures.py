"""Figures the proof harness reports: requests tried, leaks, server errors, findings.

A conftest imports ``figures_fixture`` and ``print_summary``; a test then records what
it measured with the ``figures`` fixture::

    def test_sweep(figures):
        ...
        figures.record("cross-tenant sweep", "requests tried", tried)
        figures.record("cross-tenant sweep", "leaks", len(leaks))

Each figure is one JSON line in the file named by ``BALAI_FIGURES`` (``scripts/prove``
sets it and prints the table at the end); without it they go to a file of the pytest
session, printed in pytest's terminal summary.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ENV = "BALAI_FIGURES"


@dataclass
class Figures:
    path: Path
    database: str

    def record(self, part: str, figure: str, value: int | float | str) -> None:
        line = {"part": part, "figure": figure, "value": value, "database": self.database}
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")


def _path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    named = os.environ.get(ENV)
    if named:
        return Path(named)
    return tmp_path_factory.getbasetemp() / "figures.jsonl"


@pytest.fixture(scope="session", name="figures")
def figures_fixture(tmp_path_factory: pytest.TempPathFactory) -> Figures:
    """Where this session's tests record their figures."""
    database = "postgresql" if os.environ.get("BALAI_TEST_DATABASE_URL") else "sqlite"
    return Figures(_path(tmp_path_factory), database)


def print_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The figures as a section of pytest's summary (``scripts/prove`` prints its own)."""
    if os.environ.get(ENV) or getattr(config, "_balai_figures_shown", False):
        return
    config._balai_figures_shown = True  # type: ignore[attr-defined]
    lines = table(read(_path(config._tmp_path_factory)))  # type: ignore[attr-defined]
    if lines:
        terminalreporter.section("proof figures")
        for line in lines:
            terminalreporter.write_line(line)


def read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def table(rows: list[dict[str, Any]]) -> list[str]:
    """One line per part and figure, one column per database: counts summed, times the worst."""
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        cell = totals.setdefault((row["part"], row["figure"]), {})
        value, before = row["value"], cell.get(row["database"])
        if isinstance(value, float) and isinstance(before, float):
            value = max(before, value)  # a measurement: the worst one counts
        elif isinstance(value, int) and isinstance(before, int):
            value = before + value  # a count: they add up
        cell[row["database"]] = value
    if not totals:
        return []
    databases = sorted({db for cell in totals.values() for db in cell}, key=_column_order)
    width = max(len(f"{part}: {figure}") for part, figure in totals) + 2
    lines = [f"{'':<{width}}" + "".join(f"{db:>12}" for db in databases)]
    for (part, figure), cell in sorted(totals.items()):
        values = "".join(f"{_shown(cell.get(db, '')):>12}" for db in databases)
        lines.append(f"{f'{part}: {figure}':<{width}}{values}")
    return lines


def _column_order(database: str) -> tuple[int, str]:
    return ({"sqlite": 0, "postgresql": 1}.get(database, 2), database)


def _shown(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":  # python tests/support/figures.py FILE: print the table
    import sys

    print("\n".join(table(read(Path(sys.argv[1])))) or "no figures recorded")
