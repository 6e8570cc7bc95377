"""Plugins whose routes forget their access declaration, for the deny-by-default tests.

Each would answer anyone, logged in or not, if the core served what it registers.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask.views import MethodView

from balai import Manifest, hookimpl
from balai.api import ApiBlueprint
from balai.channels import SmsKeyword
from balai.permissions import Permission, public, require

SECRET = "data a visitor must never see"


class Undeclared:
    """A page with neither ``@require`` nor ``@public``, next to a declared one."""

    name = "undeclared"
    manifest = Manifest(title="Undeclared")

    @staticmethod
    @hookimpl
    def register_routes(app: Any) -> Blueprint:
        bp = Blueprint("undeclared", __name__, url_prefix="/undeclared")

        @bp.get("/")
        @public
        def index() -> str:
            return "welcome"

        @bp.get("/rahasia")
        def secret() -> str:
            return SECRET

        return bp

    @staticmethod
    @hookimpl
    def register_sms_keywords(app: Any) -> list[SmsKeyword]:
        return [SmsKeyword("RAHASIA", lambda sms: SECRET, "RAHASIA")]


class WrongOrder:
    """``@require`` above the route decorator: Flask registers the unguarded function."""

    name = "wrong_order"
    manifest = Manifest(title="Wrong order")

    @staticmethod
    @hookimpl
    def register_permissions() -> list[Permission]:
        return [Permission("wrong_order.view_secret", "See the secret")]

    @staticmethod
    @hookimpl
    def register_routes(app: Any) -> Blueprint:
        bp = Blueprint("wrong_order", __name__, url_prefix="/wrong-order")

        @require("wrong_order.view_secret")
        @bp.get("/rahasia")
        def secret() -> str:
            return SECRET

        return bp


class UndeclaredApi:
    """A flask-smorest ``MethodView`` whose ``post`` handler declares nothing."""

    name = "undeclared_api"
    manifest = Manifest(title="Undeclared API")

    @staticmethod
    @hookimpl
    def register_api(app: Any) -> ApiBlueprint:
        blp = ApiBlueprint("undeclared_api", __name__, description="careless")

        @blp.route("/notes")
        class Notes(MethodView):
            @public
            def get(self) -> dict[str, str]:
                return {"notes": "public"}

            def post(self) -> dict[str, str]:
                return {"secret": SECRET}

        return blp


class UnknownPermission:
    """Requires a permission nobody declares: only a typo away from a locked page."""

    name = "unknown_permission"
    manifest = Manifest(title="Unknown permission")

    @staticmethod
    @hookimpl
    def register_routes(app: Any) -> Blueprint:
        bp = Blueprint("unknown_permission", __name__, url_prefix="/unknown-permission")

        @bp.get("/")
        @require("unknown_permission.view_thing")
        def index() -> str:
            return SECRET

        return bp


class DeclaredApi:
    """A ``MethodView`` declared per handler: served as declared."""

    name = "declared_api"
    manifest = Manifest(title="Declared API")

    @staticmethod
    @hookimpl
    def register_permissions() -> list[Permission]:
        return [Permission("declared_api.write_note", "Write notes")]

    @staticmethod
    @hookimpl
    def register_api(app: Any) -> ApiBlueprint:
        blp = ApiBlueprint("declared_api", __name__, description="careful")

        @blp.route("/notes")
        class Notes(MethodView):
            @public
            def get(self) -> dict[str, str]:
                return {"notes": "public"}

            @require("declared_api.write_note")
            def post(self) -> dict[str, str]:
                return {"written": "yes"}

        return blp
