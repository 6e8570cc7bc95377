"""Registering, finding and correcting patients: the rules, the vault and the audit trail."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from balai.calendar import local_date
from balai.db import utcnow
from balai.tenancy import DEFAULT_TIMEZONE
from balai_puskesmas import patients
from balai_puskesmas.models import AuditEntry, Patient, Ticket
from balai_puskesmas.services import Actor, PuskesmasError

from .conftest import NIK_MAN, NIK_WOMAN

NEW = "/puskesmas/pasien/baru"
SEARCH = "/puskesmas/pasien/"
ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + d) for d in range(10)))


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English, so the messages read as in the code."""
    client.set_cookie("balai_lang", "en", domain="kota-a.test")


@pytest.fixture
def desk(client, facility, officer):
    """``client`` logged in as a registration officer of ``facility``."""
    return officer(client, facility, "registration")


def region_today() -> date:
    return local_date(utcnow(), DEFAULT_TIMEZONE)


def form(**fields):
    values = {
        "nik": NIK_MAN,
        "name": "Budi Santoso",
        "birth_date": "1985-03-15",
        "sex": "male",
        "address": "Jl. Melati No. 5, Cipondoh",
        "phone": "0812-3456-7890",
        "bpjs": "0001234567890",
    }
    values.update(fields)
    return {k: v for k, v in values.items() if v is not None}


def counts(db_session):
    db_session.expire_all()
    return (
        db_session.scalar(select(func.count()).select_from(Patient)),
        db_session.scalar(select(func.count()).select_from(AuditEntry)),
    )


def actions(db_session):
    db_session.expire_all()
    return [e.action for e in db_session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# -- registering -------------------------------------------------------------------


def test_desk_registers_a_patient_sealed_and_audited(
    client, desk, db_session, vault, facility, reveal
):
    response = client.post(NEW, data=form())
    assert response.status_code == 302
    saved = db_session.scalars(select(Patient)).one()
    assert response.headers["Location"].endswith(f"/puskesmas/pasien/{saved.id}")
    assert (saved.name, saved.birth_date, saved.sex) == ("Budi Santoso", date(1985, 3, 15), "male")
    # identifiers are not stored in clear, but open with the region's key
    assert NIK_MAN.encode() not in bytes(saved.nik_cipher)
    assert saved.nik_hash == vault.hash(NIK_MAN) and NIK_MAN not in saved.nik_hash
    assert b"3456" not in bytes(saved.phone_cipher)
    assert reveal(saved.id) == {
        "nik": NIK_MAN,
        "bpjs": "0001234567890",
        "phone": "+6281234567890",
    }
    entry = db_session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.patient_id, entry.user_id) == ("patient.create", saved.id, desk.id)
    assert entry.facility_id == facility.id and entry.address == "127.0.0.1"
    assert entry.detail == "given: address, phone, bpjs; tickets suggested: 0"
    page = client.get(f"/puskesmas/pasien/{saved.id}").text
    assert NIK_MAN in page and "+6281234567890" in page and "0001234567890" in page


def test_the_raw_row_holds_no_identifier_in_clear(client, desk, db_session):
    client.post(NEW, data=form())
    row = db_session.execute(
        select(Patient.nik_cipher, Patient.nik_hash, Patient.phone_cipher, Patient.bpjs_cipher)
    ).one()
    raw = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else v.encode() for v in row)
    for value in (NIK_MAN, "81234567890", "0001234567890"):
        assert value.encode() not in raw


def test_lookup_by_nik_finds_the_patient(client, desk, db_session):
    client.post(NEW, data=form())
    found = client.post(SEARCH, data={"nik": NIK_MAN})
    assert found.status_code == 200 and "Budi Santoso" in found.text
    missing = client.post(SEARCH, data={"nik": NIK_WOMAN})
    assert "Budi Santoso" not in missing.text
    assert "No patient of this region has this NIK." in missing.text
    assert "Register a patient with this NIK" in missing.text
    lookups = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "patient.lookup").order_by(AuditEntry.id)
    ).all()
    assert [e.detail for e in lookups] == ["by nik: found", "by nik: not found"]
    assert lookups[0].patient_id is not None and lookups[1].patient_id is None


@pytest.mark.parametrize(
    "nik",
    [
        NIK_MAN[:15],  # 15 digits
        NIK_MAN.translate(ARABIC_INDIC),  # Arabic-Indic digits
        NIK_MAN + "\n",  # trailing newline
        NIK_MAN + " ",
        "3671-0115-0385-9901",
    ],
    ids=["15-digits", "arabic-indic", "trailing-newline", "trailing-space", "dashes"],
)
def test_an_invalid_nik_is_refused_and_nothing_written(client, desk, db_session, nik):
    before = counts(db_session)
    response = client.post(NEW, data=form(nik=nik))
    assert response.status_code == 400
    assert (
        '<p class="error" id="nik-error">A NIK is exactly 16 digits 0-9, with no other '
        "characters (groups of digits may be separated by single spaces).</p>" in response.text
    )
    assert "Nothing was saved" in response.text
    assert counts(db_session) == before
    # the lookup refuses it the same way, and reads nothing
    lookup = client.post(SEARCH, data={"nik": nik})
    assert lookup.status_code == 400 and 'id="nik-error"' in lookup.text
    assert counts(db_session) == before


@pytest.mark.parametrize(
    ("nik", "part"),
    [
        ("9971011503859901", "province"),
        ("3671013203859901", "date of birth"),
        ("3671011503850000", "0000"),
    ],
)
def test_an_implausible_nik_is_refused(client, desk, db_session, nik, part):
    before = counts(db_session)
    response = client.post(NEW, data=form(nik=nik))
    assert response.status_code == 400 and part in response.text
    assert counts(db_session) == before


def test_a_duplicate_nik_is_refused(client, desk, db_session):
    assert client.post(NEW, data=form()).status_code == 302
    before = counts(db_session)
    again = client.post(NEW, data=form(name="Budi S."))
    assert again.status_code == 400
    assert "A patient with this NIK is already registered." in again.text
    assert counts(db_session) == before


def test_a_race_on_the_nik_is_caught_by_the_constraint(
    app, desk, db_session, vault, facility, monkeypatch
):
    actor = Actor(user_id=desk.id, label="desk", duties={facility.id: "registration"})
    draft = patients.PatientDraft(nik=NIK_MAN, name="Budi", birth_date="1985-03-15", sex="male")
    patients.register(db_session, vault, actor, draft, utcnow())
    db_session.commit()
    # a second desk checked before the first one committed
    monkeypatch.setattr(patients, "_nik_taken", lambda *args: False)
    with pytest.raises(PuskesmasError) as refused:
        patients.register(db_session, vault, actor, draft, utcnow())
    assert refused.value.errors == {"nik": [patients.NIK_TAKEN]}
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(Patient)) == 1


@pytest.mark.clock
def test_every_field_at_fault_is_named(client, desk, db_session, login):
    tomorrow = (region_today() + timedelta(days=2)).isoformat()
    before = counts(db_session)
    response = client.post(
        NEW,
        data=form(
            name="   ",
            birth_date=tomorrow,
            sex="other",
            address="x" * 301,
            phone="021-555-1234",
            bpjs="000123456789",
            citizen_email="nobody@example.test",
        ),
    )
    assert response.status_code == 400
    text = response.text
    for name, message in [
        ("name", "Enter the patient&#39;s name."),
        ("birth_date", "The date of birth cannot be in the future."),
        ("sex", "Choose the sex: male or female."),
        ("address", "The address can have at most 300 characters."),
        ("phone", "Enter an Indonesian mobile number, e.g. 0812 3456 7890."),
        ("bpjs", "A BPJS card number is exactly 13 digits 0-9."),
        (
            "citizen_email",
            "No active account of this region has this e-mail address or mobile number.",
        ),
    ]:
        assert f'<p class="error" id="{name}-error">{message}</p>' in text, name
    assert counts(db_session) == before


@pytest.mark.parametrize(
    ("birth_date", "message"),
    [
        ("1899-12-31", "The date of birth cannot be before 1900."),
        ("15-03-1985", "Enter a date, e.g. 1985-03-15."),
        (None, "Enter the date of birth."),
    ],
)
def test_birth_date_rules(client, desk, birth_date, message):
    response = client.post(NEW, data=form(birth_date=birth_date))
    assert response.status_code == 400 and message in response.text


@pytest.mark.parametrize("bpjs", ["0001234567890".translate(ARABIC_INDIC), "00012345678901"])
def test_bpjs_is_13_ascii_digits(client, desk, bpjs):
    response = client.post(NEW, data=form(bpjs=bpjs))
    assert response.status_code == 400 and 'id="bpjs-error"' in response.text


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("0812 3456 7890", "+6281234567890"), ("+62 812-3456-789", "+628123456789")],
)
def test_phone_numbers_are_normalised(typed, stored):
    assert patients.normalise_phone(typed) == stored


def test_the_form_is_prefilled_from_the_nik(client, desk):
    # from the search page's button, by POST: the NIK stays out of the address
    posted = client.post(NEW, data={"prefill": "1", "nik": NIK_WOMAN})
    assert posted.status_code == 200 and 'value="1992-07-15"' in posted.text
    assert 'id="f-sex-female" type="radio" name="sex" value="female" checked' in posted.text
    assert 'class="error"' not in posted.text and "Nothing was saved" not in posted.text


def test_a_citizen_account_is_linked_by_email(client, desk, db_session, login, app):
    other = app.test_client()
    other.host = "kota-a.test"
    citizen = login(other, role="warga", email="ani@example.test")
    response = client.post(NEW, data=form(citizen_email=" ANI@example.test "))
    assert response.status_code == 302
    saved = db_session.scalars(select(Patient)).one()
    assert saved.user_id == citizen.id
    entry = db_session.scalars(select(AuditEntry)).one()
    assert entry.detail == "given: address, phone, bpjs, account; tickets suggested: 0"
    assert "ani@example.test" not in entry.detail


def phone_only_citizen(tenant_id, phone="+6281299998888"):
    """A citizen who registered with a mobile number and no e-mail address."""
    from balai.auth import create_user
    from balai.db import db

    with db.all_tenants() as session:
        user = create_user(
            session,
            tenant_id=tenant_id,
            phone=phone,
            name="Siti",
            role="warga",
            password="correct horse battery staple",
            verified=True,
        )
        session.commit()
        return user.id


@pytest.mark.parametrize("typed", ["0812-9999-8888", "+62 812 9999 8888", "6281299998888"])
def test_a_phone_only_citizen_account_is_linked_by_mobile_number(
    client, desk, db_session, tenant, typed
):
    citizen_id = phone_only_citizen(tenant.id)
    response = client.post(NEW, data=form(citizen_email=typed))
    assert response.status_code == 302
    saved = db_session.scalars(select(Patient)).one()
    assert saved.user_id == citizen_id
    entry = db_session.scalars(select(AuditEntry)).one()
    assert "account" in entry.detail and "9999" not in entry.detail
    # the correction form shows the account by the number it logs in with
    page = client.get(f"/puskesmas/pasien/{saved.id}/ubah")
    assert 'value="+6281299998888"' in page.text


def test_a_mobile_number_of_another_region_links_nothing(client, desk, db_session, other_tenant):
    phone_only_citizen(other_tenant.id)
    before = counts(db_session)
    response = client.post(NEW, data=form(citizen_email="0812 9999 8888"))
    assert response.status_code == 400
    assert "No active account of this region has this e-mail address or mobile number." in (
        response.text
    )
    assert counts(db_session) == before


def test_the_form_asks_for_an_email_or_a_mobile_number(client, desk):
    page = client.get(NEW)
    assert "Citizen account (e-mail or mobile number)" in page.text
    assert 'type="email" name="citizen_email"' not in page.text


def test_only_the_registration_duty_registers(client, facility, officer, db_session):
    officer(client, facility, "clinician")
    response = client.post(NEW, data=form())
    assert response.status_code == 403
    assert counts(db_session) == (0, 0)


# -- tickets taken with the NIK ------------------------------------------------------


def ticket(db_session, clinic, vault, *, day, nik=NIK_MAN, number=1, status="waiting"):
    cipher, hashed = vault.seal(nik)
    made = Ticket(
        code=f"T{number}{day:%m%d}",
        facility_id=clinic.facility_id,
        clinic_id=clinic.id,
        day=day,
        number=number,
        status=status,
        nik_cipher=cipher,
        nik_hash=hashed,
    )
    db_session.add(made)
    db_session.commit()
    return made


@pytest.mark.clock
def test_registering_suggests_the_patient_for_todays_and_later_tickets(
    client, desk, db_session, clinic, vault
):
    """Registering does not link numbers taken with the NIK: anyone may have typed it.
    It suggests the new patient, for the desk to confirm against the KTP or KK."""
    today = region_today()
    old = ticket(db_session, clinic, vault, day=today - timedelta(days=2), number=1)
    now = ticket(db_session, clinic, vault, day=today, number=2)
    later = ticket(db_session, clinic, vault, day=today + timedelta(days=3), number=3)
    other = ticket(db_session, clinic, vault, day=today, number=4, nik=NIK_WOMAN)
    assert client.post(NEW, data=form()).status_code == 302
    db_session.expire_all()
    saved = db_session.scalars(select(Patient)).one()
    found = {
        t.id: (t.patient_id, t.suggested_patient_id) for t in db_session.scalars(select(Ticket))
    }
    assert found == {
        old.id: (None, None),
        now.id: (None, saved.id),
        later.id: (None, saved.id),
        other.id: (None, None),
    }
    assert db_session.scalars(select(AuditEntry)).one().detail.endswith("tickets suggested: 2")


@pytest.mark.clock
def test_registering_from_a_ticket_prefills_and_links_it(client, desk, db_session, clinic, vault):
    held = ticket(db_session, clinic, vault, day=region_today(), nik=NIK_WOMAN)
    page = client.get(f"{NEW}?tiket={held.id}").text
    assert f'value="{NIK_WOMAN}"' in page and 'value="1992-07-15"' in page
    assert 'name="identitas"' in page
    siti = form(nik=NIK_WOMAN, name="Siti", birth_date="1992-07-15", sex="female")
    # Linking the number needs the identity document the desk checked: nothing is saved.
    refused = client.post(NEW, data={**siti, "tiket": str(held.id)})
    assert refused.status_code == 400 and 'id="identitas-error"' in refused.text
    db_session.expire_all()
    assert db_session.scalars(select(Patient)).all() == []
    response = client.post(NEW, data={**siti, "tiket": str(held.id), "identitas": "kk"})
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Ticket, held.id).patient_id is not None


@pytest.mark.clock
def test_the_desk_links_a_ticket_to_a_found_patient(
    client, desk, db_session, clinic, vault, add_patient
):
    budi = add_patient()
    held = ticket(db_session, clinic, vault, day=region_today(), nik=NIK_WOMAN, status="called")
    listing = client.post(SEARCH, data={"q": "budi", "tiket": str(held.id)})
    assert f"/puskesmas/pasien/{budi.id}/tiket" in listing.text
    unchecked = client.post(f"/puskesmas/pasien/{budi.id}/tiket", data={"tiket": str(held.id)})
    assert unchecked.status_code == 302  # back to the list, saying why
    db_session.expire_all()
    assert db_session.get(Ticket, held.id).patient_id is None
    response = client.post(
        f"/puskesmas/pasien/{budi.id}/tiket", data={"tiket": str(held.id), "identitas": "ktp"}
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Ticket, held.id).patient_id == budi.id
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "ticket.attach")).one()
    assert entry.detail == (
        f"ticket {held.id}; link: new; identity checked: ktp; suggestion: none; "
        "nik on ticket: differs"
    )
    assert entry.facility_id == clinic.facility_id


@pytest.mark.clock
def test_a_ticket_of_another_puskesmas_cannot_be_linked(
    client, desk, db_session, make_facility, vault, add_patient
):
    elsewhere = make_facility("LAIN")
    held = ticket(db_session, elsewhere.clinics[0], vault, day=region_today())
    budi = add_patient()
    response = client.post(f"/puskesmas/pasien/{budi.id}/tiket", data={"tiket": str(held.id)})
    assert response.status_code == 403
    db_session.expire_all()
    assert db_session.get(Ticket, held.id).patient_id is None
    assert counts(db_session)[1] == 0


@pytest.mark.clock
def test_a_finished_ticket_is_not_relinked(client, desk, db_session, clinic, vault, add_patient):
    budi = add_patient()
    held = ticket(db_session, clinic, vault, day=region_today(), status="cancelled")
    response = client.post(f"/puskesmas/pasien/{budi.id}/tiket", data={"tiket": str(held.id)})
    assert response.status_code == 302
    follow = client.get(response.headers["Location"])
    assert "This queue number is finished" in follow.text
    db_session.expire_all()
    assert db_session.get(Ticket, held.id).patient_id is None


# -- finding and correcting ----------------------------------------------------------


def test_search_by_name_escapes_like_wildcards(client, desk, db_session, add_patient):
    add_patient(name="Budi Santoso")
    add_patient(nik=NIK_WOMAN, name="Siti 100% Aminah", birth_date=date(1992, 7, 15))
    assert "Budi Santoso" in client.post(SEARCH, data={"q": "SANTO"}).text
    percent = client.post(SEARCH, data={"q": "0%"}).text
    assert "Siti 100% Aminah" in percent and "Budi Santoso" not in percent
    underscore = client.post(SEARCH, data={"q": "_u"}).text
    assert "Budi Santoso" not in underscore
    assert "No patient's name contains these letters." in underscore
    short = client.post(SEARCH, data={"q": "b"})
    assert short.status_code == 400 and "Enter at least 2 letters of the name." in short.text
    details = [
        e.detail
        for e in db_session.scalars(
            select(AuditEntry).where(AuditEntry.action == "patient.search").order_by(AuditEntry.id)
        )
    ]
    assert details == [
        "by name: 1 results, 1 shown",
        "by name: 1 results, 1 shown",
        "by name: 0 results, 0 shown",
    ]


def test_search_results_are_paginated(client, desk, db_session, vault, add_patient):
    serial = 9901
    for n in range(25):
        add_patient(nik=f"36710115038{serial + n:05d}"[-16:], name=f"Pasien {n:02d}")
    first = client.post(SEARCH, data={"q": "pasien"}).text
    assert "Pasien 00" in first and "Pasien 19" in first and "Pasien 20" not in first
    assert "Page 1 of 2" in first and 'name="page" value="2"' in first
    second = client.post(SEARCH, data={"q": "pasien", "page": "2"}).text
    assert "Pasien 24" in second and "Pasien 00" not in second
    assert client.get(f"{SEARCH}?q=pasien&page=2").status_code == 200


def test_update_audits_the_changed_field_names_only(client, desk, db_session, add_patient, reveal):
    budi = add_patient(phone="+6281200000000")
    page = client.get(f"/puskesmas/pasien/{budi.id}/ubah")
    assert page.status_code == 200 and f'value="{NIK_MAN}"' in page.text
    response = client.post(
        f"/puskesmas/pasien/{budi.id}/ubah",
        data=form(name="Budi Santosa", phone="081299998888", bpjs=None, address="Jl. Contoh No. 2"),
    )
    assert response.status_code == 302
    db_session.expire_all()
    saved = db_session.get(Patient, budi.id)
    assert saved.name == "Budi Santosa"
    assert reveal(saved.id)["phone"] == "+6281299998888"
    entry = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "patient.update")
    ).one()
    assert entry.detail == "changed: name, phone"
    assert "Santosa" not in entry.detail and "9999" not in entry.detail


def test_a_refused_update_writes_nothing(client, desk, db_session, add_patient):
    budi = add_patient()
    add_patient(nik=NIK_WOMAN, name="Siti", birth_date=date(1992, 7, 15), sex="female")
    before = counts(db_session)
    response = client.post(f"/puskesmas/pasien/{budi.id}/ubah", data=form(nik=NIK_WOMAN))
    assert response.status_code == 400
    assert "A patient with this NIK is already registered." in response.text
    assert counts(db_session) == before
    db_session.expire_all()
    assert (
        db_session.get(Patient, budi.id).nik_hash
        != db_session.scalars(select(Patient.nik_hash).where(Patient.name == "Siti")).one()
    )


def test_personal_data_never_reaches_the_logs(client, desk, db_session, caplog):
    caplog.set_level(logging.DEBUG)
    client.post(NEW, data=form())
    saved = db_session.scalars(select(Patient)).one()
    client.post(SEARCH, data={"nik": NIK_MAN})
    client.get(f"/puskesmas/pasien/{saved.id}")
    client.get(f"/puskesmas/pasien/{saved.id}/ubah")
    client.post(NEW, data=form(nik=NIK_MAN + "\n"))
    client.post(NEW, data=form())  # a duplicate
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for value in (NIK_MAN, "81234567890", "0001234567890"):
        assert value not in logged
    audit = " ".join(f"{e.actor} {e.detail}" for e in db_session.scalars(select(AuditEntry)))
    for value in (NIK_MAN, "81234567890", "0001234567890", "Budi Santoso"):
        assert value not in audit
    assert actions(db_session) == [
        "patient.create",
        "patient.lookup",
        "patient.read",  # the record with its visits
        "patient.read",  # the edit form
    ]


def test_a_nik_in_the_address_is_refused_and_not_looked_up(client, desk, db_session):
    """Addresses end up in server and proxy logs: a NIK is only taken from a form."""
    search = client.get(f"{SEARCH}?nik={NIK_MAN}")
    assert search.status_code == 400
    assert "page address" in search.text
    form = client.get(f"{NEW}?nik={NIK_WOMAN}")
    assert form.status_code == 200
    assert f'value="{NIK_WOMAN}"' not in form.text
    assert db_session.scalar(select(func.count()).select_from(AuditEntry)) == 0


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"birth_date": "1985-05-15"}, "birth_date", "does not match the NIK"),
        ({"sex": "female"}, "sex", "does not match the NIK"),
    ],
)
def test_birth_date_and_sex_must_match_the_nik(client, desk, db_session, fields, field, message):
    before = counts(db_session)
    response = client.post(NEW, data=form(**fields))
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text or f"{field}-error" in response.text
    assert message in response.text
    assert counts(db_session) == before
