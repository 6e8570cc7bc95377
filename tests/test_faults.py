"""When the database fails: a quick, clear 503, and recovery without a restart."""

from __future__ import annotations

import pytest
from flask import Blueprint
from sqlalchemy.exc import IntegrityError

from balai import hookimpl
from balai.db import db
from balai.permissions import public

pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")


def _unreachable(app, tmp_path):
    """Point the app's engine at a database file that cannot be opened."""
    from balai.db import make_engine

    state = app.extensions["balai.db"]
    good = state.engine
    state.engine = make_engine(f"sqlite:///{tmp_path}/missing/dir/db.sqlite")
    state.factory.configure(bind=state.engine)
    return good


def _restore(app, engine):
    state = app.extensions["balai.db"]
    state.engine.dispose()
    state.engine = engine
    state.factory.configure(bind=engine)


@pytest.mark.balai_config(STATE_TTL=0)
def test_database_down_gives_503_then_recovers(app, client, tenant, tmp_path):
    good = _unreachable(app, tmp_path)
    try:
        page = client.get("/")
        assert page.status_code == 503
        assert page.headers["Retry-After"] == "30"
        assert "database" in page.text
        health = client.get("/-/health")
        assert health.status_code == 503
        assert health.json == {"status": "error", "database": "unreachable"}
    finally:
        _restore(app, good)
    assert client.get("/").status_code == 200
    assert client.get("/-/health").status_code == 200


@pytest.mark.balai_config(STATE_TTL=0)
def test_database_down_for_a_logged_in_user(app, client, tenant, login, tmp_path):
    login(client, role="warga")
    good = _unreachable(app, tmp_path)
    try:
        assert client.get("/akun").status_code == 503
    finally:
        _restore(app, good)
    assert client.get("/akun").status_code == 200


class Duplicates:
    """A plugin whose page violates a unique constraint: a bug, not an outage."""

    name = "duplicates"
    bp = Blueprint("duplicates", __name__, url_prefix="/duplicates")

    @staticmethod
    @hookimpl
    def register_routes(app):
        return Duplicates.bp


@Duplicates.bp.route("/")
@public
def _clash():
    from balai.auth.models import Department

    db.session.add_all([Department(code="X", name="a"), Department(code="X", name="b")])
    db.session.commit()
    return "unreachable"


@pytest.mark.balai_plugins.with_args(Duplicates)
@pytest.mark.balai_config(PROPAGATE_EXCEPTIONS=False)
def test_other_database_errors_are_server_errors(app, client, tenant, enable_plugin, caplog):
    enable_plugin("duplicates")
    response = client.get("/duplicates/")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
    assert any(r.exc_info and r.exc_info[0] is IntegrityError for r in caplog.records)
