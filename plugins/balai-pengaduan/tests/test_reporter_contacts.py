"""Reporters' e-mail addresses and phone numbers are sealed at rest.

The attack: ``reporter_email`` and ``reporter_phone`` were kept in clear, so a copy of
the database (a backup, a replica, a dump handed to a contractor) listed the contact
details of every citizen who ever complained. Now each is sealed with the region's
reporter key; officers who may see the reporter, and the messages to the reporter,
still get them in clear.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from balai.db import db, utcnow
from balai.testing import downgraded
from balai_pengaduan.reporters import contacts, reporter_sealer
from balai_pengaduan.runtime import VERIFY

EMAIL, PHONE = "siti.rahma@example.test", "0812 3456 7890"
FORM = {
    "category": "SAMPAH",
    "description": "Sampah menumpuk di depan pasar.",
    "address": "Jl. Merdeka 1",
    "privacy": "public",
    "reporter_name": "Siti Rahmawati",
    "reporter_email": EMAIL,
    "reporter_phone": PHONE,
}
API = "/api/v1/pengaduan/complaints"


def raw_contacts(complaint_id: int) -> tuple[str | None, str | None]:
    """The two columns as the database holds them, read with plain SQL."""
    with db.all_tenants() as session:
        row = session.execute(
            text("SELECT reporter_email, reporter_phone FROM pengaduan_complaint WHERE id = :id"),
            {"id": complaint_id},
        ).one()
    return row[0], row[1]


def test_the_database_holds_no_contact_in_clear(
    client, enabled, sampah, stored, login, outbox, dlh
):
    assert client.post("/pengaduan/lapor", data=FORM).status_code == 302
    [saved] = stored()
    email, phone = raw_contacts(saved.id)
    assert email and phone
    for column in (email, phone):
        assert "siti" not in column and "example" not in column
        assert "3456" not in column and "7890" not in column
    # The reporter still gets the confirmation at both.
    assert {(m.channel, m.recipient) for m in outbox()} == {("email", EMAIL), ("sms", PHONE)}
    # An officer of the department sees them on the page and in the API.
    login(client, role="opd", department="DLH", permissions=(VERIFY,))
    page = client.get(f"/pengaduan/petugas/{saved.id}").text
    assert f'href="mailto:{EMAIL}"' in page and PHONE in page
    reporter = client.get(f"{API}/{saved.id}").json["reporter"]
    assert reporter == {"name": "Siti Rahmawati", "email": EMAIL, "phone": PHONE}


@pytest.fixture
def confidential(client, enabled, sampah, stored, dlh):
    response = client.post("/pengaduan/lapor", data={**FORM, "privacy": "confidential"})
    assert response.status_code == 302
    return stored()[0]


def test_a_confidential_reporters_contacts_stay_hidden_from_officers(client, confidential, login):
    login(client, role="opd", department="DLH", permissions=(VERIFY,))
    page = client.get(f"/pengaduan/petugas/{confidential.id}").text
    assert EMAIL not in page and PHONE not in page and "Rahasia" in page
    assert client.get(f"{API}/{confidential.id}").json["reporter"] is None


def test_a_region_admin_sees_a_confidential_reporters_contacts(client, confidential, login):
    login(client, role="admin")
    assert EMAIL in client.get(f"/pengaduan/petugas/{confidential.id}").text
    assert client.get(f"{API}/{confidential.id}").json["reporter"]["phone"] == PHONE


def test_nothing_public_shows_them(client, enabled, sampah, stored):
    assert client.post("/pengaduan/lapor", data=FORM).status_code == 302
    [saved] = stored()
    pages = [
        client.get(f"/pengaduan/{saved.id}").text,
        client.get(f"/pengaduan/lacak?kode={saved.tracking_code}").text,
        client.get(f"/pengaduan/open311/v2/requests/{saved.id}.json").text,
    ]
    assert not any(EMAIL in page or PHONE in page for page in pages)


def test_a_value_copied_into_another_regions_complaint_does_not_open(
    client, both, other_tenant, sampah, stored, caplog
):
    from balai_pengaduan.models import Category, Complaint

    assert client.post("/pengaduan/lapor", data=FORM).status_code == 302
    [saved] = stored()
    email, phone = raw_contacts(saved.id)
    with db.tenant_session(other_tenant.id) as session:
        session.add(Category(code="SAMPAH", name="Sampah B"))
    with db.tenant_session(other_tenant.id) as session:
        category = session.scalars(select(Category)).one()
        copy = Complaint(
            tracking_code="ADU-22222-22222",
            category_id=category.id,
            description="Salinan.",
            reporter_email_sealed=email,
            reporter_phone_sealed=phone,
            submitted_at=utcnow(),
            updated_at=utcnow(),
            forward_due=utcnow().date(),
        )
        session.add(copy)
        session.flush()
        opened = contacts(copy)
    assert (opened.email, opened.phone) == (None, None)
    assert "no key of this deployment opens" in caplog.text
    assert contacts(saved).email == EMAIL  # in its own region it opens


@pytest.mark.balai_config(SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=["test-secret-key"])
def test_a_rotated_secret_key_still_opens_them(app, tenant, enabled, sampah, complaint, make_app):
    old = make_app(SECRET_KEY="test-secret-key", SECRET_KEY_FALLBACKS=[])
    with old.app_context():
        sealed = reporter_sealer(tenant.id).seal(EMAIL)
    found = complaint()
    found.reporter_email_sealed = sealed
    assert contacts(found, app).email == EMAIL


# -- the migration -------------------------------------------------------------------


def _insert_clear(tenant_id: int, category_id: int) -> int:
    now = f"{utcnow():%Y-%m-%d %H:%M:%S}+00:00"
    with db.all_tenants() as session:  # row security lets it write any region's row
        session.execute(
            text(
                "INSERT INTO pengaduan_complaint (tenant_id, tracking_code, category_id,"
                " description, address, status, privacy, channel, reporter_name,"
                " reporter_email, reporter_phone, supporters, submitted_at, updated_at,"
                " forward_due, overdue_announced) VALUES (:t, 'ADU-33333-33333', :c,"
                " 'Sampah.', 'Jl. Merdeka 1', 'received', 'public', 'web', 'Siti',"
                " :email, :phone, 0, :now, :now, '2030-01-02', false)"
            ),
            {"t": tenant_id, "c": category_id, "email": EMAIL, "phone": PHONE, "now": now},
        )
        return int(
            session.execute(
                text("SELECT id FROM pengaduan_complaint WHERE tracking_code = 'ADU-33333-33333'")
            ).scalar_one()
        )


def test_the_migration_seals_contacts_kept_in_clear_and_downgrades(
    app, tenant, enabled, sampah, complaint, stored, db_session
):
    sealed_id = complaint(reporter_email="budi@example.test").id  # sealed already
    category_id = sampah.id
    db_session.rollback()  # no open transaction may hold the table
    with downgraded(app, "pengaduan_0003"):
        assert raw_contacts(sealed_id)[0] == "budi@example.test"  # opened again
        row_id = _insert_clear(tenant.id, category_id)
    email, phone = raw_contacts(row_id)
    assert EMAIL not in email and "3456" not in phone
    assert "budi" not in raw_contacts(sealed_id)[0]
    by_id = {c.id: contacts(c) for c in stored()}
    db_session.rollback()
    assert (by_id[row_id].email, by_id[row_id].phone) == (EMAIL, PHONE)
    assert by_id[sealed_id].email == "budi@example.test"
    # Down again: every contact is back in clear; up again: sealed once more.
    with downgraded(app, "pengaduan_0003"):
        assert raw_contacts(row_id) == (EMAIL, PHONE)
    assert EMAIL not in raw_contacts(row_id)[0]
