"""``balai demo``: two regions with their own users and plugins, built in a temporary folder."""

from __future__ import annotations

import json
import os
import secrets
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from upstream import Upstream, make_upstream

from balai import Manifest, hookimpl
from balai.auth.accounts import create_user, set_password
from balai.auth.models import Department, User
from balai.cli import cli
from balai.db import db
from balai.demo import (
    DEMO_PASSWORD,
    DEPARTMENTS,
    TENANTS,
    DemoUser,
    build,
    demo_users,
    open_demo,
    run_jobs,
)
from balai.jobs.models import JobRun
from balai.jobs.runner import enqueue
from balai.permissions import OPERATOR
from balai.plugins import plugins
from balai.tenancy import TenantInfo, registry
from balai.testing import serve
from balai.upstream import services

KOTA, LEBAK = (t.slug for t in TENANTS)


class SamplePlugin:
    """A plugin whose demo data is one department named after it."""

    def __init__(self, name: str, requires: tuple[str, ...] = ()) -> None:
        self.name = name
        self.manifest = Manifest(title=name, requires=requires)
        self.calls: list[tuple[str, int | None]] = []

    @hookimpl
    def populate_demo(self, tenant: TenantInfo, session: Session) -> None:
        self.calls.append((tenant.slug, session.info["tenant_id"]))
        session.add(Department(code=self.name.upper(), name=f"Demo {self.name}"))


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BALAI_PASSWORD_HASHING", "fast")  # the demo's dozen users, quickly
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")  # FlaskGroup sets it; keep it local


def demo(path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["demo", "--path", str(path), "--no-serve", *args])


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo built for the tests that only read it."""
    path = tmp_path_factory.mktemp("demo") / "balai-demo"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("BALAI_PASSWORD_HASHING", "fast")
        monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")
        assert demo(path).exit_code == 0
    return path


@pytest.fixture
def demo_app(built_demo: Path) -> Iterator[Flask]:
    """The demo's app, with CSRF off so a test client can log in, and no throttling."""
    app = open_demo(built_demo, {"WTF_CSRF_ENABLED": False, "LOGIN_MAX_FAILURES_ADDRESS": 10**6})
    yield app
    db.engine_for(app).dispose()


def test_demo_builds_prints_addresses_and_logins(tmp_path: Path) -> None:
    path = tmp_path / "balai-demo"

    result = demo(path, "--port", "8123")

    assert result.exit_code == 0, result.output
    assert "http://kota-tangerang.localhost:8123/" in result.output
    assert "http://kabupaten-lebak.localhost:8123/" in result.output
    assert "http://localhost:8123/ is Kota Tangerang" in result.output
    assert "http://kota-tangerang.localhost:8123/-/kotak-surat" in result.output
    assert "http://kabupaten-lebak.localhost:8123/-/kotak-surat" in result.output
    assert "browsers refuse" not in result.output
    for user in demo_users():
        assert f"{user.role} {user.email} {DEMO_PASSWORD} {user.tenant or '(all)'}" in " ".join(
            result.output.split()
        )
    cfg = path / "balai.cfg"
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    assert "SECRET_KEY" in cfg.read_text()
    assert "TENANCY = 'multi'" in cfg.read_text()
    assert "REGISTRY_ALLOW_PRIVATE_ADDRESSES = True" in cfg.read_text()
    assert (path / "balai.sqlite").is_file()


def test_demo_has_two_regions_with_departments_and_users(demo_app: Flask) -> None:
    with demo_app.app_context():
        tenants = {t.slug: t for t in registry(demo_app).all()}
        assert tenants.keys() == {KOTA, LEBAK}
        assert tenants[KOTA].name == "Kota Tangerang"
        assert set(tenants[KOTA].domains) == {"kota-tangerang.localhost", "localhost", "127.0.0.1"}
        assert tenants[LEBAK].domains == ("kabupaten-lebak.localhost",)
        with db.all_tenants() as session:
            for tenant in tenants.values():
                codes = session.scalars(
                    select(Department.code).where(Department.tenant_id == tenant.id)
                ).all()
                assert set(DEPARTMENTS) <= set(codes)
            users = session.scalars(select(User)).all()
            roles = {(u.role, u.tenant_id) for u in users}
    for tenant in tenants.values():
        assert {("admin", tenant.id), ("opd", tenant.id), ("warga", tenant.id)} <= roles
        assert sum(1 for u in users if u.tenant_id == tenant.id and u.role == "warga") == 2
    assert (OPERATOR, None) in roles
    assert {u.email for u in demo_users()} <= {u.email for u in users}


def _logs_in(app: Flask, host: str, email: str) -> bool:
    client = app.test_client()
    response = client.post(
        "/masuk", data={"email": email, "password": DEMO_PASSWORD}, base_url=f"http://{host}"
    )
    return response.status_code == 302


@pytest.mark.parametrize("user", demo_users(), ids=lambda u: u.email)
def test_users_log_in_on_their_own_region_only(demo_app: Flask, user: DemoUser) -> None:
    hosts = {KOTA: "kota-tangerang.localhost:5000", LEBAK: "kabupaten-lebak.localhost"}
    for slug, host in hosts.items():
        expected = user.tenant in (slug, None)
        assert _logs_in(demo_app, host, user.email) is expected, (user.email, host)


def test_the_readme_tour_holds_with_kota_tangerangs_own_roles(demo_app: Flask) -> None:
    """Desk clerk and doctor work the puskesmas without the complaint inbox; the DLH
    officer works complaints without puskesmas figures; the admin has everything."""
    base = "http://kota-tangerang.localhost:5000"
    figures = ("Kunjungan puskesmas hari ini", "Antrean di poli puskesmas")
    seen = {}
    for name in ("loket.cibodasari", "dokter.cibodasari", "dlh", "dpupr", "admin"):
        client = demo_app.test_client()
        email = f"{name}@{KOTA}.example"
        form = {"email": email, "password": DEMO_PASSWORD}
        assert client.post("/masuk", data=form, base_url=base).status_code == 302, email
        seen[name] = (client, client.get("/dasbor", base_url=base).get_data(as_text=True))
    for name in ("loket.cibodasari", "dokter.cibodasari"):
        client, dashboard = seen[name]
        assert "Kotak masuk pengaduan" not in dashboard
        assert all(title in dashboard for title in figures), name
        assert client.get("/pengaduan/petugas/", base_url=base).status_code == 403
        assert client.get("/puskesmas/loket/", base_url=base).status_code == 200, name
    for name in ("dlh", "dpupr"):
        client, dashboard = seen[name]
        assert "Kotak masuk pengaduan" in dashboard
        assert not any(title in dashboard for title in figures), name
        assert client.get("/pengaduan/petugas/", base_url=base).status_code == 200
    admin, dashboard = seen["admin"]
    assert all(title in dashboard for title in figures)
    assert admin.get("/admin/peran", base_url=base).status_code == 200


def test_kota_tangerangs_registry_publishes_two_checked_samples_lebak_evaluated(
    demo_app: Flask,
) -> None:
    """As the README's tour of the registry: two samples published after their checks,
    and Kabupaten Lebak's evaluation answered by the maintainer."""
    base = "http://kota-tangerang.localhost:5000"
    client = demo_app.test_client()
    items = client.get("/api/v1/registry/plugins", base_url=base).get_json()["items"]
    assert sorted(i["name"] for i in items) == ["balai-bank-sampah", "balai-kebun-warga"]
    form = {"email": f"admin@{KOTA}.example", "password": DEMO_PASSWORD}
    assert client.post("/masuk", data=form, base_url=base).status_code == 302
    queue = client.get("/registry/kelola/", base_url=base).get_data(as_text=True)
    assert "balai_kebun_warga-0.1.0-py3-none-any.whl" in queue
    assert "balai_bank_sampah-0.1.0-py3-none-any.whl" in queue
    threads = client.get("/registry/kelola/evaluasi", base_url=base).get_data(as_text=True)
    assert "Peta kebun belum bisa memilih titik dari ponsel" in threads
    assert "Kabupaten Lebak" in client.get("/registry/kelola/mitra", base_url=base).get_data(
        as_text=True
    )
    lebak = demo_app.test_client()
    assert (
        lebak.get(
            "/api/v1/registry/plugins", base_url="http://kabupaten-lebak.localhost:5000"
        ).status_code
        == 404
    )


def test_localhost_and_loopback_address_are_kota_tangerang(demo_app: Flask) -> None:
    for host in ("localhost:5000", "127.0.0.1:5000"):
        assert _logs_in(demo_app, host, f"admin@{KOTA}.example")
        assert not _logs_in(demo_app, host, f"admin@{LEBAK}.example")
        page = demo_app.test_client().get("/", base_url=f"http://{host}")
        assert "Kota Tangerang" in page.get_data(as_text=True)


def test_plugins_differ_per_region_and_fill_in_their_demo_data(tmp_path: Path) -> None:
    # Named to sort after any installed plugin; zzneeds needs the last one, zzzzlast.
    samples = [
        SamplePlugin("zzfirst"),
        SamplePlugin("zzneeds", ("zzzzlast",)),
        SamplePlugin("zzzzlast"),
    ]
    app = build(tmp_path / "balai-demo", {"EXTRA_PLUGINS": samples})
    try:
        with app.app_context():
            working = [p.name for p in plugins(app).working()]
            kota, lebak = registry(app).by_slug(KOTA), registry(app).by_slug(LEBAK)
            with db.all_tenants() as session:
                departments = {(d.tenant_id, d.code) for d in session.scalars(select(Department))}
    finally:
        db.engine_for(app).dispose()
    assert kota is not None and lebak is not None
    assert kota.plugins == set(working)
    assert lebak.plugins == set(working) - {"zzneeds", "zzzzlast"}
    first, needy, last = samples
    assert first.calls == [(KOTA, kota.id), (LEBAK, lebak.id)]
    assert needy.calls == [(KOTA, kota.id)]
    assert last.calls == [(KOTA, kota.id)]
    assert {(kota.id, "ZZFIRST"), (kota.id, "ZZNEEDS"), (lebak.id, "ZZFIRST")} <= departments
    assert (lebak.id, "ZZNEEDS") not in departments


def test_existing_demo_is_reused_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "balai-demo"
    assert demo(path).exit_code == 0
    _add_tenant(path, "kota-baru")

    result = demo(path)

    assert result.exit_code == 0, result.output
    assert "reusing the demo" in result.output
    assert "kota-baru" in _slugs(path)


def test_commands_on_the_demo_reach_its_registry_on_localhost_as_its_server_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's tour: Lebak's upstream saved as a localhost address on
    /admin/registri, then ``BALAI_INSTANCE_PATH=balai-demo balai registry report``;
    a demo built before its balai.cfg said so gets the setting when reused."""
    path = tmp_path / "balai-demo"
    assert demo(path).exit_code == 0
    cfg = path / "balai.cfg"
    old = [line for line in cfg.read_text().splitlines() if "ALLOW_PRIVATE" not in line]
    cfg.write_text("\n".join(old) + "\n")
    assert demo(path).exit_code == 0  # reused
    assert "REGISTRY_ALLOW_PRIVATE_ADDRESSES = True" in cfg.read_text()
    state = Upstream(tokens={"balai-reg-lebak-0123456789": {"report"}})
    with serve(make_upstream(state)) as port:
        url = f"http://localhost:{port}"
        app = open_demo(path)
        with app.app_context():
            lebak = registry(app).by_slug(LEBAK)
            with db.tenant_session(lebak.id) as session:
                services.save_link(
                    session, lebak.id, app, url=url, token="balai-reg-lebak-0123456789"
                )
        db.engine_for(app).dispose()
        monkeypatch.setenv("BALAI_INSTANCE_PATH", str(path))

        result = CliRunner().invoke(cli, ["registry", "report"])

    assert result.exit_code == 0, result.output
    assert f"{LEBAK} dilaporkan ke {url}" in result.output
    assert f"{KOTA} dilewati: tidak ada alamat registri atau token" in result.output
    assert [r["region"] for r in state.reports] == ["Kabupaten Lebak"]


def test_reset_rebuilds_the_demo(tmp_path: Path) -> None:
    path = tmp_path / "balai-demo"
    assert demo(path).exit_code == 0
    _add_tenant(path, "kota-baru")
    old_key = (path / "balai.cfg").read_text()

    result = demo(path, "--reset")

    assert result.exit_code == 0, result.output
    assert "building the demo" in result.output
    assert _slugs(path) == {KOTA, LEBAK}
    assert (path / "balai.cfg").read_text() != old_key


def test_reset_keeps_the_cache_of_slow_results(tmp_path: Path) -> None:
    path = tmp_path / "balai-demo"
    assert demo(path).exit_code == 0
    kept = path / "cache" / "registry-checks" / "kept.json"
    kept.parent.mkdir(parents=True)
    kept.write_text("{}")
    (path / "other.txt").write_text("gone")

    result = demo(path, "--reset")

    assert result.exit_code == 0, result.output
    assert kept.read_text() == "{}"
    assert not (path / "other.txt").exists()
    assert json.loads((path / "demo.json").read_text())["status"] == "ready"


@pytest.mark.parametrize("args", [(), ("--reset",)])
def test_a_folder_that_is_not_a_demo_is_left_alone(tmp_path: Path, args: tuple[str, ...]) -> None:
    path = tmp_path / "balai-demo"
    path.mkdir()
    (path / "notes.txt").write_text("penting")

    result = demo(path, *args)

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {path} exists and is not a Balai demo; not touching it"
    ]
    assert sorted(p.name for p in path.iterdir()) == ["notes.txt"]


def test_an_unfinished_demo_needs_reset(tmp_path: Path) -> None:
    path = tmp_path / "balai-demo"
    path.mkdir()
    (path / "demo.json").write_text('{"status": "building"}')

    result = demo(path)

    assert result.exit_code == 1
    assert "did not finish: use --reset" in result.stderr
    assert demo(path, "--reset").exit_code == 0
    assert _slugs(path) == {KOTA, LEBAK}


def _add_tenant(path: Path, slug: str) -> None:
    from balai.tenancy import create_tenant

    app = open_demo(path)
    with app.app_context():
        create_tenant(app, slug, "Kota Baru", [f"{slug}.localhost"])
    db.engine_for(app).dispose()


def _slugs(path: Path) -> set[str]:
    app = open_demo(path)
    with app.app_context():
        slugs = {t.slug for t in registry(app).all()}
    db.engine_for(app).dispose()
    return slugs


def test_a_taken_port_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            cli,
            ["demo", "--path", str(tmp_path / "demo"), "--port", str(port)],
            env={"BALAI_DEMO_COMMAND": "./scripts/demo"},
        )
    assert result.exit_code == 1
    assert f"--port {port + 1}" in result.output and "./scripts/demo" in result.output
    assert not (tmp_path / "demo").exists()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _served(monkeypatch: pytest.MonkeyPatch, path: Path, port: int) -> tuple[Result, Flask]:
    """Run ``balai demo --port PORT`` as a user does; the app it would serve."""
    import werkzeug.serving

    served: list[Flask] = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda h, p, app, **kw: served.append(app))
    result = CliRunner().invoke(cli, ["demo", "--path", str(path), "--port", str(port)])
    assert result.exit_code == 0, result.output
    assert len(served) == 1
    return result, served[0]


def test_links_name_the_port_the_demo_serves_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flask import url_for

    from balai.tenancy import external_url

    path, port = tmp_path / "balai-demo", _free_port()
    result, app = _served(monkeypatch, path, port)
    assert f"http://kota-tangerang.localhost:{port}/" in result.output
    with app.app_context():
        kota = registry(app).by_slug(KOTA)
        assert external_url(kota, "balai_web.home") == f"http://kota-tangerang.localhost:{port}/"
    # A request on another of the region's addresses: e-mails and SMS name the primary one.
    with app.test_request_context("/", base_url=f"http://localhost:{port}"):
        app.preprocess_request()
        link = url_for("balai_web.home", _external=True)
    assert link == f"http://kota-tangerang.localhost:{port}/"
    assert json.loads((path / "demo.json").read_text())["port"] == port
    # The app it serves has the mailbox, where the outbox's messages show at once.
    assert app.config["OUTBOX_DELIVER_INLINE"] is True
    mailbox = app.test_client().get("/-/kotak-surat", base_url=f"http://localhost:{port}")
    assert mailbox.status_code == 200
    db.engine_for(app).dispose()

    # Reused on another port: new links follow it, and the demo says what it was built for.
    other = _free_port()
    result, app = _served(monkeypatch, path, other)
    assert f"built for port {port}" in result.output
    with app.app_context():
        kota = registry(app).by_slug(KOTA)
        assert external_url(kota, "balai_web.home") == f"http://kota-tangerang.localhost:{other}/"
    db.engine_for(app).dispose()


def test_the_default_http_port_is_left_out_of_links(tmp_path: Path) -> None:
    from balai.demo import link_settings

    assert link_settings(80) == {"PREFERRED_URL_PORT": None}
    assert link_settings(8000) == {"PREFERRED_URL_PORT": 8000}


@pytest.mark.parametrize(
    ("port", "instead"), [(5060, 5062), (5061, 5062), (6000, 6001), (6665, 6670), (10080, 10081)]
)
def test_a_port_browsers_refuse_is_warned_about_with_another(
    built_demo: Path, port: int, instead: int
) -> None:
    result = CliRunner().invoke(
        cli, ["demo", "--path", str(built_demo), "--no-serve", "--port", str(port)]
    )
    assert result.exit_code == 0, result.output
    assert f"warning: browsers refuse port {port}" in result.stderr
    assert f"--port {instead}'" in result.stderr
    assert f"http://kota-tangerang.localhost:{port}/" in result.stdout  # still the user's choice


def test_the_refused_ports_are_the_browsers_list() -> None:
    from balai.demo import BROWSER_UNSAFE_PORTS, safe_port

    assert {1, 22, 25, 5060, 5061, 6000, 6566, 6665, 6669, 6679, 6697, 10080} <= (
        BROWSER_UNSAFE_PORTS
    )
    assert len(BROWSER_UNSAFE_PORTS) == 82
    assert not {80, 443, 5000, 5001, 8000, 8080, 8443} & BROWSER_UNSAFE_PORTS
    assert safe_port(5000) == 5000 and safe_port(6666) == 6670


def test_the_demo_runs_its_background_jobs(demo_app: Flask) -> None:
    """What a region enqueues (a plugin check, a delivery) runs while the demo serves,
    without Redis, a worker or a cron line."""
    with demo_app.app_context():
        run_id = enqueue("core.deliver-outbox", tenant=KOTA)
    stop = threading.Event()
    stop.set()  # one round, then return

    run_jobs(demo_app, stop, interval=0)

    with demo_app.app_context(), db.all_tenants() as session:
        run = session.get(JobRun, run_id)
        assert (run.job, run.status) == ("core.deliver-outbox", "done")


def test_the_demo_runs_its_background_jobs_with_redis_too(built_demo: Path) -> None:
    """Set for the page cache, Redis does not leave the jobs to a worker the demo has not."""
    import redis

    url = os.environ.get("BALAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {url} ({exc})")
    queue_name = f"balai-test-{secrets.token_hex(4)}"
    app = open_demo(built_demo, {"REDIS_URL": url, "JOBS_QUEUE": queue_name})
    try:
        with app.app_context():
            run_id = enqueue("core.deliver-outbox", tenant=KOTA)
        stop = threading.Event()
        stop.set()
        run_jobs(app, stop, interval=0)
        with app.app_context(), db.all_tenants() as session:
            assert session.get(JobRun, run_id).status == "done"  # type: ignore[union-attr]
    finally:
        store = redis.Redis.from_url(url)
        for key in store.keys(f"rq:*{queue_name}*"):
            store.delete(key)
        db.engine_for(app).dispose()


def test_serving_starts_the_background_jobs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rounds: list[Flask] = []
    monkeypatch.setattr("balai.demo.run_jobs", lambda app, stop, interval=0: rounds.append(app))

    _result, app = _served(monkeypatch, tmp_path / "balai-demo", 8124)

    assert rounds == [app]


def test_the_logins_table_lists_only_the_accounts_with_the_demo_password(
    tmp_path: Path,
) -> None:
    """Accounts registered, and passwords changed, after the build keep their own: a demo
    used and started again does not list them beside the demo's password."""
    path = tmp_path / "balai-demo"
    assert demo(path).exit_code == 0
    app = open_demo(path)
    with app.app_context():
        kota = registry(app).by_slug(KOTA)
        assert kota is not None
        with db.tenant_session(kota.id) as session:
            create_user(
                session,
                tenant_id=kota.id,
                email="baru@example.com",
                name="Warga Baru",
                role="warga",
                password="sandi-sendiri-2026",
            )
            create_user(
                session,
                tenant_id=kota.id,
                email="tunggu@example.com",
                name="Belum Selesai",
                role="warga",
                password="sandi-sendiri-2026",
                pending=True,
            )
            changed = session.scalars(select(User).where(User.email == f"admin@{KOTA}.example"))
            set_password(session, changed.one(), "sandi-admin-baru-2026")
    db.engine_for(app).dispose()

    again = " ".join(demo(path).output.split())

    assert "reusing the demo" in again
    assert "baru@example.com" not in again and "tunggu@example.com" not in again
    assert f"admin@{KOTA}.example" not in again
    assert f"admin@{LEBAK}.example {DEMO_PASSWORD}" in again
    assert "3 accounts made or given a password since the demo was built" in again
