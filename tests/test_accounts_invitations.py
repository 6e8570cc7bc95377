"""Invitations: the admin invites by e-mail or mobile number, the invitee sets their own
password through a single-use link; pending invitations are listed, sent again or
withdrawn, and every step is logged."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from accounts_support import LINK, PASSWORD, make_user, outbox, user_with
from sqlalchemy import select

from balai.auth.models import Department, Invitation
from balai.db import db

pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

NOON = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
CHOSEN = "sandi-pilihan-sendiri-1"
GONE = "This invitation link no longer works"


def invite(client, address="ani@example.test", role="warga", department="", name="Ani"):
    form = {"email": address, "name": name, "role": role, "department": department}
    return client.post("/admin/pengguna/baru", data=form)


def link_to(app, recipient: str) -> str:
    sent = [m for m in outbox(app) if m.recipient == recipient]
    assert sent, f"nothing was sent to {recipient}"
    found = LINK.search(sent[-1].body)
    assert found, sent[-1].body
    return found.group(1)


def accept(app, url: str, password: str = CHOSEN):
    browser = app.test_client()
    response = browser.post(url, data={"password": password, "confirm": password})
    return browser, response


def invitations() -> list[Invitation]:
    with db.all_tenants() as session:
        rows = session.scalars(select(Invitation).order_by(Invitation.id)).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


@pytest.fixture
def admin(client, login):
    return login(client, role="admin")


def test_an_invitation_by_e_mail_is_accepted_once(app, client, tenant, admin):
    with db.tenant_session(tenant.id) as session:
        session.add(Department(code="DINKES", name="Dinas Kesehatan"))
    assert invite(client, "Ani@Example.test", role="opd", department="DINKES").status_code == 302
    assert user_with("ani@example.test") is None  # no account, no password, until accepted
    (sent,) = outbox(app)
    assert (sent.channel, sent.recipient) == ("email", "ani@example.test")
    url = link_to(app, "ani@example.test")
    assert url.startswith("http://kota-a.test/undangan/")
    (row,) = invitations()
    assert url.rsplit("/", 1)[1] not in row.token_hash  # only the hash is stored
    listing = client.get("/admin/pengguna").text
    assert "Invitations waiting for an answer" in listing and "ani@example.test" in listing
    page = app.test_client().get(url)
    assert page.status_code == 200 and "Dinas Kesehatan" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    browser, response = accept(app, url)
    assert response.status_code == 302 and response.headers["Location"] == "/akun"
    me = browser.get("/api/v1/me", base_url="http://kota-a.test").json
    assert (me["email"], me["role"]) == ("ani@example.test", "opd")
    user = user_with("ani@example.test")
    assert user.email_verified_at is not None and user.department_id is not None
    # The link is spent: a second use is refused and changes nothing.
    _, again = accept(app, url, password="sandi-orang-lain-2")
    assert again.status_code == 410 and GONE in again.text
    assert app.test_client().get(url).status_code == 410
    assert "Invitations waiting" in client.get("/admin/pengguna").text
    assert "No invitation is waiting for an answer." in client.get("/admin/pengguna").text


def test_an_invitation_by_mobile_number_goes_by_sms(app, client, tenant, admin):
    assert invite(client, "0812-3456-7890", name="Pak Warga").status_code == 302
    (sent,) = outbox(app)
    assert (sent.channel, sent.recipient) == ("sms", "+6281234567890")
    _, response = accept(app, link_to(app, "+6281234567890"))
    assert response.status_code == 302
    user = user_with("+6281234567890")
    assert user.role == "warga" and user.phone_verified_at is not None and user.email is None


def test_staff_are_invited_by_e_mail_only(app, client, tenant, admin):
    with db.tenant_session(tenant.id) as session:
        session.add(Department(code="DINKES", name="Dinas Kesehatan"))
    response = invite(client, "081234567890", role="opd", department="DINKES")
    assert response.status_code == 400 and "invited by e-mail" in response.text
    assert invitations() == [] and outbox(app) == []


def test_an_address_with_an_account_or_an_invitation_is_refused(app, client, tenant, admin):
    make_user(tenant, "budi@example.test")
    taken = invite(client, "budi@example.test")
    assert taken.status_code == 400 and "already exists" in taken.text
    assert invite(client, "ani@example.test").status_code == 302
    twice = invite(client, "ani@example.test")
    assert twice.status_code == 400 and "send it again" in twice.text
    assert len(invitations()) == 1


def test_sending_again_replaces_the_link_and_withdrawing_ends_it(app, client, tenant, admin):
    invite(client)
    (row,) = invitations()
    first = link_to(app, "ani@example.test")
    resent = client.post(f"/admin/pengguna/undangan/{row.id}/kirim-ulang")
    assert resent.status_code == 302
    second = link_to(app, "ani@example.test")
    assert first != second
    assert app.test_client().get(first).status_code == 410
    assert app.test_client().get(second).status_code == 200
    assert client.post(f"/admin/pengguna/undangan/{row.id}/tarik").status_code == 302
    assert app.test_client().get(second).status_code == 410
    assert "No invitation is waiting for an answer." in client.get("/admin/pengguna").text
    assert client.post(f"/admin/pengguna/undangan/{row.id}/kirim-ulang").status_code == 404
    assert user_with("ani@example.test") is None


def test_an_invitation_expires(app, client, tenant, login, time_machine):
    time_machine.move_to(NOON, tick=False)
    login(client, role="admin")
    invite(client)
    url = link_to(app, "ani@example.test")
    time_machine.shift(timedelta(days=app.config["INVITATION_DAYS"], seconds=1))
    login(client, role="admin", email="admin2@example.test")  # the first login has ended
    assert "expired" in client.get("/admin/pengguna").text
    _, response = accept(app, url)
    assert response.status_code == 410 and user_with("ani@example.test") is None


def test_a_bad_password_is_refused_and_the_link_still_works(app, client, tenant, admin):
    invite(client)
    url = link_to(app, "ani@example.test")
    _, short = accept(app, url, password="pendek")
    assert short.status_code == 400 and 'id="password-error"' in short.text
    browser = app.test_client()
    differ = browser.post(url, data={"password": CHOSEN, "confirm": "lain-sekali-12345"})
    assert differ.status_code == 400 and 'id="confirm-error"' in differ.text
    assert accept(app, url)[1].status_code == 302


def test_invitations_of_another_region_are_hidden(
    app, client, other_client, tenant, other_tenant, admin, login
):
    invite(client)
    (row,) = invitations()
    login(other_client, role="admin", tenant=other_tenant, email="admin@kota-b.test")
    assert "ani@example.test" not in other_client.get("/admin/pengguna").text
    assert other_client.post(f"/admin/pengguna/undangan/{row.id}/tarik").status_code == 404
    url = link_to(app, "ani@example.test")
    assert app.test_client().get(url.replace("kota-a.test", "kota-b.test")).status_code == 410


def test_a_user_manager_manages_only_invitations_of_roles_they_could_give(
    app, client, tenant, login
):
    login(client, role="admin")
    invite(client, "boss@example.test", role="admin")
    (row,) = invitations()
    client.post("/keluar")
    login(client, role="opd", permissions=("balai.manage_users",), email="m@example.test")
    assert client.post(f"/admin/pengguna/undangan/{row.id}/tarik").status_code == 403
    assert invitations()[0].withdrawn_at is None


def test_every_step_is_logged_without_the_token(app, client, tenant, admin, caplog):
    with caplog.at_level(logging.INFO):
        invite(client)
        (row,) = invitations()
        client.post(f"/admin/pengguna/undangan/{row.id}/kirim-ulang")
        accept(app, link_to(app, "ani@example.test"))
        invite(client, "lain@example.test")
        other = invitations()[-1]
        client.post(f"/admin/pengguna/undangan/{other.id}/tarik")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for action in ("invitation.sent", "invitation.resent", "invitation.accepted"):
        assert action in logged
    assert "invitation.withdrawn" in logged
    assert not re.search(r"/undangan/[A-Za-z0-9_-]{20,}", logged)
    assert PASSWORD not in logged and CHOSEN not in logged


def register_pending(app, address: str):
    """A self-registration of ``address`` that is never confirmed."""
    response = app.test_client().post(
        "/daftar", data={"name": "Penyerobot", "login": address}, base_url="http://kota-a.test"
    )
    assert response.status_code == 302
    assert user_with(address).pending


@pytest.mark.parametrize("first", ["registration", "invitation"])
def test_a_pending_self_registration_does_not_block_an_invitation(
    app, client, tenant, admin, first
):
    """Whether someone registered the address before the invitation or after it, the
    invitation is sent and accepting it replaces the unconfirmed account."""
    if first == "registration":
        register_pending(app, "ani@example.test")
    response = invite(client, "ani@example.test")
    assert response.status_code == 302, response.text
    url = link_to(app, "ani@example.test")
    if first == "invitation":
        register_pending(app, "ani@example.test")
    browser, response = accept(app, url)
    assert response.status_code == 302 and response.headers["Location"] == "/akun"
    user = user_with("ani@example.test")
    assert not user.pending and user.role == "warga"
    assert user.name == "Ani" and user.email_verified_at is not None
    me = browser.get("/api/v1/me", base_url="http://kota-a.test").json
    assert (me["email"], me["role"]) == ("ani@example.test", "warga")
