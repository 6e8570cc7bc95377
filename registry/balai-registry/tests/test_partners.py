"""Partner regions: tokens issued once, revoked, and recognised by authenticate()."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from flask import Flask
from sqlalchemy import text
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


def _secret(page: str) -> str:
    return page.split('<code class="secret">')[1].split("<")[0]


def test_maintainer_issues_a_token_shown_once(app, client, enabled, login, db_session):
    login(client, role="opd", permissions=REVIEW)
    response = client.post(
        "/registry/kelola/mitra",
        data={"region": "Kabupaten Lebak", "email": "TI@Lebak.example.id", "scopes": ["upload"]},
    )
    assert response.status_code == 303  # POST, redirect, GET: a reload issues nothing
    assert response.headers["Location"].endswith("/registry/kelola/mitra")
    cookie = client.get_cookie("balai_session", domain=client.host)
    kept = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert "balai-reg-" not in str(kept)  # the session carries the token sealed, not in clear
    shown = client.get("/registry/kelola/mitra")
    assert shown.headers["Cache-Control"] == "no-store"
    token = _secret(shown.get_data(as_text=True))
    assert token.startswith("balai-reg-")
    [partner] = db_session.query(Partner).all()
    assert (partner.region, partner.email, partner.scopes) == (
        "Kabupaten Lebak",
        "ti@lebak.example.id",
        "upload",
    )
    assert partner.token_hash == services.hash_token(token)
    reloaded = client.get("/registry/kelola/mitra").get_data(as_text=True)
    assert token not in reloaded
    assert 'class="secret"' not in reloaded
    assert db_session.query(Partner).count() == 1
    assert '<td data-label="Mengizinkan">mengirim plugin</td>' in reloaded


@pytest.mark.parametrize("region", ["Kabupaten Lebak", "  kabupaten   LEBAK "])
def test_a_region_is_a_partner_once(client, enabled, login, db_session, partner_token, region):
    partner_token()
    [partner] = db_session.query(Partner).all()
    login(client, role="admin")
    form = {"region": region, "email": "lain@lebak.example.id", "scopes": ["feedback"]}
    response = client.post("/registry/kelola/mitra", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="region-error"' in page
    assert "sudah menjadi mitra" in page
    # ... and the page offers the region's new token instead
    assert f"/registry/kelola/mitra/{partner.id}/token-baru" in page
    assert db_session.query(Partner).count() == 1


def test_a_revoked_region_gets_a_new_token_not_a_second_partner(
    client, enabled, login, db_session, partner_token
):
    partner_token()
    [partner] = db_session.query(Partner).all()
    services.revoke_partner(db_session, partner, partner.created_at)
    db_session.commit()
    login(client, role="admin")
    form = {"region": "Kabupaten Lebak", "email": "ti@lebak.example.id", "scopes": ["upload"]}
    assert client.post("/registry/kelola/mitra", data=form).status_code == 422
    assert db_session.query(Partner).count() == 1


def test_rotating_keeps_the_partner_and_ends_the_old_token(
    app, client, enabled, login, db_session, partner_token
):
    old = partner_token()
    [partner] = db_session.query(Partner).all()
    login(client, role="admin")
    url = f"/registry/kelola/mitra/{partner.id}/token-baru"
    asked = client.get(url)
    assert asked.status_code == 200
    assert "Beri Kabupaten Lebak token baru?" in asked.get_data(as_text=True)
    # Without the confirmation nothing changes: the question is asked.
    unconfirmed = client.post(url)
    assert unconfirmed.status_code == 303
    assert unconfirmed.headers["Location"].endswith(url)
    assert who(app, basic(old), "upload").id == partner.id
    confirmed = client.post(url, data={"confirm": "yes"})
    assert confirmed.status_code == 303
    new = _secret(client.get("/registry/kelola/mitra").get_data(as_text=True))
    assert new != old
    assert who(app, basic(new), "upload").id == partner.id
    with pytest.raises(Unauthorized):
        who(app, basic(old), "upload")
    assert db_session.query(Partner).count() == 1
    assert new not in client.get("/registry/kelola/mitra").get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"region": "", "email": "a@b.example", "scopes": ["upload"]}, "region", "Isi nama"),
        (
            {"region": "Lebak", "email": "bukan", "scopes": ["upload"]},
            "email",
            "e-mail kontak tidak sah",
        ),
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
    url = f"/registry/kelola/mitra/{partner.id}/cabut"
    listed = client.get("/registry/kelola/mitra").get_data(as_text=True)
    assert f'href="{url}"' in listed  # a link to the question, not a one-click form
    asked = client.get(url)
    assert "Cabut token Kabupaten Lebak?" in asked.get_data(as_text=True)
    assert client.post(url).headers["Location"].endswith(url)  # not confirmed: asked
    db_session.expire_all()
    assert db_session.get(Partner, partner.id).revoked_at is None
    assert client.post(url, data={"confirm": "yes"}).status_code == 303
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


def test_the_database_holds_a_region_to_one_partner(enabled, db_session, partner_token):
    # What a second admin adding the same region at the same moment would meet: the
    # first check passed for both, so only the unique key stands between them.
    partner_token()
    unchecked = patch.object(services, "partner_of_region", lambda *_args: None)
    with pytest.raises(services.PartnerError) as refused, unchecked:
        services.issue_partner(
            db_session, "KABUPATEN lebak", "x@lebak.example.id", ["report"], None
        )
    [message] = refused.value.errors["region"]
    assert message.startswith("This region is already a partner")
    db_session.commit()  # the session is still usable: only the savepoint was undone
    assert [p.region for p in db_session.query(Partner)] == ["Kabupaten Lebak"]


def test_a_region_listed_twice_before_becomes_one_partner(app, enabled, db_session, partner_token):
    from balai.db import db, utcnow
    from balai.testing import downgraded

    partner_token()
    [kept] = db_session.query(Partner).all()
    db_session.rollback()
    now = utcnow()
    with downgraded(app, "registry_0006_derived"), db.all_tenants() as session:
        insert = text(
            "INSERT INTO registry_partner (tenant_id, region, email, token_hash, token_prefix,"
            " scopes, upstream, created_at, revoked_at) VALUES (:t, :r, 'x@lebak.example.id',"
            " :h, 'balai-reg-xx', 'report', false, :at, :revoked) RETURNING id"
        )
        rows = {"t": enabled.id, "at": now}
        older = session.scalar(
            insert, rows | {"r": "kabupaten  LEBAK", "h": "1" * 64, "revoked": now}
        )
        other = session.scalar(insert, rows | {"r": "Kota Serang", "h": "2" * 64, "revoked": None})
        report = text(
            "INSERT INTO registry_usage_report (tenant_id, partner_id, instance, region,"
            " core_version, received_at) VALUES (:t, :p, :i, 'Kabupaten Lebak', '0.1.0', :at)"
        )
        session.execute(report, {"t": enabled.id, "p": older, "i": "a" * 64, "at": now})
        session.execute(
            text(
                "INSERT INTO registry_evaluation (tenant_id, partner_id, plugin, version,"
                " severity, title, body, status, created_at, updated_at) VALUES (:t, :p,"
                " 'balai-kebun', '0.1.0', 'minor', 'Judul', 'Isi', 'open', :at, :at)"
            ),
            {"t": enabled.id, "p": older, "at": now},
        )
    partners = {p.id: p for p in db_session.query(Partner)}
    assert set(partners) == {kept.id, other}
    assert (partners[kept.id].region_key, partners[other].region_key) == (
        "kabupaten lebak",
        "kota serang",
    )
    owners = db_session.execute(text("SELECT partner_id FROM registry_evaluation")).scalars()
    assert list(owners) == [kept.id]
    reports = db_session.execute(text("SELECT partner_id FROM registry_usage_report")).scalars()
    assert list(reports) == [kept.id]


def test_the_maintainer_pages_share_one_navigation_named_as_the_menu(client, login, enabled):
    login(client, role="admin")
    pages = {
        "/registry/kelola/": "Kiriman registri",
        "/registry/kelola/evaluasi": "Evaluasi dari mitra",
        "/registry/kelola/mitra": "Daerah mitra",
        "/registry/kelola/dukungan": "Dukungan",
    }
    for url, title in pages.items():
        page = client.get(url).text
        assert f"<h1>{title}</h1>" in page, url
        assert f'<a href="{url}" aria-current="page">{title}</a>' in page
        for other, label in pages.items():
            assert f'<a href="{other}"' in page and label in page
    assert "Kiriman registri" in client.get("/registry/kelola/").text.split("<h1>")[0]


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Isi alamat e-mail kontak."),
        ("bukan-email", "Alamat e-mail kontak tidak sah"),
        ("a" * 290 + "@lebak.id", "Alamat e-mail kontak tidak sah"),
    ],
)
def test_an_empty_contact_is_told_apart_from_an_invalid_one(client, enabled, login, email, message):
    login(client, role="admin")
    response = client.post(
        "/registry/kelola/mitra",
        data={"region": "Kabupaten Lebak", "email": email, "scopes": ["upload"]},
    )
    assert response.status_code == 422
    assert message in response.text


def test_the_partner_list_and_form_are_laid_out_for_reading(client, enabled, login):
    login(client, role="admin")
    long_name = "K" * 200
    client.post(
        "/registry/kelola/mitra",
        data={"region": long_name, "email": "ti@lebak.example.id", "scopes": ["upload"]},
    )
    page = client.get("/registry/kelola/mitra").text
    assert "wilayah hulu" not in page and "Token milik daerah hulu sendiri" in page
    assert '<th scope="col"><span class="visually-hidden">Tindakan</span></th>' in page
    assert f'<td class="wrap" data-label="Daerah">{long_name}</td>' in page  # see registry.css
    assert '<label class="choice"><input type="checkbox" name="upstream"' in page
    assert '<div class="actions"><button type="submit">' in page
    with client.get("/registry/static/registry.css") as css:
        assert css.status_code == 200
        assert b".table-wrap td.wrap{overflow-wrap:anywhere" in css.data
