"""Reporters and departments hear of every change through the outbox, in Indonesian."""

from __future__ import annotations

from balai_pengaduan import services


def test_reporter_gets_email_and_sms_on_submit(client, enabled, sampah, outbox):
    form = {
        "category": "SAMPAH",
        "description": "Sampah menumpuk.",
        "address": "Jl. Merdeka 1",
        "reporter_email": "siti@example.test",
        "reporter_phone": "081234567890",
    }
    response = client.post("/pengaduan/lapor", data=form, headers={"Accept-Language": "en"})
    assert response.status_code == 302
    email, sms = outbox()
    assert (email.channel, email.recipient, email.source) == (
        "email",
        "siti@example.test",
        "pengaduan",
    )
    assert (sms.channel, sms.recipient) == ("sms", "081234567890")
    assert (
        "Pengaduan Anda sudah diterima" in email.body and "/pengaduan/lacak?kode=ADU-" in email.body
    )
    assert email.subject.startswith("Pengaduan diterima: ADU-")


def test_anonymous_reporter_gets_nothing(client, enabled, sampah, outbox):
    form = {
        "category": "SAMPAH",
        "description": "Sampah menumpuk.",
        "address": "Jl. Merdeka 1",
        "privacy": "anonymous",
        "reporter_email": "siti@example.test",
    }
    assert client.post("/pengaduan/lapor", data=form).status_code == 302
    assert outbox() == []


def test_forwarding_tells_the_reporter_and_the_department(
    app, client, enabled, sampah, complaint, login, outbox, dlh, db_session, make_ctx
):
    found = complaint(reporter_email="siti@example.test")
    services.transition(db_session, found, "verified", make_ctx(), actor_id=None, actor_label="x")
    db_session.commit()
    colleague = app.test_client()
    colleague.host = client.host
    officer = login(colleague, role="opd", department="DLH")
    login(client, role="admin")  # the region's complaint desk forwards to the department
    client.set_cookie("balai_lang", "en", domain=client.host)
    response = client.post(
        f"/pengaduan/petugas/{found.id}/teruskan",
        data={"department_id": str(dlh.id), "note": "Segera."},
    )
    assert response.status_code == 302
    messages = outbox()
    to_reporter = [m for m in messages if m.recipient == "siti@example.test"]
    to_department = [m for m in messages if m.recipient == officer.email]
    assert len(to_reporter) == 1 and "Diteruskan" in to_reporter[0].body
    assert "Segera." in to_reporter[0].body
    assert len(to_department) == 1 and f"/pengaduan/petugas/{found.id}" in to_department[0].body
    assert to_department[0].subject.startswith("Pengaduan baru untuk OPD Anda")


def test_a_failed_change_queues_nothing(client, enabled, sampah, complaint, login, outbox):
    found = complaint(reporter_email="siti@example.test")
    login(client, role="admin")
    response = client.post(f"/pengaduan/petugas/{found.id}/status", data={"target": "rejected"})
    assert response.status_code == 422
    assert outbox() == []


def test_only_department_officers_who_may_open_complaints_are_told(
    client, enabled, sampah, complaint, login, outbox, dlh, db_session, make_ctx, grant, give_role
):
    """The region took the inbox from the ``opd`` role and gave it through its own
    role: a DLH officer without that role (a clerk, say) is not e-mailed."""
    from balai.auth import create_user

    found = complaint(reporter_email="siti@example.test")
    services.transition(db_session, found, "verified", make_ctx(), actor_id=None, actor_label="x")
    people = {}
    for name in ("juru", "verifikator"):
        people[name] = create_user(
            db_session,
            tenant_id=found.tenant_id,
            email=f"{name}@dlh.example",
            name=name,
            role="opd",
            password="kata-sandi-yang-panjang",
            department="DLH",
        )
    db_session.commit()
    grant("opd", "pengaduan.view_complaint", granted=False)
    grant("verifikator", "pengaduan.view_complaint")
    give_role(people["verifikator"], "verifikator")
    login(client, role="admin")
    response = client.post(
        f"/pengaduan/petugas/{found.id}/teruskan",
        data={"department_id": str(dlh.id), "note": "Segera."},
    )
    assert response.status_code == 302
    told = {m.recipient for m in outbox() if m.recipient.endswith("@dlh.example")}
    assert told == {"verifikator@dlh.example"}
