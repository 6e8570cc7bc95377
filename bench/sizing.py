"""Sizing a host: requests per second per core and memory per worker.

    .venv/bin/python bench/sizing.py [--workers 1,2] [--seconds 10] [--runs 3]

gunicorn started with the production layout's own file
(``docs/examples/gunicorn.conf.py``: sync workers, each building its own app) and
``--workers N --max-requests 0`` (workers are not replaced during the run), on a
throw-away PostgreSQL database (``BALAI_BENCH_DATABASE_URL``, default the local
server; owned by a role without superuser or BYPASSRLS, so row-level security
applies) holding one region like the demo's: announcements (200) and complaints
switched on. ``wrk -t2 -c8`` asks for each main page of a citizen in
turn, on loopback:

- ``/`` (home), ``/pengumuman/`` (20 announcements, rendered), one announcement
  ``/pengumuman/<id>``, the complaint form ``/pengaduan/lapor``, and the API list
  ``/api/v1/pengumuman/`` (anonymous, a page of 20).

For each page and worker count: requests per second (the median of ``--runs``), p50
and p99, errors (answers other than 2xx/3xx, socket errors), and **requests per CPU
second of the workers** (requests answered over the user + system CPU time the
workers used, from ``/proc``): the throughput one core gives, whatever else the
machine runs. Memory: the resident set (RSS) of each worker after 50 warm-up requests
per page, and after the whole run. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core_costs import DEFAULT_SERVER, HOST, balai_app, describe_machine, populate
from load_run import _free_port, _wait_until_up, parse_wrk
from pengaduan_list import throwaway_database
from sqlalchemy import text

from balai.db import db
from balai.tenancy import enable_plugin, registry

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "docs" / "examples" / "gunicorn.conf.py"
CONNECTIONS = 8
WARM_UP = 50  # requests per page before memory is read and wrk starts


def pages(newest: int) -> dict[str, str]:
    return {
        "home `/`": "/",
        "announcements `/pengumuman/`": "/pengumuman/",
        "one announcement `/pengumuman/<id>`": f"/pengumuman/{newest}",
        "complaint form `/pengaduan/lapor`": "/pengaduan/lapor",
        "API list `/api/v1/pengumuman/`": "/api/v1/pengumuman/",
    }


def start(url: str, instance: str, workers: int, port: int) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        BALAI_DATABASE_URL=url,
        BALAI_INSTANCE_PATH=instance,
        BALAI_SECRET_KEY="bench-secret",  # noqa: S106 - a throw-away server
        BALAI_TENANCY="multi",
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    return subprocess.Popen(  # noqa: S603 - the venv's gunicorn
        [
            str(gunicorn), "-c", str(GUNICORN_CONF),
            "--workers", str(workers),
            "--bind", f"127.0.0.1:{port}",
            "--max-requests", "0",  # the same workers throughout: their CPU time is read
            "--access-logfile", os.devnull,
            "--log-level", "warning",
        ],
        env=env,
    )  # fmt: skip


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def warm_up(port: int, path: str) -> None:
    import urllib.request

    for _n in range(WARM_UP):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": HOST})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            assert response.status == 200, (path, response.status)


def wrk(port: int, path: str, seconds: int) -> dict[str, float]:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    output = subprocess.run(  # noqa: S603 - wrk found on PATH
        [found, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "10s",
         "-H", f"Host: {HOST}", f"http://127.0.0.1:{port}{path}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return parse_wrk(output)


def measure(url: str, instance: str, workers: int, newest: int, seconds: int, runs: int) -> None:
    port = _free_port()
    server = start(url, instance, workers, port)
    try:
        _wait_until_up(port, server)
        for path in pages(newest).values():
            warm_up(port, path)
        pids = worker_pids(server.pid)
        assert len(pids) == workers, pids
        warm = [rss_mib(pid) for pid in pids]
        print(f"\n{workers} worker(s): RSS after warm-up {', '.join(f'{m:.0f}' for m in warm)} MiB")
        print("| page | req/s | req per worker CPU-second | p50 ms | p99 ms | errors |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, path in pages(newest).items():
            samples, per_cpu = [], []
            for _run in range(runs):
                before = cpu_seconds(pids)
                sample = wrk(port, path, seconds)
                used = cpu_seconds(pids) - before
                samples.append(sample)
                per_cpu.append(sample["requests"] / used if used else float("nan"))
            errors = sum(s["non_2xx"] + s["socket_errors"] for s in samples)
            print(
                f"| {name} | {statistics.median(s['rps'] for s in samples):.0f} "
                f"| {statistics.median(per_cpu):.0f} "
                f"| {statistics.median(s['p50'] for s in samples):.1f} "
                f"| {statistics.median(s['p99'] for s in samples):.1f} | {errors:.0f} |",
                flush=True,
            )
        after = [rss_mib(pid) for pid in pids]
        print(f"RSS after the run: {', '.join(f'{m:.0f}' for m in after)} MiB")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk run")
    parser.add_argument("--runs", type=int, default=3, help="wrk runs per page (median)")
    args = parser.parse_args(argv)
    server = os.environ.get("BALAI_BENCH_DATABASE_URL", DEFAULT_SERVER)
    describe_machine(server)
    with tempfile.TemporaryDirectory() as instance, throwaway_database(server, False) as urls:
        url = urls[0]
        app = balai_app(url, instance)
        region = populate(app, 1, "balai_bench-" + os.urandom(16).hex())
        with app.app_context():
            enable_plugin(app, registry(app).by_id(region.tenant_id), "pengaduan", by="bench")
            with db.engine_for(app).connect() as connection:
                connection.execute(text("ANALYZE"))
                connection.commit()
        db.engine_for(app).dispose()
        for workers in (int(n) for n in args.workers.split(",")):
            measure(url, instance, workers, region.newest, args.seconds, args.runs)
            time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
