"""The fixture kit works for a plugin author: a plugin's own test file, run by itself.

The file below lives in a fresh folder with no conftest and no settings of ours; it
gets ``balai.testing`` only through the ``pytest11`` entry point, as an installed
plugin's test suite would, and imports only the public surface (docs/plugin-authors.md).
The fixtures that change a region (``make_tenant``, ``grant``, ``give_role``,
``set_plugin_settings``, ``sms_webhook``) and :func:`balai.testing.downgraded` are
tested directly below it.
"""

from __future__ import annotations

import hello
import pytest
from flask import Blueprint
from marshmallow import ValidationError

from balai import hookimpl
from balai.permissions import public
from balai.plugins import plugins
from balai.testing import downgraded

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


CLOCK_TESTS = """
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
"""


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


# -- regions, grants and settings ----------------------------------------------------------


@pytest.mark.balai_plugins(hello)
def test_make_tenant_serves_a_region_with_its_plugins(app, make_tenant):
    made = make_tenant("kota-c", plugins=["hello"])
    assert (made.slug, made.name, made.domains, made.plugins) == (
        "kota-c",
        "Kota C",
        ("kota-c.test",),
        {"hello"},
    )
    assert app.test_client().get("/hello/", base_url="http://kota-c.test").text == "Halo"
    named = make_tenant("kab-d", name="Kabupaten D", domains=["www.kab-d.test", "kab-d.test"])
    assert (named.name, named.domains, named.plugins) == (
        "Kabupaten D",
        ("www.kab-d.test", "kab-d.test"),
        set(),
    )
    assert app.test_client().get("/hello/", base_url="http://kab-d.test").status_code == 404


@pytest.mark.balai_plugins(hello)
def test_grant_gives_and_withdraws_a_permission_of_a_built_in_role(
    app, client, enable_plugin, login, grant
):
    enable_plugin("hello")
    login(client, role="warga")
    assert client.get("/hello/rahasia").status_code == 403
    grant("warga", "hello.view_secret")
    assert client.get("/hello/rahasia").text == "rahasia"
    officer = app.test_client()
    officer.host = client.host
    login(officer, role="opd")
    assert officer.get("/hello/rahasia").status_code == 200  # a default of the role
    grant("opd", "hello.view_secret", granted=False)
    assert officer.get("/hello/rahasia").status_code == 403
    grant("opd", "hello.view_secret")  # the same grant again changes the row
    assert officer.get("/hello/rahasia").status_code == 200


@pytest.mark.balai_plugins(hello)
def test_grant_to_a_custom_role_its_holders_hold(
    app, client, other_client, enable_plugin, other_tenant, login, grant, give_role
):
    enable_plugin("hello")
    enable_plugin("hello", tenant=other_tenant)
    user = login(client, role="warga")
    give_role(user, "pemeriksa")
    assert client.get("/hello/rahasia").status_code == 403  # the role carries nothing yet
    grant("pemeriksa", "hello.view_secret")
    assert client.get("/hello/rahasia").text == "rahasia"
    login(other_client, role="warga", tenant=other_tenant)  # only `tenant` changed
    assert other_client.get("/hello/rahasia").status_code == 403
    grant("pemeriksa", "hello.view_secret", granted=False)
    assert client.get("/hello/rahasia").status_code == 403


@pytest.mark.balai_plugins(hello)
def test_grant_refuses_what_no_plugin_declares_and_the_operator(app, grant):
    with pytest.raises(ValueError, match=r"hello\.view_secrets"):
        grant("warga", "hello.view_secrets")
    with pytest.raises(ValueError, match="operator"):
        grant("operator", "hello.view_secret")


@pytest.mark.balai_plugins(hello)
def test_set_plugin_settings_stores_what_the_schema_accepts(
    app, client, other_client, enable_plugin, other_tenant, set_plugin_settings
):
    enable_plugin("hello")
    enable_plugin("hello", tenant=other_tenant)
    refreshed = set_plugin_settings("hello", greeting="Salam", times=2, api_key="kunci-rahasia")
    assert client.get("/hello/").text == "Salam Salam"
    assert other_client.get("/hello/").text == "Halo"  # another region's own settings
    stored = refreshed.plugin_settings["hello"]
    assert (stored["greeting"], stored["times"]) == ("Salam", 2)
    assert "kunci-rahasia" not in str(stored)  # sealed, as the admin page stores it
    set_plugin_settings("hello", times=3)  # replaces the region's settings: greeting too
    assert client.get("/hello/").text == "Halo Halo Halo"
    assert set_plugin_settings("hello").plugin_settings["hello"] == {}  # back to defaults
    assert client.get("/hello/").text == "Halo"


@pytest.mark.balai_plugins(hello)
def test_set_plugin_settings_refuses_what_the_admin_page_refuses(
    app, client, enable_plugin, set_plugin_settings
):
    enable_plugin("hello")
    set_plugin_settings("hello", greeting="Salam")
    with pytest.raises(ValidationError) as refused:
        set_plugin_settings("hello", greeting="Selamat", times=9)
    assert set(refused.value.messages) == {"times"}
    with pytest.raises(ValidationError) as unknown:
        set_plugin_settings("hello", greting="Selamat")
    assert set(unknown.value.messages) == {"greting"}
    assert client.get("/hello/").text == "Salam"  # nothing was stored
    with pytest.raises(LookupError, match="nothing"):
        set_plugin_settings("nothing", greeting="Salam")


def test_sms_webhook_switches_the_regions_webhook_on(
    client, other_client, tenant, other_tenant, sms_webhook
):
    sms = {"from": "+6281234567890", "text": "HALO"}
    assert client.post("/-/sms/masuk", data=sms).status_code in {401, 403}
    headers = sms_webhook()
    answer = client.post("/-/sms/masuk", data=sms, headers=headers)
    assert answer.status_code == 200 and "Kota A" in answer.text
    assert other_client.post("/-/sms/masuk", data=sms, headers=headers).status_code in {401, 403}
    other = sms_webhook(tenant=other_tenant)
    assert other_client.post("/-/sms/masuk", data=sms, headers=other).status_code == 200


def test_downgraded_holds_a_branch_back_and_upgrades_it_on_leaving(app, enable_plugin):
    from sqlalchemy import inspect

    from balai.db import db

    enable_plugin("pengumuman")

    def tables() -> set[str]:
        with db.all_tenants() as session:
            return set(inspect(session.connection()).get_table_names())

    with downgraded(app, "pengumuman@base"):
        assert "pengumuman_announcement" not in tables()
    assert "pengumuman_announcement" in tables()
    with pytest.raises(RuntimeError), downgraded(app, "pengumuman@base"):
        raise RuntimeError("the block failed")
    assert "pengumuman_announcement" in tables()


# -- the plugin objects balai_plugins takes (docs/testing.md#markers) ----------------------

_salam = Blueprint("salam", __name__, url_prefix="/salam")


@_salam.route("/")
@public
def _salam_index() -> str:
    return "salam"


class _Methods:
    """Hooks written as ordinary methods: an instance is a plugin, the class is not."""

    name = "salam"

    @hookimpl
    def register_routes(self, app):
        return _salam


class _Static:
    name = "salam"

    @staticmethod
    @hookimpl
    def register_routes(app):
        return _salam


@pytest.mark.parametrize("plugin", [_Methods(), _Static], ids=["instance", "static-class"])
def test_an_instance_or_a_class_of_static_hooks_is_a_plugin(make_app, tenant, plugin):
    app = make_app(EXTRA_PLUGINS=[plugin])
    with app.app_context():
        assert plugins(app).installed["salam"].error is None


def test_a_class_of_ordinary_methods_is_broken_with_the_reason(make_app):
    app = make_app(EXTRA_PLUGINS=[_Methods])
    with app.app_context():
        error = plugins(app).installed["salam"].error
    assert "missing 1 required positional argument: 'app'" in str(error)


def test_downgraded_takes_a_revision_relative_to_another(app, enable_plugin):
    from sqlalchemy import inspect

    from balai.db import db

    enable_plugin("pengaduan")

    def columns() -> set[str]:
        with db.all_tenants() as session:
            found = inspect(session.connection()).get_columns("pengaduan_photo")
            return {column["name"] for column in found}

    assert "kind" in columns()  # added by pengaduan_0006
    with downgraded(app, "pengaduan_0006-1"):
        assert "kind" not in columns()
    assert "kind" in columns()
