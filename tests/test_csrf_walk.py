"""Every form post outside the API is refused without a CSRF token: a walk over all routes.

The region admin of a tenant that has every installed plugin switched on (and its
demo data) posts to every route that accepts ``POST``, without a ``csrf_token``.
Each must answer ``400 csrf_failed`` before its view runs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from filling import enable_all, fill
from werkzeug.routing import IntegerConverter, Rule

# Machine endpoints authenticated by a token, not a session cookie, so another
# site's page cannot borrow a login through them (docs/api.md, docs/architecture.md):
# the JSON API (bearer token, or the X-CSRFToken header for cookie writes, tested in
# test_api.py), the SMS gateway's webhook, Open311 (api_key) and the registry's legacy
# upload API (a partner's registry token, as twine sends it).
EXEMPT_PREFIXES = ("/api/", "/-/sms/masuk", "/pengaduan/open311/", "/registry/legacy/")


def _post_rules(app) -> Iterator[Rule]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "POST" in rule.methods and not rule.rule.startswith(EXEMPT_PREFIXES):
            yield rule


def _url(rule: Rule, plugin_name: str) -> str:
    """The rule with plausible arguments: id 1 (the tenant's first row), a plugin name."""
    values = {
        name: 1 if isinstance(converter, IntegerConverter) else plugin_name
        for name, converter in rule._converters.items()
    }
    return rule.build(values, append_unknown=False)[1]


@pytest.fixture
def full_tenant(app, tenant):
    """``tenant`` with every installed plugin on (requirements first) and its demo data."""
    current = enable_all(app, tenant)
    fill(app, current)
    return current


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_every_form_post_needs_a_csrf_token(app, client, full_tenant, login):
    login(client, role="admin")
    plugin_name = sorted(full_tenant.plugins)[0]
    tried, accepted = 0, []
    for rule in _post_rules(app):
        url = _url(rule, plugin_name)
        response = client.post(url, data={}, headers={"Accept": "application/json"})
        tried += 1
        body = response.get_json(silent=True) or {}
        if response.status_code != 400 or body.get("error", {}).get("code") != "csrf_failed":
            accepted.append(f"POST {url} ({rule.endpoint}) -> {response.status_code}")
    print(f"CSRF walk: {tried} POST rules tried, {len(accepted)} without protection")
    assert tried > 20
    assert accepted == []


def test_the_walk_covers_plugin_routes_and_skips_only_the_exemptions(app):
    rules = [rule.rule for rule in _post_rules(app)]
    assert any(r.startswith("/pengaduan/") for r in rules)
    assert any(r.startswith("/pengumuman/") for r in rules)
    assert "/masuk" in rules
    assert not any(r.startswith(EXEMPT_PREFIXES) for r in rules)
