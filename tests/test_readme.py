"""The README's quick start runs as written and its links lead somewhere."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOC_LINK = re.compile(r"\]\((docs/[^)#\s]+\.md)(?:#[^)\s]*)?\)")


def _section(title: str) -> str:
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert found, f"README.md has no section {title!r}"
    return found.group(1)


def _shell_commands(text: str) -> list[str]:
    """The commands of the ```sh blocks: lines that are neither blank nor comments."""
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


QUICK_START = _shell_commands(_section("Quick start"))


def test_the_quick_start_is_two_commands():
    assert len(QUICK_START) == 2, QUICK_START


@pytest.mark.parametrize("command", QUICK_START)
def test_each_quick_start_command_is_an_executable_script(command):
    script = ROOT / shlex.split(command)[0]
    assert script.is_file(), f"{command!r}: no {script.relative_to(ROOT)}"
    assert os.access(script, os.X_OK), f"{script.relative_to(ROOT)} is not executable"


def test_the_readme_calls_nothing_unbuilt():
    assert "not built yet" not in README


def test_the_readme_links_to_the_docs():
    assert len(DOC_LINK.findall(README)) >= 5


@pytest.mark.parametrize("link", sorted(set(DOC_LINK.findall(README))))
def test_every_docs_link_resolves(link):
    assert (ROOT / link).is_file(), f"README.md links to {link}, which does not exist"
