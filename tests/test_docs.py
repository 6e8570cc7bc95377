"""Documentation keeps up with the code: every hook is documented and tested."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from balai import hookspecs

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "balai_spec"))


def test_hookspecs_are_found():
    assert {"register_routes", "menu_items", "plugin_enabled"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook):
    docs = (ROOT / "docs" / "hooks.md").read_text()
    assert re.search(rf"^### {hook}\(", docs, re.MULTILINE), f"docs/hooks.md lacks {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_docstring_with_version(hook):
    doc = getattr(hookspecs, hook).__doc__ or ""
    assert ".. versionadded::" in doc


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_exercised_by_a_test(hook):
    sources = [p.read_text() for p in (ROOT / "tests").rglob("*.py") if p.name != "test_docs.py"]
    sources += [p.read_text() for p in (ROOT / "plugins").glob("*/tests/**/*.py")]
    assert any(f"def {hook}(" in s or f'"{hook}"' in s for s in sources), f"no test uses {hook}"
