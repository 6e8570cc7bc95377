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


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def report(client: Any, token: str, **changes: Any) -> Any:
    return client.post(API, json={**REPORT, **changes}, headers=bearer(token))


def test_the_latest_report_of_an_installation_wins(client, enabled, partner_token, db_session):
    token = partner_token()
    first = report(client, token)
    assert (first.status_code, first.get_data()) == (204, b"")
    assert usage.regions_running("balai-pengaduan", db_session) == {"0.3.1": ["Kabupaten Lebak"]}
    upgraded = [{"name": "Balai_Pengaduan", "version": "0.4.0"}]
    assert report(client, token, plugins=upgraded).status_code == 204
    db_session.expire_all()
    assert usage.regions_running("balai-pengaduan", db_session) == {"0.4.0": ["Kabupaten Lebak"]}
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
        "0.10.0": ["Kota Serang"],
        "0.3.1": ["Kabupaten Lebak", "Kabupaten Pandeglang"],
    }
    assert db_session.query(UsageReport).count() == 3


def test_regions_running_defaults_to_the_request_session(app, client, enabled, partner_token):
    report(client, partner_token())
    with app.test_request_context(base_url="http://kota-a.test"):
        app.preprocess_request()
        running = usage.regions_running("balai-pengaduan")
        html = render_template("registry/feedback/_running.html", running=running)
        empty = render_template("registry/feedback/_running.html", running={})
    assert "<dt>0.3.1</dt><dd>Kabupaten Lebak</dd>" in html
    assert "Belum ada daerah yang melaporkan memakainya." in empty


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"instance": "pendek"}, "instance"),
        ({"instance": "spasi di dalam id"}, "instance"),
        ({"region": " "}, "region"),
        ({"core_version": "terbaru"}, "core_version"),
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
    client.post(f"/registry/kelola/mitra/{partner.id}/cabut")
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
