"""The rules for puskesmas, clinics and duties: every field checked, nothing written on error."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from balai.auth import User
from balai.db import utcnow
from balai_puskesmas import facilities
from balai_puskesmas.models import AuditEntry, Clinic, Facility, Staff
from balai_puskesmas.services import Actor, PuskesmasError

ADMIN = Actor(None, "Admin <admin@kota-a.test>", address="192.0.2.1")

GOOD: dict[str, Any] = {
    "code": "cipondoh",
    "name": " Puskesmas Cipondoh ",
    "address": "Jl. KH Hasyim Ashari No. 61",
    "phone": "021 5523 0103",
    "latitude": "-6,1816",
    "longitude": 106.6814,
    "hours": {1: ["7.30", "14:30"], "5": ("07:30", "11:30"), "6": ["", ""], "7": None},
}


def count(session, model):
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def refused(call, *args, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(PuskesmasError) as caught:
        call(*args, **kwargs)
    return caught.value.errors


def test_a_puskesmas_is_created_normalised(enabled, db_session):
    facility = facilities.create_facility(db_session, GOOD)
    db_session.commit()
    assert (facility.code, facility.name) == ("CIPONDOH", "Puskesmas Cipondoh")
    assert (facility.latitude, facility.longitude) == (-6.1816, 106.6814)
    assert facility.hours == {"1": ["07:30", "14:30"], "5": ["07:30", "11:30"]}
    assert facility.active


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"code": ""}, "code", "Enter the code"),
        ({"code": "CI PONDOH"}, "code", "capital letters"),
        ({"code": "-CIP"}, "code", "capital letters"),
        ({"code": "A" * 21}, "code", "at most 20"),
        ({"code": "CIP_1"}, "code", "capital letters"),
        ({"name": "  "}, "name", "Enter the name"),
        ({"name": "x" * 121}, "name", "120"),
        ({"address": "x" * 301}, "address", "300"),
        ({"phone": "call me"}, "phone", "phone number"),
        ({"latitude": None}, "latitude", "both"),
        ({"longitude": ""}, "longitude", "both"),
        ({"latitude": "-12"}, "latitude", "-11 and 6"),
        ({"latitude": "6.5"}, "latitude", "-11 and 6"),
        ({"longitude": 94.9}, "longitude", "95 and 141"),
        ({"longitude": "141.2"}, "longitude", "95 and 141"),
        ({"latitude": "north"}, "latitude", "Enter a number"),
        ({"latitude": "nan"}, "latitude", "Enter a number"),
        ({"hours": {"1": ["07:30", ""]}}, "hours_1", "or neither"),
        ({"hours": {"2": ["24:00", "25:00"]}}, "hours_2", "HH:MM"),
        ({"hours": {"3": ["7 pagi", "14:00"]}}, "hours_3", "HH:MM"),
        ({"hours": {"4": ["14:00", "07:30"]}}, "hours_4", "after the opening"),
        ({"hours": {"6": ["08:00", "08:00"]}}, "hours_6", "after the opening"),
        ({"hours": {"8": ["08:00", "12:00"]}}, "hours", "1 (Monday) to 7"),
        ({"hours": {"1": "07:30-14:00"}}, "hours_1", "opening and a closing"),
        ({"hours": ["07:30"]}, "hours", "per day"),
        ({"satusehat_org_id": "has spaces in it"}, "satusehat_org_id", "64"),
    ],
)
def test_each_facility_rule_names_its_field(enabled, db_session, change, field, message):
    errors = refused(facilities.create_facility, db_session, {**GOOD, **change})
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert count(db_session, Facility) == 0


def test_every_field_at_fault_is_reported_at_once(enabled, db_session):
    errors = refused(
        facilities.create_facility,
        db_session,
        {"code": "", "name": "", "latitude": "99", "longitude": "0", "hours": {"1": ["9", ""]}},
    )
    assert set(errors) == {"code", "name", "latitude", "longitude", "hours_1"}


def test_codes_are_unique_in_the_region_only(
    enabled, enable_plugin, other_tenant, db_session, tenant_session
):
    facilities.create_facility(db_session, GOOD)
    db_session.commit()
    errors = refused(facilities.create_facility, db_session, {**GOOD, "name": "Lain"})
    assert errors == {"code": ["Another puskesmas already has this code."]}
    assert count(db_session, Facility) == 1
    enable_plugin("puskesmas", tenant=other_tenant)
    with tenant_session(other_tenant.id) as other:
        assert facilities.create_facility(other, GOOD).code == "CIPONDOH"


def test_a_race_on_the_code_becomes_the_same_field_error(
    enabled, db_session, make_facility, monkeypatch
):
    make_facility("CIPONDOH")
    monkeypatch.setattr(facilities, "_facility_code_taken", lambda *args: False)
    errors = refused(facilities.create_facility, db_session, GOOD)
    assert errors == {"code": ["Another puskesmas already has this code."]}
    assert not db_session.new  # the refused row is not left to a later commit
    db_session.commit()
    assert count(db_session, Facility) == 1


def test_update_keeps_what_is_not_given_and_may_keep_its_code(enabled, db_session, facility):
    facilities.update_facility(db_session, facility, {"name": "Puskesmas Cipondoh Baru"})
    db_session.commit()
    assert (facility.code, facility.name) == ("CIP", "Puskesmas Cipondoh Baru")
    assert facility.latitude == -6.178 and facility.hours["1"] == ["07:30", "14:00"]
    facilities.update_facility(db_session, facility, {"latitude": None, "longitude": None})
    assert facility.latitude is None


def test_update_to_a_taken_code_changes_nothing(enabled, db_session, make_facility):
    make_facility("CIP")
    other = make_facility("PAK")
    errors = refused(facilities.update_facility, db_session, other, {"code": "cip", "name": ""})
    assert set(errors) == {"code", "name"}
    db_session.rollback()
    assert db_session.get(Facility, other.id).code == "PAK"


def test_a_puskesmas_is_closed_and_reopened(enabled, db_session, facility):
    facilities.set_facility_active(db_session, facility, False)
    db_session.commit()
    assert db_session.get(Facility, facility.id).active is False
    facilities.set_facility_active(db_session, facility, True)
    assert facility.active


# -- clinics -------------------------------------------------------------------------


def test_a_clinic_comes_last_unless_placed(enabled, db_session, facility):
    clinic = facilities.create_clinic(
        db_session, facility, {"code": "lansia", "name": "Poli Lansia", "daily_quota": "30"}
    )
    db_session.commit()
    assert (clinic.code, clinic.position, clinic.daily_quota) == ("LANSIA", 3, 30)
    assert clinic.minutes_per_patient == 10 and clinic.active
    placed = facilities.create_clinic(
        db_session, facility, {"code": "MTBS", "name": "Poli MTBS", "position": 0}
    )
    assert placed.position == 0


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"code": "UMUM"}, "code", "Another clinic of this puskesmas"),
        ({"code": "umum"}, "code", "Another clinic of this puskesmas"),
        ({"code": "POLI UMUM"}, "code", "capital letters"),
        ({"name": ""}, "name", "Enter the name of the clinic"),
        ({"minutes_per_patient": "0"}, "minutes_per_patient", "1 to 120"),
        ({"minutes_per_patient": "121"}, "minutes_per_patient", "1 to 120"),
        ({"minutes_per_patient": "7.5"}, "minutes_per_patient", "1 to 120"),
        ({"daily_quota": "0"}, "daily_quota", "1 to 1000"),
        ({"daily_quota": 1001}, "daily_quota", "1 to 1000"),
        ({"daily_quota": "banyak"}, "daily_quota", "1 to 1000"),
        ({"position": "-1"}, "position", "0 to 9999"),
        ({"satusehat_location_id": "a b"}, "satusehat_location_id", "64"),
    ],
)
def test_each_clinic_rule_names_its_field(enabled, db_session, facility, change, field, message):
    data = {"code": "LANSIA", "name": "Poli Lansia", **change}
    errors = refused(facilities.create_clinic, db_session, facility, data)
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert count(db_session, Clinic) == 3


def test_clinic_codes_repeat_across_puskesmas(enabled, db_session, facility, make_facility):
    other = make_facility("PAK", clinics=())
    clinic = facilities.create_clinic(db_session, other, {"code": "UMUM", "name": "Poli Umum"})
    db_session.commit()
    assert clinic.facility_id == other.id


def test_a_clinic_is_updated_and_its_quota_lifted(enabled, db_session, clinic):
    facilities.update_clinic(db_session, clinic, {"daily_quota": 50, "active": False})
    db_session.commit()
    assert (clinic.daily_quota, clinic.active, clinic.code) == (50, False, "UMUM")
    facilities.update_clinic(db_session, clinic, {"daily_quota": "", "position": ""})
    assert clinic.daily_quota is None and clinic.position == 0
    errors = refused(facilities.update_clinic, db_session, clinic, {"code": "GIGI"})
    assert errors == {"code": ["Another clinic of this puskesmas has this code."]}


# -- staff ---------------------------------------------------------------------------


@pytest.fixture
def make_user(app, tenant):
    """``make_user(email, role="opd", tenant=tenant, active=True)`` without logging in."""
    from balai.auth import create_user
    from balai.db import db
    from balai.testing import PASSWORD

    def make(email: str, role: str = "opd", of=tenant, active: bool = True) -> User:
        with db.all_tenants() as session:
            user = create_user(
                session,
                tenant_id=of.id if of is not None else None,
                email=email,
                name=email.split("@")[0].title(),
                role=role,
                password=PASSWORD,
            )
            user.active = active
        return user

    return make


def assign(session, facility, email, duty="registration", **kwargs):
    return facilities.assign_staff(
        session, ADMIN, facility, email=email, duty=duty, now=utcnow(), **kwargs
    )


def test_an_officer_is_assigned_and_it_is_audited(enabled, db_session, facility, make_user):
    user = make_user("rina@kota-a.test")
    staff = assign(
        db_session, facility, " Rina@Kota-A.test ", "clinician", profession="midwife", nakes_id="N1"
    )
    db_session.commit()
    assert (staff.user_id, staff.duty, staff.profession, staff.nakes_id) == (
        user.id,
        "clinician",
        "midwife",
        "N1",
    )
    [entry] = db_session.scalars(select(AuditEntry)).all()
    assert (entry.action, entry.facility_id, entry.channel) == ("staff.assign", facility.id, "web")
    assert entry.detail == f"user {user.id}: clinician (midwife)"
    assert (entry.actor, entry.address, entry.patient_id) == (ADMIN.label, "192.0.2.1", None)
    assert "rina" not in entry.detail.lower()


def test_assigning_again_changes_the_duty(enabled, db_session, facility, make_user):
    user = make_user("rina@kota-a.test", role="admin")
    assign(db_session, facility, user.email, "clinician", profession="doctor", nakes_id="N1")
    db_session.commit()
    again = assign(db_session, facility, user.email, "viewer")
    db_session.commit()
    [staff] = db_session.scalars(select(Staff)).all()
    assert staff.id == again.id and (staff.duty, staff.profession, staff.nakes_id) == (
        "viewer",
        None,
        "",
    )
    details = db_session.scalars(select(AuditEntry.detail).order_by(AuditEntry.id)).all()
    assert details[-1] == f"user {user.id}: viewer (was clinician)"


def test_one_officer_may_serve_several_puskesmas(
    enabled, db_session, facility, make_facility, make_user
):
    make_user("rina@kota-a.test")
    other = make_facility("PAK")
    assign(db_session, facility, "rina@kota-a.test")
    assign(db_session, other, "rina@kota-a.test", "viewer")
    db_session.commit()
    assert count(db_session, Staff) == 2


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"email": ""}, "email", "Enter the officer's e-mail"),
        ({"email": "nobody@kota-a.test"}, "email", "No active account of this region"),
        ({"email": "warga@kota-a.test"}, "email", "Only officers (OPD) and region admins"),
        ({"email": "gone@kota-a.test"}, "email", "No active account"),
        ({"email": "b@kota-b.test"}, "email", "No active account of this region"),
        ({"email": "operator@balai.test"}, "email", "Only officers"),
        ({"duty": "janitor"}, "duty", "Choose a duty"),
        ({"duty": "clinician"}, "profession", "Choose the clinician's profession"),
        ({"duty": "clinician", "profession": "shaman"}, "profession", "from the list"),
        ({"duty": "registration", "profession": "doctor"}, "profession", "Only a clinician"),
        ({"duty": "viewer", "nakes_id": "N1"}, "nakes_id", "Only a clinician"),
        ({"duty": "clinician", "profession": "nurse", "nakes_id": "N 1"}, "nakes_id", "64"),
    ],
)
def test_assignments_are_refused(
    enabled, db_session, facility, make_user, other_tenant, kwargs, field, message
):
    make_user("officer@kota-a.test")
    make_user("warga@kota-a.test", role="warga")
    make_user("gone@kota-a.test", active=False)
    make_user("b@kota-b.test", of=other_tenant)
    make_user("operator@balai.test", role="operator", of=None)
    values = {"email": "officer@kota-a.test", "duty": "registration", **kwargs}
    with pytest.raises(PuskesmasError) as caught:
        facilities.assign_staff(db_session, ADMIN, facility, now=utcnow(), **values)
    assert list(caught.value.errors) == [field]
    assert message in caught.value.errors[field][0]
    assert count(db_session, Staff) == count(db_session, AuditEntry) == 0


def test_removing_an_assignment_is_audited(enabled, db_session, facility, make_user):
    user = make_user("rina@kota-a.test")
    staff = assign(db_session, facility, user.email, "viewer")
    db_session.commit()
    facilities.remove_staff(db_session, ADMIN, staff, utcnow())
    db_session.commit()
    assert count(db_session, Staff) == 0
    entry = db_session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.facility_id, entry.detail) == (
        "staff.remove",
        facility.id,
        f"user {user.id}: viewer",
    )


def test_check_hours_orders_days_and_allows_closed_weeks() -> None:
    assert facilities.check_hours({"6": ["8:00", "12.00"], "1": ["07:00", "16:00"]}) == {
        "1": ["07:00", "16:00"],
        "6": ["08:00", "12:00"],
    }
    assert facilities.check_hours(None) == {} == facilities.check_hours({})
