"""The production layout of docs/operators.md: its gunicorn file is one gunicorn reads.

tests/test_two_hosts.py serves two hosts with the same file; this checks it on
every database, without starting anything.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from gunicorn.config import Config

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "docs" / "examples" / "gunicorn.conf.py"


def _settings() -> dict[str, object]:
    found = runpy.run_path(str(GUNICORN_CONF))
    return {k: v for k, v in found.items() if not k.startswith("_") and not callable(v)}


def _module_names() -> set[str]:
    found = runpy.run_path(str(GUNICORN_CONF))
    return {k for k, v in found.items() if type(v).__name__ == "module"}


def test_every_name_in_the_gunicorn_file_is_a_gunicorn_setting():
    known = set(Config().settings)
    names = set(_settings()) - _module_names()
    assert names, "docs/examples/gunicorn.conf.py sets nothing"
    assert names <= known, f"not gunicorn settings (typos?): {sorted(names - known)}"


def test_gunicorn_accepts_every_value_of_the_file():
    config = Config()
    for name, value in _settings().items():
        if name in config.settings:
            config.set(name, value)  # gunicorn's own validation raises on a bad value
    assert config.worker_class_str == "sync"
    assert config.workers >= 3  # 2 x cores + 1
    assert config.address == [("127.0.0.1", 8000)]
    assert config.forwarded_allow_ips == ["127.0.0.1", "::1"]
    assert config.wsgi_app == "balai:create_app()"


@pytest.mark.parametrize(
    "needle",
    [
        "docs/examples/gunicorn.conf.py",
        "proxy_set_header Host $host",
        "proxy_set_header X-Forwarded-For",
        "proxy_set_header X-Forwarded-Proto",
        "proxy_set_header X-Request-ID",
        "balai db upgrade",
        "pg_dump",
    ],
)
def test_the_production_layout_section_names_its_parts(needle):
    docs = (ROOT / "docs" / "operators.md").read_text()
    start = docs.index("## Production layout (tested)")
    end = docs.find("\n## ", start + 1)
    section = docs[start : end if end != -1 else None]
    assert needle in section
