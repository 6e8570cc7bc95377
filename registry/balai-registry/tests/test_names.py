"""Who may send a name: the reserved names only the upstream region's own token, any
other name whoever's release of it was published first; an upload's error tells
nothing of another partner's work."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from balai_registry import services
from balai_registry.models import Partner
from balai_registry.names import ordered_range

from .conftest import basic, small_wheel, wheel_form

URL = "/registry/legacy/"
NOW = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
REVIEW = ("registry.review_submissions",)


def send(client, token, name="balai-kebun", version="1.0.0", form_name=None):
    filename, data = small_wheel(name, version)
    form = wheel_form(filename, data, form_name or name, version)
    return client.post(URL, data=form, headers=basic(token), content_type="multipart/form-data")


@pytest.fixture
def upstream_token(db_session):
    """A token of the upstream region's own."""
    _partner, token = services.issue_partner(
        db_session, "Kota Tangerang", "ti@tangerangkota.example", ["upload"], None, upstream=True
    )
    db_session.commit()
    return token


def passed_and_published(db_session, submission, *, reserved=services.RESERVED_NAMES):
    services.record_check(submission, {"passed": True, "checks": [], "inspection": {}}, NOW)
    services.decide(submission, True, "", None, NOW, reserved=reserved)
    db_session.commit()


@pytest.mark.parametrize(
    ("name", "form_name"),
    [
        ("balai-pengaduan", None),
        ("balai-theme-default", None),
        ("balai-registry", "Balai_Registry"),
        ("balai-core-auth", None),
    ],
)
def test_a_partner_cannot_send_the_projects_own_names(
    client, enabled, partner_token, upstream_token, stored, name, form_name
):
    refused = send(client, partner_token(), name, form_name=form_name)
    assert refused.status_code == 403
    assert f"Nama {name} tidak tersedia bagi daerah Anda" in refused.text
    assert stored() == []
    assert send(client, upstream_token, name, form_name=form_name).status_code == 200
    assert [s.project for s in stored()] == [name]


def test_the_reserved_names_are_a_setting(app, client, enabled, partner_token, stored, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTRY_RESERVED_NAMES", "balai-kebun, Balai_Sawah_*")
    token = partner_token()
    assert send(client, token).status_code == 403
    assert send(client, token, "balai-sawah-padi").status_code == 403
    assert send(client, token, "balai-pengaduan").status_code == 200
    assert [s.project for s in stored()] == ["balai-pengaduan"]


def test_a_pending_or_rejected_submission_locks_no_name(
    client, enabled, partner_token, stored, db_session
):
    lebak, serang = partner_token(), partner_token("Kota Serang")
    assert send(client, lebak).status_code == 200
    assert send(client, serang, version="1.0.1").status_code == 200
    first, second = stored()
    services.record_check(first, {"passed": False, "checks": [], "inspection": {}}, NOW)
    services.decide(first, False, "Tes gagal.", None, NOW)
    db_session.commit()
    assert send(client, serang, version="1.0.2").status_code == 200
    _first, second, _third = stored()
    passed_and_published(db_session, second)
    # Serang's release was published first: the name is Serang's now.
    assert send(client, lebak, version="1.1.0").status_code == 403
    assert send(client, serang, version="1.1.0").status_code == 200


def test_a_file_of_a_name_another_partner_owns_is_never_published(
    client, enabled, partner_token, stored, db_session
):
    lebak, serang = partner_token(), partner_token("Kota Serang")
    assert send(client, lebak).status_code == 200
    assert send(client, serang, version="1.0.1").status_code == 200
    first, second = stored()
    passed_and_published(db_session, first)
    services.record_check(second, {"passed": True, "checks": [], "inspection": {}}, NOW)
    with pytest.raises(services.DecisionError):
        services.decide(second, True, "", None, NOW)
    services.decide(second, False, "Nama milik Kabupaten Lebak.", None, NOW)


def test_a_submission_of_a_reserved_name_is_published_only_from_upstream(
    client, enabled, partner_token, upstream_token, stored, db_session
):
    assert send(client, partner_token()).status_code == 200
    assert send(client, upstream_token, "balai-puskesmas").status_code == 200
    partner_sent, upstream_sent = stored()
    services.record_check(partner_sent, {"passed": True, "checks": [], "inspection": {}}, NOW)
    with pytest.raises(services.DecisionError):  # the name became reserved meanwhile
        services.decide(partner_sent, True, "", None, NOW, reserved=("balai-kebun",))
    passed_and_published(db_session, upstream_sent)
    assert upstream_sent.status == "published"


def test_an_error_tells_nothing_of_another_partners_work(client, enabled, partner_token, stored):
    lebak, serang = partner_token(), partner_token("Kota Serang")
    assert send(client, lebak).status_code == 200
    [pending] = stored()
    same_file = send(client, serang)
    reserved = send(client, serang, "balai-pengaduan")
    assert same_file.status_code == reserved.status_code == 403
    assert same_file.text == reserved.text.replace("balai-pengaduan", "balai-kebun")
    assert f"kiriman {pending.id}" not in same_file.text
    assert "pending" not in same_file.text and "menunggu" not in same_file.text
    own = send(client, lebak)  # the sender of the file hears of its own submission
    assert own.status_code == 400
    assert f"kiriman {pending.id}" in own.text
    assert len(stored()) == 1


def test_maintainer_issues_the_upstream_regions_own_token(client, enabled, login, db_session):
    login(client, role="opd", permissions=REVIEW)
    partner = {"region": "Kabupaten Lebak", "email": "ti@lebak.example", "scopes": ["upload"]}
    form = {"region": "Kota Tangerang", "email": "ti@tangerangkota.example", "scopes": ["upload"]}
    assert client.post("/registry/kelola/mitra", data=partner).status_code == 303
    assert client.post("/registry/kelola/mitra", data={**form, "upstream": "1"}).status_code == 303
    assert [p.upstream for p in db_session.query(Partner).order_by(Partner.id)] == [False, True]
    assert "token milik daerah hulu sendiri" in client.get("/registry/kelola/mitra").text


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("<0.2,>=0.1", ">=0.1,<0.2"),
        ("!=0.1.3,<0.2,>=0.1", ">=0.1,<0.2,!=0.1.3"),
        ("<=1.0,>0.5", ">0.5,<=1.0"),
        ("~=0.1", "~=0.1"),
        ("", ""),
        ("not a range", "not a range"),
    ],
)
def test_a_core_range_is_shown_lower_bound_first(stored, shown):
    assert ordered_range(stored) == shown
