"""JSON API conventions: ``/api/v1/``, one error shape, one OpenAPI document.

Plugins return ``flask_smorest.Blueprint`` objects from ``register_api``; they are
mounted at ``/api/v1/<plugin>/``. Errors always look like
``{"error": {"code": ..., "message": ..., "fields": {...}}}``. The OpenAPI
document at ``/api/v1/openapi.json`` holds the core's endpoints and those of the
plugins the current tenant has enabled. Requests authenticate with the session
cookie (and then need the CSRF header for writes) or ``Authorization: Bearer``.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Flask, current_app, g, jsonify, request
from flask_login import current_user
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint
from flask_wtf.csrf import CSRFProtect
from marshmallow import Schema, fields

from balai.permissions import permissions_of, public, require
from balai.plugins import Plugins

__all__ = ["PREFIX", "ApiBlueprint", "ErrorSchema", "field_errors"]

PREFIX = "/api/v1"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Machine-readable code"})
    message = fields.String(required=True, metadata={"description": "Human-readable message"})
    fields = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={"description": "Messages per invalid input field"},
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


class BalaiApi(Api):
    """flask-smorest's Api with Balai's error shape and no routes of its own."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """Errors are rendered by ``balai.web`` for pages and API alike."""


def field_errors(data: Any) -> dict[str, list[str]]:
    """Flatten webargs' ``{"json": {"field": [...]}}`` into ``{"field": [...]}``."""
    messages = (data or {}).get("messages", {}) if isinstance(data, dict) else {}
    flat: dict[str, list[str]] = {}
    for by_field in messages.values():
        if isinstance(by_field, dict):
            for name, errors in by_field.items():
                flat[str(name)] = _strings(errors)
    return flat


def _strings(errors: Any) -> list[str]:
    if isinstance(errors, list):
        return [str(e) for e in errors]
    if isinstance(errors, dict):
        return [f"{k}: {'; '.join(_strings(v))}" for k, v in errors.items()]
    return [str(errors)]


core = ApiBlueprint("balai_api", __name__, url_prefix=PREFIX, description="Balai core")


class UserSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String()
    tenant = fields.String(allow_none=True)
    permissions = fields.List(fields.String())


@core.route("/me")
@core.response(200, UserSchema)
@require()
def me() -> dict[str, Any]:
    """The user the request authenticates as, with the permissions held here."""
    return {
        "id": current_user.id,
        "email": current_user.email,
        "name": current_user.name,
        "role": current_user.role,
        "tenant": g.tenant.slug,
        "permissions": sorted(permissions_of(current_user)),
    }


@core.route("/openapi.json")
@public
def openapi() -> Any:
    """The OpenAPI 3 document for this tenant: core plus its enabled plugins."""
    return jsonify(spec_for(g.tenant.plugins))


def spec_for(enabled: frozenset[str]) -> dict[str, Any]:
    """The OpenAPI document with the paths and tags of disabled plugins removed."""
    state = current_app.extensions["balai.api"]
    cached = state["cache"].get(enabled)
    if cached is None:
        cached = copy.deepcopy(state["api"].spec.to_dict())
        hidden = {p: owner for p, owner in state["owners"].items() if owner not in enabled}
        cached["paths"] = {
            path: item
            for path, item in cached.get("paths", {}).items()
            if not any(path.startswith(prefix) for prefix in hidden)
        }
        hidden_tags = set().union(*(state["tags"][owner] for owner in set(hidden.values())))
        cached["tags"] = [t for t in cached.get("tags", []) if t["name"] not in hidden_tags]
        state["cache"][enabled] = cached
    return cached


def _csrf_unless_token(csrf: CSRFProtect) -> Any:
    def check() -> None:
        if not request.path.startswith(PREFIX + "/") or request.method not in UNSAFE_METHODS:
            return
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return
        csrf.protect()

    return check


def init_app(app: Flask, manager: Plugins, csrf: CSRFProtect) -> None:
    app.config.setdefault("OPENAPI_URL_PREFIX", None)
    api = BalaiApi(app, spec_kwargs={"info": {"description": "Balai JSON API"}})
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "API token"}
    )
    api.spec.options["security"] = [{"bearer": []}]
    api.register_blueprint(core)
    csrf.exempt(core)
    owners: dict[str, str] = {}
    tags: dict[str, set[str]] = {}
    for name, result in manager.call_each("register_api", startup=True, app=app):
        for blueprint in result if isinstance(result, list | tuple) else [result]:
            prefix = f"{PREFIX}/{name}"
            api.register_blueprint(blueprint, url_prefix=prefix)
            csrf.exempt(blueprint)
            manager.blueprint_owner[blueprint.name] = name
            owners[prefix + "/"] = name
            tags.setdefault(name, set()).add(blueprint.name)
    app.extensions["balai.api"] = {"api": api, "owners": owners, "tags": tags, "cache": {}}
    app.before_request(_csrf_unless_token(csrf))
