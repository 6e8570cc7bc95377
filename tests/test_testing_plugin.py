"""The fixture kit works for a plugin author: a plugin's own test file, run by itself.

The file below lives in a fresh folder with no conftest and no settings of ours; it
gets ``balai.testing`` only through the ``pytest11`` entry point, as an installed
plugin's test suite would, and imports only the public surface (docs/plugin-authors.md).
"""

from __future__ import annotations

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
