"""URL builders are compiled on first use: start-up skips them, ``url_for`` is unchanged."""

from __future__ import annotations

from flask import url_for
from werkzeug.routing import IntegerConverter, PathConverter, Rule

from balai.app import LazyRule


def _values(rule: Rule) -> dict[str, object]:
    """A value for each of the rule's arguments that its converter accepts."""
    values: dict[str, object] = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        if getattr(converter, "items", None):  # <any(...):name>
            values[name] = sorted(converter.items)[0]
        elif isinstance(converter, IntegerConverter):
            values[name] = 7
        elif isinstance(converter, PathConverter):
            values[name] = "a b/ç"
        else:
            values[name] = "a b ç"
    return values


def test_builders_are_compiled_at_the_first_url_for_not_at_start_up(app):
    # Flask adds the static files' rule itself, before create_app can choose the class.
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    assert rules and all(isinstance(rule, LazyRule) for rule in rules)
    assert all(rule._build.__name__ == "build" for rule in rules)  # the stand-in
    with app.test_request_context("/", base_url="http://kota-a.test"):
        for rule in rules:
            values = _values(rule)
            eager = Rule._compile_builder(rule, True).__get__(rule, None)
            expected = eager(**values, extra="x y")
            assert rule._build_unknown(**values, extra="x y") == expected, rule.rule
            assert rule._build_unknown(**values, extra="x y") == expected  # compiled now
            assert rule._build_unknown.__name__ != "build"
            url_for(rule.endpoint, **values, _method=next(iter(rule.methods or {"GET"})))
