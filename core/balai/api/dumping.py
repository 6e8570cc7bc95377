"""Responses dumped by plain Python compiled from their marshmallow schemas.

The schemas stay the one description of a response: the OpenAPI document is built from
them, and what they give is what the API answers. ``Schema.dump`` is slow, though: for
every field of every object it goes through ``Field.serialize``, ``get_value`` and the
field's ``_serialize``. :func:`dumper_for` compiles a schema instance once into a
function that gives exactly what ``schema.dump(obj)`` gives, with the work of each field
written out (``getattr``, ``None`` kept as ``None``, ``int(value)``, ``isoformat``, a
loop for a list, a call for a nested schema).

Only what it knows to be the same is compiled; anything else is left to marshmallow:

* a schema with ``pre_dump``/``post_dump`` hooks, its own ``dump``, ``_serialize`` or
  ``get_attribute``, or a ``dict_class`` other than ``dict`` is dumped by ``schema.dump``
  (a nested one too, from inside the compiled parent);
* a field is compiled when its class keeps marshmallow's ``serialize`` and ``get_value``
  and its ``_serialize`` is that of ``String`` (:class:`balai.fields.Text`, ``Url``,
  ``Email``), ``Integer``/``Float`` (not ``Decimal``), ``Boolean``/``Raw``, the date and
  time fields, ``UUID``, ``Nested`` (not ``Pluck``), ``List``, ``Dict``, ``Method``,
  ``Function`` or ``Constant``; any other field, or one whose class overrides one of
  those methods, is dumped by its own ``field.serialize`` as ``Schema.dump`` would, in
  its place among the others.

``data_key``, ``attribute`` (dotted too), ``dump_default``, ``only``/``exclude``,
``load_only``/``dump_only`` and ``many`` are honoured as marshmallow honours them (the
compiler reads the schema instance's ``dump_fields``). Values are read as
``marshmallow.utils.get_value`` reads them: ``obj[key]`` for what has ``__getitem__``
(then ``getattr`` when that fails), ``getattr`` otherwise.

:func:`balai.api.ApiBlueprint.response` dumps with these functions; with the setting
``API_CHECK_DUMPS`` on (the test suite's) it also dumps with marshmallow and raises
:class:`DumpMismatch` when the JSON differs by a byte.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, missing, utils
from marshmallow.decorators import POST_DUMP, PRE_DUMP

__all__ = ["DumpMismatch", "compiled", "dumper_for"]

Dumper = Callable[[Any], Any]
# marshmallow 4 calls a Function field's function with the object alone (3 also passed
# the context to a function taking two arguments, through _call_or_raise).
_FUNCTION_OF_OBJ = not hasattr(fields.Function, "_call_or_raise")

# Compiled dumpers per schema instance (a view's schema lives as long as the app).
_DUMPERS: weakref.WeakKeyDictionary[Schema, tuple[bool, Dumper]] = weakref.WeakKeyDictionary()


class DumpMismatch(AssertionError):
    """The compiled dumper and marshmallow answered different JSON (``API_CHECK_DUMPS``)."""


def dumper_for(schema: Schema) -> Dumper:
    """A function giving what ``schema.dump(obj)`` gives, compiled once per instance."""
    return _compile(schema, schema.many)[1]


def compiled(schema: Schema) -> bool:
    """Whether ``schema`` itself is compiled (False: ``schema.dump`` does the work)."""
    return _compile(schema, schema.many)[0]


def _compile(schema: Schema, many: bool) -> tuple[bool, Dumper]:
    found = _DUMPERS.get(schema)
    if found is None:
        found = _DUMPERS[schema] = _Compiler().schema_dumper(schema)
    is_compiled, one = found
    if not is_compiled:
        return False, one
    return True, _many(one) if many else one


def _many(one: Dumper) -> Dumper:
    def dump_many(obj: Any) -> Any:
        # Schema._serialize dumps None as one object, even with many.
        return one(obj) if obj is None else [one(item) for item in obj]

    return dump_many


def _supported_schema(schema: Schema) -> bool:
    cls = type(schema)
    return (
        cls.dump is Schema.dump
        and cls._serialize is Schema._serialize
        and cls.get_attribute is Schema.get_attribute
        and schema.dict_class is dict
        and not schema._hooks[PRE_DUMP]
        and not schema._hooks[POST_DUMP]
    )


def _same(field: fields.Field, name: str, base: type) -> bool:
    return getattr(type(field), name) is getattr(base, name)


def _item_or_attribute(obj: Any, key: str) -> Any:
    """``marshmallow.utils._get_value_for_key`` for an object with ``__getitem__``."""
    try:
        return obj[key]
    except (KeyError, IndexError, TypeError, AttributeError):
        return getattr(obj, key, missing)


class _Compiler:
    """Writes one schema's dumper (and those of the schemas nested in it) as Python."""

    def __init__(self) -> None:
        self.names = itertools.count()
        self.compiling: set[type] = set()  # schema classes on the way down (self-nesting)

    def constant(self, namespace: dict[str, Any], value: Any) -> str:
        name = f"_c{next(self.names)}"
        namespace[name] = value
        return name

    # -- schemas --------------------------------------------------------------------

    def schema_dumper(self, schema: Schema) -> tuple[bool, Dumper]:
        """``(True, one)``: ``one(obj)`` dumps one object; ``(False, schema.dump)``."""
        if not _supported_schema(schema):
            return False, schema.dump
        self.compiling.add(type(schema))
        try:
            return True, self.write_schema(schema)
        finally:
            self.compiling.discard(type(schema))

    def nested_dumper(self, schema: Schema, many: bool) -> Dumper | None:
        """What ``Nested._serialize`` does with a value that is not None."""
        if type(schema) in self.compiling:
            return None  # a schema inside itself: left to marshmallow
        found = _DUMPERS.get(schema)
        if found is None:
            found = _DUMPERS[schema] = self.schema_dumper(schema)
        is_compiled, one = found
        if not is_compiled:
            dump = schema.dump
            return lambda value: dump(value, many=many)
        return _many(one) if many else one

    def write_schema(self, schema: Schema) -> Dumper:
        namespace: dict[str, Any] = {
            "_missing": missing,
            "_dict": dict,
            "_hasattr": hasattr,
            "_getattr": getattr,
            "_item": _item_or_attribute,
            "_get_value": utils.get_value,
        }
        ways = {"dict": [], "attr": [], "item": []}
        for attr_name, field in schema.dump_fields.items():
            key = field.data_key if field.data_key is not None else attr_name
            lines = self.write_field(namespace, schema, attr_name, field, key)
            for way, body in ways.items():
                body.extend(line(way) if callable(line) else line for line in lines)
        source = ["def dump_one(obj):", "    ret = {}", "    if obj.__class__ is _dict:"]
        source += [f"        {line}" for line in ways["dict"] or ["pass"]]
        source += ["    elif not _hasattr(obj, '__getitem__'):"]
        source += [f"        {line}" for line in ways["attr"] or ["pass"]]
        source += ["    else:"]
        source += [f"        {line}" for line in ways["item"] or ["pass"]]
        source += ["    return ret"]
        code = compile("\n".join(source), f"<dumper of {type(schema).__name__}>", "exec")
        exec(code, namespace)  # noqa: S102 - our own source, from the schema's fields
        function: Dumper = namespace["dump_one"]
        function.__qualname__ = f"dump_{type(schema).__name__}"
        return function

    # -- fields ---------------------------------------------------------------------

    def write_field(
        self,
        namespace: dict[str, Any],
        schema: Schema,
        attr_name: str,
        field: fields.Field,
        key: str,
    ) -> list[Any]:
        """Lines (or functions of the way values are read, giving a line) for one field."""
        k = repr(key)
        fallback = [
            f"v = {self.constant(namespace, field)}.serialize("
            f"{attr_name!r}, obj, accessor={self.constant(namespace, schema.get_attribute)})",
            f"if v is not _missing: ret[{k}] = v",
        ]
        if not (
            _same(field, "serialize", fields.Field) and _same(field, "get_value", fields.Field)
        ):
            return fallback
        if not field._CHECK_ATTRIBUTE:
            call = self.unchecked(namespace, field)
            if call is None:
                return fallback
            return [f"v = {call}", f"if v is not _missing: ret[{k}] = v"]
        convert = self.converter(namespace, field)
        if convert is None:
            return fallback
        check_key = attr_name if field.attribute is None else field.attribute
        lines: list[Any] = [self.getter(namespace, check_key)]
        default = field.dump_default
        if default is not missing:
            value = f"{self.constant(namespace, default)}" + ("()" if callable(default) else "")
            lines.append(f"if v is _missing: v = {value}")
        lines.append(f"if v is not _missing: ret[{k}] = {convert('v')}")
        return lines

    def getter(self, namespace: dict[str, Any], check_key: str) -> Callable[[str], str]:
        """``v = `` the value ``marshmallow.utils.get_value(obj, check_key)`` reads."""
        k = repr(check_key)
        if "." in check_key:
            return lambda way: f"v = _get_value(obj, {k}, _missing)"

        def line(way: str) -> str:
            if way == "attr":
                return f"v = _getattr(obj, {k}, _missing)"
            if way == "dict":
                if hasattr(dict, check_key):  # obj[key] fails, getattr finds a method
                    return f"v = obj[{k}] if {k} in obj else _getattr(obj, {k}, _missing)"
                return f"v = obj.get({k}, _missing)"
            return f"v = _item(obj, {k})"

        return line

    def unchecked(self, namespace: dict[str, Any], field: fields.Field) -> str | None:
        """The call giving the value of a field that reads no attribute (``Method``, ...)."""
        if _same(field, "_serialize", fields.Method):
            method = field._serialize_method  # type: ignore[attr-defined]
            if method is None:
                return "_missing"
            return f"{self.constant(namespace, method)}(obj)"
        if _same(field, "_serialize", fields.Function) and _FUNCTION_OF_OBJ:
            function = field.serialize_func  # type: ignore[attr-defined]
            if function is None:
                return None
            return f"{self.constant(namespace, function)}(obj)"
        if _same(field, "_serialize", fields.Constant):
            return self.constant(namespace, field.constant)  # type: ignore[attr-defined]
        return None

    def converter(
        self, namespace: dict[str, Any], field: fields.Field
    ) -> Callable[[str], str] | None:
        """``field._serialize(value, ...)`` as an expression of the value's name, or None.

        Only for fields whose ``_serialize`` reads nothing but the value (a ``List``'s
        items and a ``Dict``'s keys and values are serialized without their object).
        """
        c = lambda value: self.constant(namespace, value)  # noqa: E731
        cls = type(field)
        if _same(field, "_serialize", fields.String):
            text = c(utils.ensure_text_type)
            return lambda v: (
                f"(None if {v} is None else {v} if {v}.__class__ is str else {text}({v}))"
            )
        if _same(field, "_serialize", fields.Number):
            if not _same(field, "_format_num", fields.Number) or field.num_type not in (int, float):  # type: ignore[attr-defined]
                return None
            number = c(field.num_type)  # type: ignore[attr-defined]
            exact = field.num_type.__name__  # type: ignore[attr-defined]
            if field.as_string:  # type: ignore[attr-defined]
                if not _same(field, "_to_string", fields.Number):
                    return None
                return lambda v: f"(None if {v} is None else str({number}({v})))"
            return lambda v: (
                f"(None if {v} is None else {v} if {v}.__class__ is {exact} else {number}({v}))"
            )
        if _same(field, "_serialize", fields.Field):  # Raw, Boolean: the value as it is
            return lambda v: v
        if _same(field, "_serialize", fields.UUID):
            return lambda v: f"(None if {v} is None else str({v}))"
        if cls._serialize is fields.DateTime._serialize:  # every date and time field
            form = field.format or field.DEFAULT_FORMAT  # type: ignore[attr-defined]
            function = field.SERIALIZATION_FUNCS.get(form)  # type: ignore[attr-defined]
            if function is None:
                return lambda v: f"(None if {v} is None else {v}.strftime({form!r}))"
            f = c(function)
            return lambda v: f"(None if {v} is None else {f}({v}))"
        if _same(field, "_serialize", fields.Nested):
            return self.nested(namespace, field)
        if _same(field, "_serialize", fields.List):
            inner = self.converter(namespace, field.inner)  # type: ignore[attr-defined]
            if inner is None:
                return None
            item = f"_i{next(self.names)}"
            return lambda v: f"(None if {v} is None else [{inner(item)} for {item} in {v}])"
        if _same(field, "_serialize", fields.Mapping):
            mapping = self.mapping(namespace, field)
            if mapping is None:
                return None
            m = c(mapping)
            return lambda v: f"(None if {v} is None else {m}({v}))"
        return None

    def nested(self, namespace: dict[str, Any], field: fields.Field) -> Callable[[str], str] | None:
        try:
            schema = field.schema  # type: ignore[attr-defined]
        except Exception:
            return None
        dump = self.nested_dumper(schema, bool(schema.many or field.many))  # type: ignore[attr-defined]
        if dump is None:
            return None
        d = self.constant(namespace, dump)
        return lambda v: f"(None if {v} is None else {d}({v}))"

    def function(self, field: fields.Field) -> Callable[[Any], Any] | None:
        """A field's converter as a function of the value."""
        namespace: dict[str, Any] = {}
        convert = self.converter(namespace, field)
        if convert is None:
            return None
        exec(f"def convert(v):\n    return {convert('v')}", namespace)  # noqa: S102
        return namespace["convert"]  # type: ignore[no-any-return]

    def mapping(self, namespace: dict[str, Any], field: fields.Field) -> Dumper | None:
        """``Mapping._serialize`` of a value that is not None."""
        kind = field.mapping_type  # type: ignore[attr-defined]
        key_field = field.key_field  # type: ignore[attr-defined]
        value_field = field.value_field  # type: ignore[attr-defined]
        if key_field is None and value_field is None:
            return kind  # type: ignore[no-any-return]
        keys = None if key_field is None else self.function(key_field)
        values = None if value_field is None else self.function(value_field)
        if (key_field is not None and keys is None) or (value_field is not None and values is None):
            return None

        def dump_mapping(value: Any) -> Any:
            names = {k: k for k in value} if keys is None else {k: keys(k) for k in value}
            result = kind()
            if values is None:
                for k, v in value.items():
                    if k in names:
                        result[names[k]] = v
            else:
                for k, v in value.items():
                    result[names[k]] = values(v)
            return result

        return dump_mapping
