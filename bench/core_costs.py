"""What the core costs: Balai against a bare Flask app, plugins, tenants, start-up, load.

    bench/run [--runs 3] [--only overhead,hooks,startup,tenants,load]

Five measurements, each the median of ``--runs`` runs, printed as one table:

overhead
    The same tenant-scoped JSON read, one announcement by id and a page of 20,
    through Balai's API (``/api/v1/pengumuman/``, a citizen's API token, tenant by
    ``Host``) and through a hand-written Flask + flask-login + SQLAlchemy app doing
    the same queries on the same PostgreSQL database (``bare_app.py``), called
    in-process as WSGI applications. Target: Balai at most 1.15x the bare app (CPU).
    In the same turns, Balai's API on an SQLite instance (same region, same
    announcements, login, tenancy and permissions all on) against Datasette 0.65 on
    the same SQLite file (ASGI, in-process). Target: Balai at least as fast as
    Datasette (wall and CPU).
hooks
    The dispatch of a request-time hook (the navigation a page asks for) with 1,
    10 and 50 stand-in plugins installed, 5 of them enabled for the tenant.
    Target: under 20 microseconds.
startup
    Importing Balai and ``create_app``, in a fresh process, with 0 and 50 stand-in
    plugins installed. Target: 0.35 s (on the issue's machine); 50 plugins add at
    most 50 ms. Beside them, in turns, the bare app's start-up (``bare_startup.py``:
    Flask, flask-login, SQLAlchemy, its four tables and routes).
tenants
    The overhead requests on a database holding 500 regions (each with its
    announcements) against one holding only the measured region. Target: at most 1.1x.
load
    gunicorn (2 gthread workers) serving citizen pages to ``wrk`` on loopback: the
    home page, the announcements page, the complaints' public list (200 complaints)
    and a puskesmas's display board (a day's queue): requests per second, p99 and the
    count of non-2xx answers. Targets: 0 errors; ``/`` 3,000 and ``/pengumuman/``
    1,000 requests per second (on the issue's machine).

Absolute targets were set on the issue's machine; ``--machine-factor F`` scales
them for one F times slower (seconds times F, requests per second divided by F).

PostgreSQL comes from ``BALAI_BENCH_DATABASE_URL`` (default: the local server);
the throw-away databases (``balai_bench_*``) are dropped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bare_app import create_bare_app
from dummy_plugins import dummy_plugins
from flask import Flask, g
from load_run import load_run
from pengaduan_list import throwaway_database
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url
from werkzeug.test import EnvironBuilder

from balai import schema
from balai.auth.accounts import create_user
from balai.auth.models import ApiToken, Department, hash_token
from balai.db import db, utcnow
from balai.plugins import collect, plugins
from balai.tenancy import (
    Domain,
    PluginState,
    Tenant,
    TenantInfo,
    bump_state,
    create_tenant,
    enable_plugin,
    registry,
)
from balai_pengumuman.models import Announcement

BENCH = Path(__file__).resolve().parent
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-password-123"  # noqa: S105 - a throw-away database's user
HOST = "kota-a.test"
ANNOUNCEMENTS = 200  # per region
REGIONS = 500
BLOCK = 20  # requests per turn in time_interleaved
SECTIONS = ("overhead", "hooks", "startup", "tenants", "load")
COMPLAINTS = 200  # in the measured region, for the load run of the public list
OVERHEAD_TARGET = 1.15  # Balai's CPU time per request over the bare app's
STARTUP_TARGET = 0.35  # seconds, 3 plugins, on the machine
PLUGINS_TARGET = 0.050  # seconds that 50 more plugins may add
#: Requests per second wanted under load, on the issue's machine (others: no errors).
LOAD_TARGETS = {"/": 3000, "/pengumuman/": 1000}


@dataclass
class Region:
    """The measured region: its id, the citizen's API token and an announcement's id."""

    tenant_id: int
    token: str
    newest: int


@dataclass
class Row:
    """One line of the results table."""

    measure: str
    figure: str
    target: str
    met: bool | None
    reproduce: str


# -- data --------------------------------------------------------------------------------


def balai_app(url: str, instance: str, extra: list[object] | None = None) -> Flask:
    """A Balai app as a multi-region deployment runs it (fast hashing for the set-up)."""
    from balai.app import create_app

    return create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": instance,
            "SECRET_KEY": "bench-secret",
            "TENANCY": "multi",
            "PASSWORD_HASHING": "fast",
            "EXTRA_PLUGINS": extra or [],
        }
    )


def populate(app: Flask, regions: int, token: str) -> Region:
    """Migrate, then make the measured region and ``regions - 1`` others like it."""
    with app.app_context():
        schema.upgrade(app)
        tenant = create_tenant(app, "kota-a", "Kota A", [HOST])
        enable_plugin(app, tenant, "pengumuman", by="bench")
        with db.tenant_session(tenant.id) as session:
            departments = [Department(code=f"D{n}", name=f"Dinas {n}") for n in range(3)]
            session.add_all(departments)
            session.flush()
            user = create_user(
                session,
                tenant_id=tenant.id,
                email=f"warga@{HOST}",
                name="Warga",
                role="warga",
                password=PASSWORD,
            )
            session.add(
                ApiToken(
                    user_id=user.id,
                    tenant_id=tenant.id,
                    name="bench",
                    token_hash=hash_token(token),
                    prefix=token[:12],
                )
            )
            dept_ids = [d.id for d in departments] + [None]
            session.execute(insert(Announcement), announcements(tenant.id, dept_ids))
        with db.all_tenants() as session:
            newest = session.scalar(
                select(Announcement.id)
                .where(Announcement.tenant_id == tenant.id, Announcement.published_at <= utcnow())
                .order_by(Announcement.published_at.desc())
            )
            if regions > 1:
                add_regions(session, regions - 1)
        registry(app).refresh(force=True)
        with db.engine_for(app).connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
    return Region(tenant.id, token, newest)


def add_services(app: Flask, slug: str) -> int:
    """Complaints and a puskesmas in the region, as its citizens' pages show them.

    Switches the complaints and puskesmas plugins on and loads their demo data, made
    smaller where the demo is larger than the pages need: ``COMPLAINTS`` complaints
    (categories, areas, every status), one puskesmas with its clinics and today's
    queue (numbers taken since opening, some called, served or skipped). Returns the
    puskesmas's id, for its display board.
    """
    import balai_pengaduan.demo as complaints_demo
    import balai_puskesmas.demo as puskesmas_demo
    from balai_puskesmas.models import Facility

    sizes = {
        complaints_demo: {"COMPLAINTS": COMPLAINTS},
        # today's queue needs the patients who take numbers; the past is left out
        puskesmas_demo: {"PATIENTS": 300, "VISITS": 40, "PAST_DAYS": 7},
    }
    saved = {module: {k: getattr(module, k) for k in values} for module, values in sizes.items()}
    try:
        for module, values in sizes.items():
            for key, value in values.items():
                setattr(module, key, value)
        with app.app_context():
            for name in ("pengaduan", "puskesmas"):
                tenant = registry(app).by_slug(slug)
                assert tenant is not None
                enable_plugin(app, tenant, name, by="bench")
                tenant = registry(app).by_slug(slug)
                assert tenant is not None
                with db.tenant_session(tenant.id) as session:
                    plugins(app).relay(frozenset({name})).populate_demo(
                        tenant=tenant, session=session
                    )
            with db.tenant_session(tenant.id) as session:
                facility = session.scalar(select(Facility.id).order_by(Facility.id))
            with db.engine_for(app).connect() as connection:
                connection.execute(text("ANALYZE"))
                connection.commit()
    finally:
        for module, values in saved.items():
            for key, value in values.items():
                setattr(module, key, value)
    assert facility is not None, "the puskesmas demo made no puskesmas"
    return int(facility)


def announcements(tenant_id: int, departments: list[int | None]) -> list[dict[str, Any]]:
    """``ANNOUNCEMENTS`` rows: one a day into the past, a few expired, two scheduled."""
    now = utcnow()
    rows = []
    for n in range(ANNOUNCEMENTS):
        published = now - timedelta(days=n, hours=3) if n >= 2 else now + timedelta(days=n + 1)
        rows.append(
            {
                "tenant_id": tenant_id,
                "title": f"Pengumuman nomor {n}",
                "body": "Pelayanan kantor kecamatan tutup sementara.\n\nTerima kasih. " * 4,
                "category": "layanan",
                "department_id": departments[n % len(departments)],
                "published_at": published,
                "expires_at": now - timedelta(days=1) if n % 17 == 5 else None,
            }
        )
    return rows


def add_regions(session: Any, count: int) -> None:
    """``count`` more regions, each with the announcement plugin on and its announcements."""
    tenants = [
        Tenant(slug=f"daerah-{n:03d}", name=f"Daerah {n:03d}", domains=[Domain(host=f"d{n}.test")])
        for n in range(count)
    ]
    session.add_all(tenants)
    session.flush()
    session.add_all(PluginState(tenant_id=t.id, plugin="pengumuman", enabled=True) for t in tenants)
    for tenant in tenants:
        session.execute(insert(Announcement), announcements(tenant.id, [None]))
    bump_state(session)


# -- timing ------------------------------------------------------------------------------


def wsgi_environ(path: str, host: str, token: str | None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return EnvironBuilder(path, base_url=f"http://{host}", headers=headers).get_environ()


def wsgi_caller(app: Flask, environ: dict[str, Any]) -> Callable[[], None]:
    """One request to the WSGI ``app``, its body read; anything but 200 fails."""

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        assert status.startswith("200"), (app.name, environ["PATH_INFO"], status)

    def call() -> None:
        body = app(dict(environ), start_response)
        for _chunk in body:
            pass
        if hasattr(body, "close"):
            body.close()

    return call


def datasette_caller(sqlite_path: str, path: str, query: str) -> Callable[[], None]:
    """One request to Datasette serving ``sqlite_path`` (ASGI, on its own event loop)."""
    from datasette.app import Datasette

    loop = asyncio.new_event_loop()
    datasette = Datasette([sqlite_path], settings={"num_sql_threads": 1, "suggest_facets": False})
    loop.run_until_complete(datasette.invoke_startup())
    app = datasette.app()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200, (path, message["status"])

    def call() -> None:
        loop.run_until_complete(app(dict(scope), receive, send))

    return call


def time_interleaved(
    callers: dict[str, Callable[[], None]], count: int, warmup: int = 20
) -> dict[str, tuple[float, float]]:
    """Median wall-clock and CPU seconds per request of each caller.

    The callers take turns, ``BLOCK`` requests each, so that a machine shared with
    other work slows them alike, while each runs warm as a worker serving only one
    app would (turns of one request would have every app evict the others' code and
    data from the CPU's caches, which costs the bigger app more). CPU time is this
    process's (all its threads): the server's own work, without waiting for the
    database or for a CPU.
    """
    walls: dict[str, list[float]] = {name: [] for name in callers}
    cpus: dict[str, list[float]] = {name: [] for name in callers}
    for turn in range(-(-(warmup + count) // BLOCK)):
        for name, call in callers.items():
            for n in range(turn * BLOCK, min((turn + 1) * BLOCK, warmup + count)):
                wall, cpu = time.perf_counter(), time.process_time()
                call()
                if n >= warmup:
                    walls[name].append(time.perf_counter() - wall)
                    cpus[name].append(time.process_time() - cpu)
    return {
        name: (statistics.median(walls[name]), statistics.median(cpus[name])) for name in callers
    }


# -- the measurements --------------------------------------------------------------------


def same_answers(balai: Flask, other: Flask, region: Region, exact: bool = False) -> None:
    """Both apps give the same announcements, or the comparison means nothing.

    ``exact``: the same JSON, pages too, but for the times of day the rows were made
    at (Balai on two databases, each filled at its own moment).
    """
    for path in (f"/api/v1/pengumuman/{region.newest}", "/api/v1/pengumuman/"):
        answers = []
        for app in (balai, other):
            client = app.test_client()
            response = client.get(
                path, base_url=f"http://{HOST}", headers={"Authorization": f"Bearer {region.token}"}
            )
            assert response.status_code == 200, (app.name, path, response.status_code)
            answers.append(response.get_json())
        if exact:
            answers = [_without_times(answer) for answer in answers]
        if "items" in answers[0] and not exact:
            assert [i["id"] for i in answers[0]["items"]] == [i["id"] for i in answers[1]["items"]]
            assert answers[0]["total"] == answers[1]["total"]
        else:
            assert answers[0] == answers[1], answers


def _without_times(answer: Any) -> Any:
    """``answer`` without the moments in it (``..._at``), at any depth."""
    if isinstance(answer, dict):
        return {k: _without_times(v) for k, v in answer.items() if not k.endswith("_at")}
    if isinstance(answer, list):
        return [_without_times(item) for item in answer]
    return answer


def overhead(
    apps: dict[str, Flask], region: Region, sqlite_path: str | None, runs: int, count: int
) -> dict[tuple[str, str], tuple[float, float]]:
    """Median over runs of each app's median (wall, CPU) seconds, for the row and the page."""
    paths = {"row": f"/api/v1/pengumuman/{region.newest}", "page": "/api/v1/pengumuman/"}
    datasette_paths = {
        "row": (f"/bench/pengumuman_announcement/{region.newest}.json", ""),
        "page": (
            "/bench/pengumuman_announcement.json",
            f"tenant_id={region.tenant_id}&_sort_desc=published_at&_size=20",
        ),
    }
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for kind, path in paths.items():
        environ = wsgi_environ(path, HOST, region.token)
        callers = {name: wsgi_caller(app, environ) for name, app in apps.items()}
        if sqlite_path is not None:  # the same file as the "balai-sqlite" app's
            callers["datasette"] = datasette_caller(sqlite_path, *datasette_paths[kind])
        for _run in range(runs):
            for name, found in time_interleaved(callers, count).items():
                samples.setdefault((name, kind), []).append(found)
            print(".", end="", flush=True)
    print()
    return {
        key: (statistics.median(w for w, _c in found), statistics.median(c for _w, c in found))
        for key, found in samples.items()
    }


def hook_dispatch(url: str, instance: str, runs: int) -> dict[int, float]:
    """Seconds per dispatch of ``menu_items`` with N installed stand-ins, 5 enabled.

    The hook is called as a page calls it (:func:`balai.plugins.collect`); the core's
    own navigation is left out, so that only the dispatch and the stand-ins (which
    return a ready list) are timed.
    """
    results = {}
    for installed in (0, 1, 10, 50):
        app = balai_app(url, instance, dummy_plugins(installed))
        plugins(app).pm.unregister(name="balai")
        enabled = frozenset(f"dummy{n:02d}" for n in range(min(5, installed)))
        tenant = TenantInfo(1, "kota-a", "Kota A", "default", {}, None, {}, (HOST,), enabled)
        with app.test_request_context("/", base_url=f"http://{HOST}"):
            g.tenant = tenant

            def dispatch(tenant: TenantInfo = tenant) -> list[Any]:
                return collect("menu_items", tenant=tenant, user=None)

            assert len(dispatch()) == len(enabled)
            results[installed] = statistics.median(_per_call(dispatch) for _run in range(runs))
    return results


def _per_call(call: Callable[[], Any], calls: int = 5000) -> float:
    """CPU seconds per call: unlike the wall clock, not stretched by other work on the machine."""
    started = time.process_time()
    for _n in range(calls):
        call()
    return (time.process_time() - started) / calls


def startup(url: str, runs: int) -> dict[int | str, dict[str, float]]:
    """Median seconds to import and to ``create_app`` with 0 and 50 stand-ins installed,
    and the yardstick's (``"bare"``: ``bare_startup.py``), in turns."""
    import json

    # Bytecode cached, as in an installed package: a first, untimed round writes it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    scripts: dict[int | str, list[str]] = {
        "bare": [str(BENCH / "bare_startup.py"), url],
        0: [str(BENCH / "startup_time.py"), url, "0"],
        50: [str(BENCH / "startup_time.py"), url, "50"],
    }
    samples: dict[int | str, list[dict[str, float]]] = {key: [] for key in scripts}
    for run in range(runs + 1):
        for key, script in scripts.items():
            output = subprocess.run(  # noqa: S603 - this interpreter, our script
                [sys.executable, *script], check=True, capture_output=True, text=True, env=env
            ).stdout
            if run:
                samples[key].append(json.loads(output.strip().splitlines()[-1]))
    return {
        key: {
            field: statistics.median(s[field] for s in found)
            for field in ("imports", "create_app", "cpu")
        }
        for key, found in samples.items()
    }


def database_rows(
    stack: ExitStack, server: str, instance: str, wanted: set[str], args: argparse.Namespace
) -> list[Row]:
    """The measurements that need PostgreSQL, on throw-away databases."""
    token = "balai_bench-" + os.urandom(16).hex()
    one_url, one_owner = stack.enter_context(throwaway_database(server, keep=False))
    balai = balai_app(one_url, instance)
    region = populate(balai, 1, token)
    apps = {"balai": balai, "bare": create_bare_app(psycopg_url(one_owner))}
    same_answers(balai, apps["bare"], region)
    sqlite_path = None
    if "overhead" in wanted:
        # Balai on SQLite, and Datasette on the same file (its name is the database's).
        sqlite_path = os.path.join(instance, "bench.db")
        on_sqlite = balai_app(f"sqlite:///{sqlite_path}", instance)
        assert populate(on_sqlite, 1, token) == region, "the measured region must be the same"
        same_answers(balai, on_sqlite, region, exact=True)
        apps["balai-sqlite"] = on_sqlite
    served_url = one_url
    if "tenants" in wanted or "load" in wanted:
        served_url, _owner = stack.enter_context(throwaway_database(server, keep=False))
        many = balai_app(served_url, instance)
        assert populate(many, REGIONS, token) == region, "the measured region must be the same"
        apps["balai-500"] = many
        if "load" in wanted:
            facility = add_services(many, "kota-a")
    rows = []
    if wanted & {"overhead", "tenants"}:
        if "overhead" not in wanted:
            apps.pop("bare")
        found = overhead(apps, region, sqlite_path, args.runs, args.requests)
        if "overhead" in wanted:
            rows += overhead_rows(found, args.runs) + datasette_rows(found, args.runs)
        if "tenants" in wanted:
            rows += tenant_rows(found, args.runs)
    for app in apps.values():
        if isinstance(app, Flask) and "balai.db" in app.extensions:
            db.engine_for(app).dispose()
    if "load" in wanted:
        pages = ("/", "/pengumuman/", "/pengaduan/daftar", f"/puskesmas/{facility}/layar")
        results = load_run(served_url, instance, HOST, args.load_seconds, args.runs, pages)
        rows += load_rows(results, args.runs, args.load_seconds, args.machine_factor)
    return rows


def psycopg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


# -- the report --------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def command(section: str, runs: int) -> str:
    return f"`bench/run --only {section} --runs {runs}`"


def overhead_rows(found: dict[tuple[str, str], tuple[float, float]], runs: int) -> list[Row]:
    """Balai against the bare app on PostgreSQL: the target is on CPU time."""
    rows = []
    for kind, label in (("row", "one announcement by id"), ("page", "a page of 20")):
        balai, bare = found["balai", kind], found["bare", kind]
        figure, _wall = _versus(balai, bare, "Balai", "bare Flask")
        met = balai[1] / bare[1] <= OVERHEAD_TARGET
        rows.append(
            Row(
                f"overhead, {label} (PostgreSQL)",
                figure,
                f"≤ {OVERHEAD_TARGET}x (CPU)",
                met,
                command("overhead", runs),
            )
        )
    return rows


def datasette_rows(found: dict[tuple[str, str], tuple[float, float]], runs: int) -> list[Row]:
    """Balai's API on SQLite against Datasette on the same file: at least as fast, both clocks."""
    rows = []
    for kind, label in (("row", "one announcement by id"), ("page", "a page of 20")):
        if ("datasette", kind) not in found:
            continue
        balai, datasette = found["balai-sqlite", kind], found["datasette", kind]
        figure, wall = _versus(balai, datasette, "Balai on SQLite", "Datasette 0.65")
        rows.append(
            Row(
                f"Datasette on the same SQLite file, {label}",
                figure,
                "≤ 1.00x (wall and CPU)",
                wall <= 1.0 and balai[1] <= datasette[1],
                command("overhead", runs),
            )
        )
    return rows


def tenant_rows(found: dict[tuple[str, str], tuple[float, float]], runs: int) -> list[Row]:
    rows = []
    for kind, label in (("row", "one announcement"), ("page", "a page of 20")):
        figure, ratio = _versus(
            found["balai-500", kind], found["balai", kind], f"{REGIONS} regions", "1 region"
        )
        rows.append(
            Row(
                f"1 vs {REGIONS} regions, {label}",
                figure,
                "≤ 1.1x",
                ratio <= 1.1,
                command("tenants", runs),
            )
        )
    return rows


def _versus(
    measured: tuple[float, float], base: tuple[float, float], name: str, base_name: str
) -> tuple[str, float]:
    """The figure comparing two (wall, CPU) medians, and the wall-clock ratio."""
    ratio = measured[0] / base[0]
    figure = (
        f"{name} {ms(measured[0])}, {base_name} {ms(base[0])}: **{ratio:.2f}x** "
        f"(CPU {ms(measured[1])} vs {ms(base[1])}: {measured[1] / base[1]:.2f}x)"
    )
    return figure, ratio


def hook_rows(found: dict[int, float], runs: int) -> list[Row]:
    return [
        Row(
            f"hook dispatch, {installed} stand-in plugins installed, {min(5, installed)} enabled",
            f"{seconds * 1e6:.1f} µs CPU per request",
            "< 20 µs",
            seconds < 20e-6 if installed else None,
            command("hooks", runs),
        )
        for installed, seconds in found.items()
    ]


def startup_rows(found: dict[int | str, dict[str, float]], runs: int, factor: float) -> list[Row]:
    """Start-up with the real plugins alone, then what 50 stand-ins add to it; beside
    them the yardstick's, a hand-written Flask + SQLAlchemy worker's, in the same run."""
    rows = []
    totals = {n: s["imports"] + s["create_app"] for n, s in found.items()}
    for installed in (0, 50):
        seconds = found[installed]
        figure = (
            f"imports {seconds['imports']:.2f} s + create_app {seconds['create_app']:.2f} s"
            f" = **{totals[installed]:.2f} s** (CPU {seconds['cpu']:.2f} s)"
        )
        if installed:
            added = totals[installed] - totals[0]
            figure += f": **{added * 1000:+.0f} ms** over none"
            met = added <= PLUGINS_TARGET * factor
            wanted = f"≤ +{PLUGINS_TARGET * 1000:.0f} ms{_scaled(factor)}"
        else:
            figure += f"; {totals[0] / totals['bare']:.2f}x the bare app's"
            met = totals[0] <= STARTUP_TARGET * factor
            wanted = f"≤ {STARTUP_TARGET} s{_scaled(factor)}"
        rows.append(
            Row(
                f"start-up, {installed} stand-in plugins (+ the real ones)",
                figure,
                wanted,
                met,
                command("startup", runs),
            )
        )
    bare = found["bare"]
    rows.append(
        Row(
            "start-up of the bare Flask + SQLAlchemy app (`bare_startup.py`), the yardstick",
            f"imports {bare['imports']:.2f} s + app {bare['create_app']:.2f} s"
            f" = **{totals['bare']:.2f} s** (CPU {bare['cpu']:.2f} s)",
            "none: measured beside Balai's",
            None,
            command("startup", runs),
        )
    )
    return rows


def _scaled(factor: float) -> str:
    """How a target set on the issue's machine is scaled here (``--machine-factor``)."""
    return "" if factor == 1 else f" (x {factor:g} here)"


def load_rows(
    results: dict[str, dict[str, float]] | None, runs: int, seconds: int, factor: float
) -> list[Row]:
    if results is None:
        return [Row("load under gunicorn", "not run: wrk is not installed", "0 errors", None, "")]
    rows = []
    for path, found in results.items():
        errors = found["non_2xx"] + found["socket_errors"]
        target, met = "0 errors", errors == 0
        wanted = LOAD_TARGETS.get(path)
        if wanted is not None:
            target = f"≥ {wanted:,} req/s{_scaled(1 / factor)}, 0 errors"
            met = met and found["rps"] >= wanted / factor
        rows.append(
            Row(
                f"load, {_page_name(path)}, {REGIONS} regions",
                f"{found['rps']:.0f} req/s, p50 {found['p50']:.1f} ms, p99 {found['p99']:.1f} ms, "
                f"{found['requests']:.0f} requests: {found['non_2xx']:.0f} non-2xx, "
                f"{found['socket_errors']:.0f} socket errors",
                target,
                met,
                f"`bench/run --only load --runs {runs} --load-seconds {seconds}`",
            )
        )
    return rows


def _page_name(path: str) -> str:
    if path == "/pengaduan/daftar":
        return f"complaints' public list `{path}` ({COMPLAINTS} complaints)"
    if path.startswith("/puskesmas/"):
        return f"puskesmas display board `{path}` (a day's queue)"
    return f"`{path}`"


def print_table(rows: Iterable[Row]) -> None:
    print("\n| measure | result | target | met | reproduce |")
    print("|---|---|---|---|---|")
    for row in rows:
        met = "n/a" if row.met is None else ("yes" if row.met else "**no**")
        print(f"| {row.measure} | {row.figure} | {row.target} | {met} | {row.reproduce} |")


def describe_machine(server: str) -> None:
    import platform

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    engine = create_engine(make_url(server).set(drivername="postgresql+psycopg"))
    with engine.connect() as connection:
        version = connection.scalar(text("SHOW server_version"))
    engine.dispose()
    print(
        f"{time.strftime('%Y-%m-%d')}: {os.cpu_count()} x {cpu}, {memory:.0f} GiB RAM, "
        f"{platform.freedesktop_os_release().get('PRETTY_NAME', platform.system())}, "
        f"Python {platform.python_version()}, PostgreSQL {version}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )


# -- main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--requests", type=int, default=200, help="requests per timed run")
    parser.add_argument("--load-seconds", type=int, default=10, help="length of a wrk run")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument(
        "--machine-factor",
        type=float,
        default=1.0,
        help="how many times slower this machine is than the issue's (scales absolute targets)",
    )
    args = parser.parse_args(argv)
    wanted = set(args.only.split(","))
    if wanted - set(SECTIONS):
        parser.error(f"unknown section(s): {', '.join(sorted(wanted - set(SECTIONS)))}")
    server = os.environ.get("BALAI_BENCH_DATABASE_URL", DEFAULT_SERVER)
    describe_machine(server)
    rows: list[Row] = []
    with ExitStack() as stack:
        instance = stack.enter_context(tempfile.TemporaryDirectory())
        if wanted & {"hooks", "startup"}:
            sqlite_url = f"sqlite:///{instance}/hooks.sqlite"
            if "hooks" in wanted:
                rows += hook_rows(hook_dispatch(sqlite_url, instance, args.runs), args.runs)
            if "startup" in wanted:
                found = startup(sqlite_url, args.runs)
                rows += startup_rows(found, args.runs, args.machine_factor)
        if wanted & {"overhead", "tenants", "load"}:
            rows += database_rows(stack, server, instance, wanted, args)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
