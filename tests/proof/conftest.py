"""The proof harness: every test here records its figures (see ``figures.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from figures import figures_fixture, print_summary

__all__ = ["figures_fixture"]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    print_summary(terminalreporter, config)
