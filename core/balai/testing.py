"""pytest plugin for Balai and its plugins (loaded through the ``pytest11`` entry point).

Fixtures: ``app``, ``client``, ``tenant``, ``other_tenant``, ``other_client``,
``db_session``, ``login``, ``enable_plugin``, ``make_app``, ``make_tenant``, ``grant``,
``give_role``, ``set_plugin_settings``, ``sms_webhook`` and ``run_command``.
:func:`serve` runs an app on a free port of 127.0.0.1 for tests that need a real HTTP
client; :func:`downgraded` holds the database at an older revision for tests of data
migrations. :func:`new_postgres_database` and :func:`migrate_database` make the database of
a second instance. Markers:
``@pytest.mark.balai_config(KEY=value)`` overrides settings and
``@pytest.mark.balai_plugins(obj, ...)`` registers plugin objects for one test.

The database is SQLite in a temporary folder, or PostgreSQL when
``BALAI_TEST_DATABASE_URL`` names a server (a throw-away database owned by a
non-superuser role is created there, so row-level security applies). It is
migrated once per session and emptied after every test.

Files: every app keeps them in its instance folder, or, with ``BALAI_TEST_STORAGE=s3``,
in its own prefix of a bucket on an S3-compatible server (moto) that the session starts
on a free port (fixtures ``balai_s3_server`` and ``s3_storage``). A test that takes the
``storage_backend`` fixture runs once with each.

Redis: with ``BALAI_TEST_REDIS_URL`` set, every app keeps its rate-limit counters in
that Redis under a key prefix of its own (the database keeps them otherwise), and the
tests of the job queue and of two hosts run on it.

Demo data: every app and demo of the session shares one ``DEMO_CACHE`` folder
(``BALAI_DEMO_CACHE``, unless set), so the registry's sample plugins are built and
checked once a session, not by every test that loads demo data.

The clock: ``BALAI_TEST_NOW=2026-12-31T16:59:50Z`` (or ``--balai-now``) starts every test
of the session at that instant, the clock ticking on from there (time-machine). ``INSTANTS``
are the instants the project's own date-touching tests (marker ``clock``) run at.
Statements that read the database server's clock (``now()``, ``CURRENT_DATE``, …),
which no travel can move, fail the test that runs them.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session
from werkzeug.serving import WSGIRequestHandler, make_server

from balai import ratelimit
from balai.auth.accounts import create_user
from balai.auth.models import User
from balai.db import Base, db
from balai.permissions import OPERATOR, ROLES
from balai.permissions import registry as permission_registry
from balai.tenancy import (
    CustomRole,
    RoleGrant,
    RoleMember,
    TenantInfo,
    bump_state,
    create_tenant,
    save_plugin_settings,
)
from balai.tenancy import enable_plugin as switch_on
from balai.tenancy import registry as tenant_registry

__all__ = [
    "INSTANTS",
    "PASSWORD",
    "DatabaseClockError",
    "csrf_token",
    "downgraded",
    "make_test_app",
    "migrate_database",
    "new_postgres_database",
    "serve",
    "travel",
]

PASSWORD = "kata-sandi-uji-123"  # noqa: S105 - the test users' password
TEST_ROLE = "balai_test"
NOW_VARIABLE = "BALAI_TEST_NOW"
STORAGE_VARIABLE = "BALAI_TEST_STORAGE"
REDIS_VARIABLE = "BALAI_TEST_REDIS_URL"
S3_BUCKET = "balai-test"
_TRAVELLER = pytest.StashKey[Any]()

#: Instants where dates turn over or are special: (instant in UTC, what happens there).
#: Indonesia keeps three zones without daylight saving: WIB (UTC+7), WITA (UTC+8) and
#: WIT (UTC+9); each midnight is taken ten seconds before and after.
INSTANTS: tuple[tuple[str, str], ...] = (
    ("2026-03-04T16:59:50Z", "10 s before midnight WIB (Wednesday into Thursday)"),
    ("2026-03-04T17:00:10Z", "10 s after midnight WIB"),
    ("2026-03-04T15:59:50Z", "10 s before midnight WITA"),
    ("2026-03-04T16:00:10Z", "10 s after midnight WITA"),
    ("2026-03-04T14:59:50Z", "10 s before midnight WIT"),
    ("2026-03-04T15:00:10Z", "10 s after midnight WIT"),
    ("2026-08-17T03:00:00Z", "Independence Day (a Monday), 10:00 WIB"),
    ("2026-03-08T03:00:00Z", "a Sunday, 10:00 WIB"),
    ("2026-12-31T16:59:50Z", "31 December, 10 s before the new year in WIB"),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("balai").addoption(
        "--balai-now",
        metavar="INSTANT",
        help=f"start every test at this instant (ISO 8601 with a zone, e.g. "
        f"2026-12-31T16:59:50Z), the clock ticking on from there; default: ${NOW_VARIABLE}",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "balai_config(**settings): override Balai settings")
    config.addinivalue_line("markers", "balai_plugins(*plugins): register plugin objects")
    config.addinivalue_line(
        "markers", "clock: the outcome depends on the date or time; run at every instant"
    )
    if os.environ.get(STORAGE_VARIABLE, "local") not in {"local", "s3"}:
        raise pytest.UsageError(f"{STORAGE_VARIABLE} must be 'local' or 's3'")
    instant = session_instant(config)
    if instant is not None:
        import time_machine

        # A timestamp, not the datetime: time-machine would set TZ for a zoned one, and
        # the machine's own zone must stay whatever it is.
        travel = time_machine.travel(instant.timestamp(), tick=True)
        config.stash[_TRAVELLER] = (travel.start(), instant.timestamp())
        config.add_cleanup(travel.stop)
    if not event.contains(Engine, "before_cursor_execute", _refuse_database_clock):
        event.listen(Engine, "before_cursor_execute", _refuse_database_clock)
        config.add_cleanup(
            lambda: event.remove(Engine, "before_cursor_execute", _refuse_database_clock)
        )


def session_instant(config: pytest.Config) -> datetime | None:
    """The instant the session runs at (``--balai-now`` or ``BALAI_TEST_NOW``), if any."""
    value = config.getoption("balai_now", None) or os.environ.get(NOW_VARIABLE, "")
    if not value.strip():
        return None
    try:
        instant = datetime.fromisoformat(value.strip())
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise pytest.UsageError(
            f"{NOW_VARIABLE} / --balai-now: {value!r} is not an ISO 8601 instant with a "
            "time zone, e.g. 2026-12-31T16:59:50Z or 2026-12-31T23:59:50+07:00"
        )
    return instant


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Every test starts at the session's instant (before its fixtures are set up)."""
    travelling = item.config.stash.get(_TRAVELLER, None)
    if travelling is not None:
        traveller, timestamp = travelling
        traveller.move_to(timestamp)


def pytest_report_header(config: pytest.Config) -> str | None:
    instant = session_instant(config)
    if instant is None:
        return None
    return f"balai: every test starts at {instant.isoformat()}, the clock ticking on from there"


def travel(moment: datetime | str, *, tick: bool = False) -> Any:
    """``time_machine.travel`` to the aware ``moment`` (or ISO 8601 text with a zone),
    frozen unless ``tick``: a context manager or a decorator.

    Unlike a zoned datetime given to time-machine directly, it leaves the machine's
    time zone (``TZ``) alone, so code that wrongly reads it still shows up. It nests
    inside ``BALAI_TEST_NOW``'s travel.
    """
    import time_machine

    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        raise ValueError("travel() needs an aware moment, e.g. 2026-03-04T10:00:00+07:00")
    return time_machine.travel(moment.timestamp(), tick=tick)


# -- the database server's clock ---------------------------------------------------------


class DatabaseClockError(AssertionError):
    """A statement read the database server's clock, which tests cannot move."""


_DATABASE_CLOCK = re.compile(
    r"\b(?:now|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday)\s*\("
    r"|\b(?:current_date|current_time|current_timestamp|localtime|localtimestamp)\b"
    r"|'now'",
    re.IGNORECASE,
)


def _refuse_database_clock(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    """Time comes from the application (``balai.db.utcnow``), never from the server.

    Only the application's clock can be frozen or moved in tests, and the server's
    may differ from it in production too.
    """
    found = _DATABASE_CLOCK.search(statement)
    if found:
        raise DatabaseClockError(
            f"this statement reads the database server's clock ({found.group(0)!r}); "
            f"pass balai.db.utcnow() as a parameter instead:\n{statement}"
        )


# -- database --------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _demo_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``BALAI_DEMO_CACHE`` for the whole session (unless it is set already)."""
    if os.environ.get("BALAI_DEMO_CACHE"):
        yield
        return
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("BALAI_DEMO_CACHE", str(tmp_path_factory.mktemp("demo-cache")))
        yield


@pytest.fixture(scope="session")
def balai_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for the whole test session."""
    server = os.environ.get("BALAI_TEST_DATABASE_URL")
    if not server:
        path = tmp_path_factory.mktemp("balai-db") / "test.sqlite"
        url = f"sqlite:///{path}"
        migrate_database(url, path.parent)
        yield url
        return
    url, drop = new_postgres_database(server)
    try:
        migrate_database(url, tmp_path_factory.mktemp("balai-instance"))
        yield url
    finally:
        drop()


class _QuietHandler(WSGIRequestHandler):
    """No line per request: the test reports what went wrong."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@contextmanager
def serve(app: Flask) -> Iterator[int]:
    """Serve ``app`` with Werkzeug's threaded server on a free port of 127.0.0.1, and
    yield the port. On leaving, the server stops and the app's database engine is
    disposed of. Clients reach a region by its domain with the port, mapping every host
    name to 127.0.0.1 (each client library has its own way; see the tests using this)."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        if "balai.db" in app.extensions:  # a stand-in for another service has none
            db.engine_for(app).dispose()


def new_postgres_database(server: str) -> tuple[str, Callable[[], None]]:
    """A new, empty database on the PostgreSQL ``server`` (an administrator's URL), owned
    by the tests' non-superuser role so row-level security applies: its URL, and a
    function that drops it (and disposes of the administrator's engine)."""
    admin_url = make_url(server).set(drivername="postgresql+psycopg")
    name = f"balai_test_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": TEST_ROLE}
        )
        if not exists:
            connection.execute(text(f"CREATE ROLE {TEST_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS"))
        connection.execute(text(f'CREATE DATABASE "{name}" OWNER {TEST_ROLE}'))
    url = admin_url.set(username=TEST_ROLE, password=None, database=name)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def migrate_database(url: str, instance: Path) -> None:
    """Bring the database at ``url`` to the newest revision of the core and every
    installed plugin, with ``instance`` as the app's instance folder."""
    from balai import schema

    app = make_test_app({"DATABASE_URL": url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        schema.upgrade(app)
    db.engine_for(app).dispose()


def _empty_all_tables(app: Flask) -> None:
    """Delete every row (children first) and, on PostgreSQL, restart every sequence.

    DELETE rather than TRUNCATE: a TRUNCATE gives each table new files, which the
    server creates and syncs to disk, a second or so per test for tables a test has
    barely filled. Row-level security hides other regions' rows from a DELETE too, so
    the transaction works across regions, as ``db.all_tenants()`` does.
    """
    engine = db.engine_for(app)
    with engine.begin() as connection:
        # A table only some test's plugin declares is not in a database made without it.
        present = set(inspect(connection).get_table_names())
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SELECT set_config('balai.all_tenants', 'on', true)"))
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in present and table.name != "balai_alembic_version":
                connection.execute(table.delete())
        if postgres:
            connection.execute(_RESTART_SEQUENCES)


_RESTART_SEQUENCES = text(
    "SELECT setval(c.oid, s.seqstart, false) FROM pg_class c"
    " JOIN pg_sequence s ON s.seqrelid = c.oid"
    " WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace"
)


# -- files -----------------------------------------------------------------------


def _storage_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Where the test's apps keep files: the ``storage_backend`` the test asks for, else
    ``BALAI_TEST_STORAGE`` (the instance folder by default)."""
    if "storage_backend" in request.fixturenames:
        backend = request.getfixturevalue("storage_backend")
    else:
        backend = os.environ.get(STORAGE_VARIABLE) or "local"
    if backend == "s3":
        settings: dict[str, Any] = request.getfixturevalue("s3_storage")
        return settings
    return {"STORAGE_URL": None}


@pytest.fixture(params=["local", "s3"])
def storage_backend(request: pytest.FixtureRequest) -> str:
    """Run the test once with each store: ``local`` (the instance folder) and ``s3``
    (a prefix of the session's moto bucket); the apps it builds keep their files there."""
    backend: str = request.param
    return backend


@pytest.fixture(scope="session")
def balai_s3_server() -> Iterator[str]:
    """An S3-compatible server (moto) on a free port of 127.0.0.1 for the session (each
    xdist worker has its own), with the bucket ``S3_BUCKET``; yields its endpoint URL.
    Credentials are set to moto's throw-away ones for the session."""
    import boto3
    from moto.server import ThreadedMotoServer

    patch = pytest.MonkeyPatch()
    patch.setenv("AWS_ACCESS_KEY_ID", "balai-test")
    patch.setenv("AWS_SECRET_ACCESS_KEY", "balai-test")
    patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        patch.delenv(name, raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=S3_BUCKET)
        yield endpoint
    finally:
        server.stop()
        patch.undo()


@pytest.fixture
def s3_storage(balai_s3_server: str) -> dict[str, str]:
    """Settings that keep an app's files in a fresh prefix of the session's S3 bucket."""
    return {
        "STORAGE_URL": f"s3://{S3_BUCKET}/app-{secrets.token_hex(6)}",
        "S3_ENDPOINT_URL": balai_s3_server,
    }


# -- apps and clients ----------------------------------------------------------------


def _redis_settings() -> dict[str, Any]:
    """With ``BALAI_TEST_REDIS_URL`` set, rate-limit counters go to that Redis, under a
    key prefix of the app's own so that apps (and xdist workers) never share a counter;
    without it, the database keeps them."""
    url = os.environ.get(REDIS_VARIABLE)
    if not url:
        return {}
    return {"RATELIMIT_STORAGE_URL": url, "RATELIMIT_KEY_PREFIX": f"test-{secrets.token_hex(6)}"}


def make_test_app(overrides: dict[str, Any] | None = None) -> Flask:
    """A Balai app with test settings: fast hashing, no CSRF, state seen at once, no
    job queue, every API answer checked against marshmallow's dump (``API_CHECK_DUMPS``);
    rate-limit counters in ``BALAI_TEST_REDIS_URL``'s Redis when it is set."""
    from balai.app import create_app

    settings: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "TENANCY": "multi",
        "STATE_TTL": 0,
        "PASSWORD_HASHING": "fast",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        # Jobs run inline (balai jobs run-due) unless a test asks for a Redis queue.
        "REDIS_URL": None,
        # Stand-in registries answer on 127.0.0.1.
        "REGISTRY_ALLOW_PRIVATE_ADDRESSES": True,
        # Every API answer is also dumped by marshmallow; a byte of difference fails.
        "API_CHECK_DUMPS": True,
        **_redis_settings(),
    }
    settings.update(overrides or {})
    app = create_app(settings)
    app.test_client_class = TenantClient
    return app


def _marker_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("balai_config"))):
        settings.update(marker.kwargs)
    plugins: list[object] = []
    for marker in request.node.iter_markers("balai_plugins"):
        plugins.extend(marker.args)
    if plugins:
        settings["EXTRA_PLUGINS"] = [*settings.get("EXTRA_PLUGINS", []), *plugins]
    return settings


@pytest.fixture
def make_app(
    balai_database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., Flask]]:
    """Build further apps on the test database: ``make_app(KEY=value, ...)``."""
    built: list[Flask] = []

    files = _storage_settings(request)

    def factory(**overrides: Any) -> Flask:
        settings = {"DATABASE_URL": balai_database_url, "INSTANCE_PATH": str(tmp_path / "instance")}
        settings.update(files)
        settings.update(_marker_settings(request))
        settings.update(overrides)
        app = make_test_app(settings)
        if built:
            _create_missing_tables(app)
        built.append(app)
        return app

    yield factory
    if built:
        _empty_all_tables(built[0])
    for app in built:
        db.engine_for(app).dispose()
        ratelimit.dispose(app)


def _create_missing_tables(app: Flask) -> None:
    """Tables of plugins registered only for a test (they have no migrations)."""
    from balai import schema

    Base.metadata.create_all(db.engine_for(app))
    schema.apply_row_security(app)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    """The Balai app under test, with an app context pushed."""
    application = make_app()
    _create_missing_tables(application)
    with application.app_context():
        yield application


@pytest.fixture
def tenant(app: Flask) -> TenantInfo:
    """A tenant served at ``http://kota-a.test``."""
    return create_tenant(app, "kota-a", "Kota A", ["kota-a.test"])


@pytest.fixture
def other_tenant(app: Flask) -> TenantInfo:
    """A second tenant, served at ``http://kota-b.test``: for isolation tests."""
    return create_tenant(app, "kota-b", "Kota B", ["kota-b.test"])


class TenantClient(FlaskClient):
    """A test client for one tenant's host (``client.host``), one app context per request.

    Flask reuses an app context that is already pushed (the ``app`` fixture pushes
    one), which would share ``g`` and the database session between requests. Each
    request here gets a fresh app context, as it would in production.
    """

    host: str | None = None

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if self.host and not kwargs.get("base_url") and (not args or isinstance(args[0], str)):
            kwargs["base_url"] = f"http://{self.host}"
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _client(app: Flask, tenant: TenantInfo) -> FlaskClient:
    client = app.test_client()
    client.host = tenant.domains[0]  # type: ignore[attr-defined]
    return client


@pytest.fixture
def client(app: Flask, tenant: TenantInfo) -> FlaskClient:
    """A test client whose requests go to ``tenant``'s host."""
    return _client(app, tenant)


@pytest.fixture
def other_client(app: Flask, other_tenant: TenantInfo) -> FlaskClient:
    """A test client whose requests go to ``other_tenant``'s host."""
    return _client(app, other_tenant)


@pytest.fixture
def db_session(app: Flask, tenant: TenantInfo) -> Iterator[Session]:
    """A session bound to ``tenant``; commit what the test needs the app to see."""
    session = db.new_session(tenant.id)
    yield session
    session.close()


@pytest.fixture
def enable_plugin(app: Flask, tenant: TenantInfo) -> Callable[..., TenantInfo]:
    """``enable_plugin("name", tenant=None)``: switch a plugin on (default: ``tenant``)."""

    def switch(name: str, tenant: TenantInfo = tenant) -> TenantInfo:
        switch_on(app, tenant, name, by="test")
        refreshed = tenant_registry(app).by_id(tenant.id)
        assert refreshed is not None
        return refreshed

    return switch


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form at ``path``, for tests that keep CSRF on."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, f"no CSRF token in the form at {path}"
    return found.group(1)


@pytest.fixture
def login(app: Flask, tenant: TenantInfo) -> Callable[..., User]:
    """``login(client, role="warga", permissions=(), tenant=None, email=None)``.

    Creates a user with ``role`` in ``tenant`` (default: the ``tenant`` fixture),
    grants ``permissions`` to that role there, and logs ``client`` in as them.
    """
    counter = iter(range(1, 10_000))

    def do_login(
        client: FlaskClient,
        role: str = "warga",
        permissions: tuple[str, ...] = (),
        tenant: TenantInfo | None = tenant,
        email: str | None = None,
        department: str | None = None,
    ) -> User:
        email = email or f"{role}{next(counter)}@example.test"
        with db.all_tenants() as session:
            user = create_user(
                session,
                tenant_id=tenant.id if tenant and role != "operator" else None,
                email=email,
                name=email.split("@")[0],
                role=role,
                password=PASSWORD,
                department=department,
            )
            for name in permissions:
                session.add(
                    RoleGrant(tenant_id=tenant.id, role=role, permission=name, granted=True)
                )
            if permissions:
                bump_state(session)
        form = {"email": email, "password": PASSWORD}
        if client.application.config.get("WTF_CSRF_ENABLED"):
            form["csrf_token"] = csrf_token(client, "/masuk")
        response = client.post("/masuk", data=form)
        assert response.status_code == 302, f"login failed for {email}: {response.status_code}"
        return user

    return do_login


# -- checking a whole plugin -------------------------------------------------------------
# check_plugin lives with the checks it runs (balai.proof.plugin); it is re-exported here
# because a plugin's test suite already imports its fixtures from balai.testing.

from balai.proof.plugin import check_plugin  # noqa: E402

__all__ += ["check_plugin"]
# -- regions, grants, settings ------------------------------------------------------------


@pytest.fixture
def make_tenant(app: Flask, enable_plugin: Callable[..., TenantInfo]) -> Callable[..., TenantInfo]:
    """``make_tenant(slug, *, name=None, plugins=(), domains=())``: another region.

    It is served at ``http://<slug>.test`` (or its ``domains``), is named ``name``
    (default: the slug in words, ``"Kota C"`` for ``kota-c``) and has ``plugins``
    switched on in order, as ``enable_plugin`` does.
    """

    def make(
        slug: str,
        *,
        name: str | None = None,
        plugins: tuple[str, ...] | list[str] = (),
        domains: tuple[str, ...] | list[str] = (),
    ) -> TenantInfo:
        title = name or slug.replace("-", " ").title()
        made = create_tenant(app, slug, title, list(domains) or [f"{slug}.test"])
        for plugin in plugins:
            made = enable_plugin(plugin, tenant=made)
        return made

    return make


@pytest.fixture
def grant(app: Flask, tenant: TenantInfo) -> Callable[..., None]:
    """``grant(role, permission, *, granted=True)``: ``tenant`` grants a declared
    permission to a role, as its admin would on the roles page.

    ``role`` is a built-in role (``warga``, ``opd``, ``admin``) or the slug of one of
    the region's custom roles, created (named after its slug) if it does not exist.
    ``granted=False`` withdraws the permission instead.
    """

    def do_grant(role: str, permission: str, *, granted: bool = True) -> None:
        if permission not in permission_registry(app).permissions:
            raise ValueError(f"no installed plugin declares the permission {permission!r}")
        if role == OPERATOR:
            raise ValueError("platform operators hold every permission; grant to a region's role")
        with db.tenant_session(tenant.id) as session:
            if role in ROLES:
                _grant_built_in(session, role, permission, granted)
            else:
                custom = _custom_role(session, role)
                held = [name for name in custom.permissions if name != permission]
                custom.permissions = [*held, permission] if granted else held
            bump_state(session)

    return do_grant


def _grant_built_in(session: Session, role: str, permission: str, granted: bool) -> None:
    found = session.scalar(
        select(RoleGrant).where(RoleGrant.role == role, RoleGrant.permission == permission)
    )
    if found is None:
        session.add(RoleGrant(role=role, permission=permission, granted=granted))
    else:
        found.granted = granted


def _custom_role(session: Session, slug: str) -> CustomRole:
    """The region's custom role ``slug``, created if it does not exist."""
    found = session.scalar(select(CustomRole).where(CustomRole.slug == slug))
    if found is None:
        found = CustomRole(slug=slug, name=slug, description="", permissions=[])
        session.add(found)
        session.flush()
    return found


@pytest.fixture
def give_role(app: Flask, tenant: TenantInfo) -> Callable[[User, str], None]:
    """``give_role(user, role)``: a user of ``tenant`` holds the region's custom role
    ``role`` too (created, without permissions, if it does not exist; ``grant`` adds them)."""

    def give(user: User, role: str) -> None:
        if role in ROLES or role == OPERATOR:
            raise ValueError(f"{role} is a built-in role: pass role= to login or create_user")
        with db.tenant_session(tenant.id) as session:
            custom = _custom_role(session, role)
            session.add(RoleMember(user_id=user.id, role_id=custom.id, created_by="test"))
            bump_state(session)

    return give


@pytest.fixture
def set_plugin_settings(app: Flask, tenant: TenantInfo) -> Callable[..., TenantInfo]:
    """``set_plugin_settings(plugin, **values)``: ``tenant``'s own settings of ``plugin``
    become ``values``, as if its admin saved them on the plugin's settings page.

    The values go through the plugin's settings schema first: one it refuses raises
    marshmallow's ``ValidationError`` naming the field, and nothing is stored. Secrets
    are sealed. Settings not given follow the deployment's and the schema's defaults
    (``set_plugin_settings(plugin)`` alone is "back to defaults"). Returns the
    refreshed ``TenantInfo``.
    """
    from balai.settings import schema_for

    def store(plugin: str, /, **values: Any) -> TenantInfo:
        schema_cls = schema_for(plugin, app)
        if schema_cls is None:
            raise LookupError(f"plugin {plugin!r} is not installed or declares no settings")
        schema = schema_cls()
        dumped = schema.dump(schema.load(values, partial=True))
        own = {key: value for key, value in dumped.items() if key in values}
        save_plugin_settings(app, tenant, plugin, own, by="test")
        refreshed = tenant_registry(app).by_id(tenant.id)
        assert refreshed is not None
        return refreshed

    return store


@pytest.fixture
def sms_webhook(app: Flask, tenant: TenantInfo) -> Callable[..., dict[str, str]]:
    """``sms_webhook(tenant=None)``: switch the region's inbound SMS webhook on (default:
    ``tenant``) with a fresh token, and return the headers its gateway sends:
    ``client.post("/-/sms/masuk", data={"from": ..., "text": ...}, headers=sms_webhook())``.
    """
    from balai.sms import TOKEN_HEADER, rotate_token

    def switch_on_webhook(tenant: TenantInfo = tenant) -> dict[str, str]:
        token = rotate_token(app, tenant)
        assert token is not None
        return {TOKEN_HEADER: token}

    return switch_on_webhook


@pytest.fixture
def run_command(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``run_command("jobs", "run-due", input=None)``: run ``balai jobs run-due`` on the
    test app, the core's commands and the plugins' alike, and return click's ``Result``
    (``exit_code``, ``output``)."""
    from balai.cli import cli

    # FlaskGroup sets FLASK_RUN_FROM_CLI; monkeypatch keeps it from leaking into later tests.
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")
    runner = app.test_cli_runner()

    def invoke(*args: str, input: str | None = None) -> Any:
        return runner.invoke(cli, list(args), input=input)

    return invoke


# -- migrations ------------------------------------------------------------------------


@contextmanager
def downgraded(app: Flask, revision: str) -> Iterator[None]:
    """Hold the database at ``revision`` of a branch (``"pengaduan_0003"``, or
    ``"pengaduan_0006-1"`` for the one before) for the block, then upgrade every branch
    to its head again, even if the block fails: for tests of a plugin's data migrations.

    Close or roll back the test's sessions first: an open transaction holds the
    tables the migration changes.
    """
    from alembic import command

    from balai import schema

    command.downgrade(schema.alembic_config(app), revision)
    try:
        yield
    finally:
        schema.upgrade(app)
