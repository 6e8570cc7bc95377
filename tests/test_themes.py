"""Template lookup per tenant: its theme, then the default theme, then the app's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from balai.db import db
from balai.tenancy import Tenant, bump_state, registry
from balai.themes import Theme


@pytest.fixture
def civic_theme(tmp_path: Path) -> Theme:
    root = tmp_path / "civic"
    (root / "templates").mkdir(parents=True)
    (root / "static").mkdir()
    (root / "templates" / "base.html").write_text(
        '{% extends "default:base.html" %}{% block head %}<meta name="civic">{% endblock %}'
    )
    (root / "static" / "balai.css").write_text("body{}")
    return Theme(name="civic", label="Civic", root=root, colours={"primary": "#123456"})


def _use_theme(app, tenant, name, colours=None):
    with db.all_tenants() as session:
        row = session.get(Tenant, tenant.id)
        row.theme = name
        row.colours = colours or {}
        bump_state(session)
    registry(app).refresh(force=True)


@pytest.fixture
def themed_app(make_app, civic_theme):
    return make_app(EXTRA_THEMES={"civic": civic_theme})


def test_default_theme_renders_pages(client, tenant):
    page = client.get("/").text
    assert "/-/theme/default/balai.css" in page


def test_tenant_theme_overrides_and_extends_the_default(themed_app, tenant, other_tenant):
    with themed_app.app_context():
        _use_theme(themed_app, tenant, "civic")
    client = themed_app.test_client()
    themed = client.get("/", base_url="http://kota-a.test").text
    plain = client.get("/", base_url="http://kota-b.test").text
    assert '<meta name="civic">' in themed and "Kota A" in themed
    assert '<meta name="civic">' not in plain
    assert "/-/theme/civic/balai.css" in themed


def test_theme_static_files_are_served_per_theme(themed_app, tenant):
    with themed_app.app_context():
        _use_theme(themed_app, tenant, "civic")
    client = themed_app.test_client()
    with client.get("/-/theme/civic/balai.css", base_url="http://kota-a.test") as response:
        assert response.text == "body{}"
    with client.get("/-/theme/default/balai.css", base_url="http://kota-a.test") as response:
        assert "--primary" in response.text
    with client.get("/-/theme/nope/balai.css", base_url="http://kota-a.test") as response:
        assert response.status_code == 404


def test_tenant_colours_override_theme_colours(themed_app, tenant):
    with themed_app.app_context():
        _use_theme(themed_app, tenant, "civic", {"accent": "#abcdef", "bad": "red;}"})
    css = themed_app.test_client().get("/-/tenant.css", base_url="http://kota-a.test").text
    assert "--primary:#123456" in css and "--accent:#abcdef" in css
    assert "red" not in css


def test_unknown_default_theme_stops_start_up(make_app):
    with pytest.raises(RuntimeError, match="not installed"):
        make_app(DEFAULT_THEME="missing")
