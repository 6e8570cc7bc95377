"""Demo data: deterministic, fast, once per region, plausible and obviously fake NIKs."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from balai import demodata
from balai.auth import Department, User
from balai.calendar import national_holidays
from balai.db import db, utcnow
from balai.testing import travel
from balai_puskesmas import demo, icd10, plugin
from balai_puskesmas.models import (
    AuditEntry,
    Clinic,
    Diagnosis,
    Facility,
    Icd10Synonym,
    Patient,
    Prescription,
    QueueCounter,
    Referral,
    Staff,
    Ticket,
    Visit,
)
from balai_puskesmas.nik import birth_date_of, check_nik, sex_of

TANGERANG = "kota-tangerang"


def populated(tenant, session):
    plugin.populate_demo(tenant=tenant, session=session)
    session.commit()


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def dinkes(db_session, enabled, login, client):
    """The region's DINKES department and its officer, as the core's demo makes them."""
    db_session.add(Department(code="DINKES", name="Dinas Kesehatan"))
    db_session.commit()
    return login(client, role="opd", department="DINKES", email="dinkes@kota-a.test")


@pytest.mark.clock
@travel("2026-03-04T10:30:00+07:00")  # a Wednesday morning: the desks are busy
def test_a_region_gets_puskesmas_officers_patients_visits_and_a_queue(
    enabled, db_session, dinkes, vault, login, client, audited
):
    citizen = login(client, role="warga", email="siti@kota-a.test")
    populated(enabled, db_session)
    facilities = db_session.scalars(select(Facility).order_by(Facility.id)).all()
    assert len(facilities) == 4
    assert all(
        f.active and f.hours["1"] == ["07:30", "14:30"] and "7" not in f.hours for f in facilities
    )
    assert [c.code for c in facilities[0].clinics] == ["UMUM", "GIGI", "KIA", "LANSIA"]
    assert [c.code for c in facilities[1].clinics] == ["UMUM", "GIGI", "KIA"]

    staff = db_session.scalars(select(Staff)).all()
    duties = Counter((s.duty, s.profession) for s in staff)
    assert duties == {
        ("registration", None): 4,
        ("clinician", "doctor"): 4,
        ("clinician", "dentist"): 4,
        ("clinician", "midwife"): 4,
        ("viewer", None): 4,  # the DINKES officer, everywhere
    }
    assert {s.facility_id for s in staff if s.user_id == dinkes.id} == {f.id for f in facilities}
    desk = db_session.scalar(select(User).where(User.email == "loket.sukamaju@kota-a.example"))
    assert desk is not None and desk.role == "opd" and desk.tenant_id == enabled.id

    assert count(db_session, Patient) == demo.PATIENTS
    linked = db_session.scalar(select(Patient).where(Patient.user_id == citizen.id))
    assert linked is not None and linked.name == citizen.name

    visits = db_session.scalars(select(Visit)).all()
    today = utcnow().astimezone(ZoneInfo("Asia/Jakarta")).date()
    past = [v for v in visits if v.ticket_id is None]
    assert len(past) == demo.VISITS + 2  # and two of the citizen's own
    assert len([v for v in past if v.patient_id == linked.id]) >= 2
    for visit in past:
        assert visit.started_at < utcnow() - timedelta(hours=1) or visit.ticket_id
        assert visit.started_at > utcnow() - timedelta(days=demo.PAST_DAYS + 1)
        assert visit.diagnoses and visit.diagnoses[0].code in demo.COMPLAINTS
        assert visit.diagnoses[0].display
        assert visit.temperature is not None and visit.weight is not None
    assert count(db_session, Diagnosis) >= len(visits)
    # Every diagnosis is a leaf code, as a clinician must record it (A09.9, never A09).
    codes = set(db_session.scalars(select(Diagnosis.code)))
    assert codes and all(icd10.is_leaf(code) for code in codes), sorted(codes)
    assert "A09.9" in codes and "A09" not in codes

    clinics = count(db_session, Clinic)
    assert count(db_session, QueueCounter) == clinics
    tickets = db_session.scalars(select(Ticket).order_by(Ticket.clinic_id, Ticket.number)).all()
    by_clinic: dict[int, list[Ticket]] = {}
    for ticket in tickets:
        assert ticket.day == today
        assert ticket.created_at <= utcnow() + timedelta(minutes=11)
        by_clinic.setdefault(ticket.clinic_id, []).append(ticket)
    assert len(by_clinic) == clinics
    for clinic_id, queue in by_clinic.items():
        counter = db_session.scalar(select(QueueCounter).where(QueueCounter.clinic_id == clinic_id))
        assert counter.last_number == len(queue) and 1 <= len(queue) <= 25
        assert [t.number for t in queue] == list(range(1, len(queue) + 1))
        statuses = [t.status for t in queue]
        assert statuses.count("called") == 1
        called = statuses.index("called")
        assert set(statuses[:called]) <= {"served", "skipped", "cancelled"}
        assert set(statuses[called + 1 :]) <= {"waiting", "cancelled"}
        for ticket in queue:
            if ticket.status not in ("waiting", "cancelled"):
                assert ticket.created_at <= ticket.called_at
            if ticket.status == "served":
                assert ticket.called_at < ticket.finished_at
            # linked by the desk, suggested by the NIK given (waiting), or a NIK to register
            assert (
                ticket.patient_id is not None
                or (ticket.status == "waiting" and ticket.suggested_patient_id is not None)
                or vault.open(ticket.nik_cipher, audited)
            )
    served = [v for v in visits if v.ticket_id is not None]
    assert served, "served numbers with a known patient have today's visit"

    now = utcnow()
    assert all(v.started_at <= v.ended_at <= now for v in visits)
    assert all(p.created_at < now - timedelta(days=demo.PAST_DAYS - 1) for p in _some(db_session))
    assert db_session.scalar(select(func.max(AuditEntry.at))) <= now
    trail = Counter(db_session.scalars(select(AuditEntry.action)))
    assert trail["staff.assign"] == len(staff)
    assert trail["visit.create"] == len(visits)


JAKARTA = ZoneInfo("Asia/Jakarta")


def _open_hours(day):
    """The demo's opening hours of ``day`` as aware datetimes, or None when closed."""
    hours = demo.HOURS.get(str(day.isoweekday()))
    if hours is None or day in national_holidays([day.year]):
        return None
    return tuple(datetime.combine(day, time.fromisoformat(t), JAKARTA) for t in hours)


def _within_hours(moment):
    hours = _open_hours(moment.astimezone(JAKARTA).date())
    return hours is not None and hours[0] <= moment <= hours[1]


@pytest.mark.clock
@pytest.mark.parametrize(
    ("moment", "shown", "open_now"),
    [
        ("2026-03-04T00:03:00+07:00", "2026-03-03", False),  # Wednesday, just after midnight
        ("2026-03-04T07:31:00+07:00", "2026-03-03", False),  # the doors have just opened
        ("2026-03-04T09:30:00+07:00", "2026-03-04", True),  # a weekday morning
        ("2026-03-06T13:00:00+07:00", "2026-03-06", False),  # Friday, closed at 11:30
        ("2026-03-08T12:00:00+07:00", "2026-03-07", False),  # Sunday noon
        ("2026-03-23T10:00:00+07:00", "2026-03-17", False),  # Lebaran's joint leave
    ],
    ids=["00:03", "07:31", "weekday-09:30", "friday-afternoon", "sunday-noon", "lebaran"],
)
def test_the_queue_follows_the_opening_hours_whenever_the_demo_is_built(
    enabled, db_session, moment, shown, open_now
):
    with travel(moment):
        populated(enabled, db_session)
        now = utcnow()
    tickets = db_session.scalars(select(Ticket)).all()
    assert tickets and {t.day.isoformat() for t in tickets} == {shown}
    counters = db_session.scalars(select(QueueCounter)).all()
    assert {c.day.isoformat() for c in counters} == {shown}
    statuses = Counter(t.status for t in tickets)
    if open_now:
        assert statuses["waiting"] + statuses["called"] > 0
    else:  # nobody waits at a closed puskesmas: that day's numbers are all done
        assert statuses.keys() <= {"served", "skipped", "cancelled"}
        assert statuses["served"] > len(tickets) / 2
    opens, closes = _open_hours(datetime.fromisoformat(shown).date())
    for ticket in tickets:
        moments = [ticket.created_at, ticket.called_at, ticket.finished_at]
        for at in filter(None, moments):
            assert opens <= at <= min(closes, now), (ticket.number, ticket.status, at)
        assert ticket.called_at is None or ticket.created_at <= ticket.called_at
        if ticket.status == "served":
            assert ticket.called_at < ticket.finished_at
    # Visits, registrations and the audit trail: in opening hours, never ahead of now.
    for visit in db_session.scalars(select(Visit)):
        assert _within_hours(visit.started_at) and _within_hours(visit.ended_at)
        assert visit.ended_at <= now
    for patient in db_session.scalars(select(Patient)):
        assert _within_hours(patient.created_at) and patient.created_at <= now
    trail = db_session.scalars(select(AuditEntry).where(AuditEntry.action != "staff.assign"))
    assert all(_within_hours(entry.at) and entry.at <= now for entry in trail)


@pytest.mark.clock
def test_niks_are_plausible_unique_fake_and_match_the_patient(enabled, db_session, vault, audited):
    populated(enabled, db_session)
    patients = db_session.scalars(select(Patient)).all()
    niks = [vault.open(p.nik_cipher, audited) for p in patients]
    today = utcnow().astimezone(ZoneInfo("Asia/Jakarta")).date()
    assert len(set(niks)) == len(niks) == demo.PATIENTS
    for patient, nik in zip(patients, niks, strict=True):
        assert check_nik(nik, today=today) == nik
        assert nik.startswith("3671") and 1 <= int(nik[4:6]) <= 13
        assert nik[12:14] == "99"
        assert birth_date_of(nik, today=today) == patient.birth_date
        assert sex_of(nik) == patient.sex
        assert vault.hash(nik) == patient.nik_hash
    phones = sum(p.phone_cipher is not None for p in patients)
    assert 0.4 < phones / len(patients) < 0.6
    ages = [(today - p.birth_date).days / 365.25 for p in patients]
    assert min(ages) < 5 and max(ages) > 60


def test_regions_of_the_demo_have_their_own_puskesmas_and_regency_code(
    app, enabled, db_session, vault, audited
):
    tangerang = replace(enabled, slug=TANGERANG)  # the session stays bound to tenant's id
    populated(tangerang, db_session)
    names = set(db_session.scalars(select(Facility.name)))
    assert names == {
        "Puskesmas Cibodasari",
        "Puskesmas Karawaci Baru",
        "Puskesmas Cipondoh",
        "Puskesmas Neglasari",
    }
    patient = db_session.scalars(select(Patient).limit(1)).one()
    assert vault.open(patient.nik_cipher, audited).startswith("3671")
    assert db_session.scalar(
        select(User).where(User.email == "bidan.cipondoh@kota-tangerang.example")
    )


def test_lebak_niks_carry_its_regency_code(enabled, db_session, vault, audited):
    populated(replace(enabled, slug="kabupaten-lebak"), db_session)
    assert "Puskesmas Malingping" in set(db_session.scalars(select(Facility.name)))
    niks = {
        vault.open(c, audited) for c in db_session.scalars(select(Patient.nik_cipher).limit(50))
    }
    assert all(n.startswith("3602") for n in niks)


def test_populating_again_changes_nothing(enabled, db_session):
    populated(enabled, db_session)
    before = {m.__name__: count(db_session, m) for m in (Facility, Patient, Visit, Ticket, User)}
    populated(enabled, db_session)
    after = {m.__name__: count(db_session, m) for m in (Facility, Patient, Visit, Ticket, User)}
    assert before == after


def test_a_region_with_its_own_puskesmas_is_left_alone(enabled, make_facility, db_session):
    make_facility("SENDIRI")
    populated(enabled, db_session)
    assert db_session.scalars(select(Facility.code)).all() == ["SENDIRI"]
    assert count(db_session, Patient) == 0


@travel("2026-03-04T10:30:00+07:00")  # the demo is built relative to the clock: hold it
def test_same_region_same_data(app, enabled, db_session, vault, audited):
    populated(enabled, db_session)
    first = [(p.name, p.birth_date, vault.open(p.nik_cipher, audited)) for p in _some(db_session)]
    codes = sorted(db_session.scalars(select(Ticket.code)))
    with db.all_tenants() as everything:
        for model in (
            AuditEntry,
            Prescription,
            Referral,
            Diagnosis,
            Icd10Synonym,
            Ticket,
            QueueCounter,
            Visit,
            Patient,
            Staff,
            Clinic,
            Facility,
        ):
            everything.execute(model.__table__.delete())
    db_session.expire_all()
    populated(enabled, db_session)
    again = [(p.name, p.birth_date, vault.open(p.nik_cipher, audited)) for p in _some(db_session)]
    assert again == first
    assert sorted(db_session.scalars(select(Ticket.code))) == codes


def _some(session):
    return session.scalars(select(Patient).order_by(Patient.id).limit(20)).all()


def test_everything_is_stamped_with_the_region(
    app, enabled, other_tenant, enable_plugin, db_session
):
    populated(enabled, db_session)
    with db.tenant_session(other_tenant.id) as other:
        assert count(other, Patient) == count(other, Facility) == 0
    with db.all_tenants() as everything:
        for model in (Facility, Clinic, Staff, Patient, Visit, Diagnosis, Ticket, AuditEntry):
            tenants = set(everything.scalars(select(model.tenant_id).distinct()))
            assert tenants == {enabled.id}, model.__name__
        demo_users = everything.scalars(
            select(User.tenant_id).where(User.email.like("%@kota-a.example"))
        ).all()
        assert demo_users and set(demo_users) == {enabled.id}


@pytest.mark.clock
@travel("2026-03-04T10:30:00+07:00")
def test_patients_are_consistent_people_of_real_kecamatan(enabled, db_session, vault, audited):
    populated(replace(enabled, slug=TANGERANG), db_session)
    patients = db_session.scalars(select(Patient)).all()
    names = Counter(p.name for p in patients)
    # Varied names: no crowd of a single "Siti", no first name everywhere.
    assert max(names.values()) <= 2
    assert all(names[n] == 1 for n in names if " " not in n)
    firsts = Counter(p.name.split()[0] for p in patients)
    assert len(firsts) > 100 and firsts.most_common(1)[0][1] < len(patients) * 0.04
    kota = {k.name: k for k in demodata.PLACES[TANGERANG].kecamatan}
    for patient in patients:
        assert demodata.sex_of_name(patient.name) in (None, patient.sex), patient.name
        # "…, Kel. Cikokol, Kec. Tangerang": a real kelurahan of the kecamatan whose
        # district code the NIK carries.
        village, kecamatan = patient.address.split(", ")[-2:]
        where = kota[kecamatan.removeprefix("Kec. ")]
        assert village.removeprefix("Kel. ") in where.villages
        assert int(vault.open(patient.nik_cipher, audited)[4:6]) == where.code
    # Over their visits, a patient's height holds (adult) or grows (child), and their
    # weight drifts no faster than a person's does.
    by_patient: dict[int, list[Visit]] = {}
    for visit in db_session.scalars(select(Visit).order_by(Visit.started_at)):
        by_patient.setdefault(visit.patient_id, []).append(visit)
    people = {p.id: p for p in patients}
    repeated = 0
    for patient_id, visits in by_patient.items():
        patient = people[patient_id]
        for visit in visits:
            age = (visit.started_at.date() - patient.birth_date).days / 365.25
            if age >= 18:
                assert 14 < visit.weight / (visit.height / 100) ** 2 < 40, (patient.name, visit)
        for before, after in itertools.pairwise(visits):
            repeated += 1
            days = (after.started_at - before.started_at).days
            grown = (before.started_at.date() - patient.birth_date).days / 365.25 >= 18
            if grown:
                assert after.height == before.height
                assert abs(after.weight - before.weight) <= 0.7 + 0.005 * days
            else:
                assert before.height <= after.height <= before.height + 0.1 + 0.1 * days
                assert abs(after.weight - before.weight) <= 0.05 * before.weight + 0.02 * days
    assert repeated >= 5
