"""The doctor's visit form: two columns, the inline ICD-10 search (with and without
JavaScript), Indonesian synonyms, a structured prescription and a referral, and a
queue number whose visit is recorded already."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from balai.calendar import local_date
from balai.db import utcnow
from balai.tenancy import DEFAULT_TIMEZONE
from balai_puskesmas import records
from balai_puskesmas.models import (
    AuditEntry,
    Diagnosis,
    Icd10Synonym,
    Prescription,
    Referral,
    Ticket,
    Visit,
)

NEW = "/puskesmas/kunjungan/baru"
STATIC = Path(records.__file__).parent / "static"


@pytest.fixture(autouse=True)
def english(client):
    client.set_cookie("balai_lang", "en", domain="kota-a.test")


@pytest.fixture
def clinician(client, facility, officer):
    return officer(client, facility, "clinician")


@pytest.fixture
def budi(add_patient):
    return add_patient()


@pytest.fixture
def called(db_session, clinic, budi):
    ticket = Ticket(
        code=f"D{clinic.id}N1",
        facility_id=clinic.facility_id,
        clinic_id=clinic.id,
        day=local_date(utcnow(), DEFAULT_TIMEZONE),
        number=1,
        status="called",
        patient_id=budi.id,
        called_at=utcnow() - timedelta(minutes=5),
    )
    db_session.add(ticket)
    db_session.commit()
    return ticket


def visit_form(ticket, **fields):
    values = {
        "tiket": str(ticket.id),
        "complaint": "Demam dan batuk sejak 3 hari.",
        "temperature": "38,2",
        "diagnosis_1": "j069",
        "notes": "Istirahat cukup.",
    }
    values.update(fields)
    return {k: v for k, v in values.items() if v is not None}


PARACETAMOL = {
    "rx_1_drug": "Paracetamol 500 mg tablet",
    "rx_1_dose": "1",
    "rx_1_unit": "tablet",
    "rx_1_frequency": "3",
    "rx_1_days": "3",
    "rx_1_route": "oral",
    "rx_1_notes": "bila demam > 38 °C",
}
AMOXICILLIN = {
    "rx_3_drug": "Amoxicillin sirup 125 mg/5 mL",
    "rx_3_kfa_code": "93000123",
    "rx_3_dose": "2,5",
    "rx_3_unit": "ml",
    "rx_3_frequency": "3",
    "rx_3_days": "5",
    "rx_3_route": "oral",
}
REFERRAL = {
    "referral_destination": "RSUD Kabupaten Tangerang, Poli Penyakit Dalam",
    "referral_reason": "Hipertensi tidak terkontrol dengan dua obat.",
    "referral_urgency": "urgent",
}


def written(db_session):
    db_session.expire_all()
    counts = [
        db_session.scalar(select(func.count()).select_from(m))
        for m in (Visit, Diagnosis, Prescription, Referral)
    ]
    others = db_session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action.not_in(("patient.read", "visit.read")))
    )
    return (*counts, others)


# -- layout -----------------------------------------------------------------------------


def test_the_form_has_two_columns_on_a_desktop_and_one_on_a_phone(client, clinician, called):
    page = client.get(f"{NEW}?tiket={called.id}").text
    assert page.count('class="visit-column"') == 2 and 'class="visit-columns"' in page
    css = (STATIC / "puskesmas.css").read_text()
    assert ".visit-columns{display:grid;grid-template-columns:minmax(0,1fr)" in css
    wide = re.search(r"@media \(min-width:(\d+)rem\)\{\.visit-columns\{([^}]*)\}", css)
    assert wide and "repeat(2,minmax(0,1fr))" in wide.group(2)
    assert int(wide.group(1)) * 16 > 390  # a phone of 390 px keeps one column
    # The enhancement script is a file of the plugin (the CSP allows no inline script).
    assert re.search(r'<script src="/puskesmas/static/visit_form.js" defer></script>', page)
    script = client.get("/puskesmas/static/visit_form.js")
    script.close()
    assert script.status_code == 200


def test_every_form_field_has_a_label(client, clinician, called):
    page = client.get(f"{NEW}?tiket={called.id}").text
    ids = set(re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', page))
    labelled = set(re.findall(r'<label for="([^"]+)"', page))
    assert ids and ids <= labelled, ids - labelled


# -- prescription and referral ------------------------------------------------------


def test_a_visit_with_a_prescription_and_a_referral(
    client, clinician, called, budi, db_session, login
):
    data = visit_form(called, **PARACETAMOL, **AMOXICILLIN, **REFERRAL)
    response = client.post(NEW, data=data)
    assert response.status_code == 302, response.text
    visit = db_session.scalars(select(Visit)).one()
    lines = [
        (p.position, p.drug, p.kfa_code, p.dose, p.unit, p.frequency, p.days, p.route, p.notes)
        for p in visit.prescriptions
    ]
    assert lines == [
        (0, "Paracetamol 500 mg tablet", "", 1.0, "tablet", 3, 3, "oral", "bila demam > 38 °C"),
        (1, "Amoxicillin sirup 125 mg/5 mL", "93000123", 2.5, "ml", 3, 5, "oral", ""),
    ]
    referral = visit.referral
    assert (referral.destination, referral.urgency) == (REFERRAL["referral_destination"], "urgent")
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "visit.create")).one()
    assert "drugs: 2; referral: urgent" in entry.detail
    assert "Paracetamol" not in entry.detail and "RSUD" not in entry.detail

    shown = client.get(f"/puskesmas/kunjungan/{visit.id}").text
    for text in (
        "Paracetamol 500 mg tablet",
        "3 \u00d7 1 tablet a day, for 3 days",
        "3 \u00d7 2.5 mL a day, for 5 days",
        "By mouth (oral)",
        "bila demam &gt; 38 °C",
        "93000123",
        "RSUD Kabupaten Tangerang",
        "Hipertensi tidak terkontrol",
        "Urgent",
    ):
        assert text in shown, text

    # The patient sees them in their own visits, with the diagnoses.
    client.post("/keluar")
    citizen = login(client, role="warga")
    budi_row = db_session.get(type(budi), budi.id)
    budi_row.user_id = citizen.id
    db_session.commit()
    own = client.get("/puskesmas/kunjungan-saya").text
    assert "Paracetamol 500 mg tablet" in own and "RSUD Kabupaten Tangerang" in own


def test_a_visit_without_prescription_nor_referral_says_so(client, clinician, called, db_session):
    assert client.post(NEW, data=visit_form(called)).status_code == 302
    visit = db_session.scalars(select(Visit)).one()
    assert visit.prescriptions == [] and visit.referral is None
    shown = client.get(f"/puskesmas/kunjungan/{visit.id}").text
    assert "No drug prescribed." in shown and "Referred to" not in shown


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"rx_1_dose": "1", "rx_1_frequency": "3", "rx_1_days": "3"}, "rx_1_drug", "drug's name"),
        ({**PARACETAMOL, "rx_1_dose": ""}, "rx_1_dose", "Give the dose"),
        ({**PARACETAMOL, "rx_1_dose": "satu"}, "rx_1_dose", "Enter a number."),
        ({**PARACETAMOL, "rx_1_dose": "0"}, "rx_1_dose", "more than 0"),
        ({**PARACETAMOL, "rx_1_unit": "bucket"}, "rx_1_unit", "Choose the unit"),
        ({**PARACETAMOL, "rx_1_frequency": "30"}, "rx_1_frequency", "from 1 to 24"),
        ({**PARACETAMOL, "rx_1_frequency": "2.5"}, "rx_1_frequency", "Enter a whole number."),
        ({**PARACETAMOL, "rx_1_days": ""}, "rx_1_days", "for how many days"),
        ({**PARACETAMOL, "rx_1_days": "400"}, "rx_1_days", "from 1 to 365"),
        ({**PARACETAMOL, "rx_1_route": "ear-ly"}, "rx_1_route", "how the drug is given"),
        ({**PARACETAMOL, "rx_1_notes": "x" * 301}, "rx_1_notes", "at most 300"),
        ({**PARACETAMOL, "rx_1_kfa_code": "93-000"}, "rx_1_kfa_code", "KFA code"),
        ({**AMOXICILLIN, "rx_3_drug": ""}, "rx_3_drug", "drug's name"),
        ({"referral_reason": "Curiga apendisitis."}, "referral_destination", "referred to"),
        ({"referral_destination": "RSUD"}, "referral_reason", "reason for the referral"),
        ({**REFERRAL, "referral_urgency": "someday"}, "referral_urgency", "how urgent"),
    ],
)
def test_a_faulty_prescription_or_referral_is_named_and_nothing_is_written(
    client, clinician, called, db_session, fields, field, message
):
    before = written(db_session)
    response = client.post(NEW, data=visit_form(called, **fields))
    assert response.status_code == 400
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', response.text)
    assert error and message in html.unescape(error.group(1)), (field, error)
    assert written(db_session) == before
    # What was typed is shown again.
    for name, value in fields.items():
        if value and name.endswith(("_drug", "_destination")):
            assert value in response.text


def test_a_line_with_only_the_preselected_unit_and_route_is_no_drug(
    client, clinician, called, db_session
):
    data = visit_form(called, rx_2_unit="capsule", rx_2_route="topical", referral_urgency="stat")
    assert client.post(NEW, data=data).status_code == 302
    visit = db_session.scalars(select(Visit)).one()
    assert visit.prescriptions == [] and visit.referral is None


# -- a number whose visit is recorded -------------------------------------------------


def test_the_form_does_not_open_for_a_number_already_recorded(
    client, clinician, called, db_session
):
    assert client.post(NEW, data=visit_form(called)).status_code == 302
    visit = db_session.scalars(select(Visit)).one()
    before = written(db_session)
    page = client.get(f"{NEW}?tiket={called.id}")
    assert page.status_code == 409
    assert "A visit is already recorded for this queue number." in page.text
    assert f'href="/puskesmas/kunjungan/{visit.id}"' in page.text
    assert 'name="complaint"' not in page.text and "Budi Santoso" not in page.text
    again = client.post(NEW, data=visit_form(called, complaint="Kontrol."))
    assert again.status_code == 409 and f"/puskesmas/kunjungan/{visit.id}" in again.text
    assert written(db_session) == before


# -- ICD-10: the 'ispa' echo, synonyms, inline search --------------------------------


def test_a_term_typed_as_a_code_is_echoed_as_typed_with_its_code(
    client, clinician, called, db_session
):
    response = client.post(NEW, data=visit_form(called, diagnosis_1="ispa"))
    assert response.status_code == 400
    assert "Not an ICD-10 code that can be recorded: ispa." in response.text
    assert "ISP.A" not in response.text
    assert "ispa → J06.9" in response.text
    odd = client.post(NEW, data=visit_form(called, diagnosis_1="xq1234"))
    assert "recorded: xq1234." in odd.text and "XQ1." not in odd.text
    assert db_session.scalar(select(func.count()).select_from(Visit)) == 0


def test_the_inline_search_works_without_javascript(client, clinician, called, db_session):
    typed = visit_form(called, diagnosis_1="", icd_q="demam", **PARACETAMOL)
    page = client.post(NEW, data={**typed, "icd10_search": "1"})
    assert page.status_code == 200
    assert 'name="add_code" value="R50.9"' in page.text and "(demam)" in page.text
    assert "Paracetamol 500 mg tablet" in page.text and "Demam dan batuk" in page.text
    assert "Nothing was saved" not in page.text
    added = client.post(NEW, data={**typed, "add_code": "R50.9"})
    assert added.status_code == 200
    assert re.search(r'id="f-diagnosis_1" name="diagnosis_1" type="text" value="R50.9"', added.text)
    assert "R50.9 is added to the diagnoses." in added.text
    refused = client.post(NEW, data={**typed, "add_code": "A09"})
    assert "Choose one of the codes found." in refused.text
    full = {
        f"diagnosis_{n}": code for n, code in enumerate(["A09.0", "I10", "E11.9", "R05", "R51"], 1)
    }
    no_room = client.post(NEW, data={**typed, **full, "add_code": "R50.9"})
    assert "Every diagnosis is filled in" in no_room.text
    none = client.post(NEW, data={**typed, "icd_q": "zzzzqq", "icd10_search": "1"})
    assert "No ICD-10 code matches." in none.text
    assert db_session.scalar(select(func.count()).select_from(Visit)) == 0


def test_the_autocomplete_endpoint(client, clinician):
    found = client.get("/puskesmas/icd10.json?q=demam")
    assert found.status_code == 200 and found.mimetype == "application/json"
    results = found.json["results"]
    assert results[0] == {"code": "R50.9", "description": "Fever, unspecified", "term": "demam"}
    assert len(results) <= records.ICD10_SUGGESTIONS
    assert client.get("/puskesmas/icd10.json?q=ispa").json["results"][0]["code"] == "J06.9"
    diare = [r["code"] for r in client.get("/puskesmas/icd10.json?q=diare").json["results"]]
    assert diare[:3] == ["A09.9", "A09.0", "K59.1"]
    assert client.get("/puskesmas/icd10.json?q=j06.9").json["results"][0]["code"] == "J06.9"
    assert client.get("/puskesmas/icd10.json?q=").json["results"] == []
    too_long = client.get("/puskesmas/icd10.json?q=" + "x" * 101)
    assert too_long.status_code == 400 and too_long.json["error"]["code"] == "invalid"


def test_the_autocomplete_is_guarded_as_the_form(client, facility, officer, login):
    assert client.get("/puskesmas/icd10.json?q=demam").status_code in (302, 401)
    officer(client, facility, "registration")
    refused = client.get("/puskesmas/icd10.json?q=demam")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    client.post("/keluar")
    login(client, role="warga")
    assert client.get("/puskesmas/icd10.json?q=demam").status_code == 403


def test_the_lookup_page_finds_indonesian_terms(client, clinician):
    page = client.get("/puskesmas/icd10?q=demam").text
    assert "<code>R50.9</code>" in page and "<td>demam</td>" in page
    assert "<code>A97.9</code>" in client.get("/puskesmas/icd10?q=demam+berdarah").text
    assert "<code>I10</code>" in client.get("/puskesmas/icd10?q=Hipertensi").text


def test_the_combobox_script_follows_the_aria_pattern():
    script = (STATIC / "visit_form.js").read_text()
    for needle in (
        '"role", "combobox"',
        '"aria-autocomplete", "list"',
        '"aria-expanded"',
        '"aria-controls"',
        '"aria-activedescendant"',
        '"role", "listbox"',
        '"role", "option"',
        '"aria-live", "polite"',
        "ArrowDown",
        "ArrowUp",
        "Escape",
    ):
        assert needle in script, needle


# -- the region's synonyms ------------------------------------------------------------

SYNONYMS = "/puskesmas/icd10/sinonim"


def test_the_region_adds_a_term_and_the_search_finds_it(
    client, enabled, login, facility, officer, db_session
):
    login(client, role="admin")
    page = client.get(SYNONYMS)
    assert page.status_code == 200 and "no terms of its own yet" in page.text
    assert "ispa" in page.text and "demam" in page.text  # the shipped list is shown
    saved = client.post(SYNONYMS, data={"term": " Anyang-Anyangan ", "codes": "n390, R30.0"})
    assert saved.status_code == 302
    row = db_session.scalars(select(Icd10Synonym)).one()
    assert (row.term, row.codes) == ("anyang-anyangan", "N39.0,R30.0")
    entry = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "icd10.synonym_save")
    ).one()
    assert "anyang-anyangan" in entry.detail and "N39.0,R30.0" in entry.detail
    # A shipped term given other codes by the region.
    client.post(SYNONYMS, data={"term": "demam", "codes": "R50.8"})
    client.post(SYNONYMS, data={"term": "Demam", "codes": "R50.9, A01.0"})  # saved again
    assert db_session.scalar(select(func.count()).select_from(Icd10Synonym)) == 2

    client.post("/keluar")
    officer(client, facility, "clinician")
    answer = client.get("/puskesmas/icd10.json?q=anyang")
    assert answer.status_code == 200, answer.text
    found = answer.json["results"]
    assert [r["code"] for r in found[:2]] == ["N39.0", "R30.0"]
    demam = client.get("/puskesmas/icd10.json?q=demam").json["results"]
    assert [r["code"] for r in demam[:2]] == ["R50.9", "A01.0"]


def test_a_term_is_removed_and_the_shipped_one_comes_back(client, enabled, login, db_session):
    login(client, role="admin")
    client.post(SYNONYMS, data={"term": "ispa", "codes": "J22"})
    row = db_session.scalars(select(Icd10Synonym)).one()
    removed = client.post(f"{SYNONYMS}/{row.id}/hapus")
    assert removed.status_code == 302
    assert db_session.scalar(select(func.count()).select_from(Icd10Synonym)) == 0
    actions = db_session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("icd10.%")).order_by(AuditEntry.id)
    ).all()
    assert actions == ["icd10.synonym_save", "icd10.synonym_remove"]
    assert client.post(f"{SYNONYMS}/{row.id}/hapus").status_code == 404


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"term": "", "codes": "R50.9"}, "term", "Write the term"),
        ({"term": "<b>demam</b>", "codes": "R50.9"}, "term", "letters, digits"),
        ({"term": "x" * 61, "codes": "R50.9"}, "term", "at most 60"),
        ({"term": "panas", "codes": ""}, "codes", "at least one"),
        ({"term": "panas", "codes": "ispa"}, "codes", "recorded: ispa."),
        ({"term": "panas", "codes": "A09"}, "codes", "recorded: A09."),
        ({"term": "panas", "codes": "R50.9 R05 R51 I10 J00 J02.9"}, "codes", "at most 5"),
    ],
)
def test_a_faulty_term_is_named_and_nothing_is_written(
    client, enabled, login, db_session, form, field, message
):
    login(client, role="admin")
    response = client.post(SYNONYMS, data=form)
    assert response.status_code == 400
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', response.text)
    assert error and message in html.unescape(error.group(1))
    assert db_session.scalar(select(func.count()).select_from(Icd10Synonym)) == 0
    assert db_session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_only_a_region_admin_edits_the_synonyms(client, facility, officer):
    officer(client, facility, "clinician")
    assert client.get(SYNONYMS).status_code == 403
    assert client.post(SYNONYMS, data={"term": "panas", "codes": "R50.9"}).status_code == 403


def test_each_region_has_its_own_synonyms(
    client, other_client, enabled, other_tenant, enable_plugin, login
):
    login(client, role="admin")
    client.post(SYNONYMS, data={"term": "panas", "codes": "R50.9"})
    enable_plugin("puskesmas", tenant=other_tenant)
    from balai.db import db

    with db.tenant_session(other_tenant.id) as session:
        assert session.scalar(select(func.count()).select_from(Icd10Synonym)) == 0
    doctor = login(other_client, role="opd", tenant=other_tenant)
    with db.tenant_session(other_tenant.id) as session:
        from balai_puskesmas.models import Facility, Staff

        facility = Facility(code="LAIN", name="Puskesmas Lain")
        session.add(facility)
        session.flush()
        session.add(Staff(user_id=doctor.id, facility_id=facility.id, duty="clinician"))
    found = other_client.get("/puskesmas/icd10.json?q=panas").json["results"]
    assert "panas" not in {r["term"] for r in found}
    assert client.get(SYNONYMS).text.count("<td>panas</td>") == 1


def test_the_audit_page_names_the_synonym_actions(client, enabled, login):
    login(client, role="admin")
    client.post(SYNONYMS, data={"term": "panas", "codes": "R50.9"})
    page = client.get("/puskesmas/kelola/audit").text
    assert "ICD-10 synonym saved" in page


def test_the_json_of_the_shipped_list_is_plain():
    from balai_puskesmas import icd10

    assert json.loads(json.dumps(icd10.SYNONYMS))
