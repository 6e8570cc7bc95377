"""The JSON API: error shape, OpenAPI document, plugin endpoints, tokens and CSRF."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from openapi_spec_validator import validate as validate_openapi
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests

import balai
from balai.api import PageArgs, page_of, paginate, sort_field, sorted_by
from balai.auth import ApiToken
from balai.auth.accounts import create_user
from balai.auth.models import Department, hash_token
from balai.db import db, utcnow
from balai.permissions import Permission, own_credentials, public, require
from balai.tenancy import TenantInfo
from balai.testing import PASSWORD

SORTS = {"code": Department.code, "name": Department.name}


class DepartmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Length(min=1, max=30))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class DepartmentQuery(PageArgs):
    sort = sort_field(SORTS, default="code")


class Contoh:
    """A small plugin with a JSON API: the region's departments."""

    name = "contoh"
    manifest = balai.Manifest(title="Contoh")

    @balai.hookimpl
    def register_permissions() -> list[Permission]:
        return [Permission("contoh.manage_department", "Manage departments", roles=("opd",))]

    @balai.hookimpl
    def register_api(app: Flask) -> Blueprint:
        blp = Blueprint("contoh_api", __name__, description="Departments")

        @blp.route("/departments")
        @blp.arguments(DepartmentQuery, location="query")
        @blp.response(200, page_of(DepartmentSchema))
        @public
        def departments(query: dict[str, Any]) -> Any:
            stmt = sorted_by(select(Department), query["sort"], SORTS)
            return paginate(stmt, query["page"], query["per_page"])

        @blp.route("/departments", methods=["POST"])
        @blp.arguments(DepartmentSchema)
        @blp.response(201, DepartmentSchema)
        @require("contoh.manage_department")
        def add_department(data: dict[str, Any]) -> Department:
            taken = select(Department.id).where(Department.code == data["code"])
            if db.session.scalar(taken) is not None:
                abort(409, message="This code is already in use")
            department = Department(**data)
            db.session.add(department)
            db.session.commit()
            return department

        @blp.route("/suggestions", methods=["POST"])
        @public
        @blp.arguments(DepartmentSchema)
        @blp.response(201, DepartmentSchema)
        def suggest_department(data: dict[str, Any]) -> Department:
            department = Department(**data)
            db.session.add(department)
            db.session.commit()
            return department

        @blp.route("/partner", methods=["POST"])
        @own_credentials
        def partner_ping() -> Any:
            """Answers only a partner presenting the plugin's own token."""
            if request.headers.get("Authorization") != f"Bearer {PARTNER_TOKEN}":
                abort(401, message="Not a partner of this region")
            return {"partner": True}

        @blp.route("/busy")
        @public
        def busy() -> Any:
            raise TooManyRequests(retry_after=30)

        @blp.route("/broken")
        @public
        def broken() -> Any:
            raise RuntimeError("boom")

        return blp


with_contoh = pytest.mark.balai_plugins.with_args(Contoh)
PARTNER_TOKEN = "contoh-partner-1"


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """``response`` is a JSON error of ``status`` with ``code``; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code
    assert error["message"]
    return error


def add_departments(tenant: TenantInfo, *codes: str) -> None:
    with db.tenant_session(tenant.id) as session:
        session.add_all(Department(code=code, name=f"Dinas {code}") for code in codes)


def make_token(tenant: TenantInfo, role: str = "opd", revoked: bool = False) -> str:
    """A user of ``tenant`` with an API token; returns the token."""
    secret = f"balai_test_{role}_{tenant.slug}_{revoked}"
    with db.all_tenants() as session:
        user = create_user(
            session,
            tenant_id=tenant.id,
            email=f"{role}-{revoked}@example.test",
            name=role,
            role=role,
            password=PASSWORD,
        )
        session.flush()
        session.add(
            ApiToken(
                user_id=user.id,
                tenant_id=tenant.id,
                name="test",
                token_hash=hash_token(secret),
                prefix=secret[:8],
                revoked_at=utcnow() if revoked else None,
            )
        )
    return secret


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- the OpenAPI document ---------------------------------------------------------


def test_document_is_valid_openapi(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").json
    validate_openapi(doc)
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["servers"] == [{"url": "/", "description": "Kota A"}]


def test_document_declares_errors_and_security(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").json
    components = doc["components"]
    error = components["responses"]["DEFAULT_ERROR"]["content"]["application/json"]
    assert error["schema"] == {"$ref": "#/components/schemas/Error"}
    assert set(components["schemas"]["ErrorDetail"]["properties"]) == {"code", "message", "fields"}
    assert components["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Personal API token",
    }
    assert {"bearer": []} in doc["security"]
    assert "security" not in doc["paths"]["/api/v1/me"]["get"]  # the default: logged in
    assert doc["paths"]["/api/v1/plugins"]["get"]["security"] == []  # public


def test_document_holds_only_api_routes(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "/api/v1/openapi.json" not in paths
    assert {"/api/v1/me", "/api/v1/plugins"} <= set(paths)
    assert all(path.startswith("/api/v1/") for path in paths)


@with_contoh
def test_plugin_is_documented_only_where_enabled(
    client: FlaskClient, other_client: FlaskClient, enable_plugin: Any
) -> None:
    before = client.get("/api/v1/openapi.json").json
    assert not any(p.startswith("/api/v1/contoh/") for p in before["paths"])
    assert not any(k.startswith("contoh.") for k in before["components"]["schemas"])
    assert "contoh_api" not in {t["name"] for t in before["tags"]}

    enable_plugin("contoh")
    after = client.get("/api/v1/openapi.json").json
    validate_openapi(after)
    operations = after["paths"]["/api/v1/contoh/departments"]
    assert set(operations) >= {"get", "post"}
    assert {p["name"] for p in operations["get"]["parameters"]} == {"page", "per_page", "sort"}
    assert "contoh.DepartmentPage" in after["components"]["schemas"]
    assert "contoh_api" in {t["name"] for t in after["tags"]}
    assert "422" in operations["post"]["responses"]

    # The other tenant shares the cache key of "nothing enabled" and sees nothing new.
    assert other_client.get("/api/v1/openapi.json").json["paths"] == before["paths"]


@with_contoh
def test_document_follows_plugin_switches(
    app: Flask, client: FlaskClient, tenant: TenantInfo, enable_plugin: Any
) -> None:
    from balai.tenancy import disable_plugin

    enable_plugin("contoh")
    assert "/api/v1/contoh/departments" in client.get("/api/v1/openapi.json").json["paths"]
    disable_plugin(app, tenant, "contoh", by="test")
    assert "/api/v1/contoh/departments" not in client.get("/api/v1/openapi.json").json["paths"]


class Lain:
    """A second plugin whose schema has the same class name as one of Contoh's."""

    name = "lain"

    @balai.hookimpl
    def register_api(app: Flask) -> Blueprint:
        class DepartmentSchema(Schema):
            label = fields.String()

        blp = Blueprint("lain_api", __name__)

        @blp.route("/things")
        @blp.response(200, DepartmentSchema(many=True))
        @public
        def things() -> list[Any]:
            return []

        return blp


@pytest.mark.balai_plugins.with_args(Contoh, Lain)
def test_plugin_schemas_never_collide(client: FlaskClient, enable_plugin: Any) -> None:
    enable_plugin("contoh")
    enable_plugin("lain")
    doc = client.get("/api/v1/openapi.json").json
    validate_openapi(doc)
    assert {"contoh.Department", "lain.Department"} <= set(doc["components"]["schemas"])


# -- plugin endpoints ------------------------------------------------------------------


@with_contoh
def test_disabled_plugin_endpoints_answer_404(client: FlaskClient, login: Any) -> None:
    login(client, role="admin")
    assert_error(client.get("/api/v1/contoh/departments"), 404, "not_found")
    response = client.post("/api/v1/contoh/departments", json={"code": "X", "name": "Y"})
    assert_error(response, 404, "not_found")


@with_contoh
def test_list_is_paginated_sorted_and_tenant_scoped(
    client: FlaskClient, tenant: TenantInfo, other_tenant: TenantInfo, enable_plugin: Any
) -> None:
    enable_plugin("contoh")
    add_departments(tenant, "C", "A", "B")
    add_departments(other_tenant, "Z1", "Z2")
    response = client.get("/api/v1/contoh/departments?per_page=2&sort=-code")
    assert response.status_code == 200, response.json
    body = response.json
    assert [d["code"] for d in body["items"]] == ["C", "B"]
    assert {k: body[k] for k in ("page", "per_page", "total", "pages")} == {
        "page": 1,
        "per_page": 2,
        "total": 3,
        "pages": 2,
    }
    second = client.get("/api/v1/contoh/departments?per_page=2&page=2&sort=code").json
    assert [d["code"] for d in second["items"]] == ["C"]


@with_contoh
@pytest.mark.balai_config(API_PAGE_SIZE=2, API_MAX_PAGE_SIZE=5)
def test_page_size_comes_from_config(
    client: FlaskClient, tenant: TenantInfo, enable_plugin: Any
) -> None:
    enable_plugin("contoh")
    add_departments(tenant, "A", "B", "C")
    assert client.get("/api/v1/contoh/departments").json["per_page"] == 2
    response = client.get("/api/v1/contoh/departments?per_page=6")
    assert "per_page" in assert_error(response, 422, "unprocessable_entity")["fields"]


@with_contoh
@pytest.mark.parametrize(
    ("query", "field"),
    [("sort=password", "sort"), ("page=0", "page"), ("per_page=abc", "per_page")],
)
def test_list_arguments_are_validated(
    client: FlaskClient, enable_plugin: Any, query: str, field: str
) -> None:
    enable_plugin("contoh")
    response = client.get(f"/api/v1/contoh/departments?{query}")
    assert list(assert_error(response, 422, "unprocessable_entity")["fields"]) == [field]


@with_contoh
def test_invalid_body_lists_fields_and_writes_nothing(
    client: FlaskClient, tenant: TenantInfo, login: Any, enable_plugin: Any
) -> None:
    enable_plugin("contoh")
    login(client, role="opd")
    response = client.post("/api/v1/contoh/departments", json={"code": "", "extra": 1})
    error = assert_error(response, 422, "unprocessable_entity")
    assert set(error["fields"]) == {"code", "name", "extra"}
    assert client.get("/api/v1/contoh/departments").json["total"] == 0


@with_contoh
def test_malformed_json_is_a_400(client: FlaskClient, login: Any, enable_plugin: Any) -> None:
    enable_plugin("contoh")
    login(client, role="opd")
    response = client.post(
        "/api/v1/contoh/departments", data="{not json", content_type="application/json"
    )
    assert_error(response, 400, "bad_request")


@with_contoh
def test_valid_write_with_permission(client: FlaskClient, login: Any, enable_plugin: Any) -> None:
    enable_plugin("contoh")
    login(client, role="opd")
    response = client.post("/api/v1/contoh/departments", json={"code": "DINKES", "name": "Dinkes"})
    assert response.status_code == 201, response.json
    assert response.json["code"] == "DINKES"
    again = client.post("/api/v1/contoh/departments", json={"code": "DINKES", "name": "Lagi"})
    assert assert_error(again, 409, "conflict")["message"] == "This code is already in use"


@with_contoh
def test_anonymous_write_is_401_and_missing_permission_403(
    client: FlaskClient, login: Any, enable_plugin: Any
) -> None:
    enable_plugin("contoh")
    payload = {"code": "X", "name": "Y"}
    response = client.post("/api/v1/contoh/departments", json=payload)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    login(client, role="warga")
    assert_error(client.post("/api/v1/contoh/departments", json=payload), 403, "forbidden")


@with_contoh
def test_too_many_requests_keeps_retry_after(client: FlaskClient, enable_plugin: Any) -> None:
    enable_plugin("contoh")
    response = client.get("/api/v1/contoh/busy")
    assert_error(response, 429, "too_many_requests")
    assert response.headers["Retry-After"] == "30"


@with_contoh
@pytest.mark.balai_config(PROPAGATE_EXCEPTIONS=False)
def test_server_error_is_json(client: FlaskClient, enable_plugin: Any) -> None:
    enable_plugin("contoh")
    error = assert_error(client.get("/api/v1/contoh/broken"), 500, "internal_server_error")
    assert "boom" not in error["message"]


# -- core endpoints and routing errors ---------------------------------------------------


def test_unknown_api_path_is_json_404(client: FlaskClient) -> None:
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_json_405(client: FlaskClient) -> None:
    response = client.delete("/api/v1/me")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_me_needs_login_as_json(client: FlaskClient) -> None:
    assert_error(client.get("/api/v1/me"), 401, "unauthorized")


@with_contoh
def test_plugins_lists_the_enabled_ones(client: FlaskClient, enable_plugin: Any) -> None:
    assert client.get("/api/v1/plugins").json == []
    enable_plugin("contoh")
    listed = client.get("/api/v1/plugins").json
    assert [(p["name"], p["title"]) for p in listed] == [("contoh", "Contoh")]
    assert set(listed[0]) == {"name", "title", "version", "summary", "category"}


# -- tokens and CSRF ---------------------------------------------------------------------


def test_bearer_token_authenticates(app: Flask, client: FlaskClient, tenant: TenantInfo) -> None:
    token = make_token(tenant)
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200, response.json
    assert response.json["role"] == "opd"
    assert response.json["csrf_token"] is None
    with db.all_tenants() as session:
        assert session.scalar(select(ApiToken.last_used_at)) is not None
        assert token not in {t.token_hash for t in session.scalars(select(ApiToken))}


def test_revoked_or_unknown_token_is_401(client: FlaskClient, tenant: TenantInfo) -> None:
    revoked = make_token(tenant, revoked=True)
    assert_error(client.get("/api/v1/me", headers=bearer(revoked)), 401, "unauthorized")
    assert_error(client.get("/api/v1/me", headers=bearer("nope")), 401, "unauthorized")


UNVERIFIED = {
    "unknown token": lambda tenant, other: "Bearer balai_unknown",
    "revoked token": lambda tenant, other: f"Bearer {make_token(tenant, revoked=True)}",
    "another region's token": lambda tenant, other: f"Bearer {make_token(other)}",
    "no token": lambda tenant, other: "Bearer ",
    "malformed": lambda tenant, other: "Bearer",
    "another scheme": lambda tenant, other: "Basic b3BkOnNlY3JldA==",
    "empty": lambda tenant, other: "",
}


@with_contoh
@pytest.mark.parametrize("presented", list(UNVERIFIED))
def test_credentials_that_do_not_verify_are_401_on_public_endpoints(
    client: FlaskClient,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    enable_plugin: Any,
    presented: str,
) -> None:
    """Never served as anonymous: the client learns its token is no good, and nothing is written."""
    enable_plugin("contoh")
    headers = {"Authorization": UNVERIFIED[presented](tenant, other_tenant)}
    payload = {"code": "DLH", "name": "Dinas Lingkungan Hidup"}
    for response in (
        client.get("/api/v1/plugins", headers=headers),
        client.get("/api/v1/contoh/departments", headers=headers),
        client.post("/api/v1/contoh/suggestions", json=payload, headers=headers),
    ):
        assert_error(response, 401, "unauthorized")
        assert response.headers.getlist("WWW-Authenticate") == ['Bearer error="invalid_token"']
    with db.tenant_session(tenant.id) as session:
        assert session.scalars(select(Department)).all() == []


@with_contoh
def test_a_view_with_own_credentials_judges_the_header_itself(
    client: FlaskClient, tenant: TenantInfo, enable_plugin: Any
) -> None:
    """The core lets a plugin's own token through to the view that declares it, only there."""
    enable_plugin("contoh")
    own = bearer(PARTNER_TOKEN)
    response = client.post("/api/v1/contoh/partner", headers=own)
    assert (response.status_code, response.json) == (200, {"partner": True})
    wrong = client.post("/api/v1/contoh/partner", headers=bearer("balai_unknown"))
    assert assert_error(wrong, 401, "unauthorized")["message"] == "Not a partner of this region"
    assert_error(client.get("/api/v1/contoh/departments", headers=own), 401, "unauthorized")
    document = client.get("/api/v1/openapi.json").json
    assert document["paths"]["/api/v1/contoh/partner"]["post"]["security"] == [{"bearer": []}]
    assert document["paths"]["/api/v1/contoh/departments"]["get"]["security"] == []


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (None, "Header Authorization tidak berisi token API yang berlaku."),
        ("en", "The Authorization header does not hold a valid API token."),
    ],
)
def test_an_unverified_token_is_explained_in_the_request_language(
    client: FlaskClient, tenant: TenantInfo, language: str | None, message: str
) -> None:
    if language:
        client.set_cookie("balai_lang", language, domain=tenant.domains[0])
    response = client.get("/api/v1/plugins", headers=bearer("balai_unknown"))
    assert assert_error(response, 401, "unauthorized")["message"] == message


@with_contoh
def test_public_endpoints_answer_without_credentials_or_with_a_good_token(
    client: FlaskClient, tenant: TenantInfo, enable_plugin: Any
) -> None:
    enable_plugin("contoh")
    token = make_token(tenant)
    for headers in ({}, bearer(token)):
        assert client.get("/api/v1/contoh/departments", headers=headers).status_code == 200
    payload = {"code": "DLH", "name": "Dinas Lingkungan Hidup"}
    response = client.post("/api/v1/contoh/suggestions", json=payload, headers=bearer(token))
    assert response.status_code == 201, response.json


def test_a_token_counts_only_on_api_paths(client: FlaskClient) -> None:
    """Pages ignore the header, good or bad: a token never acts there."""
    assert client.get("/", headers=bearer("balai_unknown")).status_code == 200


def test_401_without_credentials_challenges_plainly(client: FlaskClient) -> None:
    response = client.get("/api/v1/me")
    assert_error(response, 401, "unauthorized")
    assert response.headers.getlist("WWW-Authenticate") == ["Bearer"]


def test_token_is_refused_on_another_tenant(
    other_client: FlaskClient, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    token = make_token(tenant)
    assert_error(other_client.get("/api/v1/me", headers=bearer(token)), 401, "unauthorized")


def _login_with_csrf(client: FlaskClient, tenant: TenantInfo, role: str = "opd") -> None:
    email = f"{role}-csrf@example.test"
    with db.all_tenants() as session:
        create_user(
            session, tenant_id=tenant.id, email=email, name=role, role=role, password=PASSWORD
        )
    page = client.get("/masuk").get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, "the login form carries a CSRF token"
    data = {"email": email, "password": PASSWORD, "csrf_token": found.group(1)}
    assert client.post("/masuk", data=data).status_code == 302


@with_contoh
@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_cookie_writes_need_the_csrf_header(
    client: FlaskClient, tenant: TenantInfo, enable_plugin: Any
) -> None:
    enable_plugin("contoh")
    _login_with_csrf(client, tenant)
    payload = {"code": "DINKES", "name": "Dinas Kesehatan"}
    response = client.post("/api/v1/contoh/departments", json=payload)
    assert_error(response, 400, "csrf_failed")
    csrf_token = client.get("/api/v1/me").json["csrf_token"]
    headers = {"X-CSRFToken": csrf_token}
    response = client.post("/api/v1/contoh/departments", json=payload, headers=headers)
    assert response.status_code == 201, response.json


@with_contoh
@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_token_writes_need_no_csrf_header(
    app: Flask, tenant: TenantInfo, enable_plugin: Any
) -> None:
    enable_plugin("contoh")
    token = make_token(tenant)
    fresh = app.test_client()
    response = fresh.post(
        "/api/v1/contoh/departments",
        json={"code": "DISHUB", "name": "Dinas Perhubungan"},
        headers={**bearer(token), "Host": tenant.domains[0]},
    )
    assert response.status_code == 201, response.json


@with_contoh
@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_anonymous_write_is_401_not_csrf(client: FlaskClient, enable_plugin: Any) -> None:
    enable_plugin("contoh")
    response = client.post("/api/v1/contoh/departments", json={"code": "X", "name": "Y"})
    assert_error(response, 401, "unauthorized")
