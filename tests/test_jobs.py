"""Background jobs (``balai.jobs``): declaring them, running each slot once per region,
retries with back-off, time limits, the RQ queue, and the admin pages."""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select

from balai import hookimpl
from balai.channels import Message, OutboxMessage
from balai.channels import queue as queue_message
from balai.cli import cli
from balai.db import db
from balai.jobs import Job, JobRun, declared, enqueue, runner
from balai.jobs.slots import latest_slot
from balai.plugins import plugins
from balai.tenancy import TenantInfo, current_tenant, registry
from balai.testing import travel

# Messages are translatable; these tests read them in English.
pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

CALLS: list[tuple[str, str]] = []
START = "2026-03-04T10:07:30+07:00"  # 03:07:30 UTC, a Wednesday


def ping(tenant: TenantInfo, **kwargs: Any) -> str:
    """Records who it ran for, and that the region is the current tenant."""
    current = current_tenant()
    assert current is not None and current.id == tenant.id
    CALLS.append(("ping", tenant.slug))
    return f"pinged {tenant.slug} {kwargs}".strip()


def boom(tenant: TenantInfo) -> None:
    CALLS.append(("boom", tenant.slug))
    raise RuntimeError(f"boom in {tenant.slug}")


def slow(tenant: TenantInfo) -> None:
    time.sleep(4)


class Sample:
    """A plugin with jobs."""

    name = "sample"

    @hookimpl
    def register_jobs(self, app: Flask) -> list[Job]:
        return [
            Job("sample.ping", ping, schedule="*/5 * * * *"),
            Job("sample.boom", boom, schedule="0 * * * *", retries=2, backoff=[10, 60]),
            Job("sample.slow", slow, time_limit=1, retries=0),
            Job("sample.later", ping),
        ]


class Misnamed:
    """A plugin declaring a job under another plugin's name: broken."""

    name = "misnamed"

    @hookimpl
    def register_jobs(self, app: Flask) -> list[Job]:
        return [Job("sample.steal", ping, schedule="* * * * *")]


@pytest.fixture(autouse=True)
def _calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")
    CALLS.clear()
    yield
    CALLS.clear()


@pytest.fixture
def run(app: Flask) -> Callable[..., Result]:
    runner = app.test_cli_runner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args))

    return invoke


@pytest.fixture
def regions(app, tenant, other_tenant, enable_plugin) -> tuple[TenantInfo, TenantInfo]:
    return enable_plugin("sample"), enable_plugin("sample", tenant=other_tenant)


def runs(job: str | None = None) -> list[JobRun]:
    with db.all_tenants() as session:
        query = select(JobRun).order_by(JobRun.id)
        if job is not None:
            query = query.where(JobRun.job == job)
        return list(session.scalars(query))


def at(moment: str, seconds: int = 0) -> Any:
    return travel(datetime.fromisoformat(moment) + timedelta(seconds=seconds))


# -- declaring -----------------------------------------------------------------------


@pytest.mark.balai_plugins(Sample(), Misnamed())
def test_plugins_declare_jobs_through_the_hook(app):
    jobs = declared(app)
    assert jobs["sample.ping"].schedule == "*/5 * * * *"
    assert jobs["sample.boom"].backoff == [10, 60]
    assert "core.deliver-outbox" in jobs
    assert "sample.steal" not in jobs
    broken = plugins(app).get("misnamed")
    assert broken is not None and "must start with 'misnamed.'" in (broken.error or "")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"name": "nodot"}, "name"),
        ({"schedule": "every day"}, "schedule"),
        ({"retries": -1}, "retries"),
        ({"backoff": [10, -1]}, "backoff"),
        ({"time_limit": 0}, "time_limit"),
    ],
)
def test_a_bad_declaration_names_its_field(fields, named):
    job = Job(**{"name": "sample.ping", "func": ping, **fields})
    with pytest.raises(ValueError, match=f"^{named}:"):
        job.check("sample")


@pytest.mark.parametrize(
    ("now", "zone", "slot"),
    [
        ("2026-03-04T15:00:10Z", "Asia/Jayapura", "2026-03-04T15:00:00+00:00"),  # WIT midnight
        ("2026-03-04T15:00:10Z", "Asia/Jakarta", "2026-03-03T17:00:00+00:00"),  # WIB: not yet
        ("2026-03-04T16:59:50Z", "Asia/Jakarta", "2026-03-03T17:00:00+00:00"),
        ("2026-03-04T17:00:00Z", "Asia/Jakarta", "2026-03-04T17:00:00+00:00"),  # on the dot
    ],
)
def test_a_daily_slot_falls_at_midnight_in_the_regions_zone(now, zone, slot):
    instant = datetime.fromisoformat(now.replace("Z", "+00:00"))
    assert latest_slot("0 0 * * *", instant, zone) == datetime.fromisoformat(slot)


# -- run-due without Redis ---------------------------------------------------------------


@pytest.mark.balai_plugins(Sample())
def test_run_due_runs_each_due_slot_once_per_region(run, regions):
    with at(START):
        first = run("jobs", "run-due")
        again = run("jobs", "run-due")
    assert sorted(c for c in CALLS if c[0] == "ping") == [("ping", "kota-a"), ("ping", "kota-b")]
    assert "sample.ping kota-a 2026-03-04T03:05:00Z: done (pinged kota-a {})" in first.output
    assert "sample.ping" not in again.output
    with at(START, seconds=5 * 60):  # the next slot, 10:10
        run("jobs", "run-due")
    pings = runs("sample.ping")
    assert [(r.slot, r.status) for r in pings if r.tenant_id == regions[0].id] == [
        ("2026-03-04T03:05:00Z", "done"),
        ("2026-03-04T03:10:00Z", "done"),
    ]
    assert len(pings) == 4


@pytest.mark.balai_plugins(Sample())
def test_the_core_delivers_each_regions_outbox_in_its_own_run(run, regions):
    kota_a, kota_b = regions
    for region in regions:
        with db.tenant_session(region.id) as session:
            queue_message(session, Message("sms", "+6281234567890", f"Halo {region.slug}"))
    result = run("jobs", "run", "core.deliver-outbox", "--tenant", "kota-a")
    assert "core.deliver-outbox kota-a" in result.output
    assert "done (delivered 1, failed 0)" in result.output
    with db.all_tenants() as session:
        statuses = {row.tenant_id: row.status for row in session.scalars(select(OutboxMessage))}
    assert statuses == {kota_a.id: "stored", kota_b.id: "pending"}


@pytest.mark.balai_plugins(Sample())
def test_a_failing_job_is_recorded_and_retried_after_its_backoff(run, regions, tenant):
    with at(START):
        first = run("jobs", "run-due")
    assert first.exit_code == 0, first.output  # retrying is not failing yet
    [run_a] = [r for r in runs("sample.boom") if r.tenant_id == tenant.id]
    assert (run_a.status, run_a.attempts) == ("retrying", 1)
    assert run_a.error == "RuntimeError: boom in kota-a"
    assert run_a.due_at == datetime(2026, 3, 4, 3, 7, 40, tzinfo=UTC)  # 10 s later
    with at(START, seconds=9):
        run("jobs", "run-due")
    assert CALLS.count(("boom", "kota-a")) == 1  # its back-off has not passed
    with at(START, seconds=11):
        run("jobs", "run-due")
    [run_a] = [r for r in runs("sample.boom") if r.tenant_id == tenant.id]
    assert (run_a.status, run_a.attempts) == ("retrying", 2)
    assert run_a.due_at == datetime(2026, 3, 4, 3, 8, 41, tzinfo=UTC)  # then 60 s
    with at(START, seconds=72):
        last = run("jobs", "run-due")
    assert CALLS.count(("boom", "kota-a")) == 3
    [run_a] = [r for r in runs("sample.boom") if r.tenant_id == tenant.id]
    assert (run_a.status, run_a.attempts) == ("failed", 3)
    assert run_a.finished_at is not None
    assert last.exit_code == 1
    assert "failed: sample.boom (kota-a), sample.boom (kota-b)" in last.stderr


@pytest.mark.balai_plugins(Sample())
def test_a_job_past_its_time_limit_is_stopped_and_failed(run, regions):
    result = run("jobs", "run", "sample.slow", "--tenant", "kota-a")
    assert result.exit_code == 1
    assert "TimeLimitExceeded: stopped after 1 s" in result.output
    [slow_run] = runs("sample.slow")
    assert slow_run.status == "failed"


@pytest.mark.balai_plugins(Sample())
def test_two_schedulers_claim_a_slot_once(make_app, regions):
    from balai.jobs.runner import claim_due

    first, second = make_app(), make_app()
    with at(START):
        with first.app_context():
            claimed = claim_due(first, datetime.now(UTC))
        with second.app_context():
            again = claim_due(second, datetime.now(UTC))
    assert sorted((job.name, t.slug) for job, _id, t in claimed) == sorted(
        (name, slug)
        for name in ("core.deliver-outbox", "core.sync-evaluations", "sample.boom", "sample.ping")
        for slug in ("kota-a", "kota-b")
    )
    assert again == []


@pytest.mark.balai_plugins(Sample())
def test_enqueue_runs_later_once_per_key(app, run, regions):
    with at(START):
        run_id = enqueue("sample.later", tenant="kota-a", key="k1", note="hi")
        assert enqueue("sample.later", tenant="kota-a", key="k1", note="hi") is None
        result = run("jobs", "run-due")
    assert run_id is not None
    assert "sample.later kota-a key:k1: done (pinged kota-a {'note': 'hi'})" in result.output


@pytest.mark.balai_plugins(Sample())
@pytest.mark.parametrize(
    ("name", "region", "kwargs", "message"),
    [
        ("sample.nothing", "kota-a", {}, "unknown job"),
        ("sample.later", "kota-x", {}, "tenant: unknown region"),
        ("sample.later", "kota-c", {}, "tenant: kota-c has not enabled the sample plugin"),
        ("sample.later", "kota-a", {"when": datetime(2026, 1, 1, tzinfo=UTC)}, "when: not JSON"),
    ],
)
def test_enqueue_refuses_bad_arguments_and_writes_nothing(
    app, regions, name, region, kwargs, message
):
    from balai.tenancy import create_tenant

    create_tenant(app, "kota-c", "Kota C", ["kota-c.test"])
    with pytest.raises((LookupError, ValueError), match=message):
        enqueue(name, tenant=region, **kwargs)
    assert runs() == []


@pytest.mark.balai_plugins(Sample())
def test_jobs_list_shows_schedules_and_last_runs(run, regions):
    with at(START):
        run("jobs", "run-due")
        result = run("jobs", "list")
    lines = result.output.splitlines()
    assert lines[0].split() == ["JOB", "SCHEDULE", "REGION", "LAST", "SLOT", "STATUS"]
    assert any(line.split()[:2] == ["sample.later", "on"] for line in lines)
    ping_a = next(line for line in lines if line.startswith("sample.ping") and "kota-a" in line)
    assert ping_a.split()[-2:] == ["2026-03-04T03:05:00Z", "done"]


@pytest.mark.balai_plugins(Sample())
def test_jobs_run_refuses_an_unknown_job_or_region(run, regions):
    assert (
        "unknown job 'sample.nope'"
        in run("jobs", "run", "sample.nope", "--tenant", "kota-a").stderr
    )
    assert (
        "unknown tenant 'kota-x'" in run("jobs", "run", "sample.ping", "--tenant", "kota-x").stderr
    )
    assert runs() == []


def test_worker_and_scheduler_need_redis(run):
    for command in ("worker", "scheduler"):
        result = run(command)
        assert result.exit_code == 1
        assert "REDIS_URL is not set" in result.stderr


# -- pages ---------------------------------------------------------------------------


@pytest.mark.balai_plugins(Sample())
def test_a_regions_page_lists_only_its_own_runs(
    app, client, other_client, login, regions, other_tenant
):
    with at(START):
        enqueue("sample.later", tenant="kota-a", key="rahasia-kota-a")
        enqueue("sample.later", tenant="kota-b", key="rahasia-kota-b")
        app.test_cli_runner().invoke(cli, ["jobs", "run-due"])
    login(client, role="admin")
    page = client.get("/admin/tugas")
    assert page.status_code == 200
    assert "key:rahasia-kota-a" in page.text
    assert "rahasia-kota-b" not in page.text
    assert "sample.ping" in page.text  # the region's declared jobs
    login(other_client, role="admin", tenant=other_tenant)
    other = other_client.get("/admin/tugas")
    assert "key:rahasia-kota-b" in other.text and "rahasia-kota-a" not in other.text


def test_the_page_is_guarded_and_has_an_empty_state(app, client, login):
    assert client.get("/admin/tugas").status_code == 302  # to the login page
    login(client, role="opd")
    assert client.get("/admin/tugas").status_code == 403
    assert client.get("/admin/tugas/semua").status_code == 403


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="id")
def test_the_empty_page_says_so_in_indonesian(app, client, login):
    login(client, role="admin")
    page = client.get("/admin/tugas")
    assert page.status_code == 200
    assert "Tugas latar" in page.text
    assert "Belum ada tugas yang berjalan untuk daerah ini." in page.text


@pytest.mark.balai_plugins(Sample())
def test_only_the_operator_sees_every_region_and_the_counts(app, client, login, regions):
    with at(START):
        app.test_cli_runner().invoke(cli, ["jobs", "run-due"])
    login(client, role="admin")
    assert client.get("/admin/tugas/semua").status_code == 403
    operator = app.test_client()
    operator.host = "kota-a.test"  # type: ignore[attr-defined]
    login(operator, role="operator")
    page = operator.get("/admin/tugas/semua?status=retrying")
    assert page.status_code == 200
    assert "kota-a" in page.text and "kota-b" in page.text
    assert "RuntimeError: boom in kota-b" in page.text
    assert "<dt>Runs failed</dt><dd>0</dd>" in page.text.replace("\n", "")  # retrying yet


# -- with Redis (RQ) ---------------------------------------------------------------------


REDIS = os.environ.get("BALAI_TEST_REDIS_URL")


def _redis_answers() -> str | None:
    if not REDIS:
        return "BALAI_TEST_REDIS_URL is not set (scripts/test sets it on the PostgreSQL pass)"
    try:
        from redis import Redis

        Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except Exception as exc:
        return f"no Redis answers at {REDIS}: {exc}"
    return None


@pytest.fixture
def rq_app(make_app, tenant, other_tenant, enable_plugin) -> Iterator[Flask]:
    reason = _redis_answers()
    if reason:
        pytest.skip(reason)
    app = make_app(REDIS_URL=REDIS, JOBS_QUEUE=f"balai-test-{secrets.token_hex(4)}")
    enable_plugin("sample")
    enable_plugin("sample", tenant=other_tenant)
    from balai.jobs import queue

    yield app
    connection = queue.connection(app)
    for key in connection.keys(f"rq:*{app.config['JOBS_QUEUE']}*"):
        connection.delete(key)
    queue.rq_queue(app).empty()


def _work(app: Flask, fork: bool = False) -> None:
    from rq import SimpleWorker, Worker

    from balai.jobs import queue

    queue.bind(app)
    kind = Worker if fork else SimpleWorker
    worker = kind([queue.rq_queue(app)], connection=queue.connection(app))
    worker.work(burst=True, with_scheduler=True)


@pytest.mark.balai_plugins(Sample())
def test_with_redis_two_schedulers_enqueue_a_slot_once(rq_app, make_app):
    from balai.jobs import queue, scheduler

    other = make_app(REDIS_URL=REDIS, JOBS_QUEUE=rq_app.config["JOBS_QUEUE"])
    with at(START):
        assert scheduler.tick(rq_app) == 8  # 4 scheduled jobs x 2 regions
        assert scheduler.tick(other) == 0
    assert queue.counts(rq_app)["queued"] == 8
    with rq_app.app_context():
        _work(rq_app)
    assert {(r.job, r.status) for r in runs()} == {
        ("core.deliver-outbox", "done"),
        ("core.sync-evaluations", "done"),
        ("sample.ping", "done"),
        ("sample.boom", "retrying"),
    }
    assert queue.counts(rq_app)["queued"] == 0


@pytest.mark.balai_plugins(Sample())
def test_with_redis_a_failure_is_retried_by_rq_after_its_backoff(rq_app):
    from balai.jobs import queue

    with rq_app.app_context(), at(START):
        run_id = enqueue("sample.boom", tenant="kota-a")  # retries=2, backoff [10, 60]
        _work(rq_app)
    [row] = runs()
    assert (row.id, row.status, row.attempts) == (run_id, "retrying", 1)
    assert row.error == "RuntimeError: boom in kota-a"
    assert queue.counts(rq_app)["scheduled"] == 1
    for seconds in (9, 11, 72):  # not yet; the first retry; the second
        with rq_app.app_context(), at(START, seconds=seconds):
            _work(rq_app)
            attempts = runs()[0].attempts
        assert attempts == {9: 1, 11: 2, 72: 3}[seconds]
    [row] = runs()
    assert (row.status, row.attempts) == ("failed", 3)
    with at(START, seconds=72):  # RQ keeps failed jobs for a time from then
        assert queue.counts(rq_app)["failed"] == 1


@pytest.mark.balai_plugins(Sample())
def test_with_redis_the_forked_work_horse_stops_a_job_at_its_time_limit(rq_app):
    with rq_app.app_context():
        enqueue("sample.slow", tenant="kota-a")
        enqueue("sample.later", tenant="kota-b", n=1)
        _work(rq_app, fork=True)
    found = {r.job: r for r in runs()}
    assert found["sample.slow"].status == "failed"
    assert found["sample.slow"].error == "TimeLimitExceeded: stopped after 1 s"
    assert found["sample.later"].status == "done"  # the next horse has its own connections
    assert found["sample.later"].result == "pinged kota-b {'n': 1}"


def test_the_commands_run_in_an_app_context_of_their_own(make_app, monkeypatch):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")
    app = make_app()  # no app context pushed, as from the shell
    info = ScriptInfo(create_app=lambda: app)
    listed = CliRunner().invoke(cli, ["jobs", "list"], obj=info)
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines()[1].split()[0] == "core.deliver-outbox"
    assert CliRunner().invoke(cli, ["jobs", "run-due"], obj=info).exit_code == 0
    worker = CliRunner().invoke(cli, ["worker"], obj=info)
    assert "REDIS_URL is not set" in worker.stderr


@pytest.mark.balai_plugins(Sample())
def test_with_redis_balai_worker_runs_what_run_due_enqueued(rq_app, monkeypatch):
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")
    runner = rq_app.test_cli_runner()
    with rq_app.app_context(), at(START):
        enqueued = runner.invoke(cli, ["jobs", "run-due"])
        assert enqueued.exit_code == 0, enqueued.output
        assert "sample.ping kota-a run " in enqueued.output
        assert {r.status for r in runs()} == {"queued"}
        worked = runner.invoke(cli, ["worker", "--burst"])
    assert worked.exit_code == 0, worked.output
    statuses = {(r.job, r.status) for r in runs()}
    assert ("sample.ping", "done") in statuses and ("sample.boom", "retrying") in statuses


@pytest.mark.balai_plugins(Sample())
def test_with_redis_the_scheduler_loop_enqueues_each_slot_once(rq_app):
    from balai.jobs import queue
    from balai.jobs.scheduler import run_forever

    stops = iter([False, False, True])  # two checks, then stopped
    with at(START):
        run_forever(rq_app, 0, stop=lambda: next(stops))
        assert queue.counts(rq_app)["queued"] == 8  # 4 scheduled jobs x 2 regions, once


@pytest.mark.balai_plugins(Sample())
def test_a_run_waiting_in_a_region_that_switched_the_plugin_off_is_not_run(app, run, regions):
    from balai.tenancy import disable_plugin

    with at(START):
        enqueue("sample.later", tenant="kota-a", key="k1")
        disable_plugin(app, regions[0], "sample", by="test")
        result = run("jobs", "run-due")
    assert ("ping", "kota-a") not in CALLS
    assert "has switched the sample plugin off" in result.output
    [waiting] = [r for r in runs("sample.later")]
    assert (waiting.status, waiting.attempts) == ("failed", 1)


@pytest.mark.balai_plugins(Sample())
def test_with_redis_a_run_claimed_but_never_enqueued_is_enqueued_later(rq_app):
    from balai.jobs import queue, scheduler
    from balai.jobs.runner import claim

    with rq_app.app_context(), at(START):  # a scheduler killed between claim and enqueue
        kota_a = registry(rq_app).by_slug("kota-a")
        lost = claim(declared(rq_app)["sample.later"], kota_a, "key:lost", datetime.now(UTC))
    with at(START, seconds=4 * 60):
        scheduler.tick(rq_app)
        assert queue.counts(rq_app)["queued"] == 8  # the slots due; not yet the lost run
    with at(START, seconds=6 * 60):
        scheduler.tick(rq_app)
        scheduler.tick(rq_app)
        assert queue.counts(rq_app)["queued"] == 8 + 2 + 1  # 10:13's outbox runs, and it, once
    with rq_app.app_context(), at(START, seconds=6 * 60):
        _work(rq_app)
    assert [r.status for r in runs() if r.id == lost] == ["done"]


# -- figures and logs ----------------------------------------------------------------

METRICS_TOKEN = "rahasia-metrik-jobs-0123456789"


@pytest.mark.balai_plugins(Sample())
@pytest.mark.balai_config(METRICS_TOKEN=METRICS_TOKEN)
def test_metrics_count_runs_waiting_and_failed_in_every_region(run, regions, client):
    from prometheus_client.parser import text_string_to_metric_families

    def figures() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = client.get("/-/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert response.status_code == 200
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
            if sample.name.startswith("balai_job_runs")
        }

    with at(START):
        run("jobs", "run-due")
        first = figures()
    assert first[("balai_job_runs", (("status", "retrying"),))] == 2  # boom, both regions
    assert first[("balai_job_runs", (("status", "queued"),))] == 0
    assert first[("balai_job_runs_failed_last_day", ())] == 0
    for seconds in (11, 72):
        with at(START, seconds=seconds):
            run("jobs", "run-due")
    with at(START, seconds=80):
        later = figures()
    assert later[("balai_job_runs", (("status", "retrying"),))] == 0
    assert later[("balai_job_runs_failed_last_day", ())] == 2
    with at(START, seconds=80 + 25 * 3600):
        assert figures()[("balai_job_runs_failed_last_day", ())] == 0  # history now


def chatty(tenant: TenantInfo) -> None:
    logging.getLogger("sample.chatty").warning("working for %s", tenant.slug)


class Chatty:
    """A plugin whose job writes a log line."""

    name = "chatty"

    @hookimpl
    def register_jobs(self, app: Flask) -> list[Job]:
        return [Job("chatty.talk", chatty)]


@pytest.mark.balai_plugins(Chatty())
def test_a_jobs_log_lines_carry_its_run_as_request_id(run, tenant, enable_plugin, caplog):
    enable_plugin("chatty")
    result = run("jobs", "run", "chatty.talk", "--tenant", "kota-a")
    assert result.exit_code == 0, result.output
    [talk] = runs("chatty.talk")
    [line] = [r for r in caplog.records if r.name == "sample.chatty"]
    assert line.getMessage() == "working for kota-a"
    assert line.request_id == f"job-{talk.id}"


@pytest.mark.balai_plugins(Sample())
def test_outside_the_main_thread_unkept_time_limits_are_said_once(
    app, regions, caplog, monkeypatch
):
    """The demo runs its jobs in a thread, where no time limit can be kept: one line
    says so, not one per job."""
    monkeypatch.setattr(runner, "_unlimited", [])
    outcomes: list[Any] = []
    moment = datetime.fromisoformat(START).astimezone(UTC)

    def run_in_a_thread() -> None:
        with app.app_context():  # as the demo's thread does
            outcomes.extend(runner.run_due(app, moment, here=True))

    with caplog.at_level(logging.WARNING, logger="balai.jobs.runner"):
        thread = threading.Thread(target=run_in_a_thread)
        thread.start()
        thread.join()
    assert {(o.job, o.tenant) for o in outcomes} >= {
        ("sample.ping", "kota-a"),
        ("sample.boom", "kota-a"),
    }
    said = [r for r in caplog.records if "not enforced outside the main thread" in r.message]
    assert len(said) == 1
