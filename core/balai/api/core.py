"""The core's own endpoints: ``/api/v1/me`` and ``/api/v1/plugins``."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_login import current_user
from flask_smorest import Blueprint
from flask_wtf.csrf import generate_csrf
from marshmallow import RAISE, Schema, fields
from webargs.flaskparser import FlaskParser

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
    """flask-smorest's Blueprint whose ``@arguments`` refuse what they do not declare."""

    ARGUMENTS_PARSER = StrictParser()


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
