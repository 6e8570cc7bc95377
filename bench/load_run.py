"""Citizen pages under load: gunicorn serving Balai, ``wrk`` sending requests on loopback.

:func:`load_run` starts gunicorn (``WORKERS`` gthread workers) on a free port of
127.0.0.1 with the database given, waits for its health check, then runs ``wrk``
against each page in turn and stops the server, also when interrupted.

The server runs as the production layout of docs/operators.md does: with Redis
(``BALAI_BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/15``) when one answers,
so the public pages come from the page cache and the rate limits count in Redis;
without it, and saying so, when none answers.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

WORKERS = 2
THREADS = 2
CONNECTIONS = 16
PAGES = ("/", "/pengumuman/")
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def load_run(
    url: str,
    instance: str,
    host: str,
    seconds: int,
    runs: int,
    pages: tuple[str, ...] = PAGES,
) -> dict[str, dict[str, float]] | None:
    """Median requests per second, p50 and p99 (ms) per page; summed requests and errors.

    A request counts as an error when it is answered with neither 2xx nor 3xx, or
    not answered within 10 s (a socket error).

    ``None`` when ``wrk`` is not installed.
    """
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed (apt-get install wrk): the load run is skipped", flush=True)
        return None
    port = _free_port()
    redis_url = reachable_redis()
    if redis_url is None:
        print("no Redis answers: the load run serves without it (page cache off)", flush=True)
    server = _start_gunicorn(url, instance, port, redis_url)
    try:
        _wait_until_up(port, server)
        results = {}
        for page in pages:
            target = f"http://127.0.0.1:{port}{page}"
            _warm_up(target, host)
            samples = [_wrk(wrk, target, host, seconds) for _run in range(runs)]
            results[page] = {
                "rps": statistics.median(s["rps"] for s in samples),
                "p50": statistics.median(s["p50"] for s in samples),
                "p99": statistics.median(s["p99"] for s in samples),
                "requests": sum(s["requests"] for s in samples),
                "non_2xx": sum(s["non_2xx"] for s in samples),
                "socket_errors": sum(s["socket_errors"] for s in samples),
            }
            print(f"{page}: {results[page]}", flush=True)
        return results
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def reachable_redis() -> str | None:
    """``BALAI_BENCH_REDIS_URL`` (or the default) when a Redis answers there, else ``None``."""
    url = os.environ.get("BALAI_BENCH_REDIS_URL", DEFAULT_REDIS)
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # not installed, not running, refused: run without it
        return None
    return url


def _start_gunicorn(
    url: str, instance: str, port: int, redis_url: str | None = None
) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        BALAI_DATABASE_URL=url,
        BALAI_INSTANCE_PATH=instance,
        BALAI_SECRET_KEY="bench-secret",  # noqa: S106 - a throw-away server
        BALAI_TENANCY="multi",
    )
    if redis_url is not None:
        env["BALAI_REDIS_URL"] = redis_url
        # A prefix of its own: versions left by an earlier run never match this one's.
        env["BALAI_PAGE_CACHE_KEY_PREFIX"] = f"balai-bench-{os.urandom(4).hex()}:"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    return subprocess.Popen(  # noqa: S603 - the venv's gunicorn
        [
            str(gunicorn),
            "--workers", str(WORKERS),
            "--worker-class", "gthread",
            "--threads", str(THREADS),
            "--bind", f"127.0.0.1:{port}",
            "--log-level", "warning",
            "balai.app:create_app()",
        ],
        env=env,
    )  # fmt: skip


def _wait_until_up(port: int, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer its health check in time")


def _warm_up(target: str, host: str, requests: int = 20) -> None:
    """A few requests first, so every worker has its tenants, templates and connections."""
    for _n in range(requests):
        request = urllib.request.Request(target, headers={"Host": host})  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200, (target, response.status)


def _wrk(wrk: str, target: str, host: str, seconds: int) -> dict[str, float]:
    output = subprocess.run(  # noqa: S603 - wrk found on PATH
        [
            wrk,
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "10s",
            "-H",
            f"Host: {host}",
            target,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> dict[str, float]:
    """Requests per second, p50 and p99 in ms, requests, non-2xx/3xx answers, socket errors."""

    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        assert found, f"no {percent}% latency in wrk's output:\n{output}"
        return float(found.group(1)) * UNITS[found.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests = re.search(r"(\d+) requests in", output)
    assert rps and requests, output
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": float(rps.group(1)),
        "p50": latency("50"),
        "p99": latency("99"),
        "requests": float(requests.group(1)),
        "non_2xx": float(non_2xx.group(1)) if non_2xx else 0.0,
        "socket_errors": float(sum(int(n) for n in sockets.groups())) if sockets else 0.0,
    }
