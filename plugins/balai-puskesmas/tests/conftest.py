"""Fixtures for the e-Puskesmas tests, on top of those of ``balai.testing``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from balai.auth import User
from balai.db import db, utcnow
from balai.tenancy import TenantInfo
from balai_puskesmas import patients
from balai_puskesmas.models import Clinic, Facility, Patient, Staff
from balai_puskesmas.runtime import vault_for
from balai_puskesmas.services import Actor, AuditContext, audit
from balai_puskesmas.vault import Vault

#: Opening hours for tests that take today's number: open whenever they run.
ALL_DAY = {str(d): ["00:00", "23:59"] for d in range(1, 8)}

#: Plausible NIKs (Kota Tangerang, 3671), serial numbers 99xx: obviously test data.
NIK_MAN = "3671011503859901"  # born 15 March 1985
NIK_WOMAN = "3671015507929902"  # born 15 July 1992 (day + 40)


@pytest.fixture
def enabled(
    enable_plugin: Callable[..., TenantInfo], set_plugin_settings: Callable[..., TenantInfo]
) -> TenantInfo:
    """``tenant`` with the puskesmas plugin switched on, taking numbers on holidays too
    (so that tests taking today's number pass on any day of the year)."""
    enable_plugin("puskesmas")
    return set_plugin_settings("puskesmas", closed_on_holidays=False)


@pytest.fixture
def vault(app: Flask, tenant: TenantInfo) -> Vault:
    """The vault of ``tenant``."""
    return vault_for(app.config, tenant.id)


#: Who acts in tests that call the rules directly (no account: a job).
TEST_ACTOR = Actor(user_id=None, label="test", channel="cli")


@pytest.fixture
def audited(app: Flask, tenant: TenantInfo) -> AuditContext:
    """An audit context of ``tenant`` for tests that open identifiers themselves; its
    entry is rolled back, so it does not count in the tests' audit trail."""
    with db.new_session(tenant.id) as session:
        context = audit(session, TEST_ACTOR, "test.read", utcnow())
        session.rollback()
    return context


@pytest.fixture
def bundle_of(vault: Vault, audited: AuditContext) -> Callable[[Any], dict[str, Any]]:
    """``bundle_of(export)``: the FHIR bundle kept (sealed) on an export, opened."""
    from balai_puskesmas.export import open_bundle

    return lambda found: open_bundle(found, vault, audited)


@pytest.fixture
def reveal(app: Flask, tenant: TenantInfo, vault: Vault) -> Callable[[int], dict[str, Any]]:
    """``reveal(patient_id)``: the patient's NIK, BPJS and phone as the record page opens
    them (read in a session that is rolled back: no entry is kept)."""

    def do_reveal(patient_id: int) -> dict[str, Any]:
        with db.new_session(tenant.id) as session:
            actor = Actor(user_id=None, label="test", channel="cli", duties={0: "viewer"})
            shown = patients.get(session, vault, actor, patient_id, utcnow())
            found = patients.identifiers(vault, shown)
            session.rollback()
        return found

    return do_reveal


@pytest.fixture
def make_facility(db_session: Session) -> Callable[..., Facility]:
    """``make_facility(code="CIP", clinics=("UMUM", "GIGI", "KIA"), **fields)``."""

    def make(
        code: str = "CIP", clinics: tuple[str, ...] = ("UMUM", "GIGI", "KIA"), **fields: Any
    ) -> Facility:
        values: dict[str, Any] = {
            "name": f"Puskesmas {code.title()}",
            "address": "Jl. Contoh No. 1, Tangerang",
            "latitude": -6.178,
            "longitude": 106.63,
            "hours": {str(d): ["07:30", "14:00"] for d in range(1, 7)},
        }
        values.update(fields)
        facility = Facility(code=code, **values)
        db_session.add(facility)
        db_session.flush()
        for position, clinic in enumerate(clinics):
            db_session.add(
                Clinic(
                    facility_id=facility.id,
                    code=clinic,
                    name=f"Poli {clinic.title()}",
                    position=position,
                )
            )
        db_session.commit()
        return facility

    return make


@pytest.fixture
def facility(enabled: TenantInfo, make_facility: Callable[..., Facility]) -> Facility:
    """One puskesmas with clinics UMUM, GIGI and KIA, in ``tenant`` (plugin on)."""
    return make_facility()


@pytest.fixture
def clinic(facility: Facility, db_session: Session) -> Clinic:
    """The UMUM clinic of ``facility``."""
    return db_session.get(Facility, facility.id).clinics[0]


@pytest.fixture
def assign(db_session: Session) -> Callable[..., Staff]:
    """``assign(user, facility, duty="registration", profession=None)``."""

    def do_assign(
        user: User, facility: Facility, duty: str = "registration", profession: str | None = None
    ) -> Staff:
        staff = Staff(
            user_id=user.id,
            facility_id=facility.id,
            duty=duty,
            profession=profession or ("doctor" if duty == "clinician" else None),
        )
        db_session.add(staff)
        db_session.commit()
        return staff

    return do_assign


@pytest.fixture
def officer(login: Callable[..., User], assign: Callable[..., Staff]) -> Callable[..., User]:
    """``officer(client, facility, duty="registration")``: log in an OPD officer assigned
    to ``facility`` with ``duty``."""

    def make(client: FlaskClient, facility: Facility, duty: str = "registration") -> User:
        user = login(client, role="opd")
        assign(user, facility, duty)
        return user

    return make


@pytest.fixture
def open_kiosk(officer: Callable[..., User]) -> Callable[..., None]:
    """``open_kiosk(client, facility)``: a registration officer opens the lobby kiosk of
    ``facility`` on ``client``'s browser (and is logged out of it)."""

    def do_open(client: FlaskClient, facility: Facility) -> None:
        officer(client, facility, "registration")
        response = client.post(f"/puskesmas/loket/kios/{facility.id}")
        assert response.status_code == 302, response.status_code

    return do_open


@pytest.fixture
def add_patient(db_session: Session, vault: Vault) -> Callable[..., Patient]:
    """``add_patient(nik=NIK_MAN, name="Budi Santoso", **fields)``, straight to the table."""

    def add(nik: str = NIK_MAN, name: str = "Budi Santoso", **fields: Any) -> Patient:
        nik_cipher, nik_hash = vault.seal(nik)
        values: dict[str, Any] = {
            "birth_date": date(1985, 3, 15),
            "sex": "male",
            "address": "Jl. Contoh No. 2",
        }
        phone = fields.pop("phone", None)
        values.update(fields)
        phone_cipher, phone_hash = vault.seal(phone)
        patient = Patient(
            nik_cipher=nik_cipher,
            nik_hash=nik_hash,
            phone_cipher=phone_cipher,
            phone_hash=phone_hash,
            name=name,
            **values,
        )
        db_session.add(patient)
        db_session.commit()
        return patient

    return add


#: SATUSEHAT ids shaped as the Ministry's documentation shows them.
ORG_ID = "100011961"
LOCATION_ID = "b017aa54-f1df-4ec2-9d84-8823815d7228"
NAKES_ID = "10009880728"
IHS = "P02478375538"  # a patient's IHS number (SATUSEHAT's Patient id)


@pytest.fixture
def looked_up(db_session: Session, vault: Vault) -> Callable[..., Patient]:
    """``looked_up(patient, ihs=IHS)``: the patient's IHS number stored as the sender
    stores what SATUSEHAT's Patient search found for their NIK."""

    def store(patient: Patient, ihs: str = IHS) -> Patient:
        found = db_session.get(Patient, patient.id)
        assert found is not None
        found.ihs_cipher, found.ihs_nik_hash = vault.encrypt(ihs), found.nik_hash
        db_session.commit()
        return found

    return store


@pytest.fixture
def ready(db_session: Session, tenant: TenantInfo, facility: Facility) -> User:
    """``facility`` ready for SATUSEHAT: its Organization id, a Location id for each of
    its clinics (``LOCATION_ID`` for the first), and a clinician with a Practitioner id
    (``NAKES_ID``), who is returned."""
    from balai.auth import create_user

    found = db_session.get(Facility, facility.id)
    assert found is not None
    found.satusehat_org_id = ORG_ID
    for n, clinic in enumerate(found.clinics):
        clinic.satusehat_location_id = LOCATION_ID if n == 0 else f"{LOCATION_ID[:-2]}{n:02d}"
    doctor = create_user(
        db_session,
        tenant_id=tenant.id,
        email="dokter.siti@example.test",
        name="dr. Siti Rahma",
        role="opd",
        password="sangat-rahasia-sekali",
    )
    db_session.flush()
    db_session.add(
        Staff(
            user_id=doctor.id,
            facility_id=found.id,
            duty="clinician",
            profession="doctor",
            nakes_id=NAKES_ID,
        )
    )
    db_session.commit()
    return doctor


@pytest.fixture
def tenant_session(app: Flask) -> Callable[[int], Session]:
    """``tenant_session(tenant_id)``: a context-managed session bound to that tenant."""
    return db.tenant_session  # type: ignore[return-value]
