"""Libraries only some requests or commands need are imported when those run, not by
every process that starts the app: a web worker builds the app without them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

#: Imported where used: the upstream client's requests (httpx), the kiosk ticket's QR
#: code (segno and, through it, xml.sax), a plugin's README page in the registry
#: (markdown_it), the migrations and ``balai plugin revision`` (alembic), the first
#: rate-limit hit (limits, which imports its asyncio storages with it), the demo data
#: (``balai demo``'s ``populate_demo``), the first image (Pillow) and the first sealed
#: value (cryptography).
LAZY = (
    "httpx",
    "segno",
    "xml.sax",
    "markdown_it",
    "alembic",
    "limits",
    "balai.demodata",
    "balai_pengaduan.demo",
    "balai_pengumuman.demo",
    "balai_puskesmas.demo",
    "balai_registry.demo",
    "PIL",
    "cryptography",
)


def _imported_by(code: str, tmp_path: Path) -> list[str]:
    script = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        print(json.dumps([m for m in {LAZY!r} if m in sys.modules]))
        """
    )
    return _printed(script, tmp_path)


def _printed(script: str, tmp_path: Path) -> Any:
    """The JSON value ``script`` prints last, run by this interpreter in a new process."""
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=tmp_path,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_create_app_does_not_import_what_only_some_requests_need(tmp_path):
    code = f"""
        from balai.app import create_app
        create_app({{
            "DATABASE_URL": "sqlite:///{tmp_path}/startup.db",
            "INSTANCE_PATH": "{tmp_path}",
            "SECRET_KEY": "startup-imports",
            "TENANCY": "multi",
        }})
        """
    assert _imported_by(code, tmp_path) == []


def test_the_balai_command_does_not_import_alembic_before_a_command_needs_it(tmp_path):
    assert _imported_by("import balai.cli\n", tmp_path) == []


def test_the_collector_is_paused_while_the_core_imports_and_builds_and_only_then(tmp_path):
    """Start-up makes objects that live as long as the process: no cyclic collection
    walks them while they are made (about 300 did), and the collector is on again
    afterwards. The few counted are the ones that may run just outside the pause:
    compiling ``balai/__init__.py`` itself, and the first allocation after each pause."""
    script = textwrap.dedent(
        f"""
        import gc, json
        collections = []
        gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(info))
        import balai
        from balai.app import create_app
        create_app({{
            "DATABASE_URL": "sqlite:///{tmp_path}/startup.db",
            "INSTANCE_PATH": "{tmp_path}",
            "SECRET_KEY": "startup-imports",
            "TENANCY": "multi",
        }})
        during = len(collections)
        print(json.dumps([during, gc.isenabled()]))
        """
    )
    during, enabled = _printed(script, tmp_path)
    assert during <= 4 and enabled is True


def test_what_the_imports_made_is_not_walked_by_later_collections(tmp_path):
    """The objects importing the core made are frozen (``gc.freeze``): they live as long
    as the process, and the first collection afterwards no longer walks them all."""
    script = """
        import gc, json
        import balai
        print(json.dumps([gc.get_freeze_count(), len(gc.get_objects())]))
        """
    frozen, walked = _printed(textwrap.dedent(script), tmp_path)
    assert frozen > 100_000 and walked < frozen / 50
