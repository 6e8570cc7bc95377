"""Citizen self-registration at /daftar: a code by e-mail or SMS, no account enumeration,
rate limits, and the region's switch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from accounts_support import PASSWORD, is_logged_in, last_code, log_in, make_user, outbox, user_with
from sqlalchemy import select

from balai.auth.models import AccountCode, User
from balai.db import db

pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

NOON = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
WRONG_CODE = "The code is wrong or has expired"


def register(client, login="siti@example.test", name="Siti", **extra):
    return client.post("/daftar", data={"name": name, "login": login, **extra})


def confirm(client, login, code, password=PASSWORD, again=None):
    form = {"login": login, "code": code, "password": password, "confirm": again or password}
    return client.post("/daftar/kode", data=form)


def browser(app, tenant):
    client = app.test_client()
    client.host = tenant.domains[0]
    return client


def users_count() -> int:
    with db.all_tenants() as session:
        return len(session.scalars(select(User.id)).all())


def test_a_citizen_registers_by_e_mail_and_the_code_logs_them_in(app, client, tenant):
    assert "Create an account" in client.get("/daftar").text
    response = register(client, login=" Siti@Example.test ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/daftar/kode"
    user = user_with("siti@example.test")
    assert user is not None and user.pending and user.role == "warga"
    assert user.email_verified_at is None
    (sent,) = outbox(app)
    assert (sent.channel, sent.recipient) == ("email", "siti@example.test")
    assert "Kota A" in sent.subject
    page = client.get("/daftar/kode").text
    assert 'value="siti@example.test"' in page  # the address is remembered
    # Before the code the account has no password anybody knows: nothing logs in.
    assert 'name="password"' not in client.get("/daftar").text
    assert 'name="password"' in page
    assert log_in(client, "siti@example.test").status_code == 200
    assert not is_logged_in(client)
    done = confirm(client, "siti@example.test", last_code(app, "siti@example.test"))
    assert done.status_code == 302 and done.headers["Location"] == "/akun"
    assert is_logged_in(client)
    account = client.get("/akun").text
    assert "siti@example.test" in account and "verified" in account
    user = user_with("siti@example.test")
    assert user is not None and not user.pending and user.email_verified_at is not None


def test_a_citizen_registers_by_mobile_number_and_logs_in_with_it(app, client, tenant):
    assert register(client, login="0812-3456-7890").status_code == 302
    (sent,) = outbox(app)
    assert (sent.channel, sent.recipient) == ("sms", "+6281234567890")
    code = last_code(app, "+6281234567890")
    assert confirm(client, "0812 3456 7890", code).status_code == 302
    user = user_with("+6281234567890")
    assert user is not None and user.email is None and user.phone_verified_at is not None
    assert "+6281234567890" in client.get("/akun").text
    client.post("/keluar")
    assert log_in(client, "+62 812-3456-7890").status_code == 302
    assert client.get("/api/v1/me").json["phone"] == "+6281234567890"


def test_the_code_is_stored_hashed(app, client, tenant):
    register(client)
    code = last_code(app, "siti@example.test")
    with db.all_tenants() as session:
        (row,) = session.scalars(select(AccountCode)).all()
    assert code not in row.code_hash and len(row.code_hash) == 64


def test_a_wrong_code_is_refused_and_the_tries_are_limited(app, client, tenant):
    register(client)
    code = last_code(app, "siti@example.test")
    wrong = "000000" if code != "000000" else "111111"
    attempts = app.config["ACCOUNT_CODE_ATTEMPTS"]
    for _ in range(attempts):
        response = confirm(client, "siti@example.test", wrong)
        assert response.status_code == 400 and WRONG_CODE in response.text
    # The code has had its tries: even the right one is refused now.
    assert WRONG_CODE in confirm(client, "siti@example.test", code).text
    assert not is_logged_in(client)
    assert user_with("siti@example.test").pending


def test_an_expired_code_is_refused(app, client, tenant, time_machine):
    time_machine.move_to(NOON, tick=False)
    register(client)
    code = last_code(app, "siti@example.test")
    time_machine.shift(timedelta(minutes=app.config["ACCOUNT_CODE_MINUTES"], seconds=1))
    response = confirm(client, "siti@example.test", code)
    assert response.status_code == 400 and WRONG_CODE in response.text
    assert user_with("siti@example.test").pending


def test_a_new_code_can_be_asked_for_and_the_old_one_stops(app, client, tenant):
    register(client)
    first = last_code(app, "siti@example.test")
    response = client.post("/daftar/kirim-ulang", data={"login": "siti@example.test"})
    assert response.status_code == 302
    assert len(outbox(app)) == 2
    second = last_code(app, "siti@example.test")
    if first != second:
        assert WRONG_CODE in confirm(client, "siti@example.test", first).text
    assert confirm(client, "siti@example.test", second).status_code == 302


def test_a_code_works_once(app, client, tenant):
    register(client)
    code = last_code(app, "siti@example.test")
    assert confirm(client, "siti@example.test", code).status_code == 302
    client.post("/keluar")
    assert WRONG_CODE in confirm(client, "siti@example.test", code).text


def test_an_address_with_an_account_gets_the_same_answer_and_its_owner_a_notice(
    app, client, tenant
):
    owner = make_user(tenant, "budi@example.test")
    before = users_count()
    taken = register(client, login="budi@example.test")
    fresh = register(client, login="baru@example.test")
    assert taken.status_code == fresh.status_code == 302
    assert taken.headers["Location"] == fresh.headers["Location"]
    assert users_count() == before + 1  # only the new address
    notice, code_message = outbox(app)
    assert notice.recipient == "budi@example.test"
    assert "already has one" in notice.body and "/lupa-sandi" in notice.body
    assert code_message.recipient == "baru@example.test"
    # The owner's password is untouched, and no code confirms anything for the address.
    assert log_in(client, "budi@example.test").status_code == 302
    client.post("/keluar")
    assert WRONG_CODE in confirm(client, "budi@example.test", "123456").text
    assert user_with("budi@example.test").id == owner.id


def test_a_pending_address_can_be_registered_again_by_whoever_gets_the_code(app, client, tenant):
    register(client, name="Penyerobot")
    register(client, name="Siti Asli")
    assert users_count() == 1
    code = last_code(app, "siti@example.test")
    assert confirm(client, "siti@example.test", code, "sandi-siti-asli-22").status_code == 302
    client.post("/keluar")
    assert log_in(client, "siti@example.test", "sandi-siti-asli-22").status_code == 302
    assert user_with("siti@example.test").name == "Siti Asli"


def test_registering_a_pending_address_again_cannot_choose_its_owners_password(app, tenant):
    """The owner registers; someone else registers the same address before the code is
    entered. The owner's code (the newest one sent to them) activates the password the
    owner types with it, never one from the other registration."""
    owner, other, third = browser(app, tenant), browser(app, tenant), browser(app, tenant)
    assert register(owner, name="Siti").status_code == 302
    extra = {"password": "sandi-penyerobot-1", "confirm": "sandi-penyerobot-1"}
    assert register(other, name="Siti", **extra).status_code == 302
    code = last_code(app, "siti@example.test")
    assert confirm(owner, "siti@example.test", code, "sandi-siti-asli-22").status_code == 302
    assert log_in(third, "siti@example.test", "sandi-penyerobot-1").status_code == 200
    assert log_in(third, "siti@example.test", "sandi-siti-asli-22").status_code == 302
    # The other party never had a code: the code page refuses any guess.
    assert WRONG_CODE in confirm(other, "siti@example.test", "123456", "sandi-penyerobot-1").text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"password": "pendek", "confirm": "pendek"}, "password", "at least 10"),
        ({"confirm": "lain-sekali-12345"}, "confirm", "differ"),
        ({"code": ""}, "code", ""),
    ],
)
def test_a_bad_password_with_the_code_is_refused_and_the_code_still_works(
    app, client, tenant, changes, field, message
):
    register(client)
    code = last_code(app, "siti@example.test")
    form = {"login": "siti@example.test", "code": code, "password": PASSWORD, "confirm": PASSWORD}
    form.update(changes)
    response = client.post("/daftar/kode", data=form)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text and message in response.text
    assert not is_logged_in(client) and user_with("siti@example.test").pending
    assert confirm(client, "siti@example.test", code).status_code == 302


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"login": "bukan alamat"}, "login", "Indonesian mobile number"),
        ({"login": "0212345678"}, "login", "Indonesian mobile number"),
        ({"name": "  "}, "name", ""),
    ],
)
def test_bad_registrations_are_refused_and_nothing_is_written(
    app, client, tenant, changes, field, message
):
    form = {"name": "Siti", "login": "siti@example.test"}
    form.update(changes)
    response = client.post("/daftar", data=form)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text and message in response.text
    assert PASSWORD not in response.text
    assert users_count() == 0 and outbox(app) == []


@pytest.mark.balai_config(ACCOUNT_CODE_LIMIT_RECIPIENT="2 per hour", ACCOUNT_CODE_LIMIT_ADDRESS="")
def test_codes_to_one_recipient_are_rate_limited(app, client, tenant):
    assert register(client).status_code == 302
    assert (
        client.post("/daftar/kirim-ulang", data={"login": "siti@example.test"}).status_code == 302
    )
    again = client.post("/daftar/kirim-ulang", data={"login": "SITI@example.test"})
    assert again.status_code == 429 and "Too many attempts" in again.text
    assert len(outbox(app)) == 2
    # The limit is the same for an address that has an account: it reveals nothing.
    make_user(tenant, "budi@example.test")
    for _ in range(2):
        assert register(client, login="budi@example.test").status_code == 302
    assert register(client, login="budi@example.test").status_code == 429


@pytest.mark.balai_config(ACCOUNT_CODE_LIMIT_RECIPIENT="", ACCOUNT_CODE_LIMIT_ADDRESS="3 per hour")
def test_codes_from_one_client_address_are_rate_limited(app, client, tenant):
    for n in range(3):
        assert register(client, login=f"warga{n}@example.test").status_code == 302
    refused = register(client, login="warga9@example.test")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert user_with("warga9@example.test") is None
    elsewhere = client.post(
        "/daftar",
        data={"name": "W", "login": "warga9@example.test"},
        environ_base={"REMOTE_ADDR": "10.2.3.4"},
    )
    assert elsewhere.status_code == 302


def appearance(client, **changes):
    form = {"name": "Kota A", "theme": "default", "timezone": "Asia/Jakarta", **changes}
    return client.post("/admin/tampilan", data=form)


def test_a_region_switches_self_registration_off_and_on(app, client, tenant, login):
    assert "/daftar" in client.get("/masuk").text
    login(client, role="admin")
    assert 'name="self_registration" value="1" checked' in client.get("/admin/tampilan").text
    assert appearance(client).status_code == 302  # the box unticked
    client.post("/keluar")
    closed = client.get("/daftar")
    assert "cannot create their own account" in closed.text
    assert "/daftar" not in client.get("/masuk").text
    assert register(client).status_code == 403
    assert (
        client.post("/daftar/kode", data={"login": "x@example.test", "code": "1"}).status_code
        == 403
    )
    assert user_with("siti@example.test") is None and outbox(app) == []
    login(client, role="admin", email="admin2@example.test")
    assert appearance(client, self_registration="1").status_code == 302
    client.post("/keluar")
    assert register(client).status_code == 302


def test_the_pages_work_with_csrf_on(app, client, tenant):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert register(client).status_code == 400  # no token
        page = client.get("/daftar").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        assert register(client, csrf_token=token).status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
