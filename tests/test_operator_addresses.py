"""A platform operator's address is reserved: no region can shadow the operator.

A region admin who creates an account with the operator's address must be refused
(on the admin pages and on the command line); an account with that address from
before cannot take the operator's place at login; and guesses of the operator's
password are counted across regions, not afresh on every region.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from balai.auth.accounts import create_user
from balai.auth.models import User
from balai.auth.passwords import hash_password
from balai.cli import cli
from balai.db import db
from balai.testing import PASSWORD

pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

OPERATOR = "ops@example.test"
OPERATOR_PASSWORD = "sandi-operator-yang-panjang-1"
RESERVED = "is reserved for a platform operator"


@pytest.fixture
def operator(app):
    with db.all_tenants() as session:
        return create_user(
            session,
            tenant_id=None,
            email=OPERATOR,
            name="Operator",
            role="operator",
            password=OPERATOR_PASSWORD,
        )


def _accounts_with(email: str) -> int:
    with db.all_tenants() as session:
        return session.scalar(
            select(func.count()).select_from(User).where(func.lower(User.email) == email)
        )


def _log_in(client, email: str, password: str):
    return client.post("/masuk", data={"email": email, "password": password})


def test_a_region_admin_cannot_create_an_account_with_an_operators_address(
    client, login, operator
):
    login(client, role="admin")
    form = {"email": "OPS@example.test", "name": "Bayangan", "role": "admin", "password": PASSWORD}
    response = client.post("/admin/pengguna/baru", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="email-error"' in page and RESERVED in page
    assert _accounts_with(OPERATOR) == 1


def test_the_command_line_refuses_a_region_account_with_an_operators_address(
    app, tenant, operator
):
    result = app.test_cli_runner().invoke(
        cli,
        ["users", "create", OPERATOR, "--tenant", "kota-a", "--password-stdin"],
        input=f"{PASSWORD}\n",
    )
    assert result.exit_code == 1
    assert RESERVED in result.output
    assert _accounts_with(OPERATOR) == 1


def test_an_operator_created_over_an_existing_account_says_so_and_wins(app, client, tenant):
    with db.all_tenants() as session:  # an account from before addresses were reserved
        session.add(
            User(
                tenant_id=tenant.id,
                email=OPERATOR,
                name="Bayangan",
                role="admin",
                password_hash=hash_password(PASSWORD),
            )
        )
    result = app.test_cli_runner().invoke(
        cli,
        ["users", "create", OPERATOR, "--role", "operator", "--password-stdin"],
        input=f"{OPERATOR_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "also has an account in kota-a" in result.output
    assert _log_in(client, OPERATOR, OPERATOR_PASSWORD).status_code == 302
    assert client.get("/api/v1/me").json["role"] == "operator"


def test_an_existing_clash_cannot_lock_the_operator_out(client, tenant, operator):
    with db.all_tenants() as session:
        session.add(
            User(
                tenant_id=tenant.id,
                email=OPERATOR,
                name="Bayangan",
                role="admin",
                password_hash=hash_password(PASSWORD),
            )
        )
    assert _log_in(client, OPERATOR, PASSWORD).status_code == 200  # the shadow cannot
    assert _log_in(client, OPERATOR, OPERATOR_PASSWORD).status_code == 302
    assert client.get("/api/v1/me").json["role"] == "operator"


@pytest.mark.balai_config(LOGIN_MAX_FAILURES_ACCOUNT=3, LOGIN_MAX_FAILURES_ADDRESS=100)
def test_guesses_of_an_operators_password_count_across_regions(
    client, other_client, operator
):
    for _ in range(3):
        assert _log_in(client, OPERATOR, "salah-sekali-123").status_code == 200
    response = _log_in(other_client, OPERATOR, OPERATOR_PASSWORD)
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


@pytest.mark.balai_config(LOGIN_MAX_FAILURES_ACCOUNT=3, LOGIN_MAX_FAILURES_ADDRESS=100)
def test_a_region_accounts_guesses_stay_in_its_region(client, other_client, tenant, other_tenant):
    for region in (tenant, other_tenant):
        with db.all_tenants() as session:
            create_user(
                session,
                tenant_id=region.id,
                email="budi@example.test",
                name="Budi",
                role="warga",
                password=PASSWORD,
            )
    for _ in range(3):
        _log_in(client, "budi@example.test", "salah-sekali-123")
    assert _log_in(client, "budi@example.test", PASSWORD).status_code == 429
    assert _log_in(other_client, "budi@example.test", PASSWORD).status_code == 302
