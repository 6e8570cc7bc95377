"""Queue numbers under concurrency on PostgreSQL: throughput, and never a duplicate or gap.

Many processes take numbers at the same moment from one clinic (the worst case: every
taker waits for the same counter row) and, in a second scenario, spread over several
clinics. Two paths:

- ``service``: ``balai_puskesmas.queue.take_number`` in a tenant-bound session, one
  transaction per number (the rules, the counter row, the ticket, row-level security);
- ``api``: ``POST /api/v1/puskesmas/tickets`` through the whole app (Flask's test
  client: routing, tenancy, validation, JSON), as a phone or a kiosk would.

Afterwards the numbers of each clinic are checked: they must be exactly 1..N.
Target: at least 500 numbers per second with 0 duplicates.

    BALAI_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/puskesmas_queue.py [--workers 8] [--numbers 4000] [--rounds 3]

``--profile N`` instead takes N numbers through the API in this one process, one after
the other: the CPU time and the statements per number, and where the time goes
(cProfile on CPU time, the top functions by cumulative time). Less noisy than the throughput on a
shared machine: it counts this process's CPU only.

A throw-away database (owned by a role without superuser or BYPASSRLS, so row-level
security applies) is created on that server and dropped afterwards. Never a timed
test: CI does not run it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from typing import Any

from pengaduan_list import DEFAULT_SERVER, build_app, throwaway_database
from sqlalchemy import delete, func, select

from balai.calendar import local_date
from balai.db import db, utcnow
from balai.tenancy import create_tenant, enable_plugin
from balai_puskesmas import queue
from balai_puskesmas.models import Clinic, Facility, Ticket
from balai_puskesmas.runtime import vault_for

ZONE = "Asia/Jakarta"
HOST = "antrean.test"


def prepare(url: str, instance: str, clinics: int) -> tuple[int, list[int]]:
    """A region with the plugin on and one puskesmas open every day with ``clinics``."""
    from balai import schema

    app = build_app(url, instance)
    with app.app_context():
        schema.upgrade(app)
        tenant = create_tenant(app, "antrean", "Kabupaten Antrean", [HOST])
        enable_plugin(app, tenant, "puskesmas", by="bench")
        with db.tenant_session(tenant.id) as session:
            facility = Facility(
                code="BENCH",
                name="Puskesmas Bench",
                hours={str(d): ["00:00", "23:59"] for d in range(1, 8)},
            )
            session.add(facility)
            session.flush()
            rows = [
                Clinic(facility_id=facility.id, code=f"P{n}", name=f"Poli {n}", position=n)
                for n in range(clinics)
            ]
            session.add_all(rows)
            session.flush()
            clinic_ids = [c.id for c in rows]
        db.engine_for(app).dispose()
    return tenant.id, clinic_ids


def queue_app(url: str, instance: str) -> Any:
    """The app of a taker: every request comes from one address here, so the limit of
    numbers per address (``ticket_limit_address``, 10 an hour by default) is off."""
    app = build_app(url, instance)
    app.config["PLUGIN_SETTINGS"] = {"puskesmas": {"ticket_limit_address": ""}}
    return app


def worker(
    args: tuple[str, str, int, list[int], int, int, str, Any, Any],
) -> None:
    url, instance, tenant_id, clinic_ids, offset, count, mode, start, results = args
    app = queue_app(url, instance)
    client = app.test_client()
    with app.app_context():
        vault = vault_for(app.config, tenant_id)
    today = local_date(utcnow(), ZONE)
    latencies = []
    errors = 0
    start.wait()
    for n in range(count):
        clinic_id = clinic_ids[(offset + n) % len(clinic_ids)]
        began = time.perf_counter()
        if mode == "service":
            try:
                with app.app_context(), db.tenant_session(tenant_id) as session:
                    queue.take_number(
                        session,
                        vault,
                        clinic_id,
                        today,
                        utcnow(),
                        channel="kiosk",
                        days_ahead=0,
                        closed_on_holidays=False,  # measured on any day of the year
                        timezone=ZONE,
                    )
            except Exception as exc:  # counted and shown, never hidden
                errors += 1
                print(f"  error: {type(exc).__name__}: {exc}", file=sys.stderr)
        else:
            response = client.post(
                "/api/v1/puskesmas/tickets",
                json={"clinic_id": clinic_id},
                base_url=f"http://{HOST}",
            )
            if response.status_code != 201:
                errors += 1
                problem = f"HTTP {response.status_code} {response.text[:200]}"
                print(f"  error: {problem}", file=sys.stderr)
        latencies.append(time.perf_counter() - began)
    db.engine_for(app).dispose()
    results.put((latencies, errors))


def run(
    url: str,
    instance: str,
    tenant_id: int,
    clinic_ids: list[int],
    mode: str,
    workers: int,
    numbers: int,
) -> dict[str, Any]:
    """Take ``numbers`` numbers with ``workers`` processes; check every clinic's numbers."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    per_worker = [numbers // workers + (1 if w < numbers % workers else 0) for w in range(workers)]
    processes = [
        context.Process(
            target=worker,
            args=((url, instance, tenant_id, clinic_ids, w, n, mode, start, results),),
        )
        for w, n in enumerate(per_worker)
    ]
    for process in processes:
        process.start()
    time.sleep(3 + workers * 0.4)  # let every worker import and build its app
    began = time.perf_counter()
    start.set()
    latencies: list[float] = []
    errors = 0
    for _ in processes:
        got, failed = results.get()
        latencies += got
        errors += failed
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join()
    return {
        "mode": mode,
        "clinics": len(clinic_ids),
        "workers": workers,
        "numbers": numbers,
        "errors": errors,
        "seconds": elapsed,
        "per_second": (numbers - errors) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": statistics.quantiles(latencies, n=20)[-1] * 1000,
        **check(url, instance, tenant_id),
    }


def check(url: str, instance: str, tenant_id: int) -> dict[str, int]:
    """Duplicates and gaps over every clinic and day: both must be 0."""
    app = build_app(url, instance)
    duplicates = gaps = total = 0
    with app.app_context(), db.tenant_session(tenant_id) as session:
        rows = session.execute(
            select(
                Ticket.clinic_id,
                Ticket.day,
                func.count(),
                func.count(func.distinct(Ticket.number)),
                func.max(Ticket.number),
            ).group_by(Ticket.clinic_id, Ticket.day)
        ).all()
        for _clinic, _day, count, distinct, highest in rows:
            total += count
            duplicates += count - distinct
            gaps += highest - distinct
    db.engine_for(app).dispose()
    return {"tickets": total, "duplicates": duplicates, "gaps": gaps}


def reset(url: str, instance: str, tenant_id: int) -> None:
    """Empty the queue between rounds, so each round starts at number 1."""
    from balai_puskesmas.models import QueueCounter

    app = build_app(url, instance)
    with app.app_context(), db.tenant_session(tenant_id) as session:
        session.execute(delete(Ticket))
        session.execute(delete(QueueCounter))
    db.engine_for(app).dispose()


def profile(url: str, instance: str, tenant_id: int, clinic_ids: list[int], numbers: int) -> None:
    """Take ``numbers`` numbers through the API in this process: CPU and statements each."""
    import cProfile
    import pstats

    from sqlalchemy import event

    app = queue_app(url, instance)
    client = app.test_client()
    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    with app.app_context():
        event.listen(db.engine_for(app), "before_cursor_execute", count)

    def take(n: int) -> None:
        response = client.post(
            "/api/v1/puskesmas/tickets",
            json={"clinic_id": clinic_ids[n % len(clinic_ids)]},
            base_url=f"http://{HOST}",
        )
        if response.status_code != 201:
            raise SystemExit(f"HTTP {response.status_code} {response.text[:200]}")

    for n in range(50):  # warm up: imports, caches, the statements' compiled forms
        take(n)
    reset(url, instance, tenant_id)
    statements[0] = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(numbers):
        take(n)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"{numbers} numbers through the API, one process: CPU {cpu / numbers * 1000:.2f} ms"
        f" and wall {wall / numbers * 1000:.2f} ms a number,"
        f" {statements[0] / numbers:.1f} statements a number"
    )
    print(check(url, instance, tenant_id))
    reset(url, instance, tenant_id)
    profiler = cProfile.Profile(time.process_time)  # CPU: not the waits for the server
    profiler.enable()
    for n in range(numbers):
        take(n)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    db.engine_for(app).dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8, help="processes taking numbers")
    parser.add_argument("--numbers", type=int, default=4000, help="numbers per scenario")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each scenario")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--profile", type=int, metavar="N", help="profile N numbers through the API instead"
    )
    options = parser.parse_args()
    server = os.environ.get("BALAI_BENCH_DATABASE_URL", DEFAULT_SERVER)
    print(f"server {server}; {options.workers} processes; {os.cpu_count()} CPUs; {date.today()}")
    with (
        throwaway_database(server, options.keep) as (url, _loader),
        tempfile.TemporaryDirectory(prefix="balai-bench-") as instance,
    ):
        tenant_id, clinic_ids = prepare(url, instance, clinics=4)
        if options.profile:
            profile(url, instance, tenant_id, clinic_ids, options.profile)
            return
        scenarios = [
            ("service", clinic_ids[:1]),
            ("service", clinic_ids),
            ("api", clinic_ids[:1]),
            ("api", clinic_ids),
        ]
        header = "mode     clinics  numbers/s  p50 ms  p95 ms  errors  duplicates  gaps"
        print(header)
        for mode, clinics in scenarios:
            rates = []
            for _ in range(options.rounds):
                reset(url, instance, tenant_id)
                result = run(
                    url, instance, tenant_id, clinics, mode, options.workers, options.numbers
                )
                rates.append(result["per_second"])
                print(
                    f"{mode:<8} {len(clinics):>7}  {result['per_second']:>9.0f}"
                    f"  {result['p50_ms']:>6.1f}  {result['p95_ms']:>6.1f}"
                    f"  {result['errors']:>6}  {result['duplicates']:>10}  {result['gaps']:>4}"
                    f"  ({result['tickets']} tickets in {result['seconds']:.1f} s)",
                    flush=True,
                )
            print(f"  median of {options.rounds}: {statistics.median(rates):.0f} numbers/s")


if __name__ == "__main__":
    main()
