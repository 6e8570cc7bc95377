"""``balai demo``: a demo instance with two regions, sample users and sample data.

The demo is an ordinary instance folder (``./balai-demo``: ``balai.cfg`` and an
SQLite database, ``TENANCY = "multi"``), so every other command works on it too:
``BALAI_INSTANCE_PATH=balai-demo balai plugins list``. A file ``demo.json`` in it
marks the folder as a demo; only such a folder is ever deleted (``--reset``), and
without ``--reset`` a finished demo is reused as it is, with whatever was changed
in it since. ``--reset`` keeps the folder ``cache`` (:data:`CACHE`), where sample
data keeps results that are slow to make (``DEMO_CACHE``): the registry's plugin
checks of its sample wheels, by their SHA-256.

Links the demo writes (in e-mails and SMS in the outbox, the SMS webhook's address,
anything built from a region's primary domain) name the port it serves on:
``--port`` becomes ``PREFERRED_URL_PORT`` (:func:`link_settings`), for the build and
for the server.

The demo has no mail server nor SMS gateway: what its regions send stays in their
outbox, and its mailbox page ``/-/kotak-surat`` (:mod:`balai.devmail`) shows it, so
a tester sees notifications and verification codes arrive. ``balai demo`` turns it
on (:data:`MAILBOX_SETTINGS`) for the app it builds and serves, never in
``balai.cfg``.

While it serves, the demo runs its background jobs itself (:func:`run_jobs`, every
:data:`JOBS_INTERVAL` seconds in a thread of the server's process, as ``balai jobs
run-due`` would from cron): a plugin sent to its registry is checked, its outbox is
delivered and scheduled jobs run, with no Redis, worker or cron line to set up.

Browsers refuse some ports whatever answers there (:data:`BROWSER_UNSAFE_PORTS`):
``--port`` on one of them is warned about, with a port to use instead.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from balai import __version__, schema
from balai.auth.accounts import create_user
from balai.auth.models import Department, User
from balai.db import db, utcnow
from balai.permissions import OPERATOR
from balai.plugins import Plugins, plugins
from balai.tenancy import (
    CustomRole,
    RoleGrant,
    RoleMember,
    TenancyError,
    TenantInfo,
    bump_state,
    create_tenant,
    enable_plugin,
    registry,
)

__all__ = ["DEMO_PASSWORD", "TENANTS", "DemoTenant", "build", "link_settings"]

#: Seconds between two runs of the due background jobs while the demo serves.
JOBS_INTERVAL = 10.0

# Published on purpose: every demo account has this password, and the command prints it.
DEMO_PASSWORD = "demo-balai-2025"  # noqa: S105
MARKER = "demo.json"
#: The folder of the demo that ``--reset`` keeps (the default of ``DEMO_CACHE``).
CACHE = "cache"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
#: What ``balai demo`` adds to the app it builds and serves: the mailbox page, and
#: messages delivered (to the outbox) right after the request that queued them.
MAILBOX_SETTINGS: dict[str, Any] = {"DEMO_MAILBOX": True, "OUTBOX_DELIVER_INLINE": True}
MAILBOX_PATH = "/-/kotak-surat"
#: Ports Chromium and Firefox refuse to open (``ERR_UNSAFE_PORT``, "This address is
#: restricted"): the Fetch standard's "bad ports", as Chromium's net/base/port_util.cc
#: lists them.
BROWSER_UNSAFE_PORTS = frozenset(
    {1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95}
    | {101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143}
    | {161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554}
    | {556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045}
    | {4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080}
)

# Departments (*Organisasi Perangkat Daerah*, OPD) every demo region has.
DEPARTMENTS = {
    "DISKOMINFO": "Dinas Komunikasi dan Informatika",
    "DINKES": "Dinas Kesehatan",
    "DLH": "Dinas Lingkungan Hidup",
    "DPUPR": "Dinas Pekerjaan Umum dan Penataan Ruang",
    "DISHUB": "Dinas Perhubungan",
    "DISDUKCAPIL": "Dinas Kependudukan dan Pencatatan Sipil",
}
# Departments that get a sample officer: the ones complaints are routed to, and health.
OFFICER_DEPARTMENTS = ("DLH", "DPUPR", "DISHUB", "DINKES")


@dataclass(frozen=True)
class DemoTenant:
    """A demo region with its host names and two sample citizens (*warga*)."""

    slug: str
    name: str
    domains: tuple[str, ...]
    citizens: tuple[tuple[str, str], ...]  # (e-mail name, full name)


TENANTS = (
    DemoTenant(
        "kota-tangerang",
        "Kota Tangerang",
        ("kota-tangerang.localhost", "localhost", "127.0.0.1"),
        (("siti", "Siti Rahmawati"), ("budi", "Budi Santoso")),
    ),
    DemoTenant(
        "kabupaten-lebak",
        "Kabupaten Lebak",
        ("kabupaten-lebak.localhost",),
        (("asep", "Asep Sunarya"), ("nengsih", "Nengsih Rohaeti")),
    ),
)


@dataclass(frozen=True)
class DemoUser:
    """A sample account; ``tenant`` is None only for the platform operator."""

    role: str
    email: str
    name: str
    tenant: str | None
    department: str | None = None


def demo_users() -> list[DemoUser]:
    """Per region: an admin, officers of some departments, two citizens; one operator."""
    users = []
    for t in TENANTS:
        mail = f"{t.slug}.example"
        users.append(DemoUser("admin", f"admin@{mail}", f"Admin {t.name}", t.slug))
        users += [
            DemoUser("opd", f"{code.lower()}@{mail}", f"Petugas {code}", t.slug, code)
            for code in OFFICER_DEPARTMENTS
        ]
        users += [DemoUser("warga", f"{u}@{mail}", n, t.slug) for u, n in t.citizens]
    users.append(DemoUser(OPERATOR, "operator@balai.example", "Operator Platform", None))
    return users


# -- the instance folder --------------------------------------------------------------


def _status(path: Path) -> str | None:
    """``ready``, ``building`` (an unfinished build), or None when not a demo folder."""
    try:
        return str(json.loads((path / MARKER).read_text())["status"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _mark(path: Path, status: str, port: int | None = None) -> None:
    marker = {"status": status, "balai": __version__, "port": port}
    if status == "ready":
        marker["built"] = utcnow().isoformat()  # the accounts with the demo's password
    (path / MARKER).write_text(json.dumps(marker) + "\n")


def _built_at(path: Path) -> datetime | None:
    """When the demo at ``path`` finished building, if it says."""
    try:
        return datetime.fromisoformat(json.loads((path / MARKER).read_text())["built"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _built_port(path: Path) -> int | None:
    """The port the demo at ``path`` was built for, if it says."""
    try:
        port = json.loads((path / MARKER).read_text()).get("port")
    except (OSError, ValueError, AttributeError):
        return None
    return port if isinstance(port, int) else None


#: The settings the demo's ``balai.cfg`` holds besides its secret key, so that every
#: command run on the folder (``BALAI_INSTANCE_PATH=balai-demo balai registry report``)
#: sees the instance as the demo's server does: multi-tenancy, and regions that may
#: reach the demo's own registry on localhost.
INSTANCE_SETTINGS: dict[str, Any] = {"TENANCY": "multi", "REGISTRY_ALLOW_PRIVATE_ADDRESSES": True}


def _settings(path: Path) -> dict[str, Any]:
    """What the demo needs whatever the environment says: its own SQLite file and
    :data:`INSTANCE_SETTINGS`."""
    return {"DATABASE_URL": f"sqlite:///{path / 'balai.sqlite'}", **INSTANCE_SETTINGS}


def _complete_config(path: Path) -> None:
    """Add to the ``balai.cfg`` of the demo at ``path`` what :data:`INSTANCE_SETTINGS`
    has and it lacks (a demo built by an older version), keeping what is there."""
    cfg = path / "balai.cfg"
    try:
        text = cfg.read_text(encoding="utf-8")
    except OSError:
        return
    present = {line.split("=", 1)[0].strip() for line in text.splitlines() if "=" in line}
    missing = [f"{key} = {value!r}" for key, value in INSTANCE_SETTINGS.items()]
    missing = [line for line in missing if line.split(" =", 1)[0] not in present]
    if missing:
        cfg.write_text(text.rstrip("\n") + "\n" + "\n".join(missing) + "\n", encoding="utf-8")


def link_settings(port: int) -> dict[str, Any]:
    """The settings that make the demo's links name ``port`` (none for HTTP's own 80).

    Links are built from a region's primary domain (``kota-tangerang.localhost``),
    never from the request's ``Host``, so without its port they would lead nowhere.
    """
    return {"PREFERRED_URL_PORT": None if port == 80 else port}


def open_demo(path: Path, overrides: Mapping[str, Any] | None = None) -> Flask:
    """The app of the demo instance at ``path``."""
    from balai.cli import create_cli_app  # balai.cli imports this module

    return create_cli_app(path, {**_settings(path), **(overrides or {})})


def _prepare(path: Path, reset: bool) -> bool:
    """Make ``path`` ready for a build; False when a finished demo is to be reused."""
    status = _status(path)
    if path.exists() and status is None and any(path.iterdir()):
        raise click.ClickException(f"{path} exists and is not a Balai demo; not touching it")
    if reset and status is not None:
        _clear(path)
        return True
    if status == "building":
        raise click.ClickException(f"an earlier build in {path} did not finish: use --reset")
    return status != "ready"


def _clear(path: Path) -> None:
    """Delete the demo at ``path`` but its :data:`CACHE` folder; the marker goes last."""
    for entry in sorted(path.iterdir(), key=lambda e: e.name == MARKER):
        if entry.name == CACHE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


# -- building ---------------------------------------------------------------------


def build(path: Path, overrides: Mapping[str, Any] | None = None) -> Flask:
    """Create the demo instance at ``path`` (which must not hold one) and return its app.

    ``overrides`` apply to this app only (the instance's ``balai.cfg`` keeps none of
    them); pass :func:`link_settings` so that links written while building name the port.
    """
    from balai.cli import new_instance_settings, write_instance_config

    path.mkdir(parents=True, exist_ok=True)
    _mark(path, "building")
    write_instance_config(path, {**new_instance_settings(), **INSTANCE_SETTINGS})
    app = open_demo(path, overrides)
    with app.app_context():
        schema.upgrade(app)
        for spec in TENANTS:
            tenant = create_tenant(app, spec.slug, spec.name, list(spec.domains))
            _add_people(tenant)
        _add_operator()
        plan = plugin_plan(plugins(app))
        for slug, names in plan.items():
            _enable_plugins(app, slug, names)
        add_demo_roles(app, TENANTS[0].slug)
    _mark(path, "ready", app.config.get("PREFERRED_URL_PORT"))
    return app


def _add_people(tenant: TenantInfo) -> None:
    """The region's departments and its sample users."""
    with db.tenant_session(tenant.id) as session:
        session.add_all(Department(code=c, name=n) for c, n in DEPARTMENTS.items())
        session.flush()
        for user in demo_users():
            if user.tenant == tenant.slug:
                _create(session, user, tenant.id)


def _add_operator() -> None:
    with db.all_tenants() as session:
        for user in demo_users():
            if user.tenant is None:
                _create(session, user, None)


def _create(session: Session, user: DemoUser, tenant_id: int | None) -> None:
    create_user(
        session,
        tenant_id=tenant_id,
        email=user.email,
        name=user.name,
        role=user.role,
        password=DEMO_PASSWORD,
        department=user.department,
    )


def plugin_plan(manager: Plugins) -> dict[str, list[str]]:
    """The plugins each demo region gets, in an order that enables required ones first.

    Kota Tangerang gets every working plugin; Kabupaten Lebak all but the last in
    alphabetical order (and so none that needs that one), so the two regions differ.
    """
    working = [p.name for p in manager.working()]
    requires = {p.name: p.manifest.requires if p.manifest else () for p in manager.working()}
    return {
        TENANTS[0].slug: _dependency_order(working, requires),
        TENANTS[1].slug: _dependency_order(working[:-1], requires),
    }


def _dependency_order(names: list[str], requires: Mapping[str, tuple[str, ...]]) -> list[str]:
    """``names`` with every plugin after the ones it requires (unsatisfiable ones last)."""
    ordered: list[str] = []
    pending = list(names)
    while pending:
        ready = [n for n in pending if all(r in ordered for r in requires.get(n, ()))]
        if not ready:
            return ordered + pending  # enable_plugin will say what is missing
        ordered += ready
        pending = [n for n in pending if n not in ready]
    return ordered


def _enable_plugins(app: Flask, slug: str, names: list[str]) -> None:
    """Switch ``names`` on for the region, then let each fill in its sample data."""
    enabled = []
    for name in names:
        tenant = registry(app).by_slug(slug)
        assert tenant is not None
        try:
            enable_plugin(app, tenant, name, by="demo")
        except (TenancyError, SQLAlchemyError) as exc:
            click.echo(f"  {slug}: plugin {name} skipped: {exc}", err=True)
        else:
            enabled.append(name)
    for name in enabled:
        _populate(app, slug, name)


def _populate(app: Flask, slug: str, name: str) -> None:
    """Call one plugin's ``populate_demo`` in its own transaction: all of it, or none."""
    tenant = registry(app).by_slug(slug)
    assert tenant is not None
    try:
        with db.tenant_session(tenant.id) as session:
            plugins(app).relay(frozenset({name})).populate_demo(tenant=tenant, session=session)
    except Exception as exc:  # a plugin's sample data must not stop the demo
        click.echo(f"  {slug}: sample data of {name} not loaded: {exc}", err=True)


# -- the region's own roles -----------------------------------------------------------


@dataclass(frozen=True)
class DemoRole:
    """A custom role of the demo: who gets it is matched on the e-mail's local part."""

    slug: str
    name: str
    description: str
    permissions: tuple[str, ...]
    holders: tuple[str, ...]  # local parts (``dlh``) or their prefixes (``loket.``)


#: Kota Tangerang's own roles. What they carry is withdrawn from the built-in officer
#: role there (:data:`NARROWED`), so a desk clerk or a doctor no longer gets the
#: complaint inbox and a DLH officer no longer holds patients' permissions.
DEMO_ROLES = (
    DemoRole(
        "loket",
        "Loket",
        "Petugas pendaftaran puskesmas: memanggil nomor antrean dan mendaftarkan pasien.",
        ("puskesmas.serve_queue", "puskesmas.register_patient", "puskesmas.read_record"),
        ("loket.",),
    ),
    DemoRole(
        "dokter",
        "Dokter",
        "Dokter, dokter gigi dan bidan puskesmas: memanggil nomor di poli dan mencatat kunjungan.",
        ("puskesmas.serve_queue", "puskesmas.read_record", "puskesmas.record_visit"),
        ("dokter.", "drg.", "bidan."),
    ),
    DemoRole(
        "pengawas",
        "Pengawas kesehatan",
        "Petugas Dinas Kesehatan yang membaca rekam medis sebagai pengawas (tugas viewer).",
        ("puskesmas.read_record",),
        ("dinkes",),
    ),
    DemoRole(
        "verifikator",
        "Verifikator pengaduan",
        "Petugas pengaduan dinas: memverifikasi, meneruskan, mengerjakan dan menyelesaikan "
        "pengaduan yang diarahkan ke dinasnya.",
        ("pengaduan.view_complaint", "pengaduan.verify_complaint", "pengaduan.handle_complaint"),
        ("dlh", "dpupr", "dishub", "dinkes"),
    ),
)
#: What every officer of Kota Tangerang no longer holds by their built-in role alone.
NARROWED = tuple(sorted({name for role in DEMO_ROLES for name in role.permissions}))


def _holds(role: DemoRole, email: str) -> bool:
    local = email.split("@", 1)[0]
    return any(local.startswith(h) if h.endswith(".") else local == h for h in role.holders)


def add_demo_roles(app: Flask, slug: str) -> None:
    """Create the demo's custom roles in region ``slug``, narrow its officer role, and
    give the roles to the sample officers (the puskesmas's included: run it after the
    plugins' sample data). Only the permissions declared here are used."""
    tenant = registry(app).by_slug(slug)
    assert tenant is not None
    from balai.permissions import registry as permission_registry

    declared = set(permission_registry(app).permissions)
    with db.tenant_session(tenant.id) as session:
        session.add_all(
            RoleGrant(role="opd", permission=name, granted=False)
            for name in NARROWED
            if name in declared
        )
        officers = session.scalars(select(User).where(User.role == "opd").order_by(User.id)).all()
        for spec in DEMO_ROLES:
            role = CustomRole(
                slug=spec.slug,
                name=spec.name,
                description=spec.description,
                permissions=[name for name in spec.permissions if name in declared],
            )
            session.add(role)
            session.flush()
            session.add_all(
                RoleMember(user_id=user.id, role_id=role.id, created_by="demo")
                for user in officers
                if _holds(spec, user.email)
            )
        bump_state(session)
    registry(app).refresh(force=True)


# -- telling and serving ------------------------------------------------------------


def _addresses(port: int) -> None:
    click.echo("")
    click.echo("Open (most browsers send *.localhost to this computer):")
    for spec in TENANTS:
        click.echo(f"  {spec.name:<16} http://{spec.domains[0]}:{port}/")
    click.echo(f"  http://localhost:{port}/ is {TENANTS[0].name} too.")
    click.echo("")
    click.echo("E-mails and SMS the demo sends arrive in each region's mailbox:")
    for spec in TENANTS:
        click.echo(f"  {spec.name:<16} http://{spec.domains[0]}:{port}{MAILBOX_PATH}")


def safe_port(port: int) -> int:
    """``port``, or the next one up that browsers open (not in :data:`BROWSER_UNSAFE_PORTS`)."""
    while port in BROWSER_UNSAFE_PORTS:
        port += 1
    return port


def _warn_browser_port(port: int) -> None:
    """Say so when browsers will refuse ``port``, and which port to use instead."""
    if port in BROWSER_UNSAFE_PORTS:
        click.echo(
            f"warning: browsers refuse port {port} (Chromium: ERR_UNSAFE_PORT, Firefox: "
            f"'This address is restricted'); try '{_command()} --port {safe_port(port)}'",
            err=True,
        )


def _logins(app: Flask, built: datetime | None) -> None:
    """Every account the demo made: the core's, and those the plugins' sample data added.

    Accounts registered, or passwords changed, after the demo was ``built`` are left
    out: the demo's password is not theirs.
    """
    from balai.cli import print_table

    click.echo("")
    click.echo(f"Log in at /masuk. The password of every account below: {DEMO_PASSWORD}")
    order = {slug: index for index, slug in enumerate(t.slug for t in TENANTS)}
    ranks = {"admin": 0, "opd": 1, "warga": 2}
    with app.app_context():
        slugs = {t.id: t.slug for t in registry(app).all()}
        with db.all_tenants() as session:
            found = session.scalars(select(User)).all()
            users = [
                (u.role, u.login, slugs.get(u.tenant_id))
                for u in found
                if not u.pending and (built is None or u.password_changed_at <= built)
            ]
    if len(users) < len(found):
        click.echo(
            f"({len(found) - len(users)} accounts made or given a password since the demo was "
            "built keep their own and are not listed.)"
        )
    users.sort(key=lambda u: (order.get(u[2] or "", 99), ranks.get(u[0], 3), u[1]))
    rows = [[role, email, DEMO_PASSWORD, slug or "(all)"] for role, email, slug in users]
    print_table(["ROLE", "E-MAIL", "PASSWORD", "TENANT"], rows)


def _command() -> str:
    """How the user started the demo (``./scripts/demo`` sets this), for the hints we print."""
    return os.environ.get("BALAI_DEMO_COMMAND") or "balai demo"


def _check_port(host: str, port: int) -> None:
    """Refuse at once, before building anything, when the port is taken."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # as the server will: connections of a demo just stopped (TIME_WAIT) are no bar
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port} ({exc.strerror}); "
                f"try '{_command()} --port {port + 1}'"
            ) from exc


def serve(app: Flask, host: str, port: int) -> None:
    """Serve ``app`` with Werkzeug's threaded development server until interrupted."""
    from werkzeug.serving import run_simple

    click.echo("")
    if host not in LOOPBACK:
        click.echo(
            f"warning: anyone who reaches {host}:{port} can log in with the password above "
            f"and read the mailbox {MAILBOX_PATH}"
        )
    click.echo(f"Press Ctrl+C to stop. Run '{_command()} --reset' to start afresh.")
    stop = threading.Event()
    jobs = threading.Thread(target=run_jobs, args=(app, stop), name="demo-jobs", daemon=True)
    jobs.start()
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        stop.set()
        jobs.join(timeout=JOBS_INTERVAL)


def run_jobs(app: Flask, stop: threading.Event, interval: float = JOBS_INTERVAL) -> None:
    """Run the demo's due background jobs (:func:`balai.jobs.runner.run_due`), then
    every ``interval`` seconds until ``stop`` is set. A run that fails is printed; a
    round that fails as a whole (the database busy) is printed and the next one tried."""
    from balai.jobs.runner import run_due

    while True:
        try:
            with app.app_context():
                outcomes = run_due(app, utcnow(), here=True)  # no worker, Redis or not
            for outcome in outcomes:
                if outcome.status in ("failed", "retrying"):
                    click.echo(f"job {outcome.job} ({outcome.tenant}): {outcome.status}")
        except Exception as exc:  # the server goes on; the next round tries again
            click.echo(f"background jobs: {type(exc).__name__}: {exc}")
        if stop.wait(interval):
            return


@click.command("demo")
@click.option(
    "--path",
    type=click.Path(file_okay=False, path_type=Path),
    default="balai-demo",
    show_default=True,
    help="The demo's instance folder.",
)
@click.option("--reset", is_flag=True, help="Delete the demo and build it afresh.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Build (or reuse) the demo, then stop.")
def demo_command(path: Path, reset: bool, host: str, port: int, no_serve: bool) -> None:
    """Build (or reuse) a demo with two regions, sample users and data, and serve it."""
    path = path.resolve()
    _warn_browser_port(port)
    if not no_serve:
        _check_port(host, port)
    links = link_settings(port)
    settings = {**links, **MAILBOX_SETTINGS}
    if _prepare(path, reset):
        click.echo(f"building the demo in {path} ...")
        app = build(path, settings)
        click.echo("demo ready")
    else:
        click.echo(f"reusing the demo in {path} as it is ('{_command()} --reset' builds it afresh)")
        built = _built_port(path)
        if built is not None and built != links["PREFERRED_URL_PORT"]:
            click.echo(
                f"note: it was built for port {built}; links written then (in the outbox) "
                f"still name {built}, new ones name {port}"
            )
        _complete_config(path)
        app = open_demo(path, settings)
    _addresses(port)
    _logins(app, _built_at(path))
    if no_serve:
        db.engine_for(app).dispose()
        return
    serve(app, host, port)
