"""The OpenAPI document: built once per app, filtered per set of enabled plugins.

It is written at the first request for it, not at start-up: documenting the API
blueprints (their schemas deep-copied and resolved) was a sixth of ``create_app``,
which every worker paid whether or not anyone asked for the document.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow import resolver as default_resolver
from apispec.ext.marshmallow.field_converter import FieldConverterMixin
from flask import Blueprint, Flask, current_app, g, jsonify
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint
from flask_smorest.spec.plugins import FlaskPlugin
from marshmallow import Schema, fields

from balai.api.core import PREFIX
from balai.api.errors import ErrorSchema
from balai.permissions import checks_own_credentials, public, route_access

log = logging.getLogger(__name__)

COMPONENT_REF = "#/components/"
# What apispec puts beside a nullable reference in OpenAPI 3.0 (see nullable_reference).
_ANY_OBJECT_OR_NULL = {"type": "object", "nullable": True}


class BalaiApi(Api):
    """flask-smorest's Api with Balai's error shape and no error handlers of its own."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """Errors are rendered by ``balai.web`` for pages and API alike."""


class BalaiMarshmallowPlugin(MarshmallowPlugin):
    """apispec's marshmallow plugin, writing nullable nested schemas as generators expect."""

    def init_spec(self, spec: APISpec) -> None:
        super().init_spec(spec)
        self.converter.add_attribute_function(nullable_reference)  # type: ignore[union-attr]


def nullable_reference(
    self: FieldConverterMixin, field: fields.Field, ret: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    """``Nested(..., allow_none=True)`` as ``allOf: [{$ref}]`` with ``nullable: true``.

    For OpenAPI 3.0 apispec writes ``anyOf: [{type: object, nullable: true}, {$ref}]``:
    "any object, or this schema", which code generators turn into an untyped object.
    ``nullable`` beside ``allOf`` keeps the schema and allows ``null``. It runs after
    apispec's own attribute functions and rewrites what they left in ``ret``.
    """
    version = self.openapi_version
    options = ret.get("anyOf")
    if not field.allow_none or (version.major, version.minor) != (3, 0):
        return {}
    if not isinstance(options, list) or _ANY_OBJECT_OR_NULL not in options:
        return {}
    del ret["anyOf"]
    return {"allOf": [o for o in options if o != _ANY_OBJECT_OR_NULL], "nullable": True}


class _ApiState:
    """What ``init_app`` learnt, kept in ``app.extensions["balai.api"]``."""

    def __init__(self, api: Api, names: _SchemaNames) -> None:
        self.api = api
        self.names = names
        self.blueprints: set[str] = set()
        self.tags: dict[str, set[str]] = {}  # plugin -> its blueprint (tag) names
        self.path_owner: dict[str, str] = {}  # OpenAPI path -> plugin
        self.undocumented: list[tuple[str | None, ApiBlueprint]] = []  # (plugin, blueprint)
        self.left_out: list[tuple[str | None, str, str]] = []  # (plugin, blueprint, error)
        self.cache: dict[frozenset[str], dict[str, Any]] = {}
        self._base: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def mount(self, blueprint: ApiBlueprint, plugin: str | None = None, **options: Any) -> None:
        """Register ``blueprint``'s routes now; document them when the document is first read.

        What flask-smorest's ``Api.register_blueprint`` does, in two halves.
        """
        app = self.api._app
        app.extensions["flask-smorest"]["blp_name_to_api"][blueprint.name] = self.api
        app.register_blueprint(blueprint, **options)
        self.undocumented.append((plugin, blueprint))

    def base(self, app: Flask) -> dict[str, Any]:
        """The whole document (every plugin's paths), written once per app."""
        with self._lock:
            if self._base is None:
                self._document_blueprints(app)
                self._base = _base_document(app, self)
            return self._base

    def _document_blueprints(self, app: Flask) -> None:
        """Document each blueprint whole or not at all.

        A blueprint whose documentation fails (a parameter or schema apispec refuses) is
        left out, and the spec is put back as it was before it: no path of it and no
        schema reference to nothing stays behind. ``left_out`` says which and why.
        """
        spec = self.api.spec
        while self.undocumented:
            plugin, blueprint = self.undocumented[0]
            before = _SpecState(spec, self.api.ma_plugin.converter.refs)
            self.names.plugin = plugin
            try:
                blueprint.register_views_in_doc(
                    self.api, app, spec, name=blueprint.name, parameters=None
                )
            except Exception as exc:  # one plugin's bad schema must not take the document down
                before.restore()
                self.left_out.append((plugin, blueprint.name, f"{type(exc).__name__}: {exc}"))
                log.exception(
                    "plugin %s: API blueprint %s left out of the document", plugin, blueprint.name
                )
            except BaseException:  # interrupted: as if never begun, tried again next time
                before.restore()
                raise
            else:
                spec.tag({"name": blueprint.name, "description": blueprint.description})
            finally:
                self.names.plugin = None
            self.undocumented.pop(0)


class _SpecState:
    """What documenting a blueprint changes in an apispec ``APISpec``, to put back."""

    def __init__(self, spec: APISpec, refs: dict[Any, str]) -> None:
        components = spec.components
        self._dicts = [
            *components._subsections.values(),
            *components._subsections_lazy.values(),
            refs,  # the schemas the marshmallow plugin believes are registered
        ]
        self._saved = [dict(d) for d in self._dicts]
        # apispec adds a blueprint's operations to a path another blueprint began
        self._paths = spec._paths
        self._saved_paths = {path: dict(item) for path, item in spec._paths.items()}
        self._tags, self._saved_tags = spec._tags, list(spec._tags)

    def restore(self) -> None:
        for target, saved in zip(self._dicts, self._saved, strict=True):
            target.clear()
            target.update(saved)
        self._paths.clear()
        self._paths.update({path: dict(item) for path, item in self._saved_paths.items()})
        self._tags[:] = self._saved_tags


def spec_for(enabled: frozenset[str]) -> dict[str, Any]:
    """The OpenAPI document without the paths, tags and schemas of disabled plugins.

    Cached per set of enabled plugins: the document holds nothing else per tenant.
    """
    state: _ApiState = current_app.extensions["balai.api"]
    key = frozenset(enabled) & frozenset(state.tags)
    cached = state.cache.get(key)
    if cached is None:
        cached = state.cache[key] = _without(state, set(state.tags) - key)
    return cached


def _without(state: _ApiState, hidden: set[str]) -> dict[str, Any]:
    doc = copy.deepcopy(state.base(current_app))
    doc["paths"] = {p: v for p, v in doc["paths"].items() if state.path_owner.get(p) not in hidden}
    hidden_tags = {tag for name in hidden for tag in state.tags[name]}
    doc["tags"] = [t for t in doc.get("tags", []) if t["name"] not in hidden_tags]
    used = _used_components(doc)
    components = doc["components"]
    for section in list(components):
        if section == "securitySchemes":  # named by `security`, not by references
            continue
        kept = {k: v for k, v in components[section].items() if (section, k) in used}
        if kept:
            components[section] = kept
        else:
            del components[section]
    return doc


def _used_components(doc: dict[str, Any]) -> set[tuple[str, str]]:
    """The components (section, name) reachable from the paths: schemas, responses,
    parameters, headers... a plugin's own as much as the core's."""
    components = doc["components"]
    todo, used = list(_refs(doc["paths"])), set()
    while todo:
        key = todo.pop()
        if key not in used:
            used.add(key)
            section, name = key
            todo.extend(_refs(components.get(section, {}).get(name)))
    return used


def dangling_references(doc: dict[str, Any]) -> list[str]:
    """The ``$ref``s in ``doc`` to components it does not hold (a misspelt schema name)."""
    components = doc.get("components", {})
    return sorted(
        {
            f"{COMPONENT_REF}{section}/{name}"
            for section, name in _refs([doc.get("paths"), components])
            if name not in components.get(section, {})
        }
    )


def _refs(node: Any) -> Iterator[tuple[str, str]]:
    """The components ``(section, name)`` that ``$ref``s anywhere under ``node`` name."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(COMPONENT_REF):
            section, _slash, name = ref.removeprefix(COMPONENT_REF).partition("/")
            yield section, name
        node = list(node.values())
    if isinstance(node, list):
        for value in node:
            yield from _refs(value)


class _SchemaNames:
    """Schema names for the spec; a plugin's schemas get its name as a prefix."""

    def __init__(self) -> None:
        self.plugin: str | None = None

    def __call__(self, schema: type[Schema]) -> str:
        name = default_resolver(schema)
        return f"{self.plugin}.{name}" if self.plugin else name


def _base_document(app: Flask, state: _ApiState) -> dict[str, Any]:
    """The full document, with operation ids and ``security: []`` on public operations."""
    doc = state.api.spec.to_dict()
    _document_page_size_limit(doc, app.config["API_MAX_PAGE_SIZE"])
    operations: list[tuple[str, str, dict[str, Any]]] = []  # (endpoint, method, operation)
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in state.blueprints:
            continue
        path = doc["paths"].get(FlaskPlugin.flaskpath2openapi(rule.rule), {})
        for method in sorted(rule.methods or ()):
            if method.lower() not in path:
                continue
            operation = path[method.lower()]
            operations.append((rule.endpoint, method.lower(), operation))
            access = route_access(app, rule.endpoint, method)
            if checks_own_credentials(app, rule.endpoint, method):
                operation["security"] = [{"bearer": []}]  # the plugin's own token
            elif access and access[0] == "public":
                operation["security"] = []
    _name_operations(operations, state)
    return doc


def _name_operations(operations: list[tuple[str, str, dict[str, Any]]], state: _ApiState) -> None:
    """Give every operation a readable ``operationId``, unique in the document.

    ``<plugin>_<view function>`` (``pengaduan_list_complaints``), ``core_<view
    function>`` for the core's; ``_<method>`` is added when one view serves several
    methods (a ``MethodView``), a number when a name is still taken. An id the view
    set itself (``@blp.doc(operationId=...)``) is kept when it is free. Generators
    turn the id into a function name: underscores, never dots.
    """
    owner = {blp: plugin for plugin, names in state.tags.items() for blp in names}
    methods = Counter(endpoint for endpoint, _method, _operation in operations)
    taken: set[str] = set()
    unnamed = []
    for endpoint, method, operation in operations:
        given = operation.get("operationId")
        if not isinstance(given, str) or not given:
            if given is not None:
                log.error(
                    "%s %s: operationId %r is not a name; one is made", method, endpoint, given
                )
            unnamed.append((endpoint, method, operation))
        elif given in taken:
            log.error("%s %s: operationId %r is taken; a new one is made", method, endpoint, given)
            unnamed.append((endpoint, method, operation))
        else:
            taken.add(given)
    for endpoint, method, operation in unnamed:
        blueprint, _sep, view = endpoint.partition(".")
        name = _identifier(f"{owner.get(blueprint, 'core')}_{_snake(view.rpartition('.')[2])}")
        if methods[endpoint] > 1:
            name = f"{name}_{method}"
        candidate, number = name, 1
        while candidate in taken:
            number += 1
            candidate = f"{name}_{number}"
        operation["operationId"] = candidate
        taken.add(candidate)


def _snake(name: str) -> str:
    """``ComplaintList`` -> ``complaint_list``; ``list_complaints`` stays as it is."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _identifier(name: str) -> str:
    """Letters, digits and underscores only."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")


def _document_page_size_limit(doc: dict[str, Any], limit: int) -> None:
    """Every ``per_page`` query parameter is at most the server's ``API_MAX_PAGE_SIZE``."""
    operations = (op for path in doc["paths"].values() for op in path.values())
    for operation in operations:
        for parameter in operation.get("parameters", []) if isinstance(operation, dict) else ():
            schema = parameter.get("schema")  # absent for a `$ref` or a `content` parameter
            query = parameter.get("in") == "query" and parameter.get("name") == "per_page"
            if query and isinstance(schema, dict):
                schema["maximum"] = limit


# The document is not part of itself: a plain blueprint, outside the spec.
document = Blueprint("balai_api_document", __name__, url_prefix=PREFIX)


@document.route("/openapi.json")
@public
def openapi() -> Any:
    """The OpenAPI 3 document for this tenant: core plus its enabled plugins."""
    doc = spec_for(g.tenant.plugins)
    return jsonify({**doc, "servers": [{"url": "/", "description": g.tenant.name}]})
