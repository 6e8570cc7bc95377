"""The outbox to SATUSEHAT against a local fake server: sending, retries with back-off,
token refresh, failures kept, no double sending, and queueing when a visit is recorded."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask import g
from sqlalchemy import func, select

from balai.db import db, utcnow
from balai.plugins import plugins
from balai.tenancy import registry
from balai_puskesmas import export
from balai_puskesmas.models import Export

from .conftest import IHS, NIK_MAN, TEST_ACTOR
from .fake_satusehat import add_visit, fhir_errors, running

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def satusehat():
    with running() as fake:
        yield fake


@pytest.fixture
def queue(db_session, vault, facility, clinic, add_patient, ready, satusehat, looked_up):
    """``queue(n=1)``: record ``n`` visits (the puskesmas, its clinic and the clinician
    with their SATUSEHAT ids; the patient's IHS number looked up before) and queue
    their bundles at ``NOW``."""
    patient = looked_up(add_patient())
    satusehat.add_patient(NIK_MAN, IHS)

    def make(n: int = 1) -> list[Export]:
        made = []
        for _ in range(n):
            visit = add_visit(db_session, patient, clinic, clinician_id=ready.id)
            made.append(export.enqueue(db_session, vault, visit, NOW, TEST_ACTOR))
        db_session.commit()
        return made

    return make


def fresh(db_session, item: Export) -> Export:
    db_session.expire_all()
    found = db_session.get(Export, item.id)
    assert found is not None
    return found


def dead_address() -> str:
    """An address where nothing listens (a port just released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/fhir-r4/v1"


# -- sending -------------------------------------------------------------------------


def test_due_bundles_are_sent_and_the_answer_kept(db_session, queue, satusehat, bundle_of, vault):
    first, second = queue(2)
    summary = export.send_due(db_session, satusehat.settings(), NOW, vault=vault)
    assert (summary.sent, summary.waiting, summary.failed, summary.message) == (2, 0, 0, "")
    assert summary.line() == "2 sent, 0 waiting, 0 failed"
    assert satusehat.token_requests == 1  # one token for the run
    assert satusehat.received == [bundle_of(first), bundle_of(second)]
    assert all(fhir_errors(b) == [] for b in satusehat.received)
    done = fresh(db_session, first)
    assert (done.status, done.attempts, done.sent_at, done.last_error) == ("sent", 1, NOW, "")
    assert bundle_of(done) == bundle_of(first)  # kept as sent
    entries = done.response["entries"]
    assert done.response["status"] == 200
    assert [e["resourceType"] for e in entries][:2] == ["Encounter", "Observation"]
    assert {e["status"] for e in entries} == {"201 Created"}
    assert entries[0]["location"].startswith("Encounter/")
    # The stored IHS number is the cache: SATUSEHAT was not asked again.
    assert satusehat.searches == []
    assert {b["entry"][0]["resource"]["subject"]["reference"] for b in satusehat.received} == {
        f"Patient/{IHS}"
    }
    again = export.send_due(db_session, satusehat.settings(), NOW + MINUTE, vault=vault)
    assert (again.sent, again.waiting) == (0, 0)
    assert len(satusehat.received) == 2


def test_a_server_error_is_retried_with_growing_waits(db_session, queue, satusehat, vault):
    (item,) = queue()
    satusehat.fail("500", "503", "500")
    summary = export.send_due(db_session, satusehat.settings(), NOW, vault=vault)
    assert (summary.sent, summary.retrying, summary.waiting, summary.failed) == (0, 1, 1, 0)
    waiting = fresh(db_session, item)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.next_attempt_at == NOW + MINUTE
    assert waiting.last_error == "attempt 1: 500 Internal Server Error"
    # Not due yet: nothing is sent.
    requests = satusehat.fhir_requests
    assert (
        export.send_due(
            db_session, satusehat.settings(), NOW + timedelta(seconds=59), vault=vault
        ).sent
        == 0
    )
    assert satusehat.fhir_requests == requests
    now = NOW + MINUTE
    export.send_due(db_session, satusehat.settings(), now, vault=vault)
    waiting = fresh(db_session, item)
    assert waiting.attempts == 2
    assert waiting.next_attempt_at == now + 2 * MINUTE
    assert waiting.last_error == "attempt 2: 503 Service Unavailable"
    now += 2 * MINUTE
    export.send_due(db_session, satusehat.settings(), now, vault=vault)
    assert fresh(db_session, item).next_attempt_at == now + 4 * MINUTE
    now += 4 * MINUTE
    summary = export.send_due(db_session, satusehat.settings(), now, vault=vault)
    assert summary.line() == "1 sent, 0 waiting, 0 failed"
    sent = fresh(db_session, item)
    assert (sent.status, sent.attempts, sent.sent_at, sent.last_error) == ("sent", 4, now, "")
    assert len(satusehat.received) == 1


def test_back_off_doubles_up_to_six_hours():
    assert [export.backoff(n) for n in (1, 2, 3, 4)] == [MINUTE * m for m in (1, 2, 4, 8)]
    assert export.backoff(9) == 256 * MINUTE
    assert export.backoff(10) == timedelta(hours=6)
    assert export.backoff(50) == timedelta(hours=6)


def test_too_many_requests_waits_as_long_as_the_server_asks(db_session, queue, satusehat, vault):
    (item,) = queue()
    satusehat.fail("429")
    export.send_due(db_session, satusehat.settings(), NOW, vault=vault)
    waiting = fresh(db_session, item)
    assert waiting.next_attempt_at == NOW + timedelta(seconds=120)  # Retry-After: 120
    assert waiting.last_error == "attempt 1: 429 Too Many Requests"


def test_an_expired_token_is_refreshed_once(db_session, queue, satusehat, vault):
    first, _ = queue(2)
    satusehat.fail("401")
    summary = export.send_due(db_session, satusehat.settings(), NOW, vault=vault)
    assert summary.sent == 2
    assert satusehat.token_requests == 2
    assert fresh(db_session, first).attempts == 1


def test_a_token_refused_twice_is_an_attempt(db_session, queue, satusehat, vault):
    (item,) = queue()
    satusehat.fail("401", "401")
    export.send_due(db_session, satusehat.settings(), NOW, vault=vault)
    waiting = fresh(db_session, item)
    assert satusehat.token_requests == 2  # refreshed once, not in a loop
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.last_error.startswith("attempt 1: 401 Unauthorized")


def test_wrong_credentials_stop_the_run_and_say_so(db_session, queue, satusehat, vault):
    first, second = queue(2)
    summary = export.send_due(
        db_session, satusehat.settings(satusehat_client_secret="salah"), NOW, vault=vault
    )
    assert summary.message == "no access token: 401 Unauthorized"
    assert summary.line() == "0 sent, 2 waiting, 0 failed (no access token: 401 Unauthorized)"
    assert fresh(db_session, first).last_error == "attempt 1: token: 401 Unauthorized"
    assert fresh(db_session, second).attempts == 0  # not tried: the run stopped
    assert satusehat.fhir_requests == 0


def test_when_the_network_is_down_the_record_waits(db_session, queue, satusehat, bundle_of, vault):
    (item,) = queue()
    down = dead_address()
    export.send_due(db_session, satusehat.settings(satusehat_base_url=down), NOW, vault=vault)
    waiting = fresh(db_session, item)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.last_error == "attempt 1: network: ConnectError"
    assert bundle_of(waiting) == bundle_of(item)
    # The token endpoint down too: counted as an attempt, reason given.
    everything_down = satusehat.settings(satusehat_base_url=down, satusehat_token_url=down)
    summary = export.send_due(db_session, everything_down, NOW + MINUTE, vault=vault)
    assert summary.message == "no access token: network: ConnectError"
    waiting = fresh(db_session, item)
    assert (waiting.status, waiting.attempts) == ("pending", 2)
    # Back up: sent.
    assert (
        export.send_due(db_session, satusehat.settings(), NOW + 3 * MINUTE, vault=vault).sent == 1
    )
    assert satusehat.received == [bundle_of(item)]


def test_a_dropped_connection_is_retried(db_session, queue, satusehat, vault):
    (item,) = queue()
    satusehat.fail("close")
    export.send_due(db_session, satusehat.settings(), NOW, vault=vault)
    waiting = fresh(db_session, item)
    assert waiting.last_error == "attempt 1: network: RemoteProtocolError"
    assert export.send_due(db_session, satusehat.settings(), NOW + MINUTE, vault=vault).sent == 1


def test_after_the_last_attempt_it_is_failed_and_kept(
    db_session, queue, satusehat, vault, bundle_of
):
    (item,) = queue()
    settings = satusehat.settings(max_attempts=2)
    satusehat.fail("500", "500")
    export.send_due(db_session, settings, NOW, vault=vault)
    summary = export.send_due(db_session, settings, NOW + MINUTE, vault=vault)
    assert summary.line() == "0 sent, 0 waiting, 1 failed"
    failed = fresh(db_session, item)
    assert (failed.status, failed.attempts) == ("failed", 2)
    assert failed.last_error == "attempt 2: 500 Internal Server Error"
    assert bundle_of(failed) == bundle_of(item)
    # Failed exports are not sent again by themselves...
    assert export.send_due(db_session, settings, NOW + timedelta(days=1), vault=vault).sent == 0
    assert satusehat.fhir_requests == 2
    # ...until an admin retries.
    export.retry(db_session, item.id, NOW + timedelta(days=1))
    db_session.commit()
    retried = fresh(db_session, item)
    assert (retried.status, retried.attempts, retried.last_error) == ("pending", 0, "")
    assert export.send_due(db_session, settings, NOW + timedelta(days=1), vault=vault).sent == 1


def test_retry_refuses_what_is_not_failed(db_session, queue):
    from balai_puskesmas.services import PuskesmasError

    (item,) = queue()
    with pytest.raises(PuskesmasError) as caught:
        export.retry(db_session, item.id, NOW)
    assert caught.value.status == 409
    with pytest.raises(PuskesmasError) as caught:
        export.retry(db_session, item.id + 1000, NOW)
    assert caught.value.status == 404


def test_rejected_content_fails_at_once_with_the_diagnostics(db_session, queue, satusehat, vault):
    (item,) = queue()
    satusehat.fail("400")
    summary = export.send_due(db_session, satusehat.settings(), NOW, vault=vault)
    assert summary.line() == "0 sent, 0 waiting, 1 failed"
    failed = fresh(db_session, item)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error.startswith(
        "400 Bad Request: error invalid: Patient/… (…) is not active"
    )
    assert "[Bundle.entry[0]]" in failed.last_error
    # The server quoted the IHS number and the name; they are not kept.
    assert IHS not in failed.last_error and "Budi" not in failed.last_error
    assert failed.response is None


def test_an_unbuildable_visit_is_queued_as_failed_not_lost(
    db_session, vault, facility, clinic, add_patient, bundle_of, ready, looked_up
):
    from sqlalchemy import update

    from balai_puskesmas.models import Facility

    db_session.execute(
        update(Facility).where(Facility.id == facility.id).values(satusehat_org_id="bad id")
    )
    visit = add_visit(db_session, looked_up(add_patient()), clinic, clinician_id=ready.id)
    item = export.enqueue(db_session, vault, visit, NOW, TEST_ACTOR)
    db_session.commit()
    kept = fresh(db_session, item)
    assert (kept.status, bundle_of(kept), kept.visit_id) == ("failed", {}, visit.id)
    assert "Organization id" in kept.last_error
    from balai_puskesmas.services import PuskesmasError

    with pytest.raises(PuskesmasError) as caught:
        export.retry(db_session, item.id, NOW, vault=vault, actor=TEST_ACTOR)
    assert caught.value.status == 422
    db_session.execute(
        update(Facility).where(Facility.id == facility.id).values(satusehat_org_id="100011961")
    )
    export.retry(db_session, item.id, NOW, vault=vault, actor=TEST_ACTOR)  # rebuilt from the visit
    db_session.commit()
    rebuilt = fresh(db_session, item)
    assert rebuilt.status == "pending"
    assert fhir_errors(bundle_of(rebuilt)) == []
    encounter = bundle_of(rebuilt)["entry"][0]["resource"]
    assert encounter["serviceProvider"]["reference"] == "Organization/100011961"


# -- one sender at a time ------------------------------------------------------------


def test_a_claimed_export_is_not_sent_by_a_second_sender(
    app, tenant, db_session, queue, satusehat, bundle_of, vault
):
    (item,) = queue()
    with db.new_session(tenant.id) as other:
        sender = export._Sender(
            other, satusehat.settings(), NOW, None, lambda: 0.0, export.SendSummary(), vault
        )
        assert sender.claim() == (item.id, bundle_of(item))  # a sender took it, is sending...
        summary = export.send_due(db_session, satusehat.settings(), NOW, vault=vault)
        assert (summary.sent, summary.waiting) == (0, 1)  # ...so this one leaves it
        assert satusehat.fhir_requests == 0
        claimed = fresh(db_session, item)
        assert claimed.next_attempt_at == NOW + export.LEASE
        assert claimed.attempts == 0


def test_concurrent_senders_send_each_bundle_once(app, tenant, db_session, queue, satusehat, vault):
    items = queue(4)
    satusehat.delay = 0.2
    sessions = [db.new_session(tenant.id) for _ in range(3)]
    results: list[export.SendSummary] = []
    problems: list[BaseException] = []

    def send(session) -> None:
        try:
            results.append(export.send_due(session, satusehat.settings(), NOW, vault=vault))
        except BaseException as exc:  # reported below, on the test's thread
            problems.append(exc)

    threads = [threading.Thread(target=send, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for session in sessions:
        session.close()
    assert problems == []
    assert sum(r.sent for r in results) == 4
    encounters = [b["entry"][0]["resource"]["identifier"][0]["value"] for b in satusehat.received]
    assert sorted(encounters) == sorted(str(i.visit_id) for i in items)  # each once
    assert {fresh(db_session, i).status for i in items} == {"sent"}
    assert {fresh(db_session, i).attempts for i in items} == {1}


def test_a_sender_sees_only_its_tenant(
    app, tenant, other_tenant, enable_plugin, db_session, queue, satusehat, vault
):
    enable_plugin("puskesmas", tenant=other_tenant)
    (item,) = queue()
    with db.new_session(other_tenant.id) as other:
        summary = export.send_due(other, satusehat.settings(), NOW, vault=vault)
    assert (summary.sent, summary.waiting) == (0, 0)
    assert fresh(db_session, item).status == "pending"


# -- when nothing may be sent --------------------------------------------------------


def test_nothing_is_sent_while_sending_is_switched_off(db_session, queue, satusehat, vault):
    (item,) = queue()
    summary = export.send_due(
        db_session, satusehat.settings(export_enabled=False), NOW, vault=vault
    )
    assert summary.line() == "0 sent, 1 waiting, 0 failed (sending to SATUSEHAT is switched off)"
    assert satusehat.token_requests == satusehat.fhir_requests == 0
    assert fresh(db_session, item).attempts == 0


def test_nothing_is_sent_without_client_credentials(db_session, queue, satusehat, vault):
    queue()
    summary = export.send_due(
        db_session, satusehat.settings(satusehat_client_secret=""), NOW, vault=vault
    )
    assert summary.message == "the SATUSEHAT client ID and secret are not set"
    assert satusehat.token_requests == 0


# -- queueing when a visit is recorded -----------------------------------------------


def record_through_the_hook(app, tenant, db_session, visit) -> None:
    """Announce ``visit`` as the records page does, in a request-like context."""
    fresh_tenant = registry(app).by_id(tenant.id)
    with app.app_context():
        g.tenant = fresh_tenant
        plugins(app).relay(fresh_tenant.plugins).visit_recorded(
            tenant=fresh_tenant, visit=visit, session=db_session
        )
    db_session.commit()


def exports(db_session) -> list[Export]:
    db_session.expire_all()
    return list(db_session.scalars(select(Export).order_by(Export.id)))


def test_recording_a_visit_queues_its_bundle_when_sending_is_on(
    app, enabled, db_session, clinic, add_patient, bundle_of, ready, looked_up, set_plugin_settings
):
    from balai_puskesmas.models import AuditEntry

    set_plugin_settings("puskesmas", export_enabled=True)
    patient = add_patient()
    visit = add_visit(db_session, patient, clinic, clinician_id=ready.id)
    record_through_the_hook(app, enabled, db_session, visit)
    # The patient's IHS number is not known yet: queued without a bundle, for the
    # sender to look the patient up; nothing was opened, nothing written to the trail.
    (first,) = exports(db_session)
    assert (first.visit_id, first.status, first.bundle_sealed) == (visit.id, "pending", None)
    assert db_session.scalar(select(func.count(AuditEntry.id))) == 0
    # Once it is known, the next visit's bundle is built when it is recorded.
    looked_up(patient)
    visit = add_visit(db_session, patient, clinic, clinician_id=ready.id)
    record_through_the_hook(app, enabled, db_session, visit)
    queued = exports(db_session)[1]
    assert (queued.visit_id, queued.status, queued.attempts) == (visit.id, "pending", 0)
    assert fhir_errors(bundle_of(queued)) == []
    assert bundle_of(queued)["entry"][0]["resource"]["subject"]["reference"] == f"Patient/{IHS}"
    (entry,) = db_session.scalars(select(AuditEntry)).all()
    assert (entry.action, entry.patient_id) == ("export.queue", patient.id)


def test_recording_a_visit_queues_nothing_while_sending_is_off(
    app, enabled, db_session, clinic, add_patient
):
    visit = add_visit(db_session, add_patient(), clinic)
    record_through_the_hook(app, enabled, db_session, visit)
    assert exports(db_session) == []
    assert db_session.scalar(select(func.count(Export.id))) == 0


# -- bundles at rest: sealed, deleted after sending ----------------------------------


def raw_exports(tenant) -> list[dict]:
    """The export rows as the database holds them (every column)."""
    with db.all_tenants() as session:
        rows = session.execute(
            Export.__table__.select().where(Export.__table__.c.tenant_id == tenant.id)
        )
        return [dict(row._mapping) for row in rows]


def test_a_queued_bundle_is_sealed_at_rest(tenant, db_session, queue, bundle_of):
    """The bundle holds health data and the IHS number, never the NIK: no column of the
    export keeps any of it (or the name) in clear."""
    (item,) = queue()
    encounter = bundle_of(item)["entry"][0]["resource"]
    assert encounter["subject"] == {"reference": f"Patient/{IHS}", "display": "Budi Santoso"}
    assert NIK_MAN not in json.dumps(bundle_of(item))
    (row,) = raw_exports(tenant)
    stored = repr(row)
    assert IHS not in stored and IHS.encode() not in row["bundle_sealed"]
    assert "Budi" not in stored
    assert row["resource_types"][:2] == [["Encounter", 1], ["Observation", 7]]


def test_sending_opens_each_bundle_under_an_audit_entry(db_session, queue, satusehat, vault):
    from balai_puskesmas.models import AuditEntry

    first, second = queue(2)
    export.send_due(db_session, satusehat.settings(), NOW, vault=vault)
    sends = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "export.send").order_by(AuditEntry.id)
    ).all()
    assert [e.detail for e in sends] == [
        f"export {first.id}: FHIR bundle opened to send to SATUSEHAT",
        f"export {second.id}: FHIR bundle opened to send to SATUSEHAT",
    ]
    assert {(e.actor, e.channel, e.user_id) for e in sends} == {
        ("balai puskesmas send", "cli", None)
    }


def test_sent_bundles_are_deleted_after_the_retention_and_the_outcome_stays(
    tenant, db_session, queue, satusehat, vault, bundle_of
):
    sent, failed, waiting = queue(3)
    satusehat.fail("200", "400")  # the second is refused: failed, kept for a retry
    export.send_due(db_session, satusehat.settings(), NOW, vault=vault, limit=2)
    assert (fresh(db_session, sent).status, fresh(db_session, failed).status) == (
        "sent",
        "failed",
    )
    day = timedelta(days=1)
    assert export.purge_sent(db_session, NOW + 30 * day - MINUTE, 30) == 0
    assert export.purge_sent(db_session, NOW + 30 * day, 30) == 1
    gone = fresh(db_session, sent)
    assert (gone.status, gone.bundle_sealed, gone.purged_at) == ("sent", None, NOW + 30 * day)
    assert gone.response["status"] == 200 and gone.resource_types  # the outcome stays
    assert bundle_of(fresh(db_session, failed)) and bundle_of(fresh(db_session, waiting))
    assert export.purge_sent(db_session, NOW + 400 * day, 30) == 0  # once
    assert len(raw_exports(tenant)) == 3


def test_the_send_command_deletes_what_is_past_the_regions_retention(
    app, enabled, db_session, queue, set_plugin_settings
):
    """Run by cron with sending on or off: the region's ``bundle_retention_days``."""
    from balai.db import utcnow

    old, recent = queue(2)
    now = utcnow()
    for item, days in ((old, 31), (recent, 29)):
        db_session.execute(
            Export.__table__.update()
            .where(Export.__table__.c.id == item.id)
            .values(status="sent", sent_at=now - timedelta(days=days))
        )
    db_session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["puskesmas", "send", "--tenant", "kota-a"])
    assert result.exit_code == 0, result.output
    assert result.output == "kota-a: sending to SATUSEHAT is switched off; 1 bundles deleted\n"
    assert fresh(db_session, old).bundle_sealed is None
    assert fresh(db_session, recent).bundle_sealed is not None
    set_plugin_settings("puskesmas", bundle_retention_days=7)
    result = runner.invoke(args=["puskesmas", "send"])
    assert result.output == "kota-a: sending to SATUSEHAT is switched off; 1 bundles deleted\n"
    assert fresh(db_session, recent).bundle_sealed is None


def test_sending_is_a_job_whose_errors_never_quote_their_message(
    app, enabled, db_session, queue, monkeypatch, run_command
):
    from balai.jobs import JobRun
    from balai_puskesmas import commands

    result = run_command("jobs", "run", "puskesmas.send", "--tenant", "kota-a")
    assert result.exit_code == 0, result.output
    assert ": done (sending to SATUSEHAT is switched off)" in result.output

    def fails(tenant, limit=50):
        raise ValueError("NIK 3171234567890123 refused")

    monkeypatch.setattr(commands, "send_for", fails)
    result = run_command("jobs", "run", "puskesmas.send", "--tenant", "kota-a")
    assert result.exit_code == 1
    with db.tenant_session(enabled.id) as session:
        failed = session.scalars(select(JobRun).where(JobRun.status == "failed")).one()
    assert failed.error.startswith("ValueError at test_export.py:")
    assert "3171234567890123" not in result.output + failed.error


def test_the_migration_seals_bundles_kept_in_clear(
    app, tenant, db_session, vault, clinic, add_patient
):
    from sqlalchemy import text

    from balai.testing import downgraded

    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": {"resourceType": "Patient", "identifier": [{"value": NIK_MAN}]}}],
    }
    visit_id = add_visit(db_session, add_patient(), clinic).id
    db_session.commit()
    with downgraded(app, "puskesmas_0001"), db.all_tenants() as connection:
        connection.execute(
            text(
                "INSERT INTO puskesmas_export (tenant_id, visit_id, bundle, status, attempts,"
                " next_attempt_at, last_error, created_at) VALUES (:t, :v, :b, 'failed', 0,"
                " :now, '', :now)"
            ),
            {
                "now": f"{utcnow():%Y-%m-%d %H:%M:%S}+00:00",
                "t": tenant.id,
                "v": visit_id,
                "b": json.dumps(bundle),
            },
        )
    (row,) = raw_exports(tenant)
    assert "bundle" not in row and NIK_MAN.encode() not in row["bundle_sealed"]
    assert row["resource_types"] == [["Patient", 1]]
    found = db_session.get(Export, row["id"])
    from balai_puskesmas.services import audit

    assert export.open_bundle(found, vault, audit(db_session, TEST_ACTOR, "test", NOW)) == bundle
