"""Complaint lists on PostgreSQL at scale: 1,000,000 complaints over 50 regions.

Measures a page of 20 through the real app (Flask's test client, so routing,
tenancy, the tenant filter, row-level security, permissions and rendering all
count): the citizens' public list ``/pengaduan/daftar`` as an anonymous visitor
and the officers' API ``/api/v1/pengaduan/complaints`` as a region admin and as
a department officer, for several filter combinations. Prints p50/p95 per
scenario; the target is a p95 under 50 ms.

    BALAI_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/pengaduan_list.py [--complaints 1000000] [--explain]

A throw-away database (owned by a role without superuser or BYPASSRLS, so
row-level security applies as in production) is created on that server and
dropped afterwards unless ``--keep``. Never a timed test: CI does not run it.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from balai import schema
from balai.app import create_app
from balai.auth.accounts import create_user
from balai.db import db
from balai.tenancy import create_tenant, enable_plugin
from balai_pengaduan.models import Area, Category

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
ROLE = "balai_bench"
PASSWORD = "bench-password-123"  # noqa: S105 - a throw-away database's users
REGIONS = 50
CATEGORIES = ("SAMPAH", "JALAN", "LAMPU", "BANJIR", "MACET", "PJU", "AIR", "POHON", "PELAYANAN")
DEPARTMENTS = ("DLH", "DPUPR", "DISHUB", "BPBD", "PDAM", "DISKOMINFO", "DINKES", "DISDUKCAPIL")
# Status mix of new complaints; after a month nearly all open ones are closed.
STATUS_WEIGHTS = {
    "closed": 50,
    "resolved": 14,
    "in_progress": 8,
    "forwarded": 8,
    "verified": 4,
    "received": 8,
    "rejected": 5,
    "duplicate": 3,
}
OPEN = frozenset({"received", "verified", "forwarded", "in_progress"})
COPY_COLUMNS = (
    "tenant_id",
    "tracking_code",
    "category_id",
    "department_id",
    "area_id",
    "description",
    "address",
    "latitude",
    "longitude",
    "status",
    "privacy",
    "channel",
    "reporter_name",
    "supporters",
    "submitted_at",
    "updated_at",
    "forward_due",
    "followup_due",
    "overdue_announced",
)


# -- the database ----------------------------------------------------------------------


@contextmanager
def throwaway_database(server: str, keep: bool) -> Iterator[tuple[str, str]]:
    """``(app url, loader url)``: the app's role is subject to RLS, the loader is not."""
    admin_url = make_url(server).set(drivername="postgresql+psycopg")
    name = f"balai_bench_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": ROLE}):
            connection.execute(text(f"CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOBYPASSRLS"))
        connection.execute(text(f'CREATE DATABASE "{name}" OWNER {ROLE}'))
    app_url = admin_url.set(username=ROLE, password=None, database=name)
    loader_url = admin_url.set(database=name, drivername="postgresql")
    try:
        yield (
            app_url.render_as_string(hide_password=False),
            loader_url.render_as_string(hide_password=False),
        )
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def build_app(url: str, instance: str) -> Flask:
    return create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": instance,
            "SECRET_KEY": "bench-secret",
            "TENANCY": "multi",
            "PASSWORD_HASHING": "fast",
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": None,
            "STATE_TTL": 60,
        }
    )


# -- data --------------------------------------------------------------------------------


def make_regions(app: Flask) -> list[dict[str, Any]]:
    """50 regions with departments, categories, three areas, an admin and an officer each."""
    regions = []
    for n in range(REGIONS):
        tenant = create_tenant(app, f"daerah-{n:02d}", f"Daerah {n:02d}", [f"daerah-{n:02d}.test"])
        enable_plugin(app, tenant, "pengaduan", by="bench")
        with db.tenant_session(tenant.id) as session:
            regions.append(_region_rows(session, tenant.id, n))
    return regions


def _region_rows(session: Any, tenant_id: int, n: int) -> dict[str, Any]:
    from balai.auth import Department

    departments = [Department(code=code, name=f"Dinas {code}") for code in DEPARTMENTS]
    session.add_all(departments)
    session.flush()
    categories = [
        Category(code=code, name=code.title(), department_id=departments[i % 6].id, position=i)
        for i, code in enumerate(CATEGORIES)
    ]
    lat, lon = -6.0 - n * 0.05, 106.0 + n * 0.05
    areas = [
        Area(
            code=f"KEC{k}",
            name=f"Kecamatan {k}",
            geometry={"type": "Polygon", "coordinates": [_ring(lat, lon + k * 0.04)]},
            min_lon=lon + k * 0.04,
            min_lat=lat,
            max_lon=lon + k * 0.04 + 0.04,
            max_lat=lat + 0.06,
        )
        for k in range(3)
    ]
    session.add_all(categories + areas)
    session.flush()
    for role, department in (("admin", None), ("opd", "DLH")):
        create_user(
            session,
            tenant_id=tenant_id,
            email=f"{role}@daerah-{n:02d}.test",
            name=f"{role} {n}",
            role=role,
            password=PASSWORD,
            department=department,
        )
    return {
        "tenant_id": tenant_id,
        "host": f"daerah-{n:02d}.test",
        "origin": (lat, lon),
        "departments": [d.id for d in departments],
        "categories": [(c.id, c.department_id) for c in categories],
        "areas": [a.id for a in areas],
    }


def _ring(lat: float, lon: float) -> list[list[float]]:
    return [[lon, lat], [lon + 0.04, lat], [lon + 0.04, lat + 0.06], [lon, lat + 0.06], [lon, lat]]


def load_complaints(loader_url: str, regions: list[dict[str, Any]], total: int) -> float:
    """COPY ``total`` complaints, spread evenly over the regions and the last year."""
    rng = random.Random(311)
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    now = datetime.now(UTC)
    started = time.perf_counter()
    with psycopg.connect(loader_url) as connection, connection.cursor() as cursor:
        columns = ", ".join(COPY_COLUMNS)
        with cursor.copy(f"COPY pengaduan_complaint ({columns}) FROM STDIN") as copy:
            for i in range(total):
                copy.write_row(_complaint_row(rng, regions[i % REGIONS], i, now, statuses, weights))
    # What autovacuum does to a table in steady use: statistics and the visibility map
    # (without which no count can be answered from an index alone).
    with psycopg.connect(loader_url, autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE) pengaduan_complaint")
    return time.perf_counter() - started


def _complaint_row(
    rng: random.Random,
    region: dict[str, Any],
    i: int,
    now: datetime,
    statuses: list[str],
    weights: list[int],
) -> tuple[Any, ...]:
    category_id, department_id = rng.choice(region["categories"])
    submitted = now - timedelta(seconds=rng.randint(0, 365 * 86400))
    status = rng.choices(statuses, weights)[0]
    if now - submitted > timedelta(days=30) and status in OPEN and rng.random() > 0.02:
        status = "closed"  # a month on, all but a few stragglers are done
    lat, lon = region["origin"]
    located = rng.random() < 0.9
    due = submitted.date() + timedelta(days=5)
    forwarded = status in ("forwarded", "in_progress", "resolved", "closed")
    return (
        region["tenant_id"],
        f"ADU-{i // 100_000:05d}-{i % 100_000:05d}",
        category_id,
        department_id,
        rng.choice(region["areas"]) if located else None,
        "Sampah menumpuk di pinggir jalan sejak tiga hari, baunya menyengat.",
        f"Jl. Contoh No. {i % 250}",
        lat + rng.uniform(0, 0.06) if located else None,
        lon + rng.uniform(0, 0.12) if located else None,
        status,
        rng.choice(("public", "confidential", "anonymous")),
        "web",
        None,
        rng.choice((0, 0, 1, 3)),
        submitted,
        submitted + timedelta(hours=rng.randint(1, 200)),
        due,
        due + timedelta(days=7) if forwarded else None,
        due < date.today(),
    )


# -- measuring ---------------------------------------------------------------------------


def logged_in(app: Flask, host: str, email: str) -> Any:
    client = app.test_client()
    response = client.post(
        "/masuk", data={"email": email, "password": PASSWORD}, base_url=f"http://{host}"
    )
    assert response.status_code == 302, f"login failed for {email}"
    return client


def scenarios(deep: int) -> list[tuple[str, str, Callable[..., str]]]:
    """``(who, label, url for a region)``: public pages first, then the API.

    ``deep`` is a page far down the list (50, when a region has that many).
    """
    return [
        ("public", "list, no filter", lambda r: "/pengaduan/daftar"),
        ("public", f"list, page {deep}", lambda r: f"/pengaduan/daftar?page={deep}"),
        ("public", "status=in_progress", lambda r: "/pengaduan/daftar?status=in_progress"),
        ("public", "category", lambda r: "/pengaduan/daftar?category=JALAN"),
        ("public", "area", lambda r: f"/pengaduan/daftar?area={r['areas'][1]}"),
        ("public", "30-day range", lambda r: "/pengaduan/daftar?" + _days_ago(40, 10)),
        (
            "public",
            "category+status",
            lambda r: "/pengaduan/daftar?category=JALAN&status=received",
        ),
        ("admin", "API, no filter", lambda r: "/api/v1/pengaduan/complaints"),
        (
            "admin",
            f"API, page {deep}",
            lambda r: f"/api/v1/pengaduan/complaints?page={deep}",
        ),
        (
            "admin",
            "API, status x2",
            lambda r: "/api/v1/pengaduan/complaints?status=received&status=verified",
        ),
        ("admin", "API, overdue", lambda r: "/api/v1/pengaduan/complaints?overdue=true"),
        (
            "admin",
            "API, department",
            lambda r: f"/api/v1/pengaduan/complaints?department_id={r['departments'][1]}",
        ),
        (
            "admin",
            "API, category+status",
            lambda r: "/api/v1/pengaduan/complaints?category=JALAN&status=closed",
        ),
        (
            "admin",
            "API, sort=-updated_at",
            lambda r: "/api/v1/pengaduan/complaints?sort=-updated_at",
        ),
        ("opd", "API, own department", lambda r: "/api/v1/pengaduan/complaints"),
        (
            "opd",
            "API, own dept, forwarded",
            lambda r: "/api/v1/pengaduan/complaints?status=forwarded",
        ),
    ]


def _days_ago(start: int, end: int) -> str:
    today = date.today()
    return f"since={today - timedelta(days=start)}&until={today - timedelta(days=end)}"


def measure(
    app: Flask, regions: list[dict[str, Any]], rounds: int, deep: int
) -> list[tuple[str, ...]]:
    clients: dict[tuple[str, int], Any] = {}
    for region in regions:
        host = region["host"]
        clients["public", region["tenant_id"]] = app.test_client()
        for role in ("admin", "opd"):
            clients[role, region["tenant_id"]] = logged_in(app, host, f"{role}@{host}")
    rng = random.Random(20)
    rows = []
    for who, label, url_for in scenarios(deep):
        timings = []
        for n in range(rounds + 5):
            region = rng.choice(regions)
            client = clients[who, region["tenant_id"]]
            started = time.perf_counter()
            response = client.get(url_for(region), base_url=f"http://{region['host']}")
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (label, response.status_code)
            if n >= 5:  # the first few warm the caches
                timings.append(elapsed)
        p50 = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20)[18]
        rows.append((who, label, f"{p50:.1f}", f"{p95:.1f}"))
        print(f"{who:7} {label:28} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms", flush=True)
    return rows


def explain(loader_url: str, tenant_id: int) -> None:
    """The plans of the list queries as ``services.paginate`` sends them, for the record.

    A page's ids and the count should be index-only scans (``Heap Fetches: 0``).
    """
    queries = [
        "SELECT id FROM pengaduan_complaint WHERE tenant_id = %(t)s AND status <> 'rejected' "
        "ORDER BY submitted_at DESC, id DESC LIMIT 20 OFFSET 980",
        "SELECT count(*) FROM (SELECT id FROM pengaduan_complaint "
        "WHERE tenant_id = %(t)s AND status <> 'rejected') AS page",
        "SELECT count(*) FROM (SELECT id FROM pengaduan_complaint WHERE tenant_id = %(t)s "
        "AND area_id = (SELECT min(id) FROM pengaduan_area WHERE tenant_id = %(t)s)) AS page",
        "SELECT * FROM pengaduan_complaint WHERE id IN (SELECT id FROM pengaduan_complaint "
        "WHERE tenant_id = %(t)s AND status <> 'rejected' "
        "ORDER BY submitted_at DESC, id DESC LIMIT 20 OFFSET 980)",
    ]
    with psycopg.connect(loader_url) as connection, connection.cursor() as cursor:
        for query in queries:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query, {"t": tenant_id})
            print(query)
            print("\n".join("   " + row[0] for row in cursor.fetchall()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=100, help="requests per scenario")
    parser.add_argument("--explain", action="store_true", help="print query plans")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)
    server = os.environ.get("BALAI_BENCH_DATABASE_URL", DEFAULT_SERVER)
    with (
        throwaway_database(server, args.keep) as (app_url, loader_url),
        tempfile.TemporaryDirectory() as instance,
    ):
        app = build_app(app_url, instance)
        with app.app_context():
            schema.upgrade(app)
            started = time.perf_counter()
            regions = make_regions(app)
            print(f"{REGIONS} regions in {time.perf_counter() - started:.1f} s", flush=True)
        seconds = load_complaints(loader_url, regions, args.complaints)
        print(f"{args.complaints:,} complaints loaded in {seconds:.1f} s", flush=True)
        if args.explain:
            explain(loader_url, regions[0]["tenant_id"])
        deep = max(1, min(50, args.complaints // REGIONS // 25))
        measure(app, regions, args.rounds, deep)
        db.engine_for(app).dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
