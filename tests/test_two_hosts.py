"""Two hosts, one database, one Redis: the production layout of docs/operators.md.

Two gunicorn servers ("hosts", two workers each, started with the shipped
``docs/examples/gunicorn.conf.py``) serve one region from one PostgreSQL database,
their rate-limit counters in one Redis database. While threads keep both busy, a
plugin is switched off and on (the admin page, on one host then on the other), the
region's colour changes (the admin page on the first host) and an announcement is
published (the API on the second host). Every answer must be free of server errors, every host
must show each change within ``STATE_TTL`` plus :data:`GRACE` (the registry's state
version, :func:`balai.tenancy.bump_state`) and never anything older after that, and a
publication must be on every host at the very next request.

PostgreSQL only (``BALAI_TEST_DATABASE_URL``): processes sharing one SQLite file are
not a supported layout. Redis from ``BALAI_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/15``); skipped when none answers.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from balai.auth.accounts import create_user
from balai.auth.models import ApiToken, hash_token
from balai.db import db
from balai.tenancy import StateVersion
from balai.testing import PASSWORD
from balai_pengumuman.models import Announcement

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "docs" / "examples" / "gunicorn.conf.py"
REDIS_URL = os.environ.get("BALAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
HOST = "kota-a.test"
ADMIN = "admin@kota-a.test"
STATE_TTL = 1.0
#: How long past ``STATE_TTL`` a worker may still answer from its old snapshot: the
#: version query of a worker that checked just before the change committed. Generous,
#: so a busy machine cannot fail the test; nothing here measures speed.
GRACE = 4.0
#: Answers in a row each host must give after a change before it counts as seen
#: everywhere (the load threads add many more, spread over both workers).
IN_A_ROW = 12
WORKERS = 2  # per host
LOAD_PAGES = ("/", "/pengumuman/", "/api/v1/pengumuman/", "/-/tenant.css", "/-/health")
LOAD_THREADS = 4
LOAD_LIMIT = 150  # requests per load thread at most: a bounded load


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str


def fetch(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> Answer:
    """One request to 127.0.0.1:``port`` for the region's host name, on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers={"Host": HOST, **(headers or {})})
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
    finally:
        connection.close()


@dataclass
class Host:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path  # gunicorn's access log: request id, then the worker's <pid>

    def get(self, path: str, **kwargs: object) -> Answer:
        return fetch(self.port, path, **kwargs)  # type: ignore[arg-type]

    def workers_that_answered(self, request_ids: set[str]) -> set[str]:
        """The worker processes (``<pid>``) whose access-log lines carry these ids."""
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return {
            parts[1] for parts in (line.split(" ", 2) for line in lines) if parts[0] in request_ids
        }


@dataclass
class Browser:
    """A visitor with cookies, on one host: enough to log in and post a form."""

    host: Host
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(form)
        answer = self.host.get(path, method=method, headers=headers, body=body)
        jar = SimpleCookie(answer.headers.get("set-cookie", ""))
        self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        return answer

    def csrf(self, path: str) -> str:
        page = self.request("GET", path)
        assert page.status == 200, (path, page.status)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.body)
        assert found, f"no csrf_token on {path}"
        return found.group(1)


# -- the deployment ------------------------------------------------------------------


@pytest.fixture
def shared_services(balai_database_url: str) -> str:
    """The database URL, when the hosts can share PostgreSQL and Redis; else skip."""
    if not balai_database_url.startswith("postgresql"):
        pytest.skip(
            "two hosts share one PostgreSQL database: set BALAI_TEST_DATABASE_URL "
            "(SQLite is one file on one machine)"
        )
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:
        pytest.skip(f"two hosts share their rate limits in Redis: no Redis at {REDIS_URL} ({exc})")
    return balai_database_url


@pytest.fixture
def region(shared_services, app, tenant, enable_plugin) -> str:
    """A demo-like region: announcements on, 25 of them, an admin with an API token."""
    enable_plugin("pengumuman")
    first = datetime(2020, 1, 6, 2, 0, tzinfo=UTC)
    token = f"balai_hosts_{secrets.token_hex(8)}"
    with db.tenant_session(tenant.id) as session:
        session.add_all(
            Announcement(
                title=f"Pengumuman contoh {n}",
                body="Isi pengumuman.\n\nParagraf kedua.",
                category="umum",
                published_at=first + timedelta(days=n),
            )
            for n in range(25)
        )
        admin = create_user(
            session, tenant_id=tenant.id, email=ADMIN, name="Admin", role="admin", password=PASSWORD
        )
        session.flush()
        session.add(
            ApiToken(
                user_id=admin.id,
                tenant_id=tenant.id,
                name="hosts",
                token_hash=hash_token(token),
                prefix=token[:8],
            )
        )
    return token


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(database_url: str, instance: Path, key_prefix: str) -> dict[str, str]:
    return dict(
        os.environ,
        BALAI_INSTANCE_PATH=str(instance),
        BALAI_DATABASE_URL=database_url,
        BALAI_RATELIMIT_STORAGE_URL=REDIS_URL,
        BALAI_RATELIMIT_KEY_PREFIX=key_prefix,
    )


def _wait_until_up(host: Host, deadline: float) -> None:
    while time.monotonic() < deadline:
        if host.process.poll() is not None:
            raise AssertionError(f"host {host.name} exited with {host.process.returncode}")
        try:
            if host.get("/-/health").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"host {host.name} did not answer its health check in 45 s")


@pytest.fixture
def deployment(shared_services, region, tmp_path) -> Iterator[tuple[list[Host], dict[str, str]]]:
    """Two gunicorn hosts on one database and one Redis; the environment of the hosts."""
    instance = tmp_path / "hosts"
    instance.mkdir()
    (instance / "balai.cfg").write_text(
        'SECRET_KEY = "test-secret-key"\n'
        'TENANCY = "multi"\n'
        f"STATE_TTL = {STATE_TTL}\n"
        'PASSWORD_HASHING = "fast"\n'
    )
    prefix = f"hosts-{secrets.token_hex(6)}"
    env = _environment(shared_services, instance, prefix)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    hosts = []
    try:
        for name in ("a", "b"):
            port = _free_port()
            log = tmp_path / f"access-{name}.log"
            process = subprocess.Popen(  # noqa: S603 - the venv's own gunicorn
                [str(gunicorn), "-c", str(GUNICORN_CONF), "--workers", str(WORKERS),
                 "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                 "--access-logfile", str(log), "balai:create_app()"],
                env=env,
            )  # fmt: skip
            hosts.append(Host(name, port, process, log))
        deadline = time.monotonic() + 45
        for host in hosts:
            _wait_until_up(host, deadline)
        yield hosts, env
    finally:
        for host in hosts:
            host.process.send_signal(signal.SIGQUIT)  # quick: nothing is left to finish
        for host in hosts:
            try:
                host.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                host.process.kill()
                host.process.wait()
        _forget_redis_keys(prefix)


def _forget_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


# -- the load --------------------------------------------------------------------------


class Load:
    """Threads asking both hosts for the region's pages until stopped (or their limit)."""

    def __init__(self, hosts: list[Host]) -> None:
        self.hosts = hosts
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answered: dict[str, int] = {host.name: 0 for host in hosts}
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(LOAD_THREADS)]

    def _run(self, number: int) -> None:
        for n in range(LOAD_LIMIT):
            if self.stop.is_set():
                return
            host = self.hosts[(number + n) % len(self.hosts)]
            path = LOAD_PAGES[n % len(LOAD_PAGES)]
            self.record(host, path)

    def record(self, host: Host, path: str, **kwargs: object) -> Answer | None:
        """Ask ``host`` for ``path``; a 5xx or a failed connection is an error."""
        try:
            answer = host.get(path, **kwargs)
        except OSError as exc:
            with self.lock:
                self.errors.append(f"{host.name} {path}: {exc!r}")
            return None
        with self.lock:
            self.answered[host.name] += 1
            if answer.status >= 500:
                self.errors.append(f"{host.name} {path}: {answer.status}")
        return answer

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


# -- seeing a change everywhere ----------------------------------------------------------


def state_version(app) -> int:
    with db.all_tenants() as session:
        return int(session.scalar(select(StateVersion.version).where(StateVersion.id == 1)))


def seen_everywhere(
    load: Load,
    committed: float,
    path: str,
    fresh: Callable[[Answer], bool],
    headers: dict[str, str] | None = None,
) -> None:
    """Every worker of every host answers ``path`` freshly within ``STATE_TTL + GRACE``
    of ``committed``, and never staler afterwards.

    Each host is asked over and over until the bound has passed, it gave
    :data:`IN_A_ROW` fresh answers in a row, and each of its :data:`WORKERS` workers
    answered at least one request sent after the bound (its access log names the
    worker of each request id). Any answer to a request sent after the bound must be
    fresh.
    """
    bound = committed + STATE_TTL + GRACE
    for host in load.hosts:
        in_a_row, stale_after_bound, after_bound = 0, [], set()
        while True:
            request_id = secrets.token_hex(8)
            sent = time.monotonic()
            answer = load.record(
                host, path, headers={**(headers or {}), "X-Request-ID": request_id}
            )
            assert answer is not None, load.errors[-1]
            if fresh(answer):
                in_a_row += 1
            else:
                in_a_row = 0
                if sent > bound:
                    stale_after_bound.append(f"{answer.status} {answer.body[:80]!r}")
            if sent > bound:
                after_bound.add(request_id)
                settled = in_a_row >= IN_A_ROW
                if settled and len(host.workers_that_answered(after_bound)) >= WORKERS:
                    break
            assert sent <= bound + 30, f"host {host.name} never settled on {path}"
        assert not stale_after_bound, (
            f"host {host.name} still answered {path} from its old state more than "
            f"STATE_TTL + {GRACE} s after the change: {stale_after_bound[:3]}"
        )


def switch_plugin(admin: Browser, name: str, action: str) -> None:
    """Switch ``name`` on (``aktifkan``) or off (``nonaktifkan``) on the admin page."""
    token = admin.csrf("/admin/plugin")
    answer = admin.request("POST", f"/admin/plugin/{name}/{action}", {"csrf_token": token})
    assert answer.status == 302, answer.body[:500]


def primary_colour(answer: Answer) -> str | None:
    found = re.search(r"--primary:(#[0-9a-fA-F]{6})", answer.body)
    return found.group(1).lower() if found else None


# -- the test ------------------------------------------------------------------------------


def test_two_hosts_serve_every_change_without_errors_or_stale_pages(app, deployment, region):
    hosts, env = deployment
    a, b = hosts
    for host in hosts:
        assert host.get("/pengumuman/").status == 200
        assert "Pengumuman contoh 24" in host.get("/pengumuman/").body
    css_before = a.get("/-/tenant.css")
    page_before = b.get("/pengumuman/")
    # The region's admin logs in on host a; the same session cookie works on host b.
    admin_a = Browser(a)
    login = admin_a.request(
        "POST",
        "/masuk",
        {"email": ADMIN, "password": PASSWORD, "next": "", "csrf_token": admin_a.csrf("/masuk")},
    )
    assert login.status == 302, login.body[:500]
    admin_b = Browser(b, admin_a.cookies)

    with Load(hosts) as load:
        # A plugin switched off on host b's admin page, then on again on host a's.
        version = state_version(app)
        switch_plugin(admin_b, "pengumuman", "nonaktifkan")
        committed = time.monotonic()
        assert state_version(app) > version
        seen_everywhere(load, committed, "/pengumuman/", lambda r: r.status == 404)
        seen_everywhere(load, committed, "/api/v1/pengumuman/", lambda r: r.status == 404)

        version = state_version(app)
        switch_plugin(admin_a, "pengumuman", "aktifkan")
        committed = time.monotonic()
        assert state_version(app) > version
        seen_everywhere(load, committed, "/pengumuman/", lambda r: r.status == 200)

        # The region's colour, changed on host a's appearance page.
        admin = admin_a
        new_colour = "#7a1f3d"
        assert primary_colour(css_before) != new_colour
        version = state_version(app)
        saved = admin.request(
            "POST",
            "/admin/tampilan",
            {
                "csrf_token": admin.csrf("/admin/tampilan"),
                "name": "Kota A",
                "theme": "default",
                "timezone": "Asia/Jakarta",
                "primary": new_colour,
            },
        )
        assert saved.status == 302, saved.body[:2000]
        committed = time.monotonic()
        assert state_version(app) > version
        # A browser holding the old stylesheet revalidates it: its ETag must not hide
        # the new colour.
        etag = css_before.headers["etag"]
        seen_everywhere(
            load,
            committed,
            "/-/tenant.css",
            lambda r: r.status == 200 and primary_colour(r) == new_colour,
            headers={"If-None-Match": etag},
        )

        # An announcement published through the API of host b is on every host at
        # the next request, whatever a browser or proxy kept of the page before.
        title = f"Jalan ditutup {secrets.token_hex(4)}"
        published = b.get(
            "/api/v1/pengumuman/",
            method="POST",
            headers={"Authorization": f"Bearer {region}", "Content-Type": "application/json"},
            body=json.dumps({"title": title, "body": "Mulai besok pagi.", "category": "umum"}),
        )
        assert published.status == 201, published.body
        announcement = json.loads(published.body)["id"]
        conditional = {
            k: v
            for k, v in (
                ("If-None-Match", page_before.headers.get("etag")),
                ("If-Modified-Since", page_before.headers.get("last-modified")),
            )
            if v
        }
        for host in hosts:
            for _round in range(4):  # both workers of each host, most likely
                for path in ("/pengumuman/", "/api/v1/pengumuman/", f"/pengumuman/{announcement}"):
                    answer = load.record(host, path, headers=conditional)
                    assert answer is not None, load.errors[-1]
                    assert answer.status == 200, (host.name, path, answer.status)
                    assert title in answer.body, (host.name, path)
                    assert "public" not in answer.headers.get("cache-control", "")

    assert load.errors == []
    assert all(load.answered.values()), load.answered
    # Both hosts counted their rate limits in the one Redis: the failed and the good
    # logins above left their counters there under this deployment's prefix.
    import redis

    prefix = env["BALAI_RATELIMIT_KEY_PREFIX"]
    assert any(redis.Redis.from_url(REDIS_URL).scan_iter(f"{prefix}*"))
