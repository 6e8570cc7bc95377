"""Liveness and readiness for load balancers: ``/-/health/live``, ``/-/health/ready``
and ``/-/health`` (the readiness answer at its older address)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine

from balai.health import add_check

REDIS_URL = os.environ.get("BALAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture
def broken_database(app, tmp_path, monkeypatch):
    """The app's engine points at a database file that cannot be opened."""
    engine = create_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'folder.sqlite'}")
    monkeypatch.setattr(app.extensions["balai.db"], "engine", engine)
    yield
    engine.dispose()


@pytest.mark.parametrize("path", ["/-/health/ready", "/-/health"])
def test_ready_when_the_database_answers(app, path):
    response = app.test_client().get(path, base_url="http://any.test")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "storage": "ok"}


@pytest.mark.parametrize("path", ["/-/health/ready", "/-/health"])
def test_not_ready_names_the_failing_check(app, broken_database, path, caplog):
    response = app.test_client().get(path, base_url="http://any.test")
    assert response.status_code == 503
    assert response.json == {"status": "error", "database": "unreachable", "storage": "ok"}
    assert "folder.sqlite" not in response.text
    assert any("database unreachable" in r.getMessage() for r in caplog.records)


def test_live_does_no_io(app, broken_database):
    response = app.test_client().get("/-/health/live", base_url="http://any.test")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_added_checks_count_for_readiness(app):
    add_check(app, "search", lambda: True)
    add_check(app, "broker", lambda: False)
    response = app.test_client().get("/-/health/ready", base_url="http://any.test")
    assert response.status_code == 503
    assert response.json == {
        "status": "error",
        "database": "ok",
        "storage": "ok",
        "search": "ok",
        "broker": "unreachable",
    }


@pytest.mark.parametrize("name", ["", "status", "database"])
def test_a_check_needs_a_new_name(app, name):
    with pytest.raises(ValueError, match="name"):
        add_check(app, name, lambda: True)


def test_an_unreachable_redis_makes_it_not_ready(make_app):
    app = make_app(REDIS_URL="redis://:geheim@127.0.0.1:1/0")
    response = app.test_client().get("/-/health/ready", base_url="http://any.test")
    assert response.status_code == 503
    assert response.json == {
        "status": "error",
        "database": "ok",
        "storage": "ok",
        "redis": "unreachable",
    }
    assert "geheim" not in response.text and "127.0.0.1" not in response.text


def test_a_redis_that_answers_is_ready(make_app):
    if not _redis_answers():
        pytest.skip(f"no Redis answers at {REDIS_URL}")
    app = make_app(REDIS_URL=REDIS_URL)
    response = app.test_client().get("/-/health/ready", base_url="http://any.test")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "storage": "ok", "redis": "ok"}


def test_a_store_that_cannot_be_used_makes_the_host_not_ready(app, monkeypatch):
    from balai import storage

    def unusable() -> None:
        raise storage.StorageError("the bucket does not answer")

    monkeypatch.setattr(storage.store(app), "check", unusable)
    response = app.test_client().get("/-/health/ready", base_url="http://any.test")
    assert response.status_code == 503
    assert response.json == {"status": "error", "database": "ok", "storage": "unreachable"}
    assert "bucket" not in response.text
