"""A clinician records visits: vital signs, ICD-10 diagnoses, the queue number, the event."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from balai import hookimpl
from balai.calendar import local_date
from balai.db import utcnow
from balai.tenancy import DEFAULT_TIMEZONE
from balai_puskesmas.models import AuditEntry, Diagnosis, Ticket, Visit

from .conftest import NIK_WOMAN

NEW = "/puskesmas/kunjungan/baru"


class Listener:
    """Another plugin, listening to ``visit_recorded``."""

    name = "pendengar"

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    @hookimpl
    def visit_recorded(self, tenant: Any, visit: Any, session: Any) -> None:
        self.calls.append(
            (tenant.slug, visit.id, [d.code for d in visit.diagnoses], session is not None)
        )


LISTENER = Listener()
pytestmark = pytest.mark.balai_plugins(LISTENER)


@pytest.fixture(autouse=True)
def english(client):
    client.set_cookie("balai_lang", "en", domain="kota-a.test")


@pytest.fixture
def clinician(client, facility, officer):
    """``client`` logged in as a doctor of ``facility``."""
    return officer(client, facility, "clinician")


@pytest.fixture
def budi(add_patient):
    return add_patient()


def make_ticket(db_session, clinic, *, patient=None, status="called", number=1, day=None):
    ticket = Ticket(
        code=f"V{clinic.id}N{number}",
        facility_id=clinic.facility_id,
        clinic_id=clinic.id,
        day=day or local_date(utcnow(), DEFAULT_TIMEZONE),
        number=number,
        status=status,
        patient_id=patient.id if patient is not None else None,
        called_at=utcnow() - timedelta(minutes=5) if status == "called" else None,
    )
    db_session.add(ticket)
    db_session.commit()
    return ticket


@pytest.fixture
def called(db_session, clinic, budi):
    """Budi's queue number, called to the UMUM clinic."""
    return make_ticket(db_session, clinic, patient=budi)


def visit_form(**fields):
    values = {
        "complaint": "Demam dan batuk sejak 3 hari.",
        "systolic": "120",
        "diastolic": "80",
        "heart_rate": "88",
        "respiratory_rate": "20",
        "temperature": "38,2",
        "weight": "62.5",
        "height": "168",
        "oxygen_saturation": "97",
        "diagnosis_1": "j069",
        "diagnosis_2": "R50.9",
        "notes": "Paracetamol 3x500 mg.",
    }
    values.update(fields)
    return {k: v for k, v in values.items() if v is not None}


def written(db_session):
    """Visits, diagnoses and audit entries other than reads: what a refused form must
    not add (showing the form again reads the patient, and that read is audited)."""
    db_session.expire_all()
    return (
        *(db_session.scalar(select(func.count()).select_from(m)) for m in (Visit, Diagnosis)),
        db_session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action != "patient.read")
        ),
    )


def reads(db_session) -> list[tuple[str, int | None]]:
    db_session.expire_all()
    entries = db_session.scalars(select(AuditEntry).order_by(AuditEntry.id))
    return [(e.action, e.patient_id) for e in entries if e.action == "patient.read"]


def test_a_refused_form_shown_again_is_an_audited_read(client, clinician, called, budi, db_session):
    """The form shown again after an error shows the patient's name, sex and age: that
    read is in the audit trail, once."""
    assert client.get(f"{NEW}?tiket={called.id}").status_code == 200
    assert reads(db_session) == [("patient.read", budi.id)]
    response = client.post(NEW, data=visit_form(tiket=str(called.id), systolic="270"))
    assert response.status_code == 400 and "Budi Santoso" in response.text
    assert reads(db_session) == [("patient.read", budi.id)] * 2


def test_clinician_records_the_visit_of_a_called_number(
    client, clinician, called, budi, db_session, clinic
):
    page = client.get(f"{NEW}?tiket={called.id}")
    assert page.status_code == 200 and "Budi Santoso" in page.text and "UMUM-001" in page.text
    response = client.post(NEW, data=visit_form(tiket=str(called.id)))
    assert response.status_code == 302
    visit = db_session.scalars(select(Visit)).one()
    assert response.headers["Location"].endswith(f"/puskesmas/kunjungan/{visit.id}")
    assert (visit.patient_id, visit.clinic_id, visit.facility_id, visit.ticket_id) == (
        budi.id,
        clinic.id,
        clinic.facility_id,
        called.id,
    )
    assert (visit.systolic, visit.diastolic, visit.temperature, visit.weight) == (
        120,
        80,
        38.2,
        62.5,
    )
    assert visit.clinician_id == clinician.id and visit.clinician_name == clinician.name
    assert visit.started_at == db_session.get(Ticket, called.id).called_at
    assert [(d.code, d.position) for d in visit.diagnoses] == [("J06.9", 0), ("R50.9", 1)]
    assert visit.diagnoses[0].display == "Acute upper respiratory infection, unspecified"
    db_session.refresh(called)
    assert called.status == "served" and called.finished_at is not None
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "visit.create")).one()
    assert entry.patient_id == budi.id and entry.facility_id == clinic.facility_id
    assert "J06" not in entry.detail and "Demam" not in entry.detail
    shown = client.get(f"/puskesmas/kunjungan/{visit.id}").text
    for text in (
        "J06.9",
        "Acute upper respiratory infection",
        "120/80 mmHg",
        "38.2 °C",
        "Paracetamol",
        "Doctor",
        "primary",
    ):
        assert text in shown, text


def test_the_visit_recorded_event_reaches_other_plugins(
    client, clinician, called, enable_plugin, db_session
):
    enable_plugin("pendengar")
    LISTENER.calls.clear()
    assert client.post(NEW, data=visit_form(tiket=str(called.id))).status_code == 302
    visit = db_session.scalars(select(Visit)).one()
    assert LISTENER.calls == [("kota-a", visit.id, ["J06.9", "R50.9"], True)]


def test_a_visit_without_a_ticket(client, clinician, budi, clinic, db_session):
    page = client.get(f"{NEW}?pasien={budi.id}&poli={clinic.id}")
    assert page.status_code == 200 and "Budi Santoso" in page.text
    data = visit_form(
        pasien=str(budi.id),
        poli=str(clinic.id),
        systolic=None,
        diastolic=None,
        heart_rate=None,
        respiratory_rate=None,
        temperature=None,
        weight=None,
        height=None,
        oxygen_saturation=None,
        diagnosis_2=None,
    )
    assert client.post(NEW, data=data).status_code == 302
    visit = db_session.scalars(select(Visit)).one()
    assert visit.ticket_id is None and visit.systolic is None
    assert "No vital signs recorded." in client.get(f"/puskesmas/kunjungan/{visit.id}").text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("systolic", "270", "The systolic pressure must be from 50 to 260 mmHg."),
        ("systolic", "49", "The systolic pressure must be from 50 to 260 mmHg."),
        ("diastolic", "29", "The diastolic pressure must be from 30 to 160 mmHg."),
        ("heart_rate", "251", "The heart rate must be from 20 to 250 beats per minute."),
        ("heart_rate", "19", "The heart rate must be from 20 to 250 beats per minute."),
        ("respiratory_rate", "81", "The respiratory rate must be from 5 to 80 breaths"),
        ("temperature", "29.9", "The temperature must be from 30 to 45 °C."),
        ("temperature", "45,1", "The temperature must be from 30 to 45 °C."),
        ("weight", "0.4", "The weight must be from 0.5 to 300 kg."),
        ("weight", "301", "The weight must be from 0.5 to 300 kg."),
        ("height", "29", "The height must be from 30 to 250 cm."),
        ("height", "251", "The height must be from 30 to 250 cm."),
        ("oxygen_saturation", "101", "The oxygen saturation must be from 50 to 100 percent."),
        ("oxygen_saturation", "49", "The oxygen saturation must be from 50 to 100 percent."),
        ("systolic", "12O", "Enter a whole number."),
        ("temperature", "tiga puluh", "Enter a number."),
        ("temperature", "nan", "Enter a number."),
    ],
)
def test_vital_signs_out_of_range_are_refused(
    client, clinician, called, db_session, field, value, message
):
    before = written(db_session)
    response = client.post(NEW, data=visit_form(tiket=str(called.id), **{field: value}))
    assert response.status_code == 400
    assert f'<p class="error" id="{field}-error">{message}' in response.text
    assert written(db_session) == before
    db_session.refresh(called)
    assert called.status == "called"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"diastolic": None}, "diastolic", "Give both the systolic and the diastolic pressure"),
        ({"systolic": None}, "systolic", "Give both the systolic and the diastolic pressure"),
        ({"diastolic": "120"}, "diastolic", "The diastolic pressure must be lower than the"),
        ({"complaint": "  "}, "complaint", "Write the patient&#39;s complaint."),
    ],
)
def test_blood_pressure_and_complaint_rules(
    client, clinician, called, db_session, fields, field, message
):
    before = written(db_session)
    response = client.post(NEW, data=visit_form(tiket=str(called.id), **fields))
    assert response.status_code == 400
    assert f'id="{field}-error">{message}' in response.text
    assert written(db_session) == before


def test_bad_numbers_and_rules_are_reported_together(client, clinician, called, db_session):
    response = client.post(
        NEW,
        data=visit_form(
            tiket=str(called.id),
            systolic="abc",
            heart_rate="300",
            oxygen_saturation="101",
            diagnosis_1="A00-A09",
            diagnosis_2="j%",
        ),
    )
    assert response.status_code == 400
    text = response.text
    assert 'id="systolic-error">Enter a whole number.' in text
    assert 'id="heart_rate-error">The heart rate must be from 20 to 250' in text
    assert "Not an ICD-10 code that can be recorded: A00-A09, j%." in text
    assert "The oxygen saturation must be from 50 to 100 percent." in text
    assert 'value="300"' in text  # what was typed is kept


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ({"diagnosis_1": "J06.7"}, "Not an ICD-10 code that can be recorded: J06.7."),
        ({"diagnosis_1": "A00-A09"}, "Not an ICD-10 code that can be recorded: A00-A09."),
        ({"diagnosis_1": "XXI"}, "Not an ICD-10 code that can be recorded: XXI."),
        (
            {"diagnosis_1": "I10", "diagnosis_2": "zz9", "diagnosis_3": "A00-A09"},
            "Not an ICD-10 code that can be recorded: zz9, A00-A09.",
        ),
        (
            {"diagnosis_1": "A09"},
            "These codes have subcodes; record the one that fits: A09: A09.0, A09.9.",
        ),
        (
            {"diagnosis_1": "I10", "diagnosis_2": "j06", "diagnosis_3": "a09"},
            "record the one that fits: J06: J06.0, J06.8, J06.9; A09: A09.0, A09.9.",
        ),
        ({"diagnosis_1": "", "diagnosis_2": ""}, "Give at least one diagnosis as an ICD-10 code."),
        (
            {"diagnosis_1": "J06.9", "diagnosis_2": "j069"},
            "Each diagnosis may be given once: J06.9 is repeated.",
        ),
    ],
)
def test_diagnoses_are_checked_against_icd10(client, clinician, called, db_session, codes, message):
    before = written(db_session)
    response = client.post(NEW, data=visit_form(tiket=str(called.id), **codes))
    assert response.status_code == 400
    assert message in response.text
    assert written(db_session) == before


def test_a_category_with_subcodes_is_refused_by_the_rules(db_session, clinic, budi):
    """Whatever records a visit goes through the same rule: the category A09 is not a
    diagnosis, its subcodes are suggested, nothing is written."""
    from balai_puskesmas import visits
    from balai_puskesmas.services import Actor, PuskesmasError

    doctor = Actor(
        user_id=None, label="test", channel="api", duties={clinic.facility_id: "clinician"}
    )
    draft = visits.VisitDraft(
        patient_id=budi.id, clinic_id=clinic.id, complaint="Mencret", diagnoses=["A09"]
    )
    with pytest.raises(PuskesmasError) as caught:
        visits.record(db_session, doctor, draft, utcnow())
    assert caught.value.errors == {
        "diagnoses": [
            "These codes have subcodes; record the one that fits: %(refined)s. "
            "SATUSEHAT takes only the most specific code."
        ]
    }
    assert caught.value.params["refined"] == "A09: A09.0, A09.9"
    db_session.rollback()
    assert db_session.scalar(select(func.count(Visit.id))) == 0
    draft.diagnoses = ["a099"]
    assert [d.code for d in visits.record(db_session, doctor, draft, utcnow()).diagnoses] == [
        "A09.9"
    ]


def test_a_three_character_category_is_a_diagnosis(client, clinician, called, db_session):
    data = visit_form(
        tiket=str(called.id), diagnosis_1="i10", diagnosis_2="E11.9", diagnosis_3=" k30 "
    )
    assert client.post(NEW, data=data).status_code == 302
    visit = db_session.scalars(select(Visit)).one()
    assert [d.code for d in visit.diagnoses] == ["I10", "E11.9", "K30"]
    assert visit.diagnoses[0].display == "Essential (primary) hypertension"


# -- the queue number ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("waiting", "Call this queue number before recording the visit."),
        ("skipped", "Call this queue number before recording the visit."),
        ("cancelled", "Call this queue number before recording the visit."),
    ],
)
def test_only_a_called_number_gets_a_visit(
    client, clinician, clinic, budi, db_session, status, message
):
    held = make_ticket(db_session, clinic, patient=budi, status=status)
    before = written(db_session)
    response = client.post(NEW, data=visit_form(tiket=str(held.id)))
    assert response.status_code == 400 and message in response.text
    assert written(db_session) == before


def test_a_served_number_gets_one_visit_only(client, clinician, clinic, budi, db_session):
    held = make_ticket(db_session, clinic, patient=budi, status="served")
    assert client.post(NEW, data=visit_form(tiket=str(held.id))).status_code == 302
    again = client.post(NEW, data=visit_form(tiket=str(held.id)))
    assert again.status_code == 409
    assert "A visit is already recorded for this queue number." in again.text
    assert db_session.scalar(select(func.count()).select_from(Visit)) == 1


def test_an_unlinked_number_is_linked_at_the_desk_first(
    app, client, clinician, facility, officer, clinic, budi, db_session
):
    held = make_ticket(db_session, clinic)
    page = client.get(f"{NEW}?tiket={held.id}").text
    assert "not linked to a patient yet" in page and "the registration desk links it" in page
    assert f"pasien/?tiket={held.id}" not in page  # linking is the registration desk's
    refused = client.post(NEW, data=visit_form(tiket=str(held.id)))
    assert (
        refused.status_code == 400 and "Link this queue number to a patient first." in refused.text
    )
    # Naming a patient in the form does not link the number: the registration desk
    # does, after checking the holder's KTP or KK (not the clinician).
    data = visit_form(tiket=str(held.id), pasien=str(budi.id))
    assert client.post(NEW, data=data).status_code == 400
    link = {"tiket": str(held.id), "identitas": "ktp"}
    assert client.post(f"/puskesmas/pasien/{budi.id}/tiket", data=link).status_code == 403
    desk = app.test_client()
    desk.host = client.host
    officer(desk, facility, "registration")
    assert desk.post(f"/puskesmas/pasien/{budi.id}/tiket", data=link).status_code == 302
    assert client.post(NEW, data=data).status_code == 302
    db_session.refresh(held)
    assert held.patient_id == budi.id and held.status == "served"


def test_the_numbers_own_patient_wins_over_the_form(
    client, clinician, clinic, budi, add_patient, db_session
):
    siti = add_patient(nik=NIK_WOMAN, name="Siti", birth_date=date(1992, 7, 15), sex="female")
    held = make_ticket(db_session, clinic, patient=siti)
    before = written(db_session)
    response = client.post(NEW, data=visit_form(tiket=str(held.id), pasien=str(budi.id)))
    # the form shows the ticket's patient, and records the visit for them
    assert response.status_code == 302
    visit = db_session.scalars(select(Visit)).one()
    assert visit.patient_id == siti.id
    assert written(db_session)[0] == before[0] + 1


def test_the_rules_refuse_a_ticket_of_another_clinic_or_patient(
    app, clinician, facility, clinic, budi, add_patient, db_session
):
    from balai_puskesmas import visits
    from balai_puskesmas.services import Actor, PuskesmasError

    actor = Actor(user_id=clinician.id, label="dr", duties={facility.id: "clinician"})
    siti = add_patient(nik=NIK_WOMAN, name="Siti", birth_date=date(1992, 7, 15), sex="female")
    gigi = facility.clinics[1] if facility.clinics[1].id != clinic.id else facility.clinics[0]
    theirs = make_ticket(db_session, clinic, patient=siti, number=1)
    other_clinic = make_ticket(db_session, gigi, patient=budi, number=2)
    base = {"complaint": "Batuk", "diagnoses": ["J06.9"]}
    with pytest.raises(PuskesmasError) as wrong_patient:
        visits.record(
            db_session,
            actor,
            visits.VisitDraft(patient_id=budi.id, clinic_id=clinic.id, ticket_id=theirs.id, **base),
            utcnow(),
        )
    assert wrong_patient.value.errors == {"": ["This queue number belongs to another patient."]}
    with pytest.raises(PuskesmasError) as wrong_clinic:
        visits.record(
            db_session,
            actor,
            visits.VisitDraft(
                patient_id=budi.id, clinic_id=clinic.id, ticket_id=other_clinic.id, **base
            ),
            utcnow(),
        )
    assert wrong_clinic.value.errors == {"": ["This queue number is for another clinic."]}
    db_session.rollback()
    assert written(db_session) == (0, 0, 0)


# -- who records ---------------------------------------------------------------------


def test_the_registration_desk_cannot_record(client, facility, officer, called, db_session):
    officer(client, facility, "registration")
    assert client.get(f"{NEW}?tiket={called.id}").status_code == 403
    assert client.post(NEW, data=visit_form(tiket=str(called.id))).status_code == 403
    assert written(db_session) == (0, 0, 0)


def test_a_clinician_of_another_puskesmas_cannot_record(
    client, make_facility, facility, officer, called, db_session
):
    officer(client, make_facility("LAIN"), "clinician")
    assert client.get(f"{NEW}?tiket={called.id}").status_code == 403
    assert client.post(NEW, data=visit_form(tiket=str(called.id))).status_code == 403
    assert written(db_session) == (0, 0, 0)
    db_session.refresh(called)
    assert called.status == "called"


def test_unknown_ticket_clinic_or_patient(client, clinician, clinic, budi):
    assert client.get(f"{NEW}?tiket=99999").status_code == 404
    assert client.get(f"{NEW}?pasien={budi.id}&poli=99999").status_code == 404
    assert client.get(f"{NEW}?pasien=99999&poli={clinic.id}").status_code == 404
    assert client.get(f"{NEW}?tiket=abc").status_code == 404


def test_the_form_opened_for_no_number_says_where_a_visit_starts(
    client, clinician, facility, clinic, budi, db_session
):
    page = client.get(NEW)
    assert page.status_code == 200
    assert "A visit is recorded for a queue number that has been called" in page.text
    assert f'href="/puskesmas/loket/{clinic.id}"' in page.text  # each of their clinics
    assert 'href="/puskesmas/pasien/"' in page.text
    assert 'name="complaint"' not in page.text
    no_clinic = client.get(f"{NEW}?pasien={budi.id}")
    assert no_clinic.status_code == 400 and "Choose the clinic (poli)" in no_clinic.text
    no_patient = client.get(f"{NEW}?poli={clinic.id}")
    assert no_patient.status_code == 400 and "Choose the patient (pasien)" in no_patient.text
    posted = client.post(NEW, data={"complaint": "Demam"})
    assert posted.status_code == 400 and "names no queue number (tiket)" in posted.text
    assert written(db_session) == (0, 0, 0)


def test_a_form_sent_twice_records_one_visit(client, clinician, budi, clinic, db_session):
    data = visit_form(pasien=str(budi.id), poli=str(clinic.id))
    first = client.post(NEW, data=data)
    again = client.post(NEW, data=data)
    assert first.status_code == 302
    assert again.status_code == 302
    assert again.headers["Location"].endswith(f"/puskesmas/pasien/{budi.id}")
    assert "recorded a moment ago" in client.get(again.headers["Location"]).text
    assert written(db_session)[0] == 1
    # another complaint is another visit
    other = client.post(NEW, data={**data, "complaint": "Sakit gigi."})
    assert other.status_code == 302
    assert written(db_session)[0] == 2
