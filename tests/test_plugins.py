"""Plugin machinery: per-tenant hooks and routes, switching, broken plugins."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import faulty
import hello
import importlib_metadata
import needs_hello
import pluggy
import pytest

import balai
import balai.plugins
from balai.plugins import plugins
from balai.tenancy import TenancyError, disable_plugin, enable_plugin, registry

pytestmark = [
    pytest.mark.balai_plugins(hello, needs_hello),
    pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en"),  # the messages matched below
]


def test_disabled_plugin_routes_answer_404(client, tenant):
    assert client.get("/hello/").status_code == 404


def test_enabled_plugin_routes_answer_for_that_tenant_only(
    client, other_client, tenant, other_tenant, enable_plugin
):
    enable_plugin("hello")
    assert client.get("/hello/").get_data(as_text=True) == "Halo"
    assert other_client.get("/hello/").status_code == 404


def test_hooks_run_only_for_enabled_plugins(client, tenant, enable_plugin):
    assert "Hello menu" not in client.get("/").get_data(as_text=True)
    enable_plugin("hello")
    assert "Hello menu" in client.get("/").get_data(as_text=True)


def test_dashboard_shows_widgets_of_enabled_plugins(client, tenant, enable_plugin, login):
    login(client, role="opd")
    assert "hello-widget" not in client.get("/dasbor").get_data(as_text=True)
    enable_plugin("hello")
    assert "3 notes" in client.get("/dasbor").get_data(as_text=True)


def test_switch_is_seen_by_another_worker_once_its_ttl_has_passed(make_app, tenant, monkeypatch):
    now = [1000.0]  # the workers' monotonic clock, moved by hand
    clock = SimpleNamespace(monotonic=lambda: now[0])
    monkeypatch.setattr(sys.modules["balai.tenancy.registry"], "time", clock)
    first = make_app(STATE_TTL=0.5)
    second = make_app(STATE_TTL=0.5)
    client = second.test_client()
    assert client.get("/hello/", base_url="http://kota-a.test").status_code == 404
    with first.app_context():
        info = registry(first).by_slug("kota-a")
        enable_plugin(first, info, "hello")
    now[0] += 0.4  # within the TTL the second worker keeps its snapshot
    assert client.get("/hello/", base_url="http://kota-a.test").status_code == 404
    now[0] += 0.2  # past it, it checks the version and sees the switch
    assert client.get("/hello/", base_url="http://kota-a.test").status_code == 200


def test_requirements_are_checked_when_enabling(app, tenant, enable_plugin):
    with pytest.raises(TenancyError, match="hello"):
        enable_plugin("needs_hello")
    enable_plugin("hello")
    enable_plugin("needs_hello")
    assert {"hello", "needs_hello"} <= registry(app).by_id(tenant.id).plugins


def test_a_required_plugin_cannot_be_switched_off_first(app, tenant, enable_plugin):
    enable_plugin("hello")
    info = enable_plugin("needs_hello")
    with pytest.raises(TenancyError, match="needs_hello"):
        disable_plugin(app, info, "hello")
    disable_plugin(app, info, "needs_hello")
    disable_plugin(app, registry(app).by_id(tenant.id), "hello")
    assert registry(app).by_id(tenant.id).plugins == frozenset()


def test_lifecycle_events_reach_the_plugin(app, tenant, enable_plugin):
    needs_hello.events.clear()
    enable_plugin("hello")
    info = enable_plugin("needs_hello")
    disable_plugin(app, info, "needs_hello")
    assert needs_hello.events == [("enabled", "kota-a"), ("disabled", "kota-a")]


@pytest.mark.parametrize("name", ["nonexistent", "balai"])
def test_unknown_plugins_cannot_be_enabled(app, tenant, name):
    with pytest.raises(TenancyError, match="not installed"):
        enable_plugin(app, tenant, name)


@pytest.mark.balai_plugins.with_args(faulty.FutureCore)
def test_unsupported_core_version_is_refused(app, tenant):
    with pytest.raises(TenancyError, match=">=99"):
        enable_plugin(app, tenant, "future_core")


@pytest.mark.balai_config(ALLOWED_PLUGINS=["needs_hello"])
def test_operator_can_restrict_allowed_plugins(app, tenant):
    with pytest.raises(TenancyError, match="not allowed"):
        enable_plugin(app, tenant, "hello")


@pytest.mark.balai_plugins.with_args(faulty.RefusesEnable)
def test_a_plugin_can_refuse_being_enabled(app, tenant):
    with pytest.raises(TenancyError, match="refuses failed"):
        enable_plugin(app, tenant, "refuses")
    assert "refuses" not in registry(app).by_id(tenant.id).plugins


@pytest.mark.balai_plugins(faulty.Misspelt, faulty.RoutesRaise)
def test_broken_plugins_are_reported_and_left_out(app, client, tenant):
    installed = plugins(app).installed
    assert "menu_itemz" in installed["misspelt"].error
    assert "no routes today" in installed["routes_raise"].error
    assert installed["hello"].error is None
    with pytest.raises(TenancyError, match="broken"):
        enable_plugin(app, tenant, "misspelt")
    assert client.get("/").status_code == 200


@pytest.mark.balai_plugins.with_args(faulty.MenuRaises)
def test_a_failing_menu_hook_is_contained(app, client, tenant, enable_plugin, caplog):
    enable_plugin("menu_raises")
    enable_plugin("hello")
    response = client.get("/")
    assert response.status_code == 200
    assert "Hello menu" in response.get_data(as_text=True)
    assert "menu exploded" in caplog.text


def test_a_plugin_that_fails_to_import_is_reported(make_app, monkeypatch):
    broken = importlib_metadata.EntryPoint(
        name="ghost", value="balai_no_such_module.plugin", group="balai.plugins"
    )
    real = balai.plugins.entry_points

    def entry_points(group):
        found = real(group)
        if group == "balai.plugins":
            return importlib_metadata.EntryPoints([*found, broken])
        return found

    monkeypatch.setattr(balai.plugins, "entry_points", entry_points)
    app = make_app()
    info = plugins(app).installed["ghost"]
    assert info.broken and "balai_no_such_module" in info.error


def test_installed_distributions_are_read_once_for_plugins_and_themes(make_app, monkeypatch):
    real = importlib_metadata.entry_points
    scans: list[dict] = []

    def entry_points(**kwargs):
        scans.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(importlib_metadata, "entry_points", entry_points)
    balai.plugins._all_entry_points.cache_clear()
    app = make_app()
    assert len(scans) == 1
    assert "default" in app.themes and "pengumuman" in plugins(app).installed
    make_app()  # nothing installed since: read from the first reading
    assert len(scans) == 1


def test_a_distribution_installed_after_a_start_is_found_by_the_next(
    make_app, monkeypatch, tmp_path
):
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "ringkas" not in plugins(make_app()).installed
    _installed_without_summary(tmp_path)  # into a folder already on the path
    assert "ringkas" in plugins(make_app()).installed


def _installed_without_summary(folder) -> None:
    """Install, on ``folder`` (put on ``sys.path``), ``balai-ringkas`` 0.1.0 whose
    METADATA has no Summary, as a wheel built by a tool that leaves it out does."""
    (folder / "balai_ringkas").mkdir()
    (folder / "balai_ringkas" / "__init__.py").write_text('"""Nothing to say."""\n')
    info = folder / "balai_ringkas-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: balai-ringkas\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[balai.plugins]\nringkas = balai_ringkas\n")


def test_a_distribution_without_a_summary_starts_and_is_listed(
    make_app, monkeypatch, tmp_path, tenant, login
):
    _installed_without_summary(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    app = make_app()
    info = plugins(app).installed["ringkas"]
    assert not info.broken and (info.version, info.summary) == ("0.1.0", "")
    client = app.test_client()
    client.host = tenant.domains[0]
    login(client, role="admin")
    page = client.get("/admin/plugin")
    assert page.status_code == 200 and "ringkas" in page.text


def test_plugins_json_lists_installed_plugins(client, tenant, enable_plugin):
    enable_plugin("hello")
    rows = {row["name"]: row for row in client.get("/-/plugins.json").json}
    assert rows["hello"]["enabled"] is True
    assert rows["needs_hello"]["enabled"] is False
    assert "register_routes" in rows["hello"]["hooks"]
    assert "error" not in rows["hello"]


def test_plugin_settings_resolve_tenant_then_deployment_then_default(make_app, tenant):
    app = make_app(PLUGIN_SETTINGS={"hello": {"times": 2}})
    with app.app_context():
        info = registry(app).by_slug("kota-a")
        enable_plugin(app, info, "hello")
        client = app.test_client()
        assert client.get("/hello/", base_url="http://kota-a.test").text == "Halo Halo"
        from balai.tenancy import save_plugin_settings

        save_plugin_settings(app, registry(app).by_slug("kota-a"), "hello", {"greeting": "Hai"})
        assert client.get("/hello/", base_url="http://kota-a.test").text == "Hai Hai"


def test_map_lists_layers_of_enabled_plugins(client, tenant, enable_plugin):
    assert "Hello notes" not in client.get("/peta").text
    enable_plugin("hello")
    page = client.get("/peta").text
    assert "Hello notes" in page and "/hello/notes.geojson" in page
    assert client.get("/hello/notes.geojson").json["type"] == "FeatureCollection"


def test_search_asks_enabled_plugins_within_the_tenant(
    app, client, other_client, tenant, other_tenant, enable_plugin
):
    from balai.db import db

    for t in (tenant, other_tenant):
        with db.tenant_session(t.id) as session:
            session.add(hello.HelloNote(text=f"jalan rusak di {t.slug}"))
        enable_plugin("hello", tenant=t)
    page = client.get("/cari", query_string={"q": "jalan"}).text
    assert "jalan rusak di kota-a" in page
    assert "kota-b" not in page.split("<main")[1]


def test_plugins_add_commands_to_the_cli(app):
    result = app.test_cli_runner().invoke(args=["hello", "greet", "Tangerang"])
    assert result.exit_code == 0
    assert result.output == "Halo, Tangerang!\n"


class BadPermission:
    """Declares a permission that does not follow the naming rule."""

    name = "bad_permission"

    @staticmethod
    @balai.hookimpl
    def register_permissions():
        from balai.permissions import Permission

        return [Permission("not-a-valid-name", "x")]


class TakenBlueprint:
    """Registers a blueprint under a name the core already uses."""

    name = "taken_blueprint"

    @staticmethod
    @balai.hookimpl
    def register_routes(app):
        from flask import Blueprint

        return Blueprint("balai_web", __name__, url_prefix="/taken_blueprint")


@pytest.mark.balai_plugins(BadPermission, TakenBlueprint)
def test_start_up_mistakes_break_only_their_plugin(app, client, tenant):
    installed = plugins(app).installed
    assert "not-a-valid-name" in installed["bad_permission"].error
    assert "balai_web" in installed["taken_blueprint"].error
    assert client.get("/").status_code == 200


def test_a_plugin_no_longer_allowed_stops_serving(make_app, tenant):
    first = make_app()
    with first.app_context():
        enable_plugin(first, registry(first).by_slug("kota-a"), "hello")
    restricted = make_app(ALLOWED_PLUGINS=["needs_hello"])
    client = restricted.test_client()
    assert client.get("/hello/", base_url="http://kota-a.test").status_code == 404


@pytest.mark.balai_plugins(faulty.WrongTypes, faulty.WidgetsRaise)
def test_bad_request_hook_results_are_contained(app, client, tenant, enable_plugin, login, caplog):
    enable_plugin("wrong_types")
    enable_plugin("widgets_raise")
    enable_plugin("hello")
    login(client, role="admin")
    home = client.get("/")
    assert home.status_code == 200 and "Hello menu" in home.text
    dashboard = client.get("/dasbor")
    assert dashboard.status_code == 200 and "3 notes" in dashboard.text
    assert "Broken widget" not in dashboard.text
    assert client.get("/peta").status_code == 200
    assert client.get("/cari", query_string={"q": "x"}).status_code == 200
    for expected in ("not ", "map exploded", "search exploded", "no/such/template.html"):
        assert expected in caplog.text


@pytest.mark.balai_plugins(
    faulty.NotABlueprint, faulty.MenuWrapper, faulty.TakenHookspec, faulty.SettingsWithoutDefault
)
def test_malformed_plugins_are_broken_not_fatal(app, client, tenant):
    installed = plugins(app).installed
    assert "load_default: days" in installed["settings_without_default"].error
    assert "not a Blueprint" in installed["not_a_blueprint"].error
    assert "wrapper" in installed["menu_wrapper"].error
    assert "hookspecs" in installed["taken_hookspec"].error
    assert client.get("/").status_code == 200


class _Shapes:
    """A plugin object with hooks in every form pluggy accepts, and lookalikes."""

    __slots__ = ("__dict__", "slotted")

    def __init__(self) -> None:
        self.slotted = _marked_menu_items
        self.own = _marked_menu_items  # a function on the object itself
        self.data = {"hookimpl": True}

    @balai.hookimpl
    def register_permissions(self):
        return []

    @balai.hookimpl
    @staticmethod
    def dashboard_widgets(tenant, user):
        return []

    @classmethod
    @balai.hookimpl
    def map_layers(cls, tenant, user):
        return []

    def search(self, tenant, user, query):  # not marked: not a hook
        return []

    @property
    def register_routes(self):  # a property is never run to look for hooks
        raise AssertionError("run")


@balai.hookimpl(specname="menu_items")
def _marked_menu_items(tenant, user):
    return []


def _hooks_found(manager, plugin) -> set[tuple[str, str]]:
    found = set()
    for name in dir(plugin):
        opts = manager.parse_hookimpl_opts(plugin, name)
        if opts is not None:
            found.add((name, opts.get("specname") or name))
    return found


@pytest.mark.parametrize("plugin", [_Shapes(), _Shapes, hello, sys.modules[__name__]])
def test_the_core_finds_the_same_hooks_as_pluggy(plugin):
    core = balai.plugins.Plugins().pm
    plain = pluggy.PluginManager("balai")
    assert _hooks_found(core, plugin) == _hooks_found(plain, plugin)
    assert _hooks_found(core, plugin) or plugin is not hello


def test_registering_a_plugin_looks_up_only_what_may_be_a_hook(monkeypatch):
    import inspect

    looked_up = []
    real = inspect.getattr_static

    def getattr_static(obj, name, *default):
        if obj is hello:
            looked_up.append(name)
        return real(obj, name, *default)

    monkeypatch.setattr(inspect, "getattr_static", getattr_static)
    manager = balai.plugins.Plugins()
    manager.load(builtins=[], extra=[hello])
    assert manager.installed["hello"].hooks
    assert set(looked_up) <= set(manager.installed["hello"].hooks)
