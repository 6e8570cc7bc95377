"""API lists sort and filter only by allow-listed fields.

Every GET operation of a region's OpenAPI document that takes query parameters (the
region has every plugin on and its demo data) is asked to sort or filter by what it
does not allow: a column it must not expose (``password_hash``, ``tenant_id``,
``nik_hash``), an injection attempt, an unknown name, as the value of ``sort`` or of
an enumerated filter and as a parameter name of its own. Each must be refused with a
422 whose ``fields`` name the parameter. Every allow-listed value must work: 200, and
for ``sort`` the page really is in that order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from filling import enable_all, fill
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import EXCLUDE
from sqlalchemy import select

from balai.api import ApiBlueprint
from balai.db import db
from balai.tenancy import TenantInfo

PART = "API lists"
NOT_ALLOWED = ["password_hash", "tenant_id", "nik_hash", "-id;drop", "unknown", "id", "-tenant_id"]
# Valid values for the query parameters that are neither enumerated nor free of rules.
SAMPLES = {"integer": 1, "boolean": "true", "date": "2025-01-01"}
DATE_TIME = "2025-01-01T00:00:00+00:00"


@dataclass
class Tally:
    endpoints: int = 0
    refusals: int = 0
    accepted: int = 0
    problems: list[str] = field(default_factory=list)


def test_sort_and_filter_accept_only_allow_listed_fields(
    app: Flask,
    tenant: TenantInfo,
    client: FlaskClient,
    login: Callable[..., Any],
    figures: Any,
) -> None:
    tenant = enable_all(app, tenant)
    fill(app, tenant)
    admin = login(client, role="admin")
    paths = known_paths(admin.id, tenant)
    samples = {**SAMPLES, "category": category_code(tenant)}

    tally = Tally()
    for path, parameters in list_operations(client.get("/api/v1/openapi.json").json, paths):
        tally.endpoints += 1
        check_operation(client, path, parameters, samples, tally)

    figures.record(PART, "list endpoints checked", tally.endpoints)
    figures.record(PART, "not-allowed sorts and filters refused", tally.refusals)
    figures.record(PART, "allow-listed values working", tally.accepted)
    figures.record(PART, "problems", len(tally.problems))
    assert tally.problems == [], "\n".join(tally.problems)
    assert tally.endpoints >= 4


def test_the_check_goes_red_when_unknown_parameters_are_ignored(
    app: Flask,
    tenant: TenantInfo,
    client: FlaskClient,
    enable_plugin: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    enable_plugin("pengumuman")
    parameters = [{"name": "status", "in": "query", "schema": {"enum": ["active", "archived"]}}]
    parser = ApiBlueprint.ARGUMENTS_PARSER
    monkeypatch.setitem(parser.DEFAULT_UNKNOWN_BY_LOCATION, "query", EXCLUDE)
    tally = Tally()
    check_operation(client, "/api/v1/pengumuman/", parameters, {}, tally)
    assert any("?tenant_id=" in problem for problem in tally.problems)


def list_operations(doc: dict[str, Any], paths: dict[str, Any]) -> Iterator[tuple[str, list]]:
    """``(path, query parameters)`` of each GET operation that has query parameters."""
    for template, item in doc["paths"].items():
        operation = item.get("get", {})
        if operation.get("security") == [{"bearer": []}]:
            continue  # a plugin's own credentials (a registry partner's token), not a user's
        query = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        if query:
            yield template.format(**paths), query


def check_operation(
    client: FlaskClient,
    path: str,
    parameters: list[dict[str, Any]],
    samples: dict[str, Any],
    tally: Tally,
) -> None:
    for parameter in parameters:
        name, allowed = parameter["name"], allowed_values(parameter, samples)
        for value in allowed:
            check_accepted(client, path, name, value, tally)
        if enumerated(parameter):
            for value in NOT_ALLOWED:
                check_refused(client, path, {name: value}, name, tally)
    for name in NOT_ALLOWED:
        check_refused(client, path, {name: "1"}, name, tally)


def check_accepted(client: FlaskClient, path: str, name: str, value: Any, tally: Tally) -> None:
    response = client.get(f"{path}?{urlencode({name: value})}")
    if response.status_code != 200:
        tally.problems.append(f"{path}?{name}={value}: {response.status_code} {response.text}")
        return
    if name == "sort" and not in_order(response.json["items"], value):
        tally.problems.append(f"{path}?sort={value}: the page is not in that order")
        return
    tally.accepted += 1


def check_refused(
    client: FlaskClient, path: str, query: dict[str, str], name: str, tally: Tally
) -> None:
    response = client.get(f"{path}?{urlencode(query)}")
    body = response.json or {}
    named = name in body.get("error", {}).get("fields", {})
    if response.status_code not in (400, 422) or not named:
        tally.problems.append(f"{path}?{urlencode(query)}: {response.status_code}, not refused")
        return
    tally.refusals += 1


def allowed_values(parameter: dict[str, Any], samples: dict[str, Any]) -> list[Any]:
    schema = parameter["schema"]
    if enumerated(parameter):
        return [v for v in schema.get("enum") or schema["items"]["enum"] if v is not None]
    if schema.get("format") == "date-time":
        return [DATE_TIME]
    if parameter["name"] in ("page", "per_page"):
        return [1]
    return [samples.get(parameter["name"], samples.get(schema.get("format") or schema["type"]))]


def enumerated(parameter: dict[str, Any]) -> bool:
    schema = parameter["schema"]
    return "enum" in schema or "enum" in schema.get("items", {})


def in_order(items: list[dict[str, Any]], sort: str) -> bool:
    values = [item[sort.removeprefix("-")] for item in items]
    return values == sorted(values, reverse=sort.startswith("-"))


def known_paths(user_id: int, tenant: TenantInfo) -> dict[str, Any]:
    """Real values for the path parameters of list endpoints (a desk duty for the queue)."""
    from balai_puskesmas.models import Clinic, Staff

    with db.tenant_session(tenant.id) as session:
        clinic = session.scalars(select(Clinic).order_by(Clinic.id)).first()
        session.add(Staff(user_id=user_id, facility_id=clinic.facility_id, duty="registration"))
        return {"clinic_id": clinic.id}


def category_code(tenant: TenantInfo) -> str:
    from balai_pengaduan.models import Category

    with db.tenant_session(tenant.id) as session:
        return session.scalars(select(Category.code).order_by(Category.id)).first()
