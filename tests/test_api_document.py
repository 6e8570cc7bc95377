"""The OpenAPI document as code generators read it: nullable references, operation ids."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from filling import enable_all
from flask import Flask
from flask.testing import FlaskClient
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from openapi_spec_validator import validate as validate_openapi

import balai
from balai.api.openapi import dangling_references
from balai.permissions import public
from balai.plugins import plugins
from balai.proof.plugin import api_document_problems
from balai.tenancy import TenantInfo

SCHEMAS = "#/components/schemas/"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def walk(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object in the document, with its JSON path."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{where}/{index}")


def full_document(app: Flask, client: FlaskClient, tenant: TenantInfo) -> dict[str, Any]:
    """The document of ``tenant`` with every installed plugin switched on."""
    enable_all(app, tenant)
    document = client.get("/api/v1/openapi.json").json
    validate_openapi(document)
    return document


# -- nullable nested schemas ----------------------------------------------------------


def test_nullable_references_keep_their_schema(
    app: Flask, client: FlaskClient, tenant: TenantInfo
) -> None:
    document = full_document(app, client, tenant)
    assert document["openapi"].startswith("3.0.")
    schemas = document["components"]["schemas"]
    for schema, field, target in [
        ("pengaduan.Complaint", "area", "pengaduan.Named"),
        ("pengaduan.Complaint", "department", "pengaduan.Named"),
        ("pengaduan.ComplaintDetail", "reporter", "pengaduan.Reporter"),
        ("pengumuman.Announcement", "department", "pengumuman.Department"),
    ]:
        assert schemas[schema]["properties"][field] == {
            "allOf": [{"$ref": SCHEMAS + target}],
            "nullable": True,
        }, f"{schema}.{field}"


def test_no_schema_is_any_object_or_null(
    app: Flask, client: FlaskClient, tenant: TenantInfo
) -> None:
    """The form apispec writes by itself, which generators turn into an untyped object."""
    document = full_document(app, client, tenant)
    loose = [
        where
        for where, node in walk(document)
        if {"type": "object", "nullable": True} in node.get("anyOf", [])
    ]
    assert loose == []


# -- operation ids --------------------------------------------------------------------

OPERATION_ID = re.compile(r"[a-z][a-z0-9_]*")


def operation_ids(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    """``(method, path) -> operationId`` of every operation; fails on one without."""
    found = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                assert "operationId" in operation, f"{method} {path} has no operationId"
                found[(method, path)] = operation["operationId"]
    return found


def test_every_operation_has_a_readable_unique_id(
    app: Flask,
    client: FlaskClient,
    other_client: FlaskClient,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    enable_plugin: Any,
) -> None:
    """Every region's document, each with its own plugins: ids are unique and stable."""
    full = operation_ids(full_document(app, client, tenant))
    core = operation_ids(other_client.get("/api/v1/openapi.json").json)
    for name in sorted(full_document_plugins(app))[:-1]:  # a region with fewer plugins
        enable_plugin(name, other_tenant)
    fewer = operation_ids(other_client.get("/api/v1/openapi.json").json)
    for document in (full, core, fewer):
        ids = list(document.values())
        assert len(ids) == len(set(ids)), sorted(ids)
        assert all(OPERATION_ID.fullmatch(i) for i in ids), sorted(ids)
    assert core.items() <= fewer.items() <= full.items()  # the same operation, the same id
    assert len(core) < len(fewer) < len(full)
    assert full[("get", "/api/v1/me")] == "core_get_me"
    assert full[("get", "/api/v1/plugins")] == "core_list_plugins"
    assert full[("get", "/api/v1/pengaduan/complaints")] == "pengaduan_list_complaints"
    assert full[("get", "/api/v1/pengaduan/complaints/{complaint_id}")] == "pengaduan_get_complaint"
    assert full[("post", "/api/v1/pengumuman/")] == "pengumuman_create_announcement"
    assert full[("post", "/api/v1/puskesmas/tickets")] == "puskesmas_take_ticket"


def full_document_plugins(app: Flask) -> list[str]:
    return [p.name for p in plugins(app).working()]


class ItemSchema(Schema):
    name = fields.String()


class Ganda:
    """Names that meet: two blueprints with one view name, a MethodView, an id of its own."""

    name = "ganda"

    @balai.hookimpl
    def register_api(app: Flask) -> list[Blueprint]:
        first, second = Blueprint("ganda_one", __name__), Blueprint("ganda_two", __name__)

        @first.route("/one")
        @first.response(200, ItemSchema(many=True))
        @public
        def items() -> list[Any]:
            return []

        @second.route("/two")
        @second.response(200, ItemSchema(many=True))
        @public
        def items() -> list[Any]:  # noqa: F811  (another blueprint, the same view name)
            return []

        @second.route("/named")
        @second.doc(operationId="ganda_items")  # its own id comes first: items get others
        @second.response(200, ItemSchema(many=True))
        @public
        def named() -> list[Any]:
            return []

        @second.route("/chosen")
        @second.doc(operationId="ganda_chosen_by_hand")
        @second.response(200, ItemSchema(many=True))
        @public
        def chosen() -> list[Any]:
            return []

        @second.route("/shelf")
        class ShelfItems(MethodView):
            @second.response(200, ItemSchema(many=True))
            @public
            def get(self) -> list[Any]:
                return []

            @second.arguments(ItemSchema)
            @second.response(201, ItemSchema)
            @public
            def post(self, data: dict[str, Any]) -> dict[str, Any]:
                return data

        return [first, second]


@pytest.mark.balai_plugins.with_args(Ganda)
def test_names_that_meet_are_told_apart(client: FlaskClient, enable_plugin: Any) -> None:
    enable_plugin("ganda")
    document = client.get("/api/v1/openapi.json").json
    validate_openapi(document)
    ids = operation_ids(document)
    assert {key: value for key, value in ids.items() if "/ganda/" in key[1]} == {
        ("get", "/api/v1/ganda/one"): "ganda_items_2",
        ("get", "/api/v1/ganda/two"): "ganda_items_3",
        ("get", "/api/v1/ganda/named"): "ganda_items",
        ("get", "/api/v1/ganda/chosen"): "ganda_chosen_by_hand",
        ("get", "/api/v1/ganda/shelf"): "ganda_shelf_items_get",
        ("post", "/api/v1/ganda/shelf"): "ganda_shelf_items_post",
    }


class OuterSchema(Schema):
    name = fields.String()
    inner = fields.Nested("NoSuchSchema")  # a misspelt schema name: apispec cannot resolve it


class Rusak:
    """One blueprint documents; two cannot (an unresolvable schema after a good route, and
    the same schema again), one documents ``per_page`` with ``content``, not ``schema``."""

    name = "rusak"

    @balai.hookimpl
    def register_api(app: Flask) -> list[Blueprint]:
        good, bad = Blueprint("rusak_good", __name__), Blueprint("rusak_bad", __name__)
        again = Blueprint("rusak_again", __name__)

        @good.route("/good")
        @good.doc(
            parameters=[
                {
                    "in": "query",
                    "name": "per_page",
                    "content": {"application/json": {"schema": {"type": "integer"}}},
                }
            ]
        )
        @good.response(200, ItemSchema(many=True))
        @public
        def good_items() -> list[Any]:
            return [{"name": "baik"}]

        @bad.route("/first")
        @bad.response(200, ItemSchema(many=True))
        @public
        def first_items() -> list[Any]:
            return [{"name": "pertama"}]

        @bad.route("/bad")
        @bad.response(200, OuterSchema(many=True))
        @public
        def bad_items() -> list[Any]:
            return [{"name": "rusak"}]

        @again.route("/again")
        @again.response(200, OuterSchema(many=True))
        @public
        def again_items() -> list[Any]:
            return [{"name": "lagi"}]

        return [good, bad, again]


@pytest.mark.balai_plugins.with_args(Rusak)
def test_a_blueprint_that_cannot_be_documented_is_left_out_whole(
    app: Flask, client: FlaskClient, enable_plugin: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The app starts, the routes answer, the document is valid and leaves out exactly the
    blueprints it cannot write: none of their paths, no reference to a missing schema."""
    enable_plugin("rusak")
    assert client.get("/api/v1/rusak/bad").json == [{"name": "rusak"}]
    document = client.get("/api/v1/openapi.json").json
    validate_openapi(document)
    paths = {p for p in document["paths"] if p.startswith("/api/v1/rusak/")}
    assert paths == {"/api/v1/rusak/good"}
    assert "/api/v1/me" in document["paths"]
    tags = {tag["name"] for tag in document["tags"]}
    assert "rusak_good" in tags and not tags & {"rusak_bad", "rusak_again"}
    assert not [name for name in document["components"]["schemas"] if "Outer" in name]
    assert "rusak_bad left out of the document" in caplog.text
    assert "rusak_again left out of the document" in caplog.text
    assert client.get("/api/v1/openapi.json").json == document  # written once
    assert [(p, b) for p, b, _error in app.extensions["balai.api"].left_out] == [
        ("rusak", "rusak_bad"),
        ("rusak", "rusak_again"),
    ]
    assert api_document_problems(app, "rusak") == [
        f"API blueprint {blueprint} cannot be documented: {error}"
        for _plugin, blueprint, error in app.extensions["balai.api"].left_out
    ]
    assert api_document_problems(app, "pengumuman") == []


@pytest.mark.balai_plugins.with_args(Rusak)
def test_the_document_commands_refuse_a_document_that_leaves_something_out(
    run_command: Any,
) -> None:
    printed = run_command("openapi", "print")
    assert printed.exit_code == 1
    assert "plugin rusak, API blueprint rusak_bad" in printed.output
    assert "plugin rusak, API blueprint rusak_again" in printed.output
    assert '"paths"' not in printed.output


class Interrupted(BaseException):
    """What a worker's timeout raises inside whatever code it interrupts."""


def test_a_first_writing_interrupted_is_done_again_whole(
    app: Flask, client: FlaskClient, tenant: TenantInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    original, calls = Blueprint.register_views_in_doc, []

    def interrupted_once(self: Blueprint, *args: Any, **kwargs: Any) -> None:
        calls.append(self.name)
        original(self, *args, **kwargs)
        if len(calls) == 2:
            raise Interrupted

    monkeypatch.setattr(Blueprint, "register_views_in_doc", interrupted_once)
    enable_all(app, tenant)
    with pytest.raises(Interrupted):
        client.get("/api/v1/openapi.json")
    document = client.get("/api/v1/openapi.json").json
    validate_openapi(document)
    tags = [tag["name"] for tag in document["tags"]]
    assert sorted(tags) == sorted(set(calls)) == sorted(app.extensions["balai.api"].blueprints)
    assert len(calls) == len(set(calls)) + 1  # only the interrupted blueprint written twice
    assert calls.count(calls[1]) == 2


def test_the_printed_document_is_the_served_one_with_every_plugin(
    app: Flask, client: FlaskClient, tenant: TenantInfo, run_command: Any
) -> None:
    """``balai openapi print`` writes the blueprints' documentation too, ids included."""
    printed = run_command("openapi", "print")  # before any request wrote the document
    assert printed.exit_code == 0, printed.output
    served = full_document(app, client, tenant)
    del served["servers"]
    assert json.loads(printed.output) == served
    assert served["paths"]["/api/v1/me"]["get"]["operationId"] == "core_get_me"
    as_yaml = run_command("openapi", "print", "--format", "yaml")
    assert yaml.safe_load(as_yaml.output) == served
    assert run_command("openapi", "print", "--format", "xml").exit_code == 2


class NewItemSchema(Schema):
    name = fields.String(required=True)


REPEATED = {"in": "query", "name": "x", "schema": {"type": "string"}}


class Bagi:
    """Two blueprints on one path: the second adds an operation to the first's path,
    then fails on a later route (a repeated parameter)."""

    name = "bagi"

    @balai.hookimpl
    def register_api(app: Flask) -> list[Blueprint]:
        read, write = Blueprint("bagi_read", __name__), Blueprint("bagi_write", __name__)

        @read.route("/items", methods=["GET"])
        @read.response(200, ItemSchema(many=True))
        @public
        def list_items() -> list[Any]:
            return []

        @write.route("/items", methods=["POST"], endpoint="add")
        @write.arguments(NewItemSchema)
        @write.response(201, ItemSchema)
        @public
        def add_item(data: dict[str, Any]) -> dict[str, Any]:
            return data

        @write.route("/broken")
        @write.doc(parameters=[REPEATED, REPEATED])
        @write.response(200, ItemSchema(many=True))
        @public
        def broken() -> list[Any]:
            return []

        return [read, write]


@pytest.mark.balai_plugins.with_args(Bagi)
def test_a_blueprint_left_out_takes_its_operations_off_a_path_it_shares(
    app: Flask, client: FlaskClient, enable_plugin: Any
) -> None:
    enable_plugin("bagi")
    document = client.get("/api/v1/openapi.json").json
    validate_openapi(document)
    assert list(document["paths"]["/api/v1/bagi/items"]) == ["get"]
    assert "/api/v1/bagi/broken" not in document["paths"]
    assert not [name for name in document["components"]["schemas"] if "NewItem" in name]
    assert dangling_references(document) == []
    assert [b for _p, b, _e in app.extensions["balai.api"].left_out] == ["bagi_write"]


class Sendiri:
    """A plugin's own named components (a response, a parameter, an example), an
    operationId that is not a name, and a response naming a schema that does not exist."""

    name = "sendiri"

    @balai.hookimpl
    def register_api(app: Flask) -> Blueprint:
        spec = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec
        spec.components.response("sendiri_NotFound", {"description": "none"}, lazy=True)
        spec.components.parameter(
            "sendiri_Rid", "query", {"schema": {"type": "integer"}}, lazy=True
        )
        own = Blueprint("sendiri_api", __name__)

        @own.route("/records")
        @own.alt_response(404, response="sendiri_NotFound")
        @own.doc(parameters=["sendiri_Rid"], operationId=["not", "a", "name"])
        @own.response(200, ItemSchema(many=True))
        @public
        def records() -> list[Any]:
            return []

        @own.route("/misspelt")
        @own.doc(
            responses={
                "200": {
                    "description": "ok",
                    "content": {"application/json": {"schema": "NoSuchSchema"}},
                }
            }
        )
        @public
        def misspelt() -> list[Any]:
            return []

        return own


@pytest.mark.balai_plugins.with_args(Sendiri)
def test_a_plugins_own_components_stay_in_the_documents_of_its_regions(
    app: Flask,
    client: FlaskClient,
    other_client: FlaskClient,
    enable_plugin: Any,
    run_command: Any,
) -> None:
    enable_plugin("sendiri")
    mine = client.get("/api/v1/openapi.json").json
    others = other_client.get("/api/v1/openapi.json").json  # a region without the plugin
    assert "sendiri_NotFound" in mine["components"]["responses"]
    assert "sendiri_Rid" in mine["components"]["parameters"]
    assert mine["paths"]["/api/v1/sendiri/records"]["get"]["operationId"] == "sendiri_records"
    assert "sendiri" not in json.dumps(others)
    assert dangling_references(mine) == ["#/components/schemas/NoSuchSchema"]
    with app.app_context():
        assert api_document_problems(app, "sendiri") == [
            "the document names #/components/schemas/NoSuchSchema, which it does not hold"
        ]
    printed = run_command("openapi", "print")
    assert printed.exit_code == 1
    assert "#/components/schemas/NoSuchSchema" in printed.output
