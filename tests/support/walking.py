"""Walking a region's pages as a browser would: the routes to start from, the links to follow.

``walk(client, seeds(app))`` GETs every route that needs no argument, then the
pages they link to on the client's host, a few per endpoint, so that every kind of
page is met without fetching all 3,000 patients.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.routing import AnyConverter

PER_ENDPOINT = 2  # pages walked per endpoint: enough to see each kind of page


class _Links(HTMLParser):
    """The ``href`` and ``src`` targets of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.found.append(value)


def links(html: str, base: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return [urljoin(base, link) for link in parser.found]


def seeds(app: Flask) -> list[str]:
    """Every GET route without arguments, and each choice of ``any(...)`` arguments."""
    urls = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods:
            continue
        choices = {
            name: conv.items
            for name, conv in rule._converters.items()
            if isinstance(conv, AnyConverter)
        }
        if set(choices) != set(rule.arguments):
            continue
        for values in _combinations(choices):
            urls.append(rule.build(values, append_unknown=False)[1])
    return urls


def _combinations(choices: dict[str, list[str]]) -> Iterator[dict[str, str]]:
    if not choices:
        yield {}
        return
    name, *rest = choices
    for tail in _combinations({k: choices[k] for k in rest}):
        for value in choices[name]:
            yield {name: value, **tail}


def walk(
    client: FlaskClient, start: list[str], per_endpoint: int = PER_ENDPOINT
) -> Iterator[tuple[str, object]]:
    """GET ``start`` and the pages they link to on the same host, a few per endpoint."""
    adapter = client.application.url_map.bind(client.host)
    queue, seen, per = list(start), set(), Counter()
    while queue:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.netloc not in ("", client.host) or parts.path.startswith("/keluar"):
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path in seen:
            continue
        seen.add(path)
        try:
            endpoint = adapter.match(parts.path, method="GET")[0]
        except HTTPException:
            continue
        if per[endpoint] >= per_endpoint:
            continue
        per[endpoint] += 1
        response = client.get(path, buffered=True)
        yield endpoint, response
        if response.mimetype == "text/html":
            queue.extend(links(response.text, f"http://{client.host}{path}"))
