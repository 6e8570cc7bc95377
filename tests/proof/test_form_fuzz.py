"""Fuzzing the HTML side: every query parameter and form field, as every role.

The API is fuzzed from its OpenAPI document (``test_api_fuzz.py``); pages have no
such document, so a region with every plugin on and its demo data is walked by each
role (visitor, citizen, department officer, region admin), and every page met is
taken apart:

- each query parameter it was reached with, the fields of each GET form pointing at
  it, and ``page``, get every value of ``VALUES`` in turn;
- each field of each POST form (text, hidden, select, checkbox, number, date ...)
  gets every value of ``VALUES`` in turn, the other fields a valid guess.

``VALUES`` holds the boundaries (integers beyond 32 and 64 bits, negative, zero,
non-numeric, a 10,000-character string, control characters, right-to-left and
astral Unicode, an SQL fragment, a path, the first and last days Python knows) and
a few hypothesis-generated texts, drawn from a fixed seed so that every run sends the
same requests. Server errors must be 0.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from forms import Form, forms_of, guess, role_clients, submit
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from walking import links, seeds
from werkzeug.exceptions import HTTPException

# A fault must come back as the 500 a visitor would get, to be counted, not raised.
pytestmark = pytest.mark.balai_config(PROPAGATE_EXCEPTIONS=False)

BOUNDARIES = [
    "99999999999999999999",
    "9223372036854775808",
    "2147483648",
    "-2147483649",
    "-1",
    "0",
    "1e309",
    "NaN",
    "abc",
    "",
    "\x00\x1b\x0b",
    "x" * 10_000,
    "\u202eꦧꦭꦻ 🏛️ Jalan",
    "1' OR '1'='1",
    "../../etc/passwd",
    "9999-12-31",
    "0001-01-01T00:00:00Z",
]
GENERATED = 5  # texts drawn by hypothesis, from a fixed seed
PER_ENDPOINT = 1  # pages taken apart per endpoint and role
SKIPPED_ACTIONS = ("/keluar",)  # logging out would end the role's session


def generated(count: int = GENERATED) -> list[str]:
    """Texts hypothesis draws (any Unicode but surrogates), derandomized: the same every run."""
    drawn: list[str] = []

    @settings(
        derandomize=True,
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60))
    def draw(value: str) -> None:
        drawn.append(value)

    draw()
    return drawn


@dataclass
class Fuzz:
    values: list[str]
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def send(self, label: str, request, *args) -> None:
        """Make ``request(*args)``, read the answer whole; a body cut off is an error too."""
        self.requests += 1
        try:
            response = request(*args)
            response.get_data()  # a streamed answer (a CSV) fails here if it breaks off
            response.close()
        except Exception as exc:  # any failure, mid-stream too, is what we look for
            self.statuses[500] += 1
            self.errors.append(f"{label}: broke off ({type(exc).__name__}: {exc})")
            return
        self.statuses[response.status_code // 100 * 100] += 1
        if response.status_code >= 500:
            self.errors.append(f"{label}: {response.status_code}")


@dataclass
class Targets:
    """What one role can reach: pages with their parameters, and POST forms."""

    pages: dict[str, set[str]] = field(default_factory=dict)  # path -> parameter names
    forms: list[Form] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)  # endpoint -> the path fuzzed


def discover(client, start: list[str]) -> Targets:
    """Walk the role's pages: the parameters each page takes, the forms it shows."""
    found = Targets()
    adapter = client.application.url_map.bind(client.host)
    per: Counter = Counter()
    seen_forms: set[tuple] = set()
    queue, visited = list(start), set()
    while queue:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.netloc not in ("", client.host) or parts.path.startswith("/keluar"):
            continue
        try:
            endpoint = adapter.match(parts.path, method="GET")[0]
        except HTTPException:  # not a page of this app
            continue
        path = found.paths.setdefault(endpoint, parts.path)  # one page per endpoint is fuzzed
        names = found.pages.setdefault(path, {"page"})
        names.update(name for name, _value in parse_qsl(parts.query, keep_blank_values=True))
        key = parts.path + "?" + parts.query
        if key in visited or per[endpoint] >= PER_ENDPOINT + 1:
            continue
        visited.add(key)
        per[endpoint] += 1
        response = client.get(key, buffered=True)
        if response.mimetype != "text/html":
            continue
        for form in forms_of(response.text, f"http://{client.host}{key}"):
            target = urlsplit(form.action).path
            if form.method == "get":
                try:
                    endpoint = adapter.match(target, method="GET")[0]
                except HTTPException:
                    continue
                target = found.paths.setdefault(endpoint, target)
                found.pages.setdefault(target, {"page"}).update(f["name"] for f in form.fields)
            elif form.key() not in seen_forms and not target.startswith(SKIPPED_ACTIONS):
                seen_forms.add(form.key())
                found.forms.append(form)
        queue.extend(links(response.text, f"http://{client.host}{key}"))
    return found


def fuzz_pages(client, role: str, pages: dict[str, set[str]], fuzz: Fuzz) -> None:
    for path, names in sorted(pages.items()):
        for name in sorted(names):
            for value in fuzz.values:
                url = f"{path}?{urlencode({name: value})}"
                fuzz.send(f"{role} GET {path}?{name}={value[:20]!r}", client.get, url)


def fuzz_forms(client, role: str, forms: list[Form], fuzz: Fuzz) -> None:
    for form in forms:
        for target in form.fields:
            if target["type"] in ("submit", "button", "image", "file"):
                continue
            for value in fuzz.values:
                data: dict[str, list[str]] = {}
                for index, item in enumerate(form.fields):
                    chosen = value if item is target else guess(item, index)
                    if chosen is not None:
                        data.setdefault(item["name"], []).append(chosen)
                label = f"{role} POST {urlsplit(form.action).path} {target['name']}={value[:20]!r}"
                fuzz.send(label, submit, client, form, data)


def run(app, tenant, login, roles, *, forms: bool = True) -> tuple[Fuzz, int, int]:
    fuzz = Fuzz([*BOUNDARIES, *generated()])
    clients = role_clients(app, tenant, login, roles)
    pages = posted = 0
    for role, client in clients.items():
        targets = discover(client, seeds(app))
        pages += sum(len(names) for names in targets.pages.values())
        before, started = fuzz.requests, time.perf_counter()
        fuzz_pages(client, role, targets.pages, fuzz)
        if forms:
            posted += sum(len(f.fields) for f in targets.forms)
            fuzz_forms(client, role, targets.forms, fuzz)
        took = time.perf_counter() - started
        print(
            f"{role}: {len(targets.pages)} pages, {len(targets.forms)} forms, "
            f"{fuzz.requests - before} requests in {took:.0f} s"
        )
    return fuzz, pages, posted


def test_no_query_parameter_or_form_field_gives_a_server_error(app, full_tenant, login, figures):
    fuzz, parameters, fields = run(app, full_tenant, login, ("anonymous", "warga", "opd", "admin"))
    part = "form and query fuzzing"
    figures.record(part, "values per field", len(fuzz.values))
    figures.record(part, "query parameters", parameters)
    figures.record(part, "form fields", fields)
    figures.record(part, "requests", fuzz.requests)
    figures.record(part, "refused (4xx)", fuzz.statuses[400])
    figures.record(part, "server errors", len(fuzz.errors))
    print(f"{fuzz.requests} requests: {dict(fuzz.statuses)}")
    assert fuzz.errors == []
    assert parameters >= 50 and fields >= 100, "too little was reached: the fuzzing proves little"


def test_the_fuzzing_goes_red_without_the_bounds(app, full_tenant, login, monkeypatch):
    """With range checks switched off, huge numbers reach the database and are caught."""
    from marshmallow import validate

    monkeypatch.setattr(validate.Range, "__call__", lambda self, value: value)
    fuzz, _parameters, _fields = run(app, full_tenant, login, ("anonymous",), forms=False)
    assert any("page=" in error for error in fuzz.errors)


def test_the_generated_values_are_the_same_every_run():
    assert generated() == generated()
    assert all(value for value in generated())
