"""What the request id and the metrics add to every request, in CPU microseconds.

Two ways, in one process on a throw-away SQLite instance:

- *hooks*: the four per-request functions of ``balai.logs`` and ``balai.metrics``
  (before: request id, start time; after: header, count and duration) called on a
  pushed request context, 20,000 times, against the same loop without them;
- *requests*: ``GET /-/health/live`` through the whole app (Flask's test client), the
  app with those hooks against the same app with them taken out, taking turns 500
  requests at a time (each first in every other turn).

    .venv/bin/python bench/observability_cost.py          # --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any

from flask import Flask
from werkzeug.wrappers import Response

from balai import logs
from balai.metrics import EXTENSION
from balai.testing import make_test_app

HOOK_CALLS = 20_000
TURN = 500


def build(instance: str) -> Flask:
    return make_test_app(
        {"DATABASE_URL": f"sqlite:///{instance}/bench.sqlite", "INSTANCE_PATH": instance}
    )


def strip(app: Flask) -> None:
    """Take the request id and metrics hooks out of ``app``."""
    metrics = app.extensions[EXTENSION]
    ours = {logs._start, logs._answer, logs._end, metrics.start, metrics.record}
    for table in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        for key, functions in table.items():
            table[key] = [f for f in functions if f not in ours]


def hooks_cpu(app: Flask) -> float:
    """CPU µs per request of the hooks alone (loop overhead subtracted)."""
    metrics = app.extensions[EXTENSION]
    response = Response("ok")
    with app.test_request_context("/-/health/live", headers={"X-Request-ID": "bench-1"}):
        started = time.process_time()
        for _ in range(HOOK_CALLS):
            logs._start()
            metrics.start()
            logs._answer(response)
            metrics.record(response)
            logs._end(None)
        with_hooks = time.process_time() - started
        started = time.process_time()
        for _ in range(HOOK_CALLS):
            pass
        empty = time.process_time() - started
    return (with_hooks - empty) / HOOK_CALLS * 1e6


def requests_cpu(apps: dict[str, Any], rounds: int) -> dict[str, float]:
    """CPU µs per ``GET /-/health/live`` of each app, median over rounds of turns."""
    clients = {name: app.test_client() for name, app in apps.items()}
    for client in clients.values():
        for _ in range(50):
            client.get("/-/health/live")
    times: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        for turn in range(4):  # each app first in every other turn: no order advantage
            order = list(clients.items())
            for name, client in order if turn % 2 == 0 else reversed(order):
                started = time.process_time()
                for _ in range(TURN):
                    client.get("/-/health/live")
                times[name].append((time.process_time() - started) / TURN * 1e6)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        observed, bare = build(one), build(two)
        strip(bare)
        hooks = statistics.median(hooks_cpu(observed) for _ in range(args.rounds))
        per_request = requests_cpu({"without": bare, "with": observed}, args.rounds)
    print(f"hooks alone: {hooks:.1f} µs CPU per request")
    print(
        f"GET /-/health/live: {per_request['with']:.0f} µs with, "
        f"{per_request['without']:.0f} µs without "
        f"({per_request['with'] - per_request['without']:+.0f} µs)"
    )


if __name__ == "__main__":
    main()
