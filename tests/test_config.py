"""Settings: where each value comes from, how the environment is read, what is refused.

Precedence, lowest first: ``DEFAULTS``, the instance file ``balai.cfg``, ``BALAI_*``
environment variables, the mapping given to ``create_app`` (docs/settings.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from balai import create_app
from balai.db import db


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``BALAI_*`` variable of the shell running the tests takes part."""
    for name in list(os.environ):
        if name.startswith("BALAI_"):
            monkeypatch.delenv(name)


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    path.mkdir()
    return path


@pytest.fixture
def build(instance: Path) -> Iterator[Any]:
    """``build(**overrides)``: an app on ``instance``, with a secret key unless told."""
    built: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        settings = {"INSTANCE_PATH": str(instance), "SECRET_KEY": "config-test-key"}
        settings.update(overrides)
        app = create_app({k: v for k, v in settings.items() if v is not None})
        built.append(app)
        return app

    yield factory
    for app in built:
        db.engine_for(app).dispose()


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ((), 20),
        (("file",), 30),
        (("file", "env"), 40),
        (("env",), 40),
        (("file", "env", "override"), 50),
        (("file", "override"), 50),
    ],
)
def test_each_layer_wins_over_the_one_below(build, instance, monkeypatch, layers, expected):
    overrides: dict[str, Any] = {}
    if "file" in layers:
        (instance / "balai.cfg").write_text("API_PAGE_SIZE = 30\n")
    if "env" in layers:
        monkeypatch.setenv("BALAI_API_PAGE_SIZE", "40")
    if "override" in layers:
        overrides["API_PAGE_SIZE"] = 50
    assert build(**overrides).config["API_PAGE_SIZE"] == expected


def test_a_layer_leaves_the_keys_it_does_not_name(build, instance, monkeypatch):
    (instance / "balai.cfg").write_text("API_VERSION = 'v9'\n")
    monkeypatch.setenv("BALAI_API_TITLE", "API Kota")
    config = build(API_MAX_PAGE_SIZE=7).config
    assert config["API_VERSION"] == "v9"
    assert config["API_TITLE"] == "API Kota"
    assert config["API_MAX_PAGE_SIZE"] == 7
    assert config["API_PAGE_SIZE"] == 20


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("STATE_TTL", "2.5", 2.5),
        ("ALLOWED_PLUGINS", '["x"]', ["x"]),
        ("PLUGIN_SETTINGS", '{"pengaduan": {"sla_hours": 48}}', {"pengaduan": {"sla_hours": 48}}),
        ("OUTBOX_DELIVER_INLINE", "true", True),
        ("MAIL_PORT", "587", 587),
        ("MAIL_SERVER", "smtp.kota.example", "smtp.kota.example"),
    ],
)
def test_environment_values_are_read_as_json_else_text(build, monkeypatch, name, raw, value):
    monkeypatch.setenv(f"BALAI_{name}", raw)
    found = build().config[name]
    assert found == value
    assert type(found) is type(value)


def test_an_unknown_tenancy_mode_is_refused(build):
    with pytest.raises(ValueError, match=r"TENANCY must be 'single' or 'multi', not 'banyak'"):
        build(TENANCY="banyak")


def test_an_unknown_tenancy_mode_from_the_environment_is_refused(build, monkeypatch):
    monkeypatch.setenv("BALAI_TENANCY", "both")
    with pytest.raises(ValueError, match="TENANCY must be"):
        build()


def test_a_missing_secret_key_is_refused(build):
    with pytest.raises(RuntimeError, match=r"SECRET_KEY is not set.*balai init"):
        build(SECRET_KEY=None)


def test_an_empty_secret_key_is_refused(build, monkeypatch):
    monkeypatch.setenv("BALAI_SECRET_KEY", "")
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        build(SECRET_KEY=None)


def test_the_secret_key_may_come_from_the_environment(build, monkeypatch):
    monkeypatch.setenv("BALAI_SECRET_KEY", "dari-lingkungan")
    assert build(SECRET_KEY=None).config["SECRET_KEY"] == "dari-lingkungan"


def test_apps_do_not_share_mutable_defaults(build):
    first = build()
    first.config["PLUGIN_SETTINGS"]["pengaduan"] = {"sla_hours": 1}
    first.config["LANGUAGES"].append("jv")
    second = build()
    assert second.config["PLUGIN_SETTINGS"] == {}
    assert second.config["LANGUAGES"] == ["id", "en"]
    assert second.config["PLUGIN_SETTINGS"] is not first.config["PLUGIN_SETTINGS"]
