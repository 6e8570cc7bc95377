"""The fixture kit works for a plugin author: a plugin's own test file, run by itself.

The file below lives in a fresh folder with no conftest and no settings of ours; it
gets ``balai.testing`` only through the ``pytest11`` entry point, as an installed
plugin's test suite would, and imports only the public surface (docs/plugin-authors.md).
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

PLUGIN_AUTHOR_TESTS = '''
import pytest
from flask import Blueprint
from sqlalchemy import String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from balai import Manifest, hookimpl
from balai.db import Base, TenantScoped, db
from balai.permissions import Permission, public, require
from balai.testing import PASSWORD


class SalamNote(TenantScoped, Base):
    """A greeting left by a resident (*salam*)."""

    __tablename__ = "salam_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(100))


bp = Blueprint("salam", __name__, url_prefix="/salam")


@bp.route("/")
@public
def index():
    return f"{db.session.scalar(select(func.count()).select_from(SalamNote))} salam"


@bp.route("/rahasia")
@require("salam.view_secret")
def secret():
    return "rahasia"


class Salam:
    name = "salam"
    manifest = Manifest(title="Salam", category="test")

    @staticmethod
    @hookimpl
    def register_routes(app):
        return bp

    @staticmethod
    @hookimpl
    def register_permissions():
        return [Permission("salam.view_secret", "See the secret page", roles=("opd",))]


# with_args: called with one class alone, a marker would decorate the class instead.
pytestmark = pytest.mark.balai_plugins.with_args(Salam)


def test_the_page_appears_once_the_region_enables_the_plugin(client, enable_plugin):
    assert client.get("/salam/").status_code == 404
    assert "salam" in enable_plugin("salam").plugins
    assert client.get("/salam/").text == "0 salam"


def test_rows_committed_in_db_session_are_seen_by_the_app(client, db_session, enable_plugin):
    enable_plugin("salam")
    db_session.add(SalamNote(text="Selamat pagi"))
    db_session.commit()
    assert client.get("/salam/").text == "1 salam"


def test_the_other_tenant_is_separate(client, other_tenant, enable_plugin, db_session):
    enable_plugin("salam")
    enable_plugin("salam", tenant=other_tenant)
    db_session.add(SalamNote(text="hanya kota A"))
    db_session.commit()
    other = client.get("/salam/", base_url=f"http://{other_tenant.domains[0]}")
    assert other.text == "0 salam"


def test_login_grants_the_role_its_permissions(app, client, login, enable_plugin):
    enable_plugin("salam")
    login(client, role="warga")
    assert client.get("/salam/rahasia").status_code == 403
    second = app.test_client()
    second.host = client.host
    user = login(second, role="opd")
    assert second.get("/salam/rahasia").text == "rahasia"
    assert user.email.startswith("opd")
    assert PASSWORD


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True, API_PAGE_SIZE=7)
def test_balai_config_overrides_settings(app, client, login):
    assert app.config["API_PAGE_SIZE"] == 7
    login(client)
    assert client.post("/keluar", data={}).status_code == 400


def test_make_app_builds_a_second_worker_on_the_same_database(make_app, tenant, enable_plugin):
    enable_plugin("salam")
    worker = make_app(API_PAGE_SIZE=9)
    assert worker.config["API_PAGE_SIZE"] == 9
    response = worker.test_client().get("/salam/", base_url=f"http://{tenant.domains[0]}")
    assert response.text == "0 salam"
'''


def test_a_plugin_authors_suite_passes_with_the_public_fixtures(pytester):
    pytester.makepyfile(test_salam=PLUGIN_AUTHOR_TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-W", "error", "--strict-markers", "-q"
    )
    result.assert_outcomes(passed=6)


CLOCK_TESTS = '''
import time

import pytest
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from balai.db import db, utcnow
from balai.testing import DatabaseClockError, travel

INSTANT = datetime(2026, 12, 31, 16, 59, 50, tzinfo=UTC)


@pytest.mark.parametrize("run", ["first", "second"])
def test_every_test_starts_at_the_instant_and_the_clock_ticks(run):
    started = utcnow()
    assert INSTANT <= started < INSTANT + timedelta(seconds=1)
    time.sleep(1.2)  # the next test starts at the instant again all the same
    assert utcnow() - started >= timedelta(seconds=1.2)


def test_a_test_freezes_time_inside_the_sessions_travel():
    with travel("2026-03-04T10:00:00+07:00"):
        assert utcnow() == datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
        time.sleep(0.01)
        assert utcnow() == datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
    assert INSTANT <= utcnow() < INSTANT + timedelta(seconds=5)


def test_the_database_servers_clock_is_refused(app, tenant):
    session = db.new_session(tenant.id)
    with pytest.raises(DatabaseClockError):
        session.execute(text("SELECT CURRENT_TIMESTAMP"))
    session.close()
'''


def test_a_session_runs_at_the_instant_balai_test_now_names(pytester, monkeypatch):
    pytester.makepyfile(test_clock=CLOCK_TESTS)
    monkeypatch.setenv("BALAI_TEST_NOW", "2027-01-01T00:59:50+08:00")  # the same instant
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["balai: every test starts at 2027-01-01T00:59:50+08:00*"])


def test_the_option_names_the_instant_too(pytester, monkeypatch):
    pytester.makepyfile(test_clock=CLOCK_TESTS)
    monkeypatch.delenv("BALAI_TEST_NOW", raising=False)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--balai-now", "2026-12-31T16:59:50Z", "-k", "starts"
    )
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("value", ["2026-12-31T23:59:50", "besok pagi"])
def test_an_instant_without_a_zone_or_not_an_instant_is_refused(pytester, monkeypatch, value):
    pytester.makepyfile(test_clock=CLOCK_TESTS)
    monkeypatch.setenv("BALAI_TEST_NOW", value)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*BALAI_TEST_NOW*is not an ISO 8601 instant with a time zone*"])
