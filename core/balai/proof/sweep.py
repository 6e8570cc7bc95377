"""The cross-tenant sweep: no request of region A reaches region B's data.

Public: the core's proof harness (``tests/proof/test_sweep.py``) sweeps every
installed plugin with it, and :func:`balai.testing.check_plugin` and ``balai plugins
check`` sweep one plugin (``only=``) on two scratch regions.

Region B gets every plugin's demo data; region A gets every plugin too, but only a
visitor, a citizen (``warga``), an officer (``opd``) and a region admin. Then every
route of the core and of every installed plugin, read from ``app.url_map``, is
called with B's object keys, with each method the route accepts:

- integer arguments get ids of B's rows, of the table the argument names
  (``complaint_id`` → ``*_complaint``) or, when no table of B with rows matches,
  one id of every table of B that has rows;
- string arguments get B's values of the column they name (``code`` →
  ``code``, ``tracking_code``) or, failing that, values of every key-like column
  (a name that is or ends with one of :data:`KEY_WORDS`); ``any(...)`` arguments
  get each of their choices;
- routes without arguments are read (``GET``) bare and with B's keys in the query
  string (``?q=…&kode=…``), as lists, feeds, exports and search would be.

A **leak** is any of these:

1. On A's host (as each of A's roles), a response whose body shows a *marker*
   of B: a value of B's rows that is distinctive (unique in a column of mostly
   distinct values, 8 to 60 plain characters, not found in A's rows, and not
   sent in the request itself, which a page may echo).
2. On A's host, a response other than a refusal (400, 401, 403, 404, 405, 409,
   422, or a redirect to the login page) to a URL whose ids all belong to B
   only: no row of A has any of them, so the route found B's row.
3. On B's host with A's credentials (A's session cookie, or A's API token on
   the API), a request that is authenticated at all, or a response other than a
   refusal from a route that requires a login or permission. Routes that are
   public by design (a ticket page by its secret code) answer there as they
   answer any visitor of B, which is no leak; they are only read, never written.
4. With spoofed host headers: ``X-Forwarded-Host`` / ``Forwarded`` naming B on
   A's host is judged as A's host (rules 1 and 2); a host that belongs to no
   region must answer every tenant's route with a refusal and show no marker.
5. Any change to B's rows: row counts and a checksum of every row of every
   tenant table are the same after the sweep.

On A's host every route gets every set of keys; on B's host and on spoofed hosts,
where the credentials or the host are what is tried, each route and method gets
one set. Keys are capped per table, column, argument and route (the constants
below) so that the sweep stays well under a minute or so per database.

Server errors (5xx) are counted apart and must be zero too. The core's proof
harness also removes the tenant filter (:func:`row_security_not_forced` on
PostgreSQL) and shows the sweep then finds leaks.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, request_finished
from flask.signals import got_request_exception
from flask_login import current_user
from sqlalchemy import String, select, text
from werkzeug.routing import AnyConverter, Rule

from balai.auth.accounts import create_user
from balai.auth.models import Department
from balai.db import Base, TenantOptional, TenantScoped, db
from balai.i18n import N_
from balai.permissions import access_of
from balai.plugins import plugins
from balai.schema import tenant_tables
from balai.tenancy import TenantInfo
from balai.tenancy.registry import TENANTLESS_ENDPOINTS

# The other names here serve the core's own proof tests (tests/proof); the public ones are
# those docs/plugin-authors.md lists.
__all__ = ["Regions", "SweepResult", "run_sweep", "sign_in"]

PART = "cross-tenant sweep"
REFUSED = frozenset({400, 401, 403, 404, 405, 409, 422})
#: Routes declared public that answer only to their own credentials (the metrics
#: token, a platform operator's login) and refuse everyone else: judged as guarded.
GUARDED_INSIDE = frozenset({"balai_metrics.scrape"})
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ROLES = ("warga", "opd", "admin")
KEY_WORDS = ("code", "slug", "token", "filename", "key", "name")
ALIASES = {"kode": "code", "nama": "name", "berkas": "filename"}  # Indonesian key words
QUERY_NAMES = ("q", "kode", "code", "token", "service_request_id", "service_code", "nik")
IDS_PER_TABLE = 3
STRINGS_PER_COLUMN = 2
STRINGS_PER_ARGUMENT = 8
COMBINATIONS_PER_RULE = 12
QUERY_PROBES = 2
MARKERS_PER_COLUMN = 20
MARKER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .,:/@_-]{6,58}[A-Za-z0-9]")
UNKNOWN_HOST = "unknown.test"


# -- region B's rows: keys to aim at, markers to look for, a fingerprint -----------------


@dataclass
class Rows:
    """One region's rows of every tenant table, keyed by table name."""

    tables: dict[str, list[dict[str, Any]]]
    string_columns: dict[str, list[str]]

    def ids(self) -> set[int]:
        return {row["id"] for rows in self.tables.values() for row in rows if "id" in row}

    def strings(self) -> set[str]:
        return {
            row[column]
            for table, columns in self.string_columns.items()
            for column in columns
            for row in self.tables[table]
            if row[column]
        }

    def fingerprint(self) -> dict[str, tuple[int, str]]:
        """Per table: the number of rows and a checksum of all of them."""
        return {
            name: (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
            for name, rows in self.tables.items()
        }


def _tenant_models() -> list[type]:
    return [
        m.class_
        for m in Base.registry.mappers
        if issubclass(m.class_, TenantScoped | TenantOptional)
    ]


def rows_of(tenant_id: int) -> Rows:
    tables: dict[str, list[dict[str, Any]]] = {}
    string_columns: dict[str, list[str]] = {}
    with db.all_tenants() as session:
        for model in _tenant_models():
            table = model.__table__
            query = select(table).where(table.c.tenant_id == tenant_id)
            query = query.order_by(*table.primary_key.columns)
            tables[table.name] = [dict(row) for row in session.execute(query).mappings()]
            string_columns[table.name] = [
                c.name for c in table.columns if isinstance(c.type, String)
            ]
    return Rows(tables, string_columns)


def _spread(values: list[Any], count: int) -> list[Any]:
    """Up to ``count`` of ``values``, first and last included, evenly apart."""
    if len(values) <= count:
        return list(values)
    step = (len(values) - 1) / (count - 1)
    return list(dict.fromkeys(values[round(i * step)] for i in range(count)))


def _is_key_column(column: str) -> bool:
    return any(column == word or column.endswith(f"_{word}") for word in KEY_WORDS)


@dataclass
class Keys:
    """Region B's keys for route arguments, and the markers its data shows."""

    ids: dict[str, list[int]]
    strings: dict[str, list[str]]  # "table.column" -> values
    markers: list[bytes]
    empty_tables: list[str]

    @classmethod
    def of(cls, b: Rows, a: Rows) -> Keys:
        ids = {
            name: _spread([row["id"] for row in rows], IDS_PER_TABLE)
            for name, rows in b.tables.items()
            if rows and "id" in rows[0]
        }
        strings: dict[str, list[str]] = {}
        markers: list[bytes] = []
        a_text = "\n".join(a.strings())
        for table, columns in b.string_columns.items():
            for column in columns:
                values = [row[column] for row in b.tables[table] if row[column]]
                if _is_key_column(column) and values:
                    strings[f"{table}.{column}"] = list(dict.fromkeys(values))
                markers += [m.encode() for m in _markers(values, a_text)]
        # The most specific keys (most distinct values: tracking codes) come first.
        by_kind = sorted(strings.items(), key=lambda item: -len(item[1]))
        strings = {key: _spread(values, STRINGS_PER_COLUMN) for key, values in by_kind}
        empty = sorted(name for name, rows in b.tables.items() if not rows)
        return cls(ids, strings, markers, empty)

    def for_int(self, argument: str) -> list[int]:
        noun = argument.removesuffix("_id")
        named = [
            i
            for table, ids in self.ids.items()
            if table == noun or table.endswith(f"_{noun}")
            for i in ids
        ]
        return named or sorted({ids[0] for ids in self.ids.values()})

    def for_string(self, argument: str) -> list[str]:
        argument = ALIASES.get(argument, argument)

        def names(key: str) -> bool:
            column = key.split(".")[1]
            return (
                column == argument
                or argument.endswith(f"_{column}")
                or column.endswith(f"_{argument}")
            )

        named = [v for key, values in self.strings.items() if names(key) for v in values]
        fallback = [values[0] for values in self.strings.values()]
        return list(dict.fromkeys(named or fallback))[:STRINGS_PER_ARGUMENT]

    def query(self, probe: int) -> dict[str, str]:
        """For each of :data:`QUERY_NAMES`, one of B's values that name would take."""
        picked = {}
        for name in QUERY_NAMES:
            values = self.for_string(name)
            if values:  # none when B has no key-like text at all
                picked[name] = values[probe % len(values)]
        return picked


def _markers(values: list[str], a_text: str) -> list[str]:
    """Values that show B's data wherever they appear (see the module docstring)."""
    if len(values) < 2 or len(set(values)) < len(values) / 2:
        return []  # a catalogue or a status, not one row's own data
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    unique = [v for v, n in counts.items() if n == 1 and MARKER_RE.fullmatch(v) and v not in a_text]
    return _spread(unique, MARKERS_PER_COLUMN)


# -- the requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One request of the sweep, before credentials and host are chosen."""

    method: str
    url: str
    rule: Rule
    guarded: bool  # requires a login or permission (not public)
    ids: tuple[int, ...] = ()
    sent: tuple[str, ...] = ()  # B's strings in the URL: a page may echo them
    first: bool = False  # the first set of keys its route and method get


def _argument_values(rule: Rule, keys: Keys) -> dict[str, list[Any]]:
    values: dict[str, list[Any]] = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)
        elif converter.regex == r"\d+":
            values[name] = keys.for_int(name)
        else:
            values[name] = keys.for_string(name)
    return values


def _swept_for(rule: Rule, owner: str | None, only: str) -> bool:
    """Whether a sweep of plugin ``only`` calls ``rule`` (owned by plugin ``owner``)."""
    return owner == only or (owner is None and not rule.arguments)


def targets(app: Flask, keys: Keys, only: str | None = None) -> Iterator[Target]:
    """Every route with B's keys: each method for object routes, reads for the rest.

    With ``only`` (a plugin name): that plugin's routes, and the core's pages without
    arguments (search, dashboard, map layers: where its hooks show its data).
    """
    owner = plugins(app).owner_of
    for rule in app.url_map.iter_rules():
        if only is not None and not _swept_for(rule, owner(rule.endpoint.rpartition(".")[0]), only):
            continue
        access = access_of(app.view_functions[rule.endpoint])
        guarded = access is None or access[0] == "require" or rule.endpoint in GUARDED_INSIDE
        if not rule.arguments:
            if "GET" in rule.methods:  # type: ignore[operator]
                yield Target("GET", rule.rule, rule, guarded, first=True)
                for probe in range(QUERY_PROBES):
                    query = keys.query(probe)
                    if not query:
                        break
                    url = f"{rule.rule}?{urlencode(query)}"
                    yield Target("GET", url, rule, guarded, sent=tuple(query.values()))
            continue
        values = _argument_values(rule, keys)
        names = list(values)
        combos = itertools.islice(itertools.product(*values.values()), COMBINATIONS_PER_RULE)
        for number, combo in enumerate(combos):
            arguments = dict(zip(names, combo, strict=True))
            built = rule.build(arguments, append_unknown=False)
            if built is None:
                continue
            ids = tuple(v for v in combo if isinstance(v, int))
            sent = tuple(v for v in combo if isinstance(v, str))
            for method in METHODS:
                if method in rule.methods:  # type: ignore[operator]
                    yield Target(method, built[1], rule, guarded, ids, sent, number == 0)


# -- sending and judging -----------------------------------------------------------------


@dataclass
class Tally:
    tried: int = 0
    leaks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Answers for ids that were no row of A when sent; judged once the sweep is over.
    suspects: list[tuple[tuple[int, ...], str]] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.tried += other.tried
        self.leaks += other.leaks
        self.errors += other.errors
        self.suspects += other.suspects

    def judge_suspects(self, a_ids: set[int]) -> None:
        """Ids A's own requests gave to new rows of A were A's after all."""
        self.leaks += [where for ids, where in self.suspects if not set(ids) & a_ids]
        self.suspects = []


class Observer:
    """Who each request was authenticated as, and the exception behind a 500."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.user: Any = None
        self.exception: BaseException | None = None

    def finished(self, sender: Flask, **extra: Any) -> None:
        self.user = current_user.id if current_user.is_authenticated else None

    def failed(self, sender: Flask, exception: BaseException, **extra: Any) -> None:
        self.exception = exception

    @contextmanager
    def watching(self) -> Iterator[Observer]:
        with (
            request_finished.connected_to(self.finished, self.app),
            got_request_exception.connected_to(self.failed, self.app),
        ):
            yield self


def _to_login(response: Any) -> bool:
    return response.status_code in (302, 303) and "/masuk" in response.headers.get("Location", "")


def _refused(response: Any) -> bool:
    return response.status_code in REFUSED or _to_login(response)


@dataclass
class Sweep:
    app: Flask
    keys: Keys
    observer: Observer
    a_ids: set[int]

    def send(self, client: Any, target: Target, host: str, headers: dict[str, str]) -> Any:
        self.observer.user = self.observer.exception = None
        options: dict[str, Any] = {"base_url": f"http://{host}", "headers": headers}
        if target.method != "GET":
            if target.url.startswith("/api/"):
                options["json"] = {}
            else:
                options["data"] = {}
        response = client.open(target.url, method=target.method, **options)
        response.get_data()
        response.close()  # a file sent from disk is closed only here
        return response

    def markers_in(self, response: Any, target: Target) -> list[str]:
        body = response.get_data()
        sent = {s.encode() for s in target.sent}
        return [m.decode() for m in self.keys.markers if m in body and m not in sent]

    def run(
        self,
        client: Any,
        targets: list[Target],
        *,
        host: str,
        headers: dict[str, str] | None = None,
        own_host: bool,
        label: str,
    ) -> Tally:
        """Send every target; judge it as on A's host (``own_host``) or on another host."""
        tally = Tally()
        for target in targets:
            response = self.send(client, target, host, headers or {})
            tally.tried += 1
            where = f"{label}: {target.method} {target.url} -> {response.status_code}"
            if response.status_code >= 500:
                tally.errors.append(f"{where} ({self.observer.exception!r})")
            elif own_host:
                self._judge_on_own_host(response, target, where, tally)
            elif self.observer.user is not None:
                tally.leaks.append(f"{where}: authenticated as user {self.observer.user}")
            elif target.guarded and not _refused(response):
                tally.leaks.append(f"{where}: a guarded route answered")
        return tally

    def _judge_on_own_host(self, response: Any, target: Target, where: str, tally: Tally) -> None:
        if _refused(response):
            return
        shown = self.markers_in(response, target)
        if shown:
            tally.leaks.append(f"{where}: shows B's {shown[:3]}")
        elif target.ids and not set(target.ids) & self.a_ids:
            tally.suspects.append((target.ids, f"{where}: answers for B's ids"))


# -- the two regions ---------------------------------------------------------------------


@dataclass
class Regions:
    a: TenantInfo
    b: TenantInfo
    clients: dict[str | None, Any]  # A's role (None: visitor) -> a client on A's host
    cookies: dict[str, str]  # A's role -> its session cookie
    tokens: dict[str, str]  # A's role -> its personal API token


def _log_in(app: Flask, tenant: TenantInfo, role: str, password: str) -> Any:
    client = app.test_client()
    client.host = tenant.domains[0]
    response = client.post("/masuk", data={"email": f"{role}@a.example", "password": password})
    assert response.status_code == 302, f"{role} could not log in"
    return client


def _api_token(client: Any) -> str:
    page = client.post("/akun/token", data={"name": "sapu"}).text
    found = re.search(r"balai_[A-Za-z0-9_-]{20,}", page)
    assert found, "no API token on the token page"
    return found.group(0)


def sign_in(app: Flask, a: TenantInfo, b: TenantInfo, password: str) -> Regions:
    """Give region ``a`` a department and a citizen, an officer and an admin (each
    logged in, with a session cookie and an API token), and a visitor."""
    with db.tenant_session(a.id) as session:
        session.add(Department(code="SAPU", name="Dinas Uji Sapu"))
    with db.all_tenants() as session:
        for role in ROLES:
            create_user(
                session,
                tenant_id=a.id,
                email=f"{role}@a.example",
                name=f"Pengguna {role}",
                role=role,
                password=password,
                department="SAPU" if role == "opd" else None,
            )
    visitor = app.test_client()
    visitor.host = a.domains[0]  # type: ignore[attr-defined]
    clients: dict[str | None, Any] = {None: visitor}
    cookies, tokens = {}, {}
    for role in ROLES:
        clients[role] = _log_in(app, a, role, password)
        tokens[role] = _api_token(clients[role])
        cookie = clients[role].get_cookie(app.config["SESSION_COOKIE_NAME"], domain=a.domains[0])
        cookies[role] = f"{cookie.key}={cookie.value}"
    return Regions(a, b, clients, cookies, tokens)


def _logged_in(client: Any) -> bool:
    return client.get("/akun").status_code == 200


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- the parts of the sweep --------------------------------------------------------------


def a_on_its_own_host(sweep: Sweep, regions: Regions, every: list[Target]) -> Tally:
    """Each of A's roles, on A's host, with every route and B's keys."""
    tally = Tally()
    for role, client in regions.clients.items():  # the admin last: it may disable the others
        tally.add(
            sweep.run(
                client,
                every,
                host=regions.a.domains[0],
                own_host=True,
                label=f"A's {role or 'visitor'}",
            )
        )
        assert role is None or _logged_in(client), f"A's {role} was logged out by the sweep"
    return tally


def a_credentials_on_b(sweep: Sweep, regions: Regions, every: list[Target]) -> Tally:
    """A's session cookies and API tokens, replayed on B's host: worth nothing there."""
    a_host, b_host = regions.a.domains[0], regions.b.domains[0]
    on_b = [t for t in every if t.first and (t.method == "GET" or t.guarded)]
    api = [t for t in on_b if t.url.startswith("/api/")]
    client = sweep.app.test_client(use_cookies=False)
    tally = Tally()
    for role in ROLES:
        cookie, bearer = {"Cookie": regions.cookies[role]}, _bearer(regions.tokens[role])
        me = client.get("/api/v1/me", base_url=f"http://{a_host}", headers=bearer)
        assert me.status_code == 200 and me.json["tenant"] == regions.a.slug, role
        assert client.get("/akun", base_url=f"http://{a_host}", headers=cookie).status_code == 200
        assert _to_login(client.get("/akun", base_url=f"http://{b_host}", headers=cookie))
        assert (
            client.get("/api/v1/me", base_url=f"http://{b_host}", headers=bearer).status_code == 401
        )
        tally.add(
            sweep.run(
                client,
                on_b,
                host=b_host,
                headers=cookie,
                own_host=False,
                label=f"A's {role} cookie on B",
            )
        )
        tally.add(
            sweep.run(
                client,
                api,
                host=b_host,
                headers=bearer,
                own_host=False,
                label=f"A's {role} token on B",
            )
        )
    return tally


def spoofed_hosts(sweep: Sweep, regions: Regions, every: list[Target]) -> Tally:
    """Forwarded-host headers naming B are ignored; a host of no region serves nothing."""
    reads = [t for t in every if t.first and t.method == "GET"]
    b_host = regions.b.domains[0]
    forwarded = {"X-Forwarded-Host": b_host, "Forwarded": f"host={b_host}"}
    tally = Tally()
    for role in (None, "admin"):
        tally.add(
            sweep.run(
                regions.clients[role],
                reads,
                host=regions.a.domains[0],
                headers=forwarded,
                own_host=True,
                label=f"A's {role} forwarded to B",
            )
        )
    client = sweep.app.test_client(use_cookies=False)
    for target in reads:
        response = sweep.send(client, target, UNKNOWN_HOST, {"Cookie": regions.cookies["admin"]})
        tally.tried += 1
        where = f"unknown host: GET {target.url} -> {response.status_code}"
        served = target.rule.endpoint not in TENANTLESS_ENDPOINTS and not _refused(response)
        if response.status_code >= 500:
            tally.errors.append(where)
        elif served or sweep.observer.user is not None or sweep.markers_in(response, target):
            tally.leaks.append(where)
    return tally


@contextmanager
def row_security_not_forced(app: Flask) -> Iterator[None]:
    """On PostgreSQL, let the tables' owner (the test role) past row-level security."""
    engine = db.engine_for(app)
    if engine.dialect.name != "postgresql":
        yield
        return
    tables = [engine.dialect.identifier_preparer.quote(t) for t in tenant_tables()]

    def force(how: str) -> None:
        with engine.begin() as connection:
            for table in tables:
                connection.execute(text(f"ALTER TABLE {table} {how} ROW LEVEL SECURITY"))

    force("NO FORCE")
    try:
        yield
    finally:
        force("FORCE")


#: How :meth:`SweepResult.summary` reads (a message id: the plugin check translates it).
FIGURES = N_(
    "%(requests)d requests, %(leaks)d leaks, %(errors)d server errors, %(markers)d markers,"
    " %(seconds).1f s"
)


@dataclass
class SweepResult:
    """What one sweep found: its tally, the keys it aimed with, and how long it took."""

    tally: Tally
    keys: Keys
    seconds: float
    b_changed: bool

    @property
    def problems(self) -> list[str]:
        """Every leak and server error, and a change to B's rows: empty when clean."""
        found = [f"leak: {leak}" for leak in self.tally.leaks]
        found += [f"server error: {error}" for error in self.tally.errors]
        if self.b_changed:
            found.append("leak: region B's rows changed during the sweep")
        return found

    def figures(self) -> dict[str, Any]:
        """Requests tried, leaks, server errors, markers aimed with, and seconds taken."""
        return {
            "requests": self.tally.tried,
            "leaks": len(self.tally.leaks),
            "errors": len(self.tally.errors),
            "markers": len(self.keys.markers),
            "seconds": self.seconds,
        }

    def summary(self) -> str:
        return FIGURES % self.figures()


def run_sweep(app: Flask, regions: Regions, *, only: str | None = None) -> SweepResult:
    """Sweep every route (or plugin ``only``'s, see :func:`targets`) as ``regions.a``
    against ``regions.b``'s rows. The app should not propagate exceptions
    (``PROPAGATE_EXCEPTIONS = False``), so that a server error is counted, not raised."""
    started = time.monotonic()
    b_before = rows_of(regions.b.id)
    keys = Keys.of(b_before, rows_of(regions.a.id))
    every = list(targets(app, keys, only))
    tally = Tally()
    with Observer(app).watching() as observer:
        sweep = Sweep(app, keys, observer, rows_of(regions.a.id).ids())
        tally.add(a_credentials_on_b(sweep, regions, every))  # while A's tokens are all valid
        tally.add(a_on_its_own_host(sweep, regions, every))
        tally.add(spoofed_hosts(sweep, regions, every))
    tally.judge_suspects(rows_of(regions.a.id).ids())
    changed = rows_of(regions.b.id).fingerprint() != b_before.fingerprint()
    return SweepResult(tally, keys, time.monotonic() - started, changed)
