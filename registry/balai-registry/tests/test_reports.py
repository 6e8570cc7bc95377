"""Usage reports: which plugin versions run in which region; the latest report wins."""

from __future__ import annotations

from typing import Any

import pytest
from flask import render_template

from balai.db import db
from balai_registry import usage
from balai_registry.models import Partner
from balai_registry.usage import UsagePlugin, UsageReport

API = "/api/v1/registry/reports"
REPORT = {
    "instance": "5f0c7a1e-lebak-01",
    "region": "Kabupaten Lebak",
    "core_version": "0.1.4",
    "plugins": [
        {"name": "balai-pengaduan", "version": "0.3.1"},
        {"name": "balai-puskesmas", "version": "0.2.0"},
    ],
}


LEBAK = ("Kabupaten Lebak", "Kabupaten Lebak")  # (region reported, partner reporting it)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def report(client: Any, token: str, **changes: Any) -> Any:
    return client.post(API, json={**REPORT, **changes}, headers=bearer(token))


def test_the_latest_report_of_an_installation_wins(client, enabled, partner_token, db_session):
    token = partner_token()
    first = report(client, token)
    assert (first.status_code, first.get_data()) == (204, b"")
    assert usage.regions_running("balai-pengaduan", db_session) == {"0.3.1": [LEBAK]}
    upgraded = [{"name": "Balai_Pengaduan", "version": "0.4.0"}]
    assert report(client, token, plugins=upgraded).status_code == 204
    db_session.expire_all()
    assert usage.regions_running("balai-pengaduan", db_session) == {"0.4.0": [LEBAK]}
    assert usage.regions_running("balai-puskesmas", db_session) == {}
    assert db_session.query(UsageReport).count() == 1
    assert db_session.query(UsagePlugin).count() == 1


def test_regions_are_grouped_by_version_newest_first(client, enabled, partner_token, db_session):
    lebak, banten = partner_token(), partner_token("Provinsi Banten")
    report(client, lebak)
    report(client, banten, instance="banten-pandeglang", region="Kabupaten Pandeglang")
    old = [{"name": "balai-pengaduan", "version": "0.10.0"}]
    report(client, banten, instance="banten-serang-01", region="Kota Serang", plugins=old)
    assert usage.regions_running("balai-pengaduan", db_session) == {
        "0.10.0": [("Kota Serang", "Provinsi Banten")],
        "0.3.1": [LEBAK, ("Kabupaten Pandeglang", "Provinsi Banten")],
    }
    assert db_session.query(UsageReport).count() == 3


def test_regions_running_defaults_to_the_request_session(app, client, enabled, partner_token):
    report(client, partner_token())
    with app.test_request_context(base_url="http://kota-a.test"):
        app.preprocess_request()
        running = usage.regions_running("balai-pengaduan")
        html = render_template("registry/feedback/_running.html", running=running)
        empty = render_template("registry/feedback/_running.html", running={})
    assert "<dt>0.3.1</dt><dd>Kabupaten Lebak (dilaporkan oleh Kabupaten Lebak)</dd>" in html
    assert "Belum ada daerah yang melaporkan memakainya." in empty


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"instance": "pendek"}, "instance"),
        ({"instance": "spasi di dalam id"}, "instance"),
        ({"region": " "}, "region"),
        ({"core_version": "terbaru"}, "core_version"),
        ({"core_version": "1" * 5000}, "core_version"),
        ({"core_version": "1." * 40 + "0"}, "core_version"),
        ({"plugins": [{"name": "balai-pengaduan", "version": "9" * 5000}]}, "plugins"),
        ({"plugins": [{"name": "bukan nama", "version": "1.0"}]}, "plugins"),
        ({"plugins": [{"name": "balai-pengaduan", "version": "satu"}]}, "plugins"),
        ({"plugins": [{"name": "a", "version": "1"}, {"name": "A", "version": "2"}]}, "plugins"),
        ({"plugins": [{"name": f"p{n}", "version": "1"} for n in range(501)]}, "plugins"),
        ({"plugins": [{"name": "a"}]}, "plugins"),
        ({"plugins": None}, "plugins"),
    ],
)
def test_a_bad_report_is_refused_naming_the_field(
    client, enabled, partner_token, db_session, changes, field
):
    body = {k: v for k, v in {**REPORT, **changes}.items() if v is not None}
    response = client.post(API, json=body, headers=bearer(partner_token()))
    assert response.status_code == 422, response.json
    assert list(response.json["error"]["fields"]) == [field]
    assert db_session.query(UsageReport).count() == 0


def test_reports_need_the_report_scope(client, enabled, partner_token, db_session):
    feedback_only = partner_token(scopes=("feedback",))
    assert report(client, feedback_only).status_code == 403
    assert client.post(API, json=REPORT).status_code == 401
    assert report(client, "balai-reg-unknown").status_code == 401
    assert db_session.query(UsageReport).count() == 0


def test_a_revoked_token_reports_nothing(client, enabled, partner_token, login, db_session):
    token = partner_token()
    [partner] = db_session.query(Partner).all()
    login(client, role="admin")
    client.post(f"/registry/kelola/mitra/{partner.id}/cabut", data={"confirm": "yes"})
    assert report(client, token).status_code == 401
    assert db_session.query(UsageReport).count() == 0


def test_another_region_knows_nothing_of_the_reports(
    client, other_client, enabled, enable_plugin, other_tenant, partner_token
):
    enable_plugin("registry", tenant=other_tenant)
    token = partner_token()
    report(client, token)
    assert other_client.post(API, json=REPORT, headers=bearer(token)).status_code == 401
    with db.tenant_session(other_tenant.id) as session:
        assert usage.regions_running("balai-pengaduan", session) == {}
        assert session.query(UsageReport).count() == 0


def test_each_region_names_the_partner_that_reported_it(app, client, enabled, partner_token):
    """A partner may name any region: the page says whose word it is, so a partner
    cannot pass its report off as another partner's adoption."""
    report(client, partner_token())
    impostor = partner_token("Kota <Palsu>")
    report(client, impostor, instance="palsu-000001", region="Kota Tangerang Selatan")
    with app.test_request_context(base_url="http://kota-a.test"):
        app.preprocess_request()
        running = usage.regions_running("balai-pengaduan")
        html = render_template("registry/feedback/_running.html", running=running)
    assert running == {"0.3.1": [LEBAK, ("Kota Tangerang Selatan", "Kota <Palsu>")]}
    assert "Kota Tangerang Selatan (dilaporkan oleh Kota &lt;Palsu&gt;)" in html
    assert "<Palsu>" not in html


def test_a_partner_reports_a_bounded_number_of_installations(
    client, enabled, partner_token, db_session
):
    assert usage.MAX_INSTANCES == 50
    token, other = partner_token(), partner_token("Provinsi Banten")
    for n in range(usage.MAX_INSTANCES):
        assert report(client, token, instance=f"lebak-{n:06d}").status_code == 204
    refused = report(client, token, instance="lebak-one-more", region="Kota Serang")
    assert refused.status_code == 422
    assert list(refused.json["error"]["fields"]) == ["instance"]
    assert "50" in refused.json["error"]["fields"]["instance"][0]
    # A known installation still reports, and the cap is each partner's own.
    assert report(client, token, instance="lebak-000000").status_code == 204
    assert report(client, other, instance="banten-000001").status_code == 204
    assert db_session.query(UsageReport).count() == usage.MAX_INSTANCES + 1
    assert db_session.query(UsageReport).filter_by(region="Kota Serang").count() == 0
