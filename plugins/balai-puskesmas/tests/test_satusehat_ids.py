"""SATUSEHAT's ids before anything is sent: sending cannot be switched on while a
puskesmas, clinic or clinician lacks its id, the export page lists what is missing,
and a visit that cannot name them is held with the reason instead of being sent to
SATUSEHAT (which refuses a reference by name alone) until the ids are entered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from balai.auth import create_user
from balai.db import db
from balai.tenancy import registry
from balai.testing import downgraded
from balai_puskesmas import export, readiness
from balai_puskesmas.models import AuditEntry, Clinic, Export, Facility, Staff

from .conftest import IHS, NAKES_ID, NIK_MAN, TEST_ACTOR
from .fake_satusehat import add_visit, running

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
SETTINGS = "/admin/plugin/puskesmas/pengaturan"
KIRIM = "/puskesmas/kirim"


@pytest.fixture
def satusehat():
    with running() as fake:
        yield fake


@pytest.fixture
def nurse(db_session, tenant, facility, ready):
    """A second clinician at the ready puskesmas, whose Practitioner id is not entered."""
    user = create_user(
        db_session,
        tenant_id=tenant.id,
        email="perawat.ani@example.test",
        name="Ani Perawat",
        role="opd",
        password="sangat-rahasia-sekali",
    )
    db_session.flush()
    staff = Staff(user_id=user.id, facility_id=facility.id, duty="clinician", profession="nurse")
    db_session.add(staff)
    db_session.commit()
    return user


def stored_settings(tenant) -> dict:
    """The region's own settings of the plugin, as the database holds them."""
    return dict(registry().by_id(tenant.id).plugin_settings.get("puskesmas", {}))


def fresh(db_session, item: Export) -> Export:
    db_session.expire_all()
    found = db_session.get(Export, item.id)
    assert found is not None
    return found


# -- switching sending on ------------------------------------------------------------


def test_sending_is_not_switched_on_while_ids_are_missing(
    client, login, enabled, facility, db_session, assign
):
    admin = login(client, role="admin")
    assign(admin, facility, "clinician")  # a clinician without a Practitioner id
    refused = client.post(SETTINGS, data={"export_enabled": "true"})
    assert refused.status_code == 400
    text = refused.text
    assert "Pengiriman belum dapat diaktifkan" in text
    assert (
        "1 puskesmas tanpa ID Organization; 3 poli tanpa ID Location; "
        "1 tenaga kesehatan tanpa ID Practitioner"
    ) in text
    assert "export_enabled" not in stored_settings(enabled)  # nothing saved
    # Entered on the puskesmas, clinic and duty pages: now it can be switched on.
    db_session.execute(update(Facility).values(satusehat_org_id="100011961"))
    db_session.execute(update(Clinic).values(satusehat_location_id="loc-1"))
    db_session.execute(update(Staff).values(nakes_id=NAKES_ID))
    db_session.commit()
    assert client.post(SETTINGS, data={"export_enabled": "true"}).status_code == 302
    assert stored_settings(enabled)["export_enabled"] is True


def test_once_on_other_settings_can_be_saved_and_new_gaps_are_held(
    app, client, login, enabled, ready, db_session
):
    login(client, role="admin")
    assert client.post(SETTINGS, data={"export_enabled": "true"}).status_code == 302
    # A clinic added later without its id does not lock the settings page...
    facility_id = db_session.scalar(select(Facility.id))
    db_session.add(Clinic(facility_id=facility_id, code="GIZI", name="Poli Gizi", position=9))
    db_session.commit()
    saved = client.post(SETTINGS, data={"export_enabled": "true", "max_attempts": "5"})
    assert saved.status_code == 302
    assert stored_settings(enabled)["max_attempts"] == 5
    # ...and the export page says what is missing.
    page = client.get(f"{KIRIM}/").text
    assert "Yang masih diperlukan SATUSEHAT" in page
    assert "Poli tanpa ID Location" in page and "Poli Gizi" in page


def test_the_export_page_lists_what_is_missing_with_links(
    client, login, enabled, facility, db_session, assign, nurse
):
    login(client, role="admin")
    page = client.get(f"{KIRIM}/")
    assert page.status_code == 200
    text = page.text
    assert "Yang masih diperlukan SATUSEHAT" in text
    # The ready puskesmas and its clinics are not listed; the nurse is, with a link
    # to the duty page where the id is entered.
    assert "Puskesmas tanpa ID Organization" not in text
    assert "Poli tanpa ID Location" not in text
    assert "Tenaga kesehatan tanpa ID Practitioner" in text
    assert f'href="/puskesmas/kelola/{facility.id}/petugas">Ani Perawat</a>' in text
    db_session.execute(update(Staff).where(Staff.user_id == nurse.id).values(nakes_id="N-2"))
    db_session.commit()
    assert "Yang masih diperlukan SATUSEHAT" not in client.get(f"{KIRIM}/").text


def test_nothing_is_missing_without_puskesmas_or_for_inactive_ones(db_session, enabled):
    assert not readiness.missing_ids(db_session)
    db_session.add(Facility(code="TUTUP", name="Puskesmas Tutup", active=False))
    db_session.commit()
    assert not readiness.missing_ids(db_session)


# -- held, not sent -------------------------------------------------------------------


def test_a_visit_by_a_clinician_without_an_id_is_held_then_sent_once_it_is_entered(
    client, login, db_session, vault, clinic, add_patient, nurse, satusehat, bundle_of
):
    ihs = satusehat.add_patient(NIK_MAN)
    visit = add_visit(db_session, add_patient(), clinic, clinician_id=nurse.id)
    held = export.enqueue(db_session, vault, visit, NOW, TEST_ACTOR)
    db_session.commit()
    assert (held.status, held.hold_reason, held.bundle_sealed) == ("held", "practitioner", None)
    # Nothing was built, so nothing was opened: no audit entry for the export.
    assert db_session.scalars(select(AuditEntry.action)).all() == []
    summary = export.send_due(db_session, satusehat.settings(), NOW, vault=vault)
    assert summary.line() == "0 sent, 0 waiting, 0 failed, 1 held"
    assert satusehat.token_requests == satusehat.fhir_requests == 0  # not sent
    # The admin sees it held, with the reason, in Indonesian.
    login(client, role="admin")
    listing = client.get(f"{KIRIM}/").text
    assert "Ditahan" in listing
    assert "Tenaga kesehatan yang mencatat kunjungan belum memiliki ID Practitioner" in listing
    detail = client.get(f"{KIRIM}/{held.id}").text
    assert "Ditahan karena" in detail and "Periksa lagi dan kirim" in detail
    # Checking again while the id is missing leaves it held and says so.
    again = client.post(f"{KIRIM}/{held.id}/ulang", follow_redirects=True)
    assert "Pengiriman tetap ditahan sampai ID SATUSEHAT yang diperlukan diisi." in again.text
    assert fresh(db_session, held).status == "held"
    # The id is entered on the duty page: the next run releases, builds and sends it.
    db_session.execute(update(Staff).where(Staff.user_id == nurse.id).values(nakes_id="N-77"))
    db_session.commit()
    later = NOW + timedelta(minutes=5)
    summary = export.send_due(db_session, satusehat.settings(), later, vault=vault)
    assert summary.line() == "1 sent, 0 waiting, 0 failed"
    sent = fresh(db_session, held)
    assert (sent.status, sent.hold_reason, sent.attempts) == ("sent", "", 1)
    (bundle,) = satusehat.received
    assert bundle == bundle_of(sent)  # built by the sender and kept as sent
    encounter = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"
    )
    assert encounter["participant"][0]["individual"]["reference"] == "Practitioner/N-77"
    assert encounter["subject"]["reference"] == f"Patient/{ihs}"
    # The sender looked the patient up (the NIK opened), then built the bundle (the
    # IHS number opened): one entry each.
    trail = db_session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.detail) for e in trail] == [
        ("export.lookup", f"export {held.id}: patient looked up in SATUSEHAT by NIK"),
        ("export.send", f"export {held.id}: FHIR bundle built to send to SATUSEHAT"),
    ]


def test_every_missing_id_is_a_reason_and_the_reasons_follow_the_ids(
    db_session, vault, enabled, make_facility, add_patient, satusehat
):
    facility = make_facility(code="BARU")
    clinic = db_session.get(Facility, facility.id).clinics[0]
    visit = add_visit(db_session, add_patient(), clinic)  # no clinician known
    held = export.enqueue(db_session, vault, visit, NOW, TEST_ACTOR)
    db_session.commit()
    assert held.hold_reason == "organization,location,practitioner"
    db_session.execute(update(Facility).values(satusehat_org_id="100011962"))
    db_session.commit()
    assert export.release_held(db_session, NOW) == 0
    assert fresh(db_session, held).hold_reason == "location,practitioner"
    assert export.send_due(db_session, satusehat.settings(), NOW, vault=vault).held == 1


def test_a_failed_export_whose_id_went_missing_is_held_on_retry(
    db_session, vault, clinic, add_patient, ready, satusehat, looked_up
):
    from balai_puskesmas.services import PuskesmasError

    visit = add_visit(db_session, looked_up(add_patient()), clinic, clinician_id=ready.id)
    item = export.enqueue(db_session, vault, visit, NOW, TEST_ACTOR)
    db_session.commit()
    satusehat.fail("400")
    export.send_due(db_session, satusehat.settings(), NOW, vault=vault)
    assert fresh(db_session, item).status == "failed"
    db_session.execute(update(Clinic).values(satusehat_location_id=""))
    db_session.commit()
    with pytest.raises(PuskesmasError) as caught:
        export.retry(db_session, item.id, NOW, vault=vault, actor=TEST_ACTOR)
    db_session.commit()
    assert caught.value.status == 409
    kept = fresh(db_session, item)
    assert (kept.status, kept.hold_reason, kept.bundle_sealed) == ("held", "location", None)


def test_satusehat_refuses_a_reference_by_name_alone(
    db_session, vault, clinic, add_patient, ready, satusehat, bundle_of, looked_up
):
    """Why visits are held: the fake server, like SATUSEHAT, refuses an Encounter that
    names its clinic without the Location id."""
    satusehat.add_patient(NIK_MAN, IHS)
    visit = add_visit(db_session, looked_up(add_patient()), clinic, clinician_id=ready.id)
    item = export.enqueue(db_session, vault, visit, NOW, TEST_ACTOR)
    db_session.commit()
    bundle = bundle_of(item)
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            del entry["resource"]["location"][0]["location"]["reference"]
    with httpx.Client() as http:
        token = http.post(
            satusehat.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": satusehat.client_id,
                "client_secret": satusehat.client_secret,
            },
        ).json()["access_token"]
        answer = http.post(
            satusehat.base_url,
            content=json.dumps(bundle),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/fhir+json",
                "Accept": "application/fhir+json",
            },
        )
    assert answer.status_code == 400
    assert answer.json()["issue"][0]["expression"] == ["Encounter.location.location"]
    assert satusehat.received == []


def test_region_switched_on_by_the_operator_still_holds(
    app, enabled, db_session, clinic, add_patient, nurse, set_plugin_settings
):
    """Sending switched on outside the settings page (the operator's PLUGIN_SETTINGS, or
    an older region): visits without the ids are held all the same."""
    from flask import g

    from balai.plugins import plugins

    set_plugin_settings("puskesmas", export_enabled=True)
    visit = add_visit(db_session, add_patient(), clinic, clinician_id=nurse.id)
    tenant = registry(app).by_id(enabled.id)
    with app.app_context():
        g.tenant = tenant
        plugins(app).relay(tenant.plugins).visit_recorded(
            tenant=tenant, visit=visit, session=db_session
        )
    db_session.commit()
    (held,) = db_session.scalars(select(Export)).all()
    assert (held.status, held.hold_reason) == ("held", "practitioner")


def test_the_migration_drops_waiting_bundles_and_downgrades_holds(
    app, tenant, db_session, vault, clinic, add_patient, ready, nurse, looked_up
):
    """Bundles waiting to be sent were built the old way: upgrading drops them, so the
    sender builds them again (or holds them); downgrading turns holds into failures."""
    patient = looked_up(add_patient())
    waiting = export.enqueue(
        db_session,
        vault,
        add_visit(db_session, patient, clinic, clinician_id=ready.id),
        NOW,
        TEST_ACTOR,
    )
    held = export.enqueue(
        db_session,
        vault,
        add_visit(db_session, patient, clinic, clinician_id=nurse.id),
        NOW,
        TEST_ACTOR,
    )
    db_session.commit()
    assert waiting.bundle_sealed is not None and held.status == "held"
    ids = (waiting.id, held.id)
    db_session.close()
    with downgraded(app, "puskesmas_0002_health_data"):
        with db.all_tenants() as session:
            table = Export.__table__
            rows = {
                row.id: row
                for row in session.execute(
                    select(table.c.id, table.c.status, table.c.last_error).where(
                        table.c.id.in_(ids)
                    )
                )
            }
        assert (rows[held.id].status, rows[held.id].last_error) == ("failed", "held: practitioner")
        assert rows[waiting.id].status == "pending"
    with db.tenant_session(tenant.id) as session:
        again = session.get(Export, waiting.id)
        assert (again.status, again.bundle_sealed, again.hold_reason) == ("pending", None, "")
