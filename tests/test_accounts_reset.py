"""Password reset at /lupa-sandi: a code to the e-mail address or mobile number, a new
password that ends every session, and never a word about whether an account exists."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from accounts_support import (
    NEW_PASSWORD,
    PASSWORD,
    is_logged_in,
    last_code,
    log_in,
    make_user,
    outbox,
    user_with,
)

from balai.auth.accounts import set_active
from balai.auth.models import User
from balai.db import db

pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

NOON = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
WRONG_CODE = "The code is wrong or has expired"
SAME_ANSWER = "If an account has this address"


def without_tokens(page: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", page)


def forgot(client, login):
    return client.post("/lupa-sandi", data={"login": login}, follow_redirects=True)


def reset(client, login, code, password=NEW_PASSWORD, confirm=None):
    form = {"login": login, "code": code, "new": password, "confirm": confirm or password}
    return client.post("/lupa-sandi/kode", data=form)


def test_the_login_page_offers_the_reset(client, tenant):
    page = client.get("/masuk").text
    assert "/lupa-sandi" in page and "Forgot your password?" in page


def test_a_reset_by_e_mail_sets_the_password_and_ends_every_session(app, client, tenant):
    make_user(tenant, "budi@example.test")
    elsewhere = app.test_client()
    assert log_in(elsewhere, base_url="http://kota-a.test").status_code == 302
    page = forgot(client, "Budi@Example.test")
    assert SAME_ANSWER in page.text
    assert 'value="budi@example.test"' in page.text  # the code page knows the address
    (sent,) = outbox(app)
    assert (sent.channel, sent.recipient) == ("email", "budi@example.test")
    response = reset(client, "budi@example.test", last_code(app, "budi@example.test"))
    assert response.status_code == 302 and response.headers["Location"] == "/masuk"
    assert elsewhere.get("/api/v1/me", base_url="http://kota-a.test").status_code == 401
    assert log_in(client, password=PASSWORD).status_code == 200
    assert log_in(client, password=NEW_PASSWORD).status_code == 302
    assert user_with("budi@example.test").email_verified_at is not None


def test_a_reset_by_mobile_number_goes_by_sms(app, client, tenant):
    make_user(tenant, "+6281234567890")
    forgot(client, "0812 3456 7890")
    (sent,) = outbox(app)
    assert (sent.channel, sent.recipient) == ("sms", "+6281234567890")
    code = last_code(app, "+6281234567890")
    assert reset(client, "+6281234567890", code).status_code == 302
    assert log_in(client, "081234567890", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("state", ["unknown", "disabled", "pending", "other region"])
def test_no_account_gets_the_same_answer_and_nothing_is_sent(
    app, client, tenant, other_tenant, state
):
    if state == "disabled":
        user = make_user(tenant, "budi@example.test")
        with db.all_tenants() as session:
            set_active(session, session.get(User, user.id), False)
    elif state == "pending":
        make_user(tenant, "budi@example.test", pending=True)
    elif state == "other region":
        make_user(other_tenant, "budi@example.test")
    known = make_user(tenant, "ada@example.test")
    answer = forgot(client, "budi@example.test")
    assert answer.status_code == 200 and SAME_ANSWER in answer.text
    assert outbox(app) == []
    assert WRONG_CODE in reset(client, "budi@example.test", "123456").text
    same = forgot(client, known.email).text.replace(known.email, "budi@example.test")
    assert without_tokens(same) == without_tokens(answer.text)


def test_a_wrong_or_expired_code_changes_nothing(app, client, tenant, time_machine):
    time_machine.move_to(NOON, tick=False)
    make_user(tenant, "budi@example.test")
    forgot(client, "budi@example.test")
    code = last_code(app, "budi@example.test")
    wrong = "000000" if code != "000000" else "111111"
    response = reset(client, "budi@example.test", wrong)
    assert response.status_code == 400 and WRONG_CODE in response.text
    time_machine.shift(timedelta(minutes=app.config["ACCOUNT_CODE_MINUTES"], seconds=1))
    assert WRONG_CODE in reset(client, "budi@example.test", code).text
    assert log_in(client, password=PASSWORD).status_code == 302


def test_a_bad_new_password_keeps_the_code(app, client, tenant):
    make_user(tenant, "budi@example.test")
    forgot(client, "budi@example.test")
    code = last_code(app, "budi@example.test")
    short = reset(client, "budi@example.test", code, password="pendek")
    assert short.status_code == 400 and 'id="new-error"' in short.text
    differ = reset(client, "budi@example.test", code, confirm="lain-sekali-12345")
    assert differ.status_code == 400 and 'id="confirm-error"' in differ.text
    assert reset(client, "budi@example.test", code).status_code == 302


def test_a_reset_code_works_once_and_a_newer_one_replaces_it(app, client, tenant):
    make_user(tenant, "budi@example.test")
    forgot(client, "budi@example.test")
    first = last_code(app, "budi@example.test")
    forgot(client, "budi@example.test")
    second = last_code(app, "budi@example.test")
    if first != second:
        assert WRONG_CODE in reset(client, "budi@example.test", first).text
    assert reset(client, "budi@example.test", second).status_code == 302
    again = reset(client, "budi@example.test", second, password="sandi-ketiga-78901")
    assert WRONG_CODE in again.text
    assert not is_logged_in(client)


@pytest.mark.balai_config(ACCOUNT_CODE_LIMIT_RECIPIENT="1 per hour", ACCOUNT_CODE_LIMIT_ADDRESS="")
def test_reset_codes_are_rate_limited_whether_the_account_exists_or_not(app, client, tenant):
    make_user(tenant, "budi@example.test")
    for login in ("budi@example.test", "tidak-ada@example.test"):
        assert client.post("/lupa-sandi", data={"login": login}).status_code == 302
        again = client.post("/lupa-sandi", data={"login": login})
        assert again.status_code == 429 and "Too many attempts" in again.text
    assert len(outbox(app)) == 1
