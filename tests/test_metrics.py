"""Prometheus metrics at ``/-/metrics``: what they count, who may read them, and
several worker processes sharing them (multiprocess mode)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
from flask import Blueprint
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from balai import Manifest, hookimpl
from balai.channels import Message, OutboxMessage, queue
from balai.db import db
from balai.metrics import add_collector, child_exit
from balai.permissions import public

TOKEN = "rahasia-metrik-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


class Meledak:
    """A plugin with a route by id and a route that raises."""

    name = "meledak"
    manifest = Manifest(title="Meledak")

    @staticmethod
    @hookimpl
    def register_routes(app):
        bp = Blueprint("meledak", __name__, url_prefix="/meledak")

        @bp.route("/barang/<int:item_id>")
        @public
        def item(item_id):
            return f"barang {item_id}"

        @bp.route("/rusak")
        @public
        def broken():
            raise RuntimeError("boom")

        return bp


pytestmark = [
    pytest.mark.balai_plugins.with_args(Meledak),
    pytest.mark.balai_config(METRICS_TOKEN=TOKEN, PROPAGATE_EXCEPTIONS=False),
]


def scrape(client, headers=BEARER):
    response = client.get("/-/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return response.text


def samples(text, name):
    """``{labels as a sorted tuple of pairs: value}`` of the samples called ``name``."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(text, name, **labels):
    return samples(text, name).get(tuple(sorted(labels.items())))


# -- what is counted -----------------------------------------------------------------


def test_requests_are_counted_by_route_template_not_by_path(client, enable_plugin):
    enable_plugin("meledak")
    assert client.get("/meledak/barang/1").status_code == 200
    assert client.get("/meledak/barang/2").status_code == 200
    text = scrape(client)
    route = "/meledak/barang/<int:item_id>"
    assert value(text, "balai_http_requests_total", route=route, method="GET", status="200") == 2
    routes = {dict(labels)["route"] for labels in samples(text, "balai_http_requests_total")}
    assert not any("/barang/1" in r or "/barang/2" in r for r in routes)
    assert value(text, "balai_http_request_duration_seconds_count", route=route) == 2


def test_status_and_unmatched_paths_have_fixed_labels(client):
    for path in ("/tidak-ada/1", "/tidak-ada/2", "/juga-tidak"):
        assert client.get(path).status_code == 404
    client.open("/", method="FROBNICATE")
    client.open("/", method="BREW")
    text = scrape(client)
    assert (
        value(text, "balai_http_requests_total", route="(unmatched)", method="GET", status="404")
        == 3
    )
    frobnicate = {"route": "(unmatched)", "method": "OTHER", "status": "405"}
    assert value(text, "balai_http_requests_total", **frobnicate) == 2
    assert not any("tidak" in str(labels) for labels in samples(text, "balai_http_requests_total"))


def test_the_latency_histogram_has_its_buckets(client):
    client.get("/")
    buckets = samples(scrape(client), "balai_http_request_duration_seconds_bucket")
    bounds = {dict(labels)["le"] for labels in buckets if dict(labels)["route"] == "/"}
    assert {"0.005", "0.1", "1.0", "10.0", "+Inf"} <= bounds
    assert buckets[(("le", "+Inf"), ("route", "/"))] == 1


def test_a_route_that_raises_counts_as_its_plugins_error(client, enable_plugin):
    enable_plugin("meledak")
    assert client.get("/meledak/rusak").status_code == 500
    assert client.get("/meledak/barang/3").status_code == 200
    text = scrape(client)
    assert value(text, "balai_plugin_errors_total", plugin="meledak") == 1
    assert value(text, "balai_plugin_errors_total", plugin="balai") is None
    assert (
        value(text, "balai_http_requests_total", route="/meledak/rusak", method="GET", status="500")
        == 1
    )


def test_the_connection_pool_is_read_at_scrape_time(app, client):
    pool = db.engine_for(app).pool
    with db.engine_for(app).connect():
        text = scrape(client)
    assert value(text, "balai_db_pool_size") == pool.size()
    assert value(text, "balai_db_pool_checked_out") >= 1
    assert value(text, "balai_db_pool_overflow") == max(pool.overflow(), 0)
    assert value(scrape(client), "balai_db_pool_checked_out") == 0


def test_the_outbox_backlog_counts_what_is_still_to_deliver_in_every_region(
    app, client, tenant, other_tenant
):
    empty = scrape(client)
    assert value(empty, "balai_outbox_pending", channel="email") == 0
    assert value(empty, "balai_outbox_pending", channel="sms") == 0
    with db.tenant_session(tenant.id) as session:
        queue(session, Message("email", "warga@example.test", "Satu"))
        queue(session, Message("email", "warga@example.test", "Dua"))
        queue(session, Message("sms", "+6281234567890", "Tiga"))
        sent = queue(session, Message("email", "warga@example.test", "Terkirim"))
        sent.status = "sent"
        given_up = queue(session, Message("email", "warga@example.test", "Gagal"))
        given_up.status, given_up.attempts = "failed", app.config["OUTBOX_MAX_ATTEMPTS"]
        retry = queue(session, Message("sms", "+6281234567890", "Coba lagi"))
        retry.status, retry.attempts = "failed", 1
    with db.tenant_session(other_tenant.id) as session:
        queue(session, Message("email", "warga@example.test", "Kota B"))
    text = scrape(client)
    assert value(text, "balai_outbox_pending", channel="email") == 3
    assert value(text, "balai_outbox_pending", channel="sms") == 2
    with db.all_tenants() as session:
        assert session.query(OutboxMessage).count() == 7


def test_other_parts_add_collectors_and_a_failing_one_is_left_out(app, client, caplog):
    add_collector(app, lambda: [GaugeMetricFamily("balai_jobs_queued", "Jobs.", value=4)])

    def broken():
        raise RuntimeError("queue down")

    add_collector(app, broken)
    text = scrape(client)
    assert value(text, "balai_jobs_queued") == 4
    assert "balai_outbox_pending" in text
    assert any("metrics collector" in r.getMessage() for r in caplog.records)


@pytest.mark.balai_config(REDIS_URL="redis://127.0.0.1:1/0")
def test_a_queue_whose_redis_is_down_says_so_and_gives_no_depth(client):
    text = scrape(client)
    assert value(text, "balai_job_queue_up") == 0
    assert "balai_job_queue_depth" not in text and "balai_job_queue_failed" not in text
    assert "balai_job_runs" in text  # the runs table answers still


def test_without_redis_there_is_no_queue_gauge(client):
    assert "balai_job_queue_up" not in scrape(client)


# -- who may read them ---------------------------------------------------------------


def test_the_token_opens_the_metrics(client):
    response = client.get("/-/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["Cache-Control"] == "no-store"
    assert "balai_http_requests_total" in response.text


def test_the_token_works_on_a_host_of_no_region(app):
    response = app.test_client().get("/-/metrics", headers=BEARER, base_url="http://10.0.0.5")
    assert response.status_code == 200


def _as_unknown(client, path="/-/tidak-ada", headers=None):
    response = client.get(path, headers=headers or {})
    return response.status_code, response.json


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer salah"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ],
    ids=["none", "wrong", "basic", "longer"],
)
def test_anyone_else_gets_the_404_of_an_unknown_address(client, headers):
    assert _as_unknown(client, "/-/metrics", headers) == _as_unknown(client)
    assert _as_unknown(client)[0] == 404


def test_a_host_of_no_region_answers_as_for_any_unknown_address(app, tenant):
    client = app.test_client()
    unknown = client.get("/-/tidak-ada", base_url="http://lain.test")
    metrics = client.get("/-/metrics", base_url="http://lain.test")
    assert (metrics.status_code, metrics.json) == (unknown.status_code, unknown.json)
    assert metrics.json["error"]["code"] == "unknown_host"


@pytest.mark.parametrize("role", ["warga", "opd", "admin"])
def test_region_accounts_get_404(client, login, role):
    login(client, role=role)
    assert _as_unknown(client, "/-/metrics") == _as_unknown(client)


def test_a_platform_operator_reads_them(client, login):
    login(client, role="operator")
    response = client.get("/-/metrics")
    assert response.status_code == 200
    assert "balai_http_requests_total" in response.text


@pytest.mark.balai_config(METRICS_TOKEN=None)
def test_without_a_token_set_no_bearer_opens_them(client, login):
    assert client.get("/-/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert client.get("/-/metrics", headers={"Authorization": "Bearer None"}).status_code == 404
    login(client, role="operator")
    assert client.get("/-/metrics").status_code == 200


def test_a_short_token_is_refused_at_start_up(make_app):
    with pytest.raises(ValueError, match="METRICS_TOKEN must be at least 16"):
        make_app(METRICS_TOKEN="pendek")


def test_no_label_carries_a_region(client, tenant, other_tenant, login):
    login(client, role="warga")
    client.get("/")
    text = scrape(client)
    for slug in (tenant.slug, other_tenant.slug, *tenant.domains, *other_tenant.domains):
        assert slug not in text


# -- several worker processes ---------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys
    from balai.testing import make_test_app

    app = make_test_app({"DATABASE_URL": sys.argv[1], "INSTANCE_PATH": sys.argv[2]})
    client = app.test_client()
    for _ in range(int(sys.argv[3])):
        assert client.get("/-/health/live").status_code == 200
    assert client.get("/-/health/ready").status_code == 200  # a database connection
    """
)


def test_worker_processes_share_their_counts_in_multiprocess_mode(
    make_app, balai_database_url, tmp_path, monkeypatch
):
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    pids = []
    for requests in (2, 3):  # two workers, one after the other, each its own process
        worker = subprocess.Popen(  # noqa: S603  (this Python, our own script)
            [sys.executable, "-c", WORKER, balai_database_url, str(tmp_path / "i"), str(requests)],
            env=env,
        )
        assert worker.wait(timeout=120) == 0
        pids.append(worker.pid)
    assert len(list(shared.glob("counter_*.db"))) == 2
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    app = make_app()  # a third worker answers the scrape
    client = app.test_client()
    text = scrape(client)
    live = {"route": "/-/health/live", "method": "GET", "status": "200"}
    assert value(text, "balai_http_requests_total", **live) == 5
    count = "balai_http_request_duration_seconds_count"
    assert value(text, count, route="/-/health/live") == 5
    assert "balai_outbox_pending" in text  # the scrape-time collectors too
    pool_size = db.engine_for(app).pool.size()
    assert value(text, "balai_db_pool_size") == 2 * pool_size  # summed over the workers
    assert value(text, "balai_db_pool_checked_out") == 0

    child_exit(None, SimpleNamespace(pid=pids[0]))  # gunicorn: the first worker ended
    text = scrape(client)
    assert value(text, "balai_db_pool_size") == pool_size
    assert value(text, "balai_http_requests_total", **live) == 5  # counts stay
