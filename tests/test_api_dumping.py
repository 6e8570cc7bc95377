"""Compiled response dumpers (balai.api.dumping) give exactly what marshmallow gives."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections import OrderedDict, UserDict
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema, fields, missing, post_dump, pre_dump

from balai.api import core as api_core
from balai.api import page_of
from balai.api.core import PluginSchema, UserSchema
from balai.api.dumping import DumpMismatch, compiled, dumper_for
from balai.fields import AwareDateTime, Date, Id, Integer, NaiveDateTime, Text
from balai.tenancy import TenantInfo

WIB = dt.timezone(dt.timedelta(hours=7))
AT = dt.datetime(2026, 8, 17, 10, 0, 5, 120, tzinfo=WIB)


def same(schema: Schema, obj: Any) -> Any:
    """The compiled dumper's result is marshmallow's, to the types and the key order
    (or it fails as marshmallow fails)."""
    try:
        expected = schema.dump(obj)
    except Exception as exc:
        with pytest.raises(type(exc)):
            dumper_for(schema)(obj)
        return None
    got = dumper_for(schema)(obj)
    assert repr(got) == repr(expected)
    if isinstance(expected, dict):
        assert list(got) == list(expected)
    return got


class Department(Schema):
    id = Id()
    code = Text()
    name = Text()


class Everything(Schema):
    id = Id(dump_only=True)
    title = Text()
    secret = Text(load_only=True)
    renamed = Text(data_key="nama")
    from_elsewhere = Text(attribute="other")
    dotted = Text(attribute="department.name")
    count = Integer()
    as_text = Integer(as_string=True)
    ratio = fields.Float(allow_none=True)
    flag = fields.Boolean()
    raw = fields.Raw()
    when = AwareDateTime()
    naive = NaiveDateTime()
    day = Date()
    time = fields.Time()
    stamp = fields.DateTime(format="timestamp")
    rfc = fields.DateTime(format="rfc")
    custom = fields.DateTime(format="%d/%m/%Y %H.%M")
    key = fields.UUID()
    department = fields.Nested(Department, allow_none=True)
    only_code = fields.Nested(Department, only=("code",))
    departments = fields.List(fields.Nested(Department))
    tags = fields.List(Text(), allow_none=True)
    hours = fields.Dict(keys=Text(), values=fields.List(Text()))
    loose = fields.Dict()
    defaulted = Text(dump_default="tetap")
    computed_default = Integer(dump_default=lambda: 41)
    method = fields.Method("shout")
    function = fields.Function(lambda obj: str(getattr(obj, "title", ""))[::-1])
    constant = fields.Constant("v1")
    money = fields.Decimal(as_string=True)  # not compiled: its own serialize, in place
    colour = fields.Enum(enum.Enum("Colour", "RED GREEN"))  # not compiled either

    def shout(self, obj: Any) -> Any:
        title = getattr(obj, "title", None)
        return str(title).upper() if title else missing


def full(**changes: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "id": 7,
        "title": "Jalan rusak \u2014 \u00e9t\u00e9 \U0001f600 \u2028 <b>",
        "secret": "kata sandi",
        "renamed": "Nama",
        "other": "dari atribut lain",
        "department": SimpleNamespace(id=3, code="DPU", name="Dinas PU"),
        "only_code": {"id": 1, "code": "D1", "name": "one"},
        "count": 3.0,
        "as_text": 12,
        "ratio": 2,
        "flag": 1,
        "raw": {"x": [1, 2]},
        "when": AT,
        "naive": AT.replace(tzinfo=None),
        "day": dt.date(2026, 1, 2),
        "time": dt.time(7, 30),
        "stamp": AT,
        "rfc": AT,
        "custom": AT,
        "key": uuid.UUID(int=5),
        "departments": [
            {"id": 1, "code": "A", "name": "a"},
            SimpleNamespace(id=2, code="B", name=None),
        ],
        "tags": ("satu", b"dua", 3),
        "hours": {1: ["07:30", "14:00"], "2": []},
        "loose": OrderedDict(b=1, a=2),
        "money": decimal.Decimal("1.50"),
        "colour": None,
    }
    values.update(changes)
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    "obj",
    [
        full(),
        full(title=None, count=None, ratio=None, when=None, day=None, department=None, tags=None),
        full(count=True, ratio=float("nan"), flag="no", raw=None, hours={}, departments=[]),
        full(title=5, renamed=b"bytes", count="12", as_text=True),
        SimpleNamespace(),  # nothing there: only defaults, methods and constants
    ],
    ids=["values", "nones", "odd-values", "conversions", "empty"],
)
def test_an_object_dumps_as_marshmallow_dumps_it(obj: Any) -> None:
    schema = Everything()
    assert compiled(schema)
    same(schema, obj)


def test_a_mapping_dumps_as_marshmallow_dumps_it() -> None:
    # A dict lacking a key falls back to getattr: "items" finds the dict's method.
    data = vars(full()) | {"department": {"id": 1, "code": "X", "name": "Y"}}
    same(Everything(), data)
    same(page_of(Department)(), {"page": 1, "per_page": 20, "total": 0, "pages": 0})  # fails
    same(Department(), {"id": missing, "code": None})

    class Items(Schema):
        items = Text()
        keys = fields.Raw()

    found = same(Items(), {"items": "ada"})
    assert found["items"] == "ada" and callable(found["keys"])
    same(Items(), UserDict({"items": "dari UserDict"}))
    same(Items(), ["a list", "has __getitem__"])


def test_many_only_exclude_and_none() -> None:
    rows = [full(), full(id=8, department=None)]
    same(Everything(many=True), rows)
    generated = Everything(many=True)
    assert dumper_for(generated)(row for row in rows) == generated.dump(row for row in rows)
    same(Everything(many=True), None)  # marshmallow dumps None as one object
    same(Everything(), None)
    same(Everything(only=("id", "department", "renamed")), full())
    same(Everything(exclude=("department", "method")), full())

    class Parent(Schema):
        children = fields.Nested(Department, many=True, exclude=("name",))
        first = fields.Nested(Department(many=True), many=False)
        by_name = fields.Nested("Department", only=("id",))

    same(Parent(), {"children": [full().department], "first": full().department, "by_name": None})
    same(Parent(), {"children": None, "by_name": {"id": 9}})


def test_hooks_and_overrides_are_left_to_marshmallow() -> None:
    class Hooked(Department):
        @pre_dump
        def rename(self, obj: Any, **_kwargs: Any) -> Any:
            return {"id": obj["id"], "code": "pre", "name": obj["name"]}

        @post_dump(pass_collection=True)
        def wrap(self, data: Any, many: bool, **_kwargs: Any) -> Any:
            return {"wrapped": data, "many": many}

    class Reading(Department):
        def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
            return f"{attr}!"

    class Ordered(Department):
        dict_class = OrderedDict

    class Upper(fields.String):
        def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
            return None if value is None else f"{value.upper()} ({attr}, {obj['id']})"

    class WithCustomField(Department):
        name = Upper()
        pluck = fields.Pluck(Department, "code")
        uppers = fields.List(Upper())

    class Outer(Schema):
        hooked = fields.Nested(Hooked)
        hooked_many = fields.Nested(Hooked, many=True)
        reading = fields.Nested(Reading)
        custom = fields.Nested(WithCustomField)

    row = {"id": 1, "code": "c", "name": "n", "pluck": {"code": "p"}, "uppers": ["x"]}
    for schema in (Hooked(), Reading(), Ordered()):
        assert not compiled(schema)
        same(schema, row)
    same(Hooked(many=True), [row, row])
    assert compiled(WithCustomField())
    same(WithCustomField(), row)
    assert compiled(Outer())
    same(Outer(), {"hooked": row, "hooked_many": [row], "reading": row, "custom": row})


def test_a_schema_nesting_itself() -> None:
    class Node(Schema):
        name = Text()
        children = fields.List(fields.Nested(lambda: Node()))
        parent = fields.Nested(lambda: Node(only=("name",)), allow_none=True)

    leaf = {"name": "daun", "children": [], "parent": {"name": "akar"}}
    same(Node(), {"name": "akar", "children": [leaf, leaf], "parent": None})


def test_the_schemas_own_date_format() -> None:
    class Local(Schema):
        class Meta:
            datetimeformat = "%Y-%m-%d %H:%M"
            dateformat = "%d.%m.%Y"

        at = fields.DateTime()
        on = fields.Date()
        iso = fields.DateTime(format="iso")

    same(Local(), {"at": AT, "on": AT.date(), "iso": AT})


def test_the_cores_schemas_are_compiled() -> None:
    for schema in (UserSchema(), PluginSchema(many=True), page_of(Department)()):
        assert compiled(schema), type(schema).__name__


# -- in the app ------------------------------------------------------------------------


def test_the_test_suite_checks_every_dump(app: Flask) -> None:
    assert app.config["API_CHECK_DUMPS"] is True


def test_a_different_byte_fails_the_request(
    app: Flask,
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    enable_plugin: Callable[..., TenantInfo],
) -> None:
    enable_plugin("pengumuman")

    def off_by_a_byte(schema: Schema) -> Callable[[Any], Any]:
        right = dumper_for(schema)
        return lambda obj: [{**item, "name": f"{item['name']} "} for item in right(obj)]

    assert client.get("/api/v1/plugins").status_code == 200
    monkeypatch.setattr(api_core, "dumper_for", off_by_a_byte)
    app.config["API_CHECK_DUMPS"] = False
    assert client.get("/api/v1/plugins").status_code == 200  # unchecked: answered as it is
    app.config["API_CHECK_DUMPS"] = True
    with pytest.raises(DumpMismatch, match=r"GET /api/v1/plugins: the compiled dumper of Plugin"):
        client.get("/api/v1/plugins")


def test_marshmallow_can_still_dump_the_answers(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(schema: Schema) -> Callable[[Any], Any]:
        raise AssertionError("the compiled dumper is switched off")

    compiled_answer = client.get("/api/v1/plugins").get_data()
    monkeypatch.setattr(api_core, "dumper_for", refuse)
    app.config["API_COMPILED_DUMPS"] = False
    assert client.get("/api/v1/plugins").get_data() == compiled_answer
