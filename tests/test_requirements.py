"""The core's declared requirements cover what it imports.

A plain ``pip install balai`` must give a working ``balai`` command: every third-party
module the core imports when its modules load must come from a distribution that
``balai`` requires, directly or through a requirement of a requirement. The test and
proof helpers (``balai.testing``, ``balai.proof``) load only under the ``test`` extra.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import balai

CORE = Path(balai.__file__).parent
TEST_ONLY = ("testing.py", "proof")


def _module_level_imports(tree: ast.Module) -> set[str]:
    """Top-level names imported when the module loads (not inside functions)."""
    found: set[str] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.If | ast.Try):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            pending.extend(node.body)
            pending.extend(getattr(node, "orelse", []))
            pending.extend(getattr(node, "finalbody", []))
    return found


def _imported_distributions() -> dict[str, str]:
    """Each third-party distribution the core imports at load, with one file that does."""
    owners = packages_distributions()
    out: dict[str, str] = {}
    for path in sorted(CORE.rglob("*.py")):
        relative = path.relative_to(CORE)
        if relative.parts[0] in TEST_ONLY or "template" in relative.parts:
            continue
        for name in _module_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if name in sys.stdlib_module_names or name in {"balai", "__future__"}:
                continue
            for dist in owners.get(name, [name]):
                out.setdefault(_normal(dist), str(relative))
    return out


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _required_closure(root: str) -> set[str]:
    """``root`` and everything it requires (no extras), recursively."""
    seen: set[str] = set()
    pending = [root]
    while pending:
        dist = _normal(pending.pop())
        if dist in seen:
            continue
        seen.add(dist)
        try:
            entries = requires(dist) or []
        except PackageNotFoundError:
            continue
        for entry in entries:
            requirement, _, marker = entry.partition(";")
            if "extra" in marker:
                continue
            pending.append(re.split(r"[\s\[<>=!~(]", requirement.strip(), maxsplit=1)[0])
    return seen


def test_every_module_the_core_loads_comes_from_a_declared_requirement():
    available = _required_closure("balai")
    missing = {
        dist: where for dist, where in _imported_distributions().items() if dist not in available
    }
    assert missing == {}, f"add to install_requires in setup.cfg: {missing}"
