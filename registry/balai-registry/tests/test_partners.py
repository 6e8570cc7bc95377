"""Partner regions: tokens issued once, revoked, and recognised by authenticate()."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.exceptions import Forbidden, Unauthorized

from balai.plugins import plugins
from balai_registry import partners, services
from balai_registry.models import Partner

from .conftest import basic

REVIEW = ("registry.review_submissions",)


def test_plugin_loads_without_error(app: Flask) -> None:
    assert plugins(app).installed["registry"].error is None


def test_pages_answer_404_until_enabled(client, tenant, login):
    login(client, role="admin")
    assert client.get("/registry/").status_code == 404
    assert client.get("/registry/kelola/mitra").status_code == 404


def test_maintainer_issues_a_token_shown_once(client, enabled, login, db_session):
    login(client, role="opd", permissions=REVIEW)
    response = client.post(
        "/registry/kelola/mitra",
        data={"region": "Kabupaten Lebak", "email": "TI@Lebak.example.id", "scopes": ["upload"]},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = page.split('<code class="secret">')[1].split("<")[0]
    assert token.startswith("balai-reg-")
    [partner] = db_session.query(Partner).all()
    assert (partner.region, partner.email, partner.scopes) == (
        "Kabupaten Lebak",
        "ti@lebak.example.id",
        "upload",
    )
    assert partner.token_hash == services.hash_token(token)
    assert token not in client.get("/registry/kelola/mitra").get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"region": "", "email": "a@b.example", "scopes": ["upload"]}, "region", "Isi nama"),
        ({"region": "Lebak", "email": "bukan", "scopes": ["upload"]}, "email", "Isi alamat"),
        ({"region": "Lebak", "email": "a@b.example", "scopes": ["hapus"]}, "scopes", "Pilih"),
    ],
)
def test_bad_partner_form_is_refused(client, enabled, login, db_session, form, field, message):
    login(client, role="admin")
    response = client.post("/registry/kelola/mitra", data=form)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert message in response.get_data(as_text=True)
    assert db_session.query(Partner).count() == 0


def test_only_maintainers_see_partners(client, enabled, login):
    assert client.get("/registry/kelola/mitra").status_code == 302  # to the login page
    login(client, role="opd")
    assert client.get("/registry/kelola/mitra").status_code == 403
    assert client.get("/registry/").status_code == 200


def who(app: Flask, headers: dict[str, str], scope: str, host: str = "kota-a.test") -> Partner:
    """``partners.authenticate(scope)`` in a request to ``host`` with ``headers``."""
    # A fresh app context, as each real request has: the test's own holds a session.
    with (
        app.app_context(),
        app.test_request_context("/", base_url=f"http://{host}", headers=headers),
    ):
        app.preprocess_request()  # resolves the region, as a real request does
        return partners.authenticate(scope)


def test_revoked_token_is_refused(app, client, enabled, login, partner_token, db_session):
    token = partner_token()
    assert who(app, basic(token), "upload").region == "Kabupaten Lebak"
    login(client, role="admin")
    [partner] = db_session.query(Partner).all()
    assert client.post(f"/registry/kelola/mitra/{partner.id}/cabut").status_code == 302
    db_session.expire_all()
    assert db_session.get(Partner, partner.id).revoked_at is not None
    with pytest.raises(Unauthorized) as refused:
        who(app, basic(token), "upload")
    challenges = [v for k, v in refused.value.get_headers() if k == "WWW-Authenticate"]
    assert challenges == ['Basic realm="Balai registry"', 'Bearer realm="Balai registry"']


@pytest.mark.parametrize("header", [None, "Basic !!!", "Token abc", "Bearer balai-reg-unknown"])
def test_authenticate_refuses_what_is_not_a_live_token(app, enabled, partner_token, header):
    partner_token()
    with pytest.raises(Unauthorized):
        who(app, {"Authorization": header} if header else {}, "upload")


def test_authenticate_checks_user_scope_and_region(app, enabled, partner_token, other_tenant):
    token = partner_token(scopes=("feedback",))
    bearer = {"Authorization": f"Bearer {token}"}
    assert who(app, bearer, "feedback").region == "Kabupaten Lebak"
    with pytest.raises(Forbidden):
        who(app, bearer, "upload")
    with pytest.raises(Unauthorized):
        who(app, basic(token, user="admin"), "feedback")
    with pytest.raises(Unauthorized):
        who(app, bearer, "feedback", host="kota-b.test")
