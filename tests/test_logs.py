"""The request id: from the proxy or made here, on the response, in every log record
of the request and on error pages; JSON log lines."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from flask import Blueprint, Response, stream_with_context

from balai import Manifest, hookimpl, logs
from balai.logs import bind_request_id, formatter, request_id
from balai.permissions import public

GENERATED = re.compile(r"[0-9a-f]{32}")


class Bicara:
    """A plugin whose routes log, and one raises."""

    name = "bicara"
    manifest = Manifest(title="Bicara")

    @staticmethod
    @hookimpl
    def register_routes(app):
        bp = Blueprint("bicara", __name__, url_prefix="/bicara")

        @bp.route("/")
        @public
        def speak():
            logging.getLogger("balai_bicara").warning("halo dari plugin")
            return "ok"

        @bp.route("/rusak")
        @public
        def broken():
            raise RuntimeError("boom")

        @bp.route("/aliran")
        @public
        def streamed():
            def lines():
                logging.getLogger("balai_bicara").warning("mengalir")
                yield "satu\n"
                yield "dua\n"

            return Response(stream_with_context(lines()))

        return bp


pytestmark = [
    pytest.mark.balai_plugins.with_args(Bicara),
    pytest.mark.balai_config(PROPAGATE_EXCEPTIONS=False, BABEL_DEFAULT_LOCALE="en"),
]


def test_a_sane_id_from_the_proxy_is_kept(client):
    response = client.get("/", headers={"X-Request-ID": "nginx-7f3a.b_2"})
    assert response.headers["X-Request-ID"] == "nginx-7f3a.b_2"


@pytest.mark.parametrize(
    "given",
    ["", "a" * 65, "spasi di dalam", "tanda<script>", "baris\tbaru", "ünïcode"],
    ids=["empty", "too-long", "space", "markup", "tab", "unicode"],
)
def test_an_insane_id_is_replaced_by_a_new_one(client, given):
    response = client.get("/", headers={"X-Request-ID": given})
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


def test_without_an_id_each_request_gets_its_own(client):
    first = client.get("/").headers["X-Request-ID"]
    second = client.get("/-/health/live").headers["X-Request-ID"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second)
    assert first != second


def test_every_log_record_of_the_request_carries_the_id(client, enable_plugin, caplog):
    enable_plugin("bicara")
    caplog.set_level(logging.INFO)
    response = client.get("/bicara/", headers={"X-Request-ID": "permintaan-42"})
    assert response.status_code == 200
    record = next(r for r in caplog.records if r.getMessage() == "halo dari plugin")
    assert record.request_id == "permintaan-42"
    logging.getLogger("balai").warning("after the request")
    assert caplog.records[-1].request_id == "-"


def test_the_500_page_shows_the_id_in_both_languages(client, enable_plugin, caplog):
    enable_plugin("bicara")
    response = client.get("/bicara/rusak", headers={"X-Request-ID": "bantuan-123"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "bantuan-123"
    assert "Request id: bantuan-123" in response.text
    failure = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert failure.request_id == "bantuan-123"
    client.set_cookie("balai_lang", "id", domain=client.host)
    indonesian = client.get("/bicara/rusak", headers={"X-Request-ID": "bantuan-124"})
    assert "Kode permintaan: bantuan-124" in indonesian.text


def test_other_error_pages_show_it_too(client):
    response = client.get("/tidak-ada", headers={"X-Request-ID": "hilang-404"})
    assert response.status_code == 404
    assert "Request id: hilang-404" in response.text


def test_work_outside_a_request_binds_its_own_id(caplog):
    assert request_id() is None
    with bind_request_id("tugas-9") as bound:
        assert bound == "tugas-9"
        logging.getLogger("balai.jobs").warning("kerja")
        with bind_request_id() as inner:
            assert GENERATED.fullmatch(inner)
        assert request_id() == "tugas-9"
    assert request_id() is None
    assert caplog.records[-1].request_id == "tugas-9"
    with bind_request_id("bukan id yang waras") as replaced:
        assert GENERATED.fullmatch(replaced)


def test_json_lines_carry_the_request_id(client, enable_plugin, caplog):
    enable_plugin("bicara")
    client.get("/bicara/", headers={"X-Request-ID": "json-1"})
    record = next(r for r in caplog.records if r.getMessage() == "halo dari plugin")
    line = json.loads(formatter("json").format(record))
    assert line["request_id"] == "json-1"
    assert line["message"] == "halo dari plugin"
    assert line["level"] == "WARNING"
    assert line["logger"] == "balai_bicara"
    assert "time" in line
    text = formatter("text").format(record)
    assert "[json-1]" in text and "halo dari plugin" in text


def test_an_unknown_log_format_is_refused_by_name(make_app):
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        make_app(LOG_FORMAT="xml")


def test_a_streamed_response_keeps_its_id_and_leaves_none_behind(client, enable_plugin, caplog):
    enable_plugin("bicara")
    response = client.get("/bicara/aliran", headers={"X-Request-ID": "aliran-1"})
    assert response.headers["X-Request-ID"] == "aliran-1"
    assert response.text == "satu\ndua\n"
    record = next(r for r in caplog.records if r.getMessage() == "mengalir")
    assert record.request_id == "aliran-1"
    unread = client.get("/bicara/aliran", buffered=False)  # closed before it is read
    assert GENERATED.fullmatch(unread.headers["X-Request-ID"])
    unread.close()
    assert request_id() is None
    logging.getLogger("balai").warning("after the requests")
    assert caplog.records[-1].request_id == "-"


@pytest.fixture
def own_handler(monkeypatch):
    """Logging as under gunicorn: nothing configured, so the app installs its handler."""
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    monkeypatch.setattr(logs, "_handler", None)
    yield
    logging.getLogger("balai").setLevel(logging.NOTSET)


def test_admin_changes_reach_balais_own_handler(own_handler, app, client, login):
    assert logs._handler is not None  # the app installed it
    login(client, role="admin")
    errors = io.StringIO()
    client.post(
        "/admin/opd",
        data={"code": "DINKES", "name": "Dinas Kesehatan"},
        errors_stream=errors,
    )
    assert "admin department.created tenant=" in errors.getvalue()
    assert logging.getLogger("urllib3").getEffectiveLevel() == logging.WARNING
