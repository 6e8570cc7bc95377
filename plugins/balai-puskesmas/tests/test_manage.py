"""The region admin's pages: puskesmas, clinics and duties; bad input writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from balai.auth import create_user
from balai.db import db
from balai.testing import PASSWORD, csrf_token
from balai_puskesmas.models import AuditEntry, Clinic, Facility, Staff

BASE = "/puskesmas/kelola"
FORM = {
    "code": "neglasari",
    "name": "Puskesmas Neglasari",
    "address": "Jl. Iskandar Muda No. 3",
    "phone": "021 5523 0104",
    "latitude": "-6,1426",
    "longitude": "106.6365",
    "active": "y",
    **{f"open_{d}": "07:30" for d in range(1, 6)},
    **{f"close_{d}": "14:00" for d in range(1, 6)},
    "open_6": "07:30",
    "close_6": "12:00",
}


def rows(db_session, model):
    db_session.rollback()
    db_session.expire_all()
    return list(db_session.scalars(select(model).order_by(model.id)))


def english(client):
    client.get("/bahasa?lang=en")
    return client


@pytest.fixture
def make_user(app, tenant):
    """``make_user(email, role="opd", of=tenant)``: an account, without logging in."""

    def make(email, role="opd", of=tenant):
        with db.all_tenants() as session:
            user = create_user(
                session,
                tenant_id=of.id,
                email=email,
                name=email.split("@")[0].title(),
                role=role,
                password=PASSWORD,
            )
        return user

    return make


@pytest.fixture
def admin(client, enabled, login):
    login(client, role="admin")
    return english(client)


def test_officers_cannot_manage(client, facility, clinic, officer, db_session):
    officer(client, facility)
    for path in (
        "/",
        "/baru",
        f"/{facility.id}",
        f"/{facility.id}/poli/baru",
        f"/poli/{clinic.id}",
        f"/{facility.id}/petugas",
        "/audit",
        "/audit.csv",
    ):
        assert client.get(BASE + path).status_code == 403, path
    assert client.post(BASE + "/baru", data=FORM).status_code == 403
    assert len(rows(db_session, Facility)) == 1


def test_visitors_are_sent_to_log_in(client, facility):
    response = client.get(BASE + "/")
    assert response.status_code in (302, 401)


def test_the_empty_region_invites_the_first_puskesmas(admin):
    page = admin.get(BASE + "/")
    assert page.status_code == 200
    assert "Add the first puskesmas" in page.text
    assert f'href="{BASE}/baru"' in page.text


def test_admin_adds_a_puskesmas_with_opening_hours(admin, db_session):
    form = admin.get(BASE + "/baru")
    assert form.status_code == 200
    assert 'name="open_7"' in form.text and 'value="07:30"' in form.text
    response = admin.post(BASE + "/baru", data=FORM)
    assert response.status_code == 302
    [saved] = rows(db_session, Facility)
    assert response.headers["Location"].endswith(f"{BASE}/{saved.id}")
    assert (saved.code, saved.latitude, saved.active) == ("NEGLASARI", -6.1426, True)
    assert saved.hours == {
        **{str(d): ["07:30", "14:00"] for d in range(1, 6)},
        "6": ["07:30", "12:00"],
    }
    page = admin.get(BASE + "/")
    assert "Puskesmas Neglasari" in page.text and "NEGLASARI" in page.text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"code": ""}, "code", "Enter the code."),
        ({"code": "NEGLA SARI"}, "code", "capital letters"),
        ({"name": ""}, "name", "Enter the name of the puskesmas."),
        ({"latitude": ""}, "latitude", "Give both the latitude and the longitude"),
        ({"latitude": "-20"}, "latitude", "between -11 and 6"),
        ({"close_3": ""}, "hours_3", "or neither for a closed day"),
        ({"open_2": "15:00"}, "hours_2", "after the opening time"),
        ({"open_1": "jam tujuh"}, "hours_1", "HH:MM"),
        ({"phone": "nomor"}, "phone", "phone number"),
    ],
)
def test_bad_puskesmas_are_refused_and_nothing_is_written(
    admin, db_session, change, field, message
):
    response = admin.post(BASE + "/baru", data={**FORM, **change})
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text
    assert message in response.text
    assert "Nothing was saved." in response.text
    assert 'value="Puskesmas Neglasari"' in response.text or field == "name"  # kept as typed
    assert rows(db_session, Facility) == []


def test_a_duplicate_code_is_refused(admin, facility, db_session):
    response = admin.post(BASE + "/baru", data={**FORM, "code": "cip"})
    assert response.status_code == 400
    assert "Another puskesmas already has this code." in response.text
    assert len(rows(db_session, Facility)) == 1


def test_admin_edits_a_puskesmas_and_sees_its_clinics(admin, facility, db_session):
    page = admin.get(f"{BASE}/{facility.id}")
    assert page.status_code == 200
    assert 'value="CIP"' in page.text and 'name="close_6" type="time" value="14:00"' in page.text
    clinic = rows(db_session, Clinic)[0]
    assert f'href="{BASE}/poli/{clinic.id}"' in page.text
    assert f'href="{BASE}/{facility.id}/poli/baru"' in page.text
    assert f'href="{BASE}/{facility.id}/petugas"' in page.text
    form = {**FORM, "code": "CIP", "open_6": "", "close_6": "", "active": ""}
    assert admin.post(f"{BASE}/{facility.id}", data=form).status_code == 302
    [saved] = rows(db_session, Facility)
    assert (saved.name, saved.active, "6" in saved.hours) == ("Puskesmas Neglasari", False, False)
    assert "Closed" in admin.get(BASE + "/").text


def test_a_refused_edit_changes_nothing(admin, facility, db_session):
    response = admin.post(f"{BASE}/{facility.id}", data={**FORM, "name": "", "code": "CIP"})
    assert response.status_code == 400
    assert rows(db_session, Facility)[0].name == "Puskesmas Cip"


def test_admin_adds_and_edits_a_clinic(admin, facility, db_session):
    form = {"code": "lansia", "name": "Poli Lansia", "minutes_per_patient": "12", "active": "y"}
    response = admin.post(f"{BASE}/{facility.id}/poli/baru", data=form)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{BASE}/{facility.id}")
    lansia = rows(db_session, Clinic)[-1]
    assert (lansia.code, lansia.position, lansia.daily_quota, lansia.active) == (
        "LANSIA",
        3,
        None,
        True,
    )
    edit = {**form, "code": "LANSIA", "daily_quota": "30", "active": ""}
    assert admin.post(f"{BASE}/poli/{lansia.id}", data=edit).status_code == 302
    changed = rows(db_session, Clinic)[-1]
    assert (changed.daily_quota, changed.active, changed.minutes_per_patient) == (30, False, 12)
    page = admin.get(f"{BASE}/poli/{lansia.id}")
    assert 'value="30"' in page.text and "Puskesmas Cip" in page.text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"code": "GIGI"}, "code", "Another clinic of this puskesmas has this code."),
        ({"name": ""}, "name", "Enter the name of the clinic."),
        ({"minutes_per_patient": "0"}, "minutes_per_patient", "from 1 to 120"),
        ({"minutes_per_patient": ""}, "minutes_per_patient", "from 1 to 120"),
        ({"daily_quota": "5000"}, "daily_quota", "from 1 to 1000"),
    ],
)
def test_bad_clinics_are_refused(admin, facility, db_session, change, field, message):
    form = {"code": "LANSIA", "name": "Poli Lansia", "minutes_per_patient": "10", **change}
    response = admin.post(f"{BASE}/{facility.id}/poli/baru", data=form)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text and message in response.text
    assert len(rows(db_session, Clinic)) == 3


def test_the_list_shows_counts_and_pages(admin, make_facility, db_session, make_user):
    first = make_facility("AAA")
    for n in range(30):
        make_facility(f"P{n:02d}", clinics=("UMUM",))
    user = make_user("rina@kota-a.test")
    db_session.add(Staff(user_id=user.id, facility_id=first.id, duty="viewer"))
    db_session.commit()
    client = admin
    page = client.get(BASE + "/")
    assert "31 puskesmas in the region." in page.text
    assert "Page 1 of 2" in page.text
    row = page.text.split("<code>AAA</code>")[1].split("</tr>")[0]
    assert "<td>3</td>" in row and ">1</a>" in row
    second = client.get(BASE + "/?page=2")
    assert second.status_code == 200 and second.text.count("<tr>") == 1 + 6
    assert client.get(BASE + "/?page=3").status_code == 404


# -- staff ---------------------------------------------------------------------------


def test_admin_gives_and_removes_a_duty(client, facility, login, db_session, make_user):
    officer = make_user("rina@kota-a.test")
    login(client, role="admin", email="admin@kota-a.test")
    english(client)
    page = client.get(f"{BASE}/{facility.id}/petugas")
    assert page.status_code == 200 and "No officer has a duty here yet" in page.text
    form = {"email": "RINA@kota-a.test", "duty": "clinician", "profession": "midwife"}
    response = client.post(f"{BASE}/{facility.id}/petugas", data=form)
    assert response.status_code == 302
    [staff] = rows(db_session, Staff)
    assert (staff.user_id, staff.duty, staff.profession) == (officer.id, "clinician", "midwife")
    page = client.get(f"{BASE}/{facility.id}/petugas")
    assert "rina@kota-a.test" in page.text and "Midwife" in page.text
    assert "now has the duty Clinician here" in page.text
    [entry] = rows(db_session, AuditEntry)
    assert entry.action == "staff.assign" and entry.actor.endswith("<admin@kota-a.test>")
    assert entry.address == "127.0.0.1" and "rina" not in entry.detail

    removed = client.post(f"{BASE}/petugas/{staff.id}/hapus")
    assert removed.status_code == 302
    assert removed.headers["Location"].endswith(f"{BASE}/{facility.id}/petugas")
    assert rows(db_session, Staff) == []
    assert [e.action for e in rows(db_session, AuditEntry)] == ["staff.assign", "staff.remove"]


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"email": "warga@kota-a.test", "duty": "viewer"}, "email", "Only officers (OPD)"),
        ({"email": "nobody@kota-a.test", "duty": "viewer"}, "email", "No active account"),
        ({"email": "opd@kota-a.test", "duty": "clinician"}, "profession", "profession"),
        ({"email": "opd@kota-a.test", "duty": ""}, "duty", "Choose a duty"),
    ],
)
def test_bad_duties_are_refused(
    client, facility, login, db_session, make_user, form, field, message
):
    make_user("warga@kota-a.test", role="warga")
    make_user("opd@kota-a.test")
    login(client, role="admin")
    response = english(client).post(f"{BASE}/{facility.id}/petugas", data=form)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text and message in response.text
    assert rows(db_session, Staff) == [] and rows(db_session, AuditEntry) == []


def test_an_officer_of_another_region_cannot_be_assigned(
    client, facility, login, other_tenant, db_session, make_user
):
    make_user("b@kota-b.test", of=other_tenant)
    login(client, role="admin")
    form = {"email": "b@kota-b.test", "duty": "viewer"}
    response = english(client).post(f"{BASE}/{facility.id}/petugas", data=form)
    assert response.status_code == 400
    assert "No active account of this region" in response.text
    assert rows(db_session, Staff) == []


def test_only_an_admin_gives_duties_even_to_a_role_granted_management(
    client, facility, login, assign, db_session, make_user
):
    """A duty opens patients' records (admin-only permissions): an officer whose role
    was granted the management of puskesmas gives no duty, least of all to themselves."""
    manager = login(client, role="opd", permissions=("puskesmas.manage_facility",))
    colleague = make_user("rina@kota-a.test")
    staff = assign(colleague, facility, "viewer")
    page = english(client).get(f"{BASE}/{facility.id}/petugas")
    assert page.status_code == 200 and "Only a region admin can give" in page.text
    assert "Give the duty</button>" not in page.text and "Remove duty" not in page.text
    for email in (manager.email, "rina@kota-a.test"):
        for duty in ("registration", "viewer"):
            form = {"email": email, "duty": duty}
            response = client.post(f"{BASE}/{facility.id}/petugas", data=form)
            assert response.status_code == 403, (email, duty)
    own = {"email": manager.email, "duty": "registration"}
    response = client.post(f"{BASE}/{facility.id}/petugas", data=own)
    assert "You cannot give yourself a duty" in response.text
    response = client.post(f"{BASE}/petugas/{staff.id}/hapus")
    assert response.status_code == 403 and "Only a region admin can give" in response.text
    assert [(s.user_id, s.duty) for s in rows(db_session, Staff)] == [(colleague.id, "viewer")]
    assert rows(db_session, AuditEntry) == []


@pytest.mark.parametrize("duty", [" viewer", "viewer ", "\tregistration", " clinician\n"])
def test_a_duty_with_spaces_around_it_is_checked_as_the_duty_it_becomes(
    client, facility, login, db_session, make_user, duty
):
    """A duty typed as " viewer" is saved as viewer: who may give it is decided on viewer."""
    login(client, role="opd", permissions=("puskesmas.manage_facility",))
    make_user("rina@kota-a.test")
    form = {"email": "rina@kota-a.test", "duty": duty, "profession": "nurse"}
    response = english(client).post(f"{BASE}/{facility.id}/petugas", data=form)
    assert response.status_code == 403
    assert "Only a region admin can give" in response.text
    assert rows(db_session, Staff) == [] and rows(db_session, AuditEntry) == []


@pytest.mark.parametrize("role", ["admin", "opd"])
@pytest.mark.parametrize("duty", ["nurse", "VIEWER", "viewer\u200b", "admin"])
def test_an_unknown_duty_is_a_field_error_for_everyone(
    client, facility, login, db_session, make_user, duty, role
):
    login(client, role=role, permissions=("puskesmas.manage_facility",))
    make_user("rina@kota-a.test")
    form = {"email": "rina@kota-a.test", "duty": duty}
    response = english(client).post(f"{BASE}/{facility.id}/petugas", data=form)
    assert response.status_code == 400
    assert 'id="duty-error"' in response.text and "Choose a duty" in response.text
    assert rows(db_session, Staff) == [] and rows(db_session, AuditEntry) == []


def test_an_admin_gives_the_cleaned_duty(client, facility, login, db_session, make_user):
    user = make_user("rina@kota-a.test")
    login(client, role="admin")
    form = {"email": "rina@kota-a.test", "duty": " viewer "}
    assert client.post(f"{BASE}/{facility.id}/petugas", data=form).status_code == 302
    assert [(s.user_id, s.duty) for s in rows(db_session, Staff)] == [(user.id, "viewer")]


def test_an_admin_may_give_themselves_a_duty(client, facility, login, db_session):
    admin = login(client, role="admin")
    form = {"email": admin.email, "duty": "viewer"}
    assert client.post(f"{BASE}/{facility.id}/petugas", data=form).status_code == 302
    assert [(s.user_id, s.duty) for s in rows(db_session, Staff)] == [(admin.id, "viewer")]


@pytest.mark.balai_config(WTF_CSRF_ENABLED=True)
def test_removing_needs_the_csrf_token(client, facility, login, assign, db_session, make_user):
    staff = assign(make_user("rina@kota-a.test"), facility, "viewer")
    login(client, role="admin")
    path = f"{BASE}/petugas/{staff.id}/hapus"
    assert client.post(path).status_code == 400
    assert len(rows(db_session, Staff)) == 1
    token = csrf_token(client, f"{BASE}/{facility.id}/petugas")
    assert client.post(path, data={"csrf_token": token}).status_code == 302
    assert rows(db_session, Staff) == []


# -- other regions -------------------------------------------------------------------


def test_other_regions_ids_are_not_found(
    other_client,
    facility,
    clinic,
    login,
    assign,
    enable_plugin,
    other_tenant,
    db_session,
    make_user,
):
    staff = assign(make_user("rina@kota-a.test"), facility, "viewer")
    enable_plugin("puskesmas", tenant=other_tenant)
    login(other_client, role="admin", tenant=other_tenant)
    for path in (
        f"/{facility.id}",
        f"/{facility.id}/poli/baru",
        f"/poli/{clinic.id}",
        f"/{facility.id}/petugas",
    ):
        assert other_client.get(BASE + path).status_code == 404, path
        assert other_client.post(BASE + path, data={**FORM, "code": "X"}).status_code == 404, path
    assert other_client.post(f"{BASE}/petugas/{staff.id}/hapus").status_code == 404
    listing = other_client.get(BASE + "/")
    assert "Puskesmas Cip" not in listing.text
    assert len(rows(db_session, Staff)) == 1
    assert rows(db_session, Facility)[0].code == "CIP"
    assert db_session.scalar(select(func.count()).select_from(Clinic)) == 3
