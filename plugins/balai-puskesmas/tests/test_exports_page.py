"""The admin's sending pages (``/puskesmas/kirim``) and ``balai puskesmas send``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from balai.db import db, utcnow
from balai.tenancy import registry
from balai.testing import csrf_token
from balai_puskesmas import export
from balai_puskesmas.exports import PAGE_SIZE
from balai_puskesmas.models import AuditEntry, Export, Facility

from .conftest import IHS, NIK_MAN, TEST_ACTOR
from .fake_satusehat import add_visit, fhir_errors, running

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
BASE = "/puskesmas/kirim"


@pytest.fixture
def satusehat():
    """The fake SATUSEHAT, which holds the patient of ``visit``."""
    with running() as fake:
        fake.add_patient(NIK_MAN, IHS)
        yield fake


@pytest.fixture
def visit(db_session, facility, clinic, add_patient, ready, looked_up):
    """A visit at a puskesmas ready for SATUSEHAT, by its clinician, of a patient whose
    IHS number is known."""
    return add_visit(db_session, looked_up(add_patient()), clinic, clinician_id=ready.id)


@pytest.fixture
def failed(db_session, vault, visit, satusehat) -> Export:
    """The visit's export, refused by the server (400)."""
    item = export.enqueue(db_session, vault, visit, NOW, TEST_ACTOR)
    db_session.commit()
    satusehat.fail("400")
    assert export.send_due(db_session, satusehat.settings(), NOW, vault=vault).failed == 1
    db_session.expire_all()
    return db_session.get(Export, item.id)


def test_empty_outbox_and_switched_off_banner(client, login, enabled):
    login(client, role="admin")
    page = client.get(f"{BASE}/")
    assert page.status_code == 200
    assert "Belum ada yang dikirim" in page.text
    assert "Pengiriman ke SATUSEHAT dinonaktifkan." in page.text
    assert "/admin/plugin/puskesmas/pengaturan" in page.text


def test_missing_credentials_banner(app, client, login, enabled, set_plugin_settings):
    set_plugin_settings("puskesmas", export_enabled=True)
    login(client, role="admin")
    page = client.get(f"{BASE}/")
    assert "Pengiriman ke SATUSEHAT dinonaktifkan." not in page.text
    assert "Client ID dan client secret SATUSEHAT belum diatur." in page.text


def test_admin_sees_failures_without_personal_data(client, login, failed, visit):
    login(client, role="admin")
    listing = client.get(f"{BASE}/")
    assert listing.status_code == 200
    assert f"#{failed.id}" in listing.text
    assert "400 Bad Request: error invalid" in listing.text
    assert "Puskesmas Cip" in listing.text
    assert "Gagal: <strong>1</strong>" in listing.text
    assert client.get(f"{BASE}/?status=failed").text.count(f"#{failed.id}<") == 1
    assert f"#{failed.id}<" not in client.get(f"{BASE}/?status=sent").text
    detail = client.get(f"{BASE}/{failed.id}")
    assert detail.status_code == 200
    for shown in (
        "Patient",
        "Encounter",
        "Observation</code> &times; 7",
        "Condition",
        "Kirim ulang",
    ):
        assert shown in detail.text
    assert "Poli Umum" in detail.text
    for page in (listing.text, detail.text):
        assert NIK_MAN not in page
        assert "Budi Santoso" not in page
        assert "J06.9" not in page
    # Downloading needs a duty at the puskesmas: the admin has none.
    assert f"/kunjungan/{visit.id}.json" not in detail.text


def test_admin_retries_a_failed_export(client, login, failed, db_session, bundle_of):
    login(client, role="admin")
    response = client.post(f"{BASE}/{failed.id}/ulang")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{BASE}/{failed.id}")
    db_session.expire_all()
    retried = db_session.get(Export, failed.id)
    assert (retried.status, retried.attempts, retried.last_error) == ("pending", 0, "")
    assert fhir_errors(bundle_of(retried)) == []
    page = client.get(response.headers["Location"])
    assert "akan diulang dalam satu menit" in page.text
    again = client.post(f"{BASE}/{failed.id}/ulang", follow_redirects=True)
    assert "Hanya pengiriman yang gagal atau ditahan yang dapat dikirim ulang." in again.text


def test_the_sent_answer_is_shown(client, login, db_session, vault, visit, satusehat):
    item = export.enqueue(db_session, vault, visit, NOW, TEST_ACTOR)
    db_session.commit()
    export.send_due(db_session, satusehat.settings(), NOW, vault=vault)
    login(client, role="admin")
    page = client.get(f"{BASE}/{item.id}")
    assert "201 Created" in page.text
    assert "Encounter/" in page.text
    assert "Patient/" not in page.text
    assert client.get(f"{BASE}/").text.count("Terkirim") >= 2


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_retrying_needs_the_csrf_token(client, login, failed, db_session):
    login(client, role="admin")
    assert client.post(f"{BASE}/{failed.id}/ulang").status_code == 400
    token = csrf_token(client, f"{BASE}/{failed.id}")
    assert client.post(f"{BASE}/{failed.id}/ulang", data={"csrf_token": token}).status_code == 302
    db_session.expire_all()
    assert db_session.get(Export, failed.id).status == "pending"


def test_the_outbox_is_paginated_newest_first(client, login, db_session, visit):
    for _ in range(PAGE_SIZE + 3):
        db_session.add(Export(visit_id=visit.id, status="sent", next_attempt_at=NOW))
    db_session.add(Export(visit_id=visit.id, status="failed", next_attempt_at=NOW))
    db_session.commit()
    newest = PAGE_SIZE + 4
    login(client, role="admin")
    first = client.get(f"{BASE}/").text
    assert first.count('<tr>\n    <td><a href="/puskesmas/kirim/') == PAGE_SIZE
    assert first.index(f"#{newest}<") < first.index(f"#{newest - 1}<")
    assert 'rel="next" href="/puskesmas/kirim/?page=2"' in first
    second = client.get(f"{BASE}/?page=2").text
    assert second.count('<tr>\n    <td><a href="/puskesmas/kirim/') == 4
    assert "#1<" in second
    sent = client.get(f"{BASE}/?status=sent&page=2").text
    assert sent.count('<tr>\n    <td><a href="/puskesmas/kirim/') == 3
    assert 'rel="prev" href="/puskesmas/kirim/?page=1&amp;status=sent"' in sent  # filter kept
    assert client.get(f"{BASE}/?status=failed&page=2").status_code == 404


def test_filters_are_checked(client, login, enabled):
    login(client, role="admin")
    assert client.get(f"{BASE}/?status=lost").status_code == 400
    assert client.get(f"{BASE}/?page=x").status_code == 400
    assert client.get(f"{BASE}/?page=2").status_code == 404


def test_officers_without_the_permission_are_refused(
    client, login, assign, facility, failed, visit
):
    user = login(client, role="opd")
    assign(user, facility, "clinician")
    for url in (f"{BASE}/", f"{BASE}/{failed.id}", f"{BASE}/kunjungan/{visit.id}.json"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"{BASE}/{failed.id}/ulang").status_code == 403


def test_another_region_sees_nothing(
    other_client, other_tenant, login, enable_plugin, failed, visit
):
    enable_plugin("puskesmas", tenant=other_tenant)
    login(other_client, role="admin", tenant=other_tenant)
    listing = other_client.get(f"{BASE}/").text
    assert f"#{failed.id}" not in listing
    assert "Gagal: <strong>0</strong>" in listing
    assert "Belum ada yang dikirim" in listing
    assert other_client.get(f"{BASE}/{failed.id}").status_code == 404
    assert other_client.post(f"{BASE}/{failed.id}/ulang").status_code == 404
    assert other_client.get(f"{BASE}/kunjungan/{visit.id}.json").status_code == 404


def test_the_bundle_download_needs_a_duty_and_is_audited(
    client, login, assign, facility, visit, db_session
):
    admin = login(client, role="admin")
    url = f"{BASE}/kunjungan/{visit.id}.json"
    assert client.get(url).status_code == 403  # a role alone reads no health record
    assert db_session.scalars(select(AuditEntry)).all() == []
    assign(admin, facility, "viewer")
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="kunjungan-{visit.id}.json"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    bundle = json.loads(response.data)
    assert fhir_errors(bundle) == []
    assert bundle["entry"][0]["resource"]["subject"]["reference"] == f"Patient/{IHS}"
    assert NIK_MAN not in response.text
    (entry,) = db_session.scalars(select(AuditEntry)).all()
    assert (entry.action, entry.user_id, entry.patient_id, entry.facility_id) == (
        "visit.export",
        admin.id,
        visit.patient_id,
        facility.id,
    )
    assert NIK_MAN not in entry.detail
    assert client.get(f"{BASE}/kunjungan/{visit.id + 1000}.json").status_code == 404


def test_an_unbuildable_bundle_is_explained_not_downloaded(
    client, login, assign, facility, visit, db_session
):
    db_session.execute(
        update(Facility).where(Facility.id == facility.id).values(satusehat_org_id="bad id")
    )
    db_session.commit()
    assign(login(client, role="admin"), facility, "viewer")
    response = client.get(f"{BASE}/kunjungan/{visit.id}.json")
    assert response.status_code == 422
    assert "Organization id" in response.text
    assert db_session.scalars(select(AuditEntry)).all() == []


def test_a_bundle_waiting_for_the_patient_lookup_is_explained_not_downloaded(
    client, login, assign, facility, clinic, ready, add_patient, db_session
):
    visit = add_visit(db_session, add_patient(), clinic, clinician_id=ready.id)
    assign(login(client, role="admin"), facility, "viewer")
    response = client.get(f"{BASE}/kunjungan/{visit.id}.json")
    assert response.status_code == 422
    assert "IHS number is not known yet" in response.text
    assert db_session.scalars(select(AuditEntry)).all() == []  # nothing was opened


# -- balai puskesmas send ------------------------------------------------------------


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=["puskesmas", "send", *args])

    return invoke


def test_the_command_sends_and_prints_a_line_per_region(
    app,
    run,
    enabled,
    other_tenant,
    enable_plugin,
    db_session,
    vault,
    visit,
    satusehat,
    set_plugin_settings,
):
    set_plugin_settings("puskesmas", **satusehat.region_settings(app))
    enable_plugin("puskesmas", tenant=other_tenant)  # sending off there: skipped
    export.enqueue(db_session, vault, visit, utcnow(), TEST_ACTOR)
    db_session.commit()
    result = run()
    assert result.exit_code == 0, result.output
    assert result.output == "kota-a: 1 sent, 0 waiting, 0 failed\n"
    assert len(satusehat.received) == 1
    assert run().output == "kota-a: 0 sent, 0 waiting, 0 failed\n"
    only = run("--tenant", "kota-b")
    assert (only.exit_code, only.output) == (0, "kota-b: sending to SATUSEHAT is switched off\n")


def test_the_command_reports_what_waits(
    app, run, enabled, db_session, vault, visit, satusehat, set_plugin_settings
):
    set_plugin_settings("puskesmas", **satusehat.region_settings(app))
    export.enqueue(db_session, vault, visit, utcnow(), TEST_ACTOR)
    db_session.commit()
    satusehat.fail("503")
    result = run("--tenant", "kota-a", "--limit", "5")
    assert result.exit_code == 0, result.output
    assert result.output == "kota-a: 0 sent, 1 waiting, 0 failed\n"
    with db.tenant_session(enabled.id) as session:
        (item,) = session.scalars(select(Export)).all()
        assert item.last_error == "attempt 1: 503 Service Unavailable"


def test_the_command_refuses_an_unknown_region(run, enabled, other_tenant):
    result = run("--tenant", "kota-x")
    assert result.exit_code == 1
    assert "unknown tenant 'kota-x'" in result.output
    result = run("--tenant", "kota-b")
    assert result.exit_code == 1
    assert "kota-b has not enabled the puskesmas plugin" in result.output


def test_the_command_reads_each_regions_settings(app, run, enabled, satusehat, set_plugin_settings):
    set_plugin_settings("puskesmas", **satusehat.region_settings(app))
    stored = registry(app).by_id(enabled.id).plugin_settings["puskesmas"]
    assert stored["satusehat_server"] == "fake"
    assert satusehat.client_secret not in str(stored)  # sealed
    result = run()
    assert result.output == "kota-a: 0 sent, 0 waiting, 0 failed\n"
    assert satusehat.token_requests == 0  # nothing due: no token asked for
