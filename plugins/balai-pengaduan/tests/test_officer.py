"""Officers work the complaints routed to their department, and see nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from balai_pengaduan import services
from balai_pengaduan.runtime import VERIFY


@pytest.fixture
def two(enabled, sampah, jalan, complaint):
    """A garbage complaint (DLH) and a roads complaint (PUPR)."""
    return complaint("SAMPAH"), complaint("JALAN", description="Jalan berlubang dalam.")


def move(client, found, target, **form):
    return client.post(f"/pengaduan/petugas/{found.id}/status", data={"target": target, **form})


def test_officer_verifies_works_and_resolves(client, two, login, stored, pupr):
    garbage, _roads = two
    login(client, role="opd", department="DLH", permissions=(VERIFY,))
    inbox = client.get("/pengaduan/petugas/").text
    assert garbage.tracking_code in inbox
    page = client.get(f"/pengaduan/petugas/{garbage.id}").text
    assert f"/pengaduan/petugas/{garbage.id}/verifikasi" in page and "Siti" not in page

    base = f"/pengaduan/petugas/{garbage.id}"
    assert (
        client.post(f"{base}/verifikasi", data={"note": "Lokasi sudah dicek."}).status_code == 302
    )
    assert client.post(f"{base}/kerjakan").status_code == 302
    done = client.post(f"{base}/selesaikan", data={"note": "Sampah sudah diangkut."})
    assert done.status_code == 302

    saved = stored()[0]
    assert saved.status == "resolved" and saved.work_due is not None
    steps = [(e.from_status, e.to_status) for e in saved.events]
    assert steps[-1] == ("in_progress", "resolved")
    assert len(steps) == 4 and all(e.at is not None for e in saved.events)
    detail = client.get(f"/pengaduan/petugas/{garbage.id}").text
    assert "Sampah sudah diangkut." in detail and "Selesai" in detail
    public = client.get(f"/pengaduan/lacak?kode={garbage.tracking_code}").text
    assert "Lokasi sudah dicek." in public and "Sedang ditangani" in public


def test_forwarding_can_change_the_department(
    client, two, login, stored, pupr, db_session, make_ctx
):
    garbage, _roads = two
    services.transition(db_session, garbage, "verified", make_ctx(), actor_id=None, actor_label="x")
    db_session.commit()
    login(client, role="admin")
    assert move(client, garbage, "forwarded", department_id=str(pupr.id)).status_code == 302
    assert stored()[0].department_id == pupr.id


def test_forwarding_to_an_unknown_department_is_refused(
    client, two, login, stored, db_session, make_ctx
):
    garbage, _roads = two
    services.transition(db_session, garbage, "verified", make_ctx(), actor_id=None, actor_label="x")
    db_session.commit()
    login(client, role="admin")
    response = move(client, garbage, "forwarded", department_id="9999")
    assert response.status_code == 422 and "Pilih OPD dari daftar." in response.text
    assert stored()[0].status == "verified"


def test_other_departments_complaint_is_invisible(client, two, login):
    _garbage, roads = two
    login(client, role="opd", department="DLH", permissions=(VERIFY,))
    assert roads.tracking_code not in client.get("/pengaduan/petugas/").text
    assert client.get(f"/pengaduan/petugas/{roads.id}").status_code == 404
    assert move(client, roads, "verified").status_code == 404


def test_officer_without_verify_cannot_forward(client, two, login, stored, grant):
    garbage, _roads = two
    # a region whose desk triages centrally
    grant("opd", "pengaduan.verify_complaint", granted=False)
    login(client, role="opd", department="DLH")
    page = client.get(f"/pengaduan/petugas/{garbage.id}").text
    assert "/verifikasi" not in page and "/tolak" not in page
    assert move(client, garbage, "verified").status_code == 403
    assert client.post(f"/pengaduan/petugas/{garbage.id}/verifikasi").status_code == 403
    assert stored()[0].status == "received"


def test_citizen_cannot_open_the_inbox(client, enabled, login):
    login(client, role="warga")
    assert client.get("/pengaduan/petugas/").status_code == 403


def test_officer_of_the_routed_department_triages_and_resolves(client, two, login, stored):
    garbage, _roads = two
    login(client, role="opd", department="DLH")
    for target in ("verified", "in_progress"):
        assert move(client, garbage, target).status_code == 302, target
    assert move(client, garbage, "resolved", note="Sudah diangkut.").status_code == 302
    assert next(c for c in stored() if c.id == garbage.id).status == "resolved"


def test_region_admin_sees_every_department(client, two, login):
    login(client, role="admin")
    inbox = client.get("/pengaduan/petugas/").text
    assert all(c.tracking_code in inbox for c in two)


def test_identity_follows_privacy(client, enabled, sampah, complaint, login):
    public = complaint(reporter_name="Siti Aminah", privacy="public")
    secret = complaint(reporter_name="Rahmat Hidayat", privacy="confidential")
    nobody = complaint(reporter_name="Tidak Disimpan", privacy="anonymous")
    login(client, role="opd", department="DLH")
    assert "Siti Aminah" in client.get(f"/pengaduan/petugas/{public.id}").text
    hidden = client.get(f"/pengaduan/petugas/{secret.id}").text
    assert "Rahmat Hidayat" not in hidden and "Rahasia" in hidden
    assert "Anonim" in client.get(f"/pengaduan/petugas/{nobody.id}").text


def test_region_admin_sees_confidential_identity(client, enabled, sampah, complaint, login):
    secret = complaint(reporter_name="Rahmat Hidayat", privacy="confidential")
    login(client, role="admin")
    assert "Rahmat Hidayat" in client.get(f"/pengaduan/petugas/{secret.id}").text


def test_rejecting_needs_a_reason(client, two, login, stored):
    garbage, _roads = two
    login(client, role="admin")
    refused = move(client, garbage, "rejected")
    assert refused.status_code == 422 and "Jelaskan alasan pengaduan ditolak." in refused.text
    assert move(client, garbage, "rejected", note="Bukan wewenang daerah.").status_code == 302
    assert stored()[0].rejection_reason == "Bukan wewenang daerah."


def test_merge_into_another_complaint(client, enabled, sampah, complaint, login, stored):
    original, repeat = complaint(), complaint()
    login(client, role="admin")
    unknown = move(client, repeat, "duplicate", duplicate_of="ADU-22222-22222")
    assert (
        unknown.status_code == 422 and "Tidak ada pengaduan dengan kode lacak ini." in unknown.text
    )
    merged = move(client, repeat, "duplicate", duplicate_of=original.tracking_code.lower())
    assert merged.status_code == 302
    first, second = stored()
    assert (second.status, second.duplicate_of_id, first.supporters) == ("duplicate", first.id, 1)


def test_inbox_filters_overdue_and_status(client, enabled, sampah, complaint, login):
    late = complaint(now=datetime(2020, 1, 6, 3, tzinfo=UTC))
    fresh = complaint()
    login(client, role="admin")
    overdue = client.get("/pengaduan/petugas/?overdue=1").text
    assert late.tracking_code in overdue and fresh.tracking_code not in overdue
    assert client.get("/pengaduan/petugas/?status=closed").text.count("ADU-") == 0
    assert client.get("/pengaduan/petugas/?status=nope").status_code == 400


def test_inbox_pages(client, enabled, sampah, complaint, login):
    for _n in range(21):
        complaint()
    login(client, role="admin")
    assert 'rel="next"' in client.get("/pengaduan/petugas/").text
    assert client.get("/pengaduan/petugas/?page=2").status_code == 200
    assert client.get("/pengaduan/petugas/?page=3").status_code == 404


def test_other_regions_officer_sees_nothing(
    other_client, other_tenant, both, sampah, complaint, login
):
    found = complaint()
    login(other_client, role="admin", tenant=other_tenant)
    assert found.tracking_code not in other_client.get("/pengaduan/petugas/").text
    assert other_client.get(f"/pengaduan/petugas/{found.id}").status_code == 404
    assert move(other_client, found, "verified").status_code == 404
