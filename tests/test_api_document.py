"""The OpenAPI document as code generators read it: nullable references, operation ids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from filling import enable_all
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate as validate_openapi

from balai.tenancy import TenantInfo

SCHEMAS = "#/components/schemas/"


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
