"""``abort(message=...)`` speaks the request's language: an ``N_`` id or a lazy string."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort

import balai
from balai.i18n import N_
from balai.permissions import public
from balai.tenancy import TenantInfo

# Message ids of the core's catalogue, so the test needs no catalogue of its own.
TAKEN = "A user with this e-mail address already exists."
IN_USE = "The domain %(host)s is already in use."


class Pesan:
    """A plugin whose API refuses with marked, lazy and already written messages."""

    name = "pesan"
    manifest = balai.Manifest(title="Pesan")

    @balai.hookimpl
    def register_api(app: Flask) -> Blueprint:
        blp = Blueprint("pesan_api", __name__, description="Refusals")

        @blp.route("/marked")
        @public
        def marked() -> Any:
            abort(409, message=N_(TAKEN))

        @blp.route("/lazy")
        @public
        def lazy() -> Any:
            abort(409, message=_l(IN_USE, host="contoh.go.id"))

        @blp.route("/written")
        @public
        def written() -> Any:
            abort(409, message="Kode ini sudah dipakai")

        return blp


with_pesan = pytest.mark.balai_plugins.with_args(Pesan)


@with_pesan
@pytest.mark.parametrize(
    ("language", "path", "message"),
    [
        (None, "marked", "Pengguna dengan alamat email ini sudah ada."),
        ("en", "marked", TAKEN),
        (None, "lazy", "Domain contoh.go.id sudah dipakai."),
        ("en", "lazy", "The domain contoh.go.id is already in use."),
        (None, "written", "Kode ini sudah dipakai"),
        ("en", "written", "Kode ini sudah dipakai"),
    ],
)
def test_an_abort_message_is_in_the_request_language(
    client: FlaskClient,
    tenant: TenantInfo,
    enable_plugin: Any,
    language: str | None,
    path: str,
    message: str,
) -> None:
    enable_plugin("pesan")
    if language:
        client.set_cookie("balai_lang", language, domain=tenant.domains[0])
    response = client.get(f"/api/v1/pesan/{path}")
    assert response.status_code == 409
    assert response.json["error"] == {"code": "conflict", "message": message, "fields": {}}
