"""The core's own endpoints: ``/api/v1/me`` and ``/api/v1/plugins``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, jsonify, request
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest.utils import (
    get_appcontext,
    resolve_schema_instance,
    set_status_and_headers_in_response,
    unpack_tuple_response,
)
from flask_wtf.csrf import generate_csrf
from marshmallow import RAISE, Schema, fields
from webargs.flaskparser import FlaskParser
from werkzeug import Response

from balai.api.dumping import DumpMismatch, dumper_for
from balai.fields import Id, Text
from balai.permissions import permissions_of, public, require
from balai.plugins import plugins

# Every API URL starts here: the core's at PREFIX, a plugin's at PREFIX/<plugin>/.
PREFIX = "/api/v1"


class StrictParser(FlaskParser):
    """Refuses unknown query parameters (422 naming them), as JSON bodies already do."""

    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": RAISE,
        "querystring": RAISE,
    }


class ApiBlueprint(Blueprint):
    """flask-smorest's Blueprint whose ``@arguments`` refuse what they do not declare, and
    whose ``@response`` dumps with a function compiled from the schema
    (:mod:`balai.api.dumping`) instead of ``schema.dump``: the same JSON, faster."""

    ARGUMENTS_PARSER = StrictParser()

    def arguments(self, schema: Any, **kwargs: Any) -> Callable[..., Any]:
        """flask-smorest's ``@arguments``, with one instance of a schema class for all
        requests (webargs would make one per request, copying every field)."""
        return super().arguments(resolve_schema_instance(schema), **kwargs)

    def response(
        self, status_code: Any, schema: Any = None, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """flask-smorest's ``@response`` (the same document, the same answers)."""
        schema = resolve_schema_instance(schema)
        document = super().response(status_code, schema, **kwargs)
        if not isinstance(schema, Schema):
            return document  # no schema, or a reference: flask-smorest's own
        prepare = self._prepare_response_content

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            documented = document(func)  # flask-smorest's wrapper, for its _apidoc

            # flask_smorest.response.ResponseMixin.response's wrapper, dumping faster.
            @wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                result_raw, r_status_code, r_headers = unpack_tuple_response(
                    current_app.ensure_sync(func)(*args, **kwargs)
                )
                if isinstance(result_raw, Response):
                    set_status_and_headers_in_response(result_raw, r_status_code, r_headers)
                    return result_raw
                if current_app.config.get("API_COMPILED_DUMPS", True):
                    result_dump = dumper_for(schema)(result_raw)
                else:
                    result_dump = schema.dump(result_raw)
                get_appcontext()["result_dump"] = result_dump
                resp = jsonify(prepare(result_dump))
                if current_app.config.get("API_CHECK_DUMPS"):
                    _check_dump(schema, result_raw, resp.get_data(), prepare)
                set_status_and_headers_in_response(resp, r_status_code, r_headers)
                if r_status_code is None:
                    resp.status_code = status_code
                return resp

            wrapper.__dict__.update(documented.__dict__)
            return wrapper

        return decorator


def _check_dump(schema: Schema, raw: Any, answered: bytes, prepare: Callable[[Any], Any]) -> None:
    """Raise :class:`DumpMismatch` unless marshmallow gives the very bytes answered."""
    expected = jsonify(prepare(schema.dump(raw))).get_data()
    if expected != answered:
        at = next(
            (n for n, (a, b) in enumerate(zip(answered, expected, strict=False)) if a != b),
            min(len(answered), len(expected)),
        )
        raise DumpMismatch(
            f"{request.method} {request.path}: the compiled dumper of "
            f"{type(schema).__name__} answered {answered[max(at - 60, 0) : at + 60]!r}, "
            f"marshmallow {expected[max(at - 60, 0) : at + 60]!r} (byte {at})"
        )


core = ApiBlueprint("balai_api", __name__, url_prefix=PREFIX, description="Balai core")


class UserSchema(Schema):
    id = Id()
    email = Text(allow_none=True)
    phone = Text(allow_none=True)
    name = Text()
    role = Text()
    tenant = Text(allow_none=True)
    permissions = fields.List(Text())
    csrf_token = Text(
        allow_none=True,
        metadata={"description": "Send as X-CSRFToken on writes made with the session cookie"},
    )


class PluginSchema(Schema):
    name = Text()
    title = Text()
    version = Text()
    summary = Text()
    category = Text(allow_none=True)


@core.route("/me")
@core.response(200, UserSchema)
@require()
def get_me() -> dict[str, Any]:
    """The user the request authenticates as, with the permissions held here."""
    return {
        "id": current_user.id,
        "email": current_user.email,
        "phone": current_user.phone,
        "name": current_user.name,
        "role": current_user.role,
        "tenant": g.tenant.slug,
        "permissions": sorted(permissions_of(current_user)),
        "csrf_token": None if _bearer() else generate_csrf(),
    }


@core.route("/plugins")
@core.response(200, PluginSchema(many=True))
@public
def list_plugins() -> list[dict[str, Any]]:
    """The plugins this region has enabled."""
    infos = (plugins().get(name) for name in sorted(g.tenant.plugins))
    return [info.as_json() for info in infos if info is not None and not info.broken]


def _bearer() -> bool:
    return request.headers.get("Authorization", "").lower().startswith("bearer ")
