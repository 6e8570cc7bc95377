"""The page cache under load: the load run's pages with the cache off and on, in turns.

    .venv/bin/python bench/page_cache.py [--rounds 3] [--seconds 10] [--redis redis://127.0.0.1:6379/0]

Builds the 500-region database of ``bench/run`` once, then, round after round, serves
it with gunicorn (2 gthread workers x 2 threads, as the load run) in each mode and
sends ``wrk`` to ``/`` and ``/pengumuman/``:

- ``off``: ``PAGE_CACHE = False`` (pages still carry an ETag; wrk sends no validator);
- ``memory``: ``PAGE_CACHE = True`` without Redis (changes of other workers within
  ``PAGE_CACHE_TTL``);
- ``redis``: with ``REDIS_URL`` (each cached answer first reads the region's versions
  with one ``MGET``), rate-limit counters kept in the database as in the other modes;
- ``redis-0.1``: the same with ``PAGE_CACHE_CHECK = 0.1`` (that read at most every 0.1 s).

Prints the median requests per second and p50 per mode and page, and the CPU time
the gunicorn processes spent per request. Not a test: nothing here asserts speed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from core_costs import (  # noqa: E402
    DEFAULT_SERVER,
    HOST,
    REGIONS,
    balai_app,
    populate,
    throwaway_database,
)
from load_run import PAGES, _free_port, _start_gunicorn, _wait_until_up, _warm_up, _wrk  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User and system CPU of ``pid`` and its children (gunicorn's workers), from /proc."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    tick = os.sysconf("SC_CLK_TCK")
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def serve_and_load(url: str, instance: str, env: dict[str, str], seconds: int) -> dict[str, dict]:
    wrk = shutil.which("wrk")
    assert wrk, "wrk is not installed"
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        port = _free_port()
        server = _start_gunicorn(url, instance, port)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        _wait_until_up(port, server)
        found = {}
        for page in PAGES:
            target = f"http://127.0.0.1:{port}{page}"
            _warm_up(target, HOST)
            before = cpu_seconds(server.pid)
            sample = _wrk(wrk, target, HOST, seconds)
            sample["cpu_ms"] = (cpu_seconds(server.pid) - before) * 1000 / sample["requests"]
            found[page] = sample
        return found
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--redis", default=os.environ.get("BALAI_BENCH_REDIS_URL"))
    args = parser.parse_args()
    modes = {
        "off": {"BALAI_PAGE_CACHE": "false"},
        "memory": {"BALAI_PAGE_CACHE": "true"},
    }
    if args.redis:
        modes["redis"] = {
            "BALAI_REDIS_URL": args.redis,
            "BALAI_RATELIMIT_STORAGE_URL": "balai+db://",
            "BALAI_PAGE_CACHE_KEY_PREFIX": f"bench-{secrets.token_hex(4)}:",
        }
        modes["redis-0.1"] = {**modes["redis"], "BALAI_PAGE_CACHE_CHECK": "0.1"}
    server = os.environ.get("BALAI_BENCH_DATABASE_URL", DEFAULT_SERVER)
    print(f"load average at the start: {os.getloadavg()}", flush=True)
    samples: dict[tuple[str, str], list[dict]] = {}
    with ExitStack() as stack:
        instance = stack.enter_context(tempfile.TemporaryDirectory())
        url, _owner = stack.enter_context(throwaway_database(server, keep=False))
        populate(balai_app(url, instance), REGIONS, "balai_bench-" + os.urandom(16).hex())
        for round_ in range(args.rounds):
            for mode, env in modes.items():
                for page, sample in serve_and_load(url, instance, env, args.seconds).items():
                    samples.setdefault((mode, page), []).append(sample)
                    print(f"round {round_ + 1} {mode:9} {page:13} {sample}", flush=True)
    print(f"load average at the end: {os.getloadavg()}")
    print("| page | mode | req/s (median) | p50 ms | CPU ms per request | non-2xx/3xx |")
    print("|---|---|---|---|---|---|")
    for page in PAGES:
        for mode in modes:
            runs = samples[mode, page]
            print(
                f"| `{page}` | {mode} | {statistics.median(r['rps'] for r in runs):,.0f} "
                f"| {statistics.median(r['p50'] for r in runs):.1f} "
                f"| {statistics.median(r['cpu_ms'] for r in runs):.2f} "
                f"| {sum(r['non_2xx'] + r['socket_errors'] for r in runs):.0f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
