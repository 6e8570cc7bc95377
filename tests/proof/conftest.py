"""The proof harness: every test here records its figures (see ``figures.py``)."""

from __future__ import annotations

import os

import pytest
from figures import ENV, Figures, database_kind, figures_path, read, table


@pytest.fixture(scope="session")
def figures(tmp_path_factory: pytest.TempPathFactory) -> Figures:
    return Figures(figures_path(tmp_path_factory), database_kind())


def pytest_terminal_summary(terminalreporter, config) -> None:
    if os.environ.get(ENV):
        return  # scripts/prove prints the whole table once, at the end
    path = config._tmp_path_factory.getbasetemp() / "figures.jsonl"
    lines = table(read(path))
    if lines:
        terminalreporter.section("proof figures")
        for line in lines:
            terminalreporter.write_line(line)
