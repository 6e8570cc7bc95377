"""A plugin's packaged files: one core way, with caching headers (``balai.static``)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask, url_for
from flask.testing import FlaskClient

import balai
from balai.static import STATIC_MAX_AGE, serve_static

FOLDER = Path(__file__).parent / "support" / "static_files"
CSS = "/berkas/static/berkas.css"


class Berkas:
    """A plugin that serves a style sheet from its package."""

    name = "berkas"
    manifest = balai.Manifest(title="Berkas")

    @balai.hookimpl
    def register_routes(app: Flask) -> Blueprint:
        bp = Blueprint("berkas", __name__, url_prefix="/berkas")
        serve_static(bp, FOLDER)
        return bp


with_berkas = pytest.mark.balai_plugins.with_args(Berkas)


@pytest.fixture
def berkas(client: FlaskClient, enable_plugin: Any) -> FlaskClient:
    enable_plugin("berkas")
    return client


@with_berkas
def test_a_file_is_served_with_caching_headers(berkas: FlaskClient, app: Flask) -> None:
    with app.test_request_context():
        assert url_for("berkas.static", filename="berkas.css") == CSS
    with berkas.get(CSS) as response:
        assert response.status_code == 200
        assert response.mimetype == "text/css"
        assert response.data == (FOLDER / "berkas.css").read_bytes()
        assert response.cache_control.public
        assert response.cache_control.max_age == STATIC_MAX_AGE


@with_berkas
def test_the_etag_is_of_the_content_and_answers_304(berkas: FlaskClient) -> None:
    digest = hashlib.sha256((FOLDER / "berkas.css").read_bytes()).hexdigest()[:32]
    with berkas.get(CSS) as first:
        assert first.get_etag() == (digest, False)
    with berkas.get(CSS, headers={"If-None-Match": f'"{digest}"'}) as again:
        assert again.status_code == 304


@with_berkas
def test_a_logged_in_user_gets_the_same_cacheable_file(berkas: FlaskClient, login: Any) -> None:
    login(berkas, role="opd")
    with berkas.get(CSS) as response:
        assert response.status_code == 200
        assert "no-store" not in response.headers["Cache-Control"]
        assert response.cache_control.max_age == STATIC_MAX_AGE


@with_berkas
@pytest.mark.parametrize("path", ["missing.css", "../test_static.py", "%2e%2e/test_static.py"])
def test_nothing_outside_the_folder_or_missing_is_served(berkas: FlaskClient, path: str) -> None:
    with berkas.get(f"/berkas/static/{path}") as response:
        assert response.status_code == 404
