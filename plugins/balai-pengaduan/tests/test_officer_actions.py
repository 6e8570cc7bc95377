"""Officers act with verbs: each action is its own small form, offered and accepted only
where the complaint's status and the officer's permissions allow it."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from io import BytesIO
from typing import Any

import pytest
from sqlalchemy import select

from balai import hookimpl
from balai.testing import travel
from balai_pengaduan import services
from balai_pengaduan.models import Complaint, Photo
from balai_pengaduan.photos import files as photo_files
from balai_pengaduan.runtime import HANDLE, VERIFY

# Monday 10 February 2025, 10.00 WIB: no holiday for weeks either side.
MONDAY = datetime(2025, 2, 10, 3, tzinfo=UTC)
PETUGAS = "/pengaduan/petugas"


@pytest.fixture
def garbage(enabled, sampah, jalan, complaint):
    """A garbage complaint (routed to DLH), received on ``MONDAY``."""
    return complaint("SAMPAH", now=MONDAY, reporter_email="siti@example.test")


@pytest.fixture
def monday():
    with travel(MONDAY):
        yield


def act(client, found, slug, **form):
    return client.post(f"{PETUGAS}/{found.id}/{slug}", data=form)


def with_photos(client, found, slug, photos, **form):
    data: dict[str, Any] = {**form, "photos": [(BytesIO(raw), name) for raw, name in photos]}
    return client.post(
        f"{PETUGAS}/{found.id}/{slug}", data=data, content_type="multipart/form-data"
    )


def verify(db_session, found, make_ctx):
    services.transition(
        db_session, found, "verified", make_ctx(MONDAY), actor_id=None, actor_label="x"
    )
    db_session.commit()


def set_status(db_session, found, status, **values):
    db_session.execute(
        Complaint.__table__.update().where(Complaint.id == found.id).values(status=status, **values)
    )
    db_session.commit()


def files_in(app, tenant) -> list[str]:
    return [entry.key for entry in photo_files(tenant.id).list()]


# -- what is offered -------------------------------------------------------------------


def test_the_page_offers_only_the_actions_of_the_status(
    client, garbage, login, db_session, make_ctx, dlh, pupr, monday
):
    login(client, role="opd", department="DLH")
    page = client.get(f"{PETUGAS}/{garbage.id}").text
    for slug in ("verifikasi", "tolak", "gabungkan"):
        assert f"/{garbage.id}/{slug}" in page, slug
    for slug in ("kerjakan", "teruskan", "selesaikan", "tutup", "foto-sesudah", "/status"):
        assert f"/{garbage.id}/{slug}" not in page, slug
    assert 'name="target"' not in page and "<select" not in page.split('id="tindakan"')[1]
    assert "Verifikasi</button>" in page and "Tolak</button>" in page

    assert act(client, garbage, "verifikasi", note="Lokasi sudah dicek.").status_code == 302
    page = client.get(f"{PETUGAS}/{garbage.id}").text
    assert "Kerjakan</button>" in page and "Teruskan</button>" in page
    forward_form = page.split('id="aksi-forward"')[1].split("</form>")[0]
    assert f'value="{pupr.id}"' in forward_form and f'value="{dlh.id}"' not in forward_form
    assert f"/{garbage.id}/verifikasi" not in page


def test_without_handle_the_department_cannot_start_work(
    client, garbage, login, db_session, make_ctx, grant, stored, monday
):
    verify(db_session, garbage, make_ctx)
    grant("opd", HANDLE, granted=False)
    login(client, role="opd", department="DLH")
    assert "Kerjakan</button>" not in client.get(f"{PETUGAS}/{garbage.id}").text
    assert act(client, garbage, "kerjakan").status_code == 403
    assert stored()[0].status == "verified"


def test_an_action_the_status_does_not_allow_is_refused(client, garbage, login, stored, monday):
    login(client, role="admin")
    refused = act(client, garbage, "selesaikan", note="Sudah.")
    assert refused.status_code == 422
    assert "Tindakan ini tidak dapat dilakukan untuk pengaduan ini sekarang." in refused.text
    assert stored()[0].status == "received"


# -- verify, then start at once where it is routed ---------------------------------------


def test_the_routed_department_starts_work_without_forwarding(
    client, garbage, login, stored, outbox, monday
):
    officer = login(client, role="opd", department="DLH")
    assert act(client, garbage, "verifikasi").status_code == 302
    assert act(client, garbage, "kerjakan", note="Tim dijadwalkan besok.").status_code == 302
    saved = stored()[0]
    assert saved.status == "in_progress" and saved.forwarded_at is None
    assert saved.work_due == date(2025, 2, 28)  # 14 working days after Monday 10 February
    events = [(e.action, e.from_status, e.to_status, e.actor_id) for e in saved.events]
    assert events[1:] == [
        ("verify", "received", "verified", officer.id),
        ("start", "verified", "in_progress", officer.id),
    ]
    assert events[0][0] == "submit"
    # The reporter hears of it; the department is not told of its own complaint.
    recipients = {m.recipient for m in outbox()}
    assert recipients == {"siti@example.test"}


@pytest.mark.balai_config(PLUGIN_SETTINGS={"pengaduan": {"work_days": 3}})
def test_the_work_deadline_follows_the_setting(client, garbage, login, stored, monday):
    login(client, role="opd", department="DLH")
    act(client, garbage, "verifikasi")
    act(client, garbage, "kerjakan")
    assert stored()[0].work_due == date(2025, 2, 13)
    page = client.get(f"{PETUGAS}/{garbage.id}").text
    assert "Selesaikan pekerjaan paling lambat" in page and "13 Februari 2025" in page
    assert "<strong>Mulai dikerjakan</strong>" in page.split("Linimasa")[-1]


def test_the_central_desk_forwards_and_cannot_start_unforwarded(
    client, garbage, login, stored, dlh, db_session, make_ctx, monday
):
    verify(db_session, garbage, make_ctx)
    login(client, role="admin")  # no department of its own
    page = client.get(f"{PETUGAS}/{garbage.id}").text
    assert "Kerjakan</button>" not in page
    forward_form = page.split('id="aksi-forward"')[1].split("</form>")[0]
    assert f'<option value="{dlh.id}" selected' in forward_form
    refused = act(client, garbage, "kerjakan")
    assert refused.status_code == 422 and stored()[0].status == "verified"
    scripted = client.post(f"{PETUGAS}/{garbage.id}/status", data={"target": "in_progress"})
    assert scripted.status_code == 422
    assert "Teruskan pengaduan lebih dulu" in scripted.text
    assert act(client, garbage, "teruskan", department_id=str(dlh.id)).status_code == 302
    saved = stored()[0]
    assert (saved.status, saved.department_id, saved.events[-1].department_id) == (
        "forwarded",
        dlh.id,
        dlh.id,
    )


def test_the_department_forwards_only_to_another(client, garbage, login, stored, dlh, pupr, monday):
    login(client, role="opd", department="DLH")
    act(client, garbage, "verifikasi")
    to_itself = act(client, garbage, "teruskan", department_id=str(dlh.id))
    assert to_itself.status_code == 422
    assert "sudah milik OPD Anda" in to_itself.text
    assert stored()[0].status == "verified"
    unknown = act(client, garbage, "teruskan", department_id="99999")
    assert unknown.status_code == 422 and "Pilih OPD dari daftar." in unknown.text

    moved = act(client, garbage, "teruskan", department_id=str(pupr.id), note="Wewenang PUPR.")
    assert moved.status_code == 302 and moved.location.endswith(f"{PETUGAS}/")  # not theirs now
    saved = stored()[0]
    assert (saved.status, saved.department_id) == ("forwarded", pupr.id)
    assert (saved.events[-1].action, saved.events[-1].department_id) == ("forward", pupr.id)
    assert client.get(f"{PETUGAS}/{garbage.id}").status_code == 404


def test_the_timeline_names_the_actions(client, garbage, login, pupr, app, monday):
    login(client, role="opd", department="DLH")
    act(client, garbage, "verifikasi")
    act(client, garbage, "teruskan", department_id=str(pupr.id))
    colleague = app.test_client()
    colleague.host = client.host
    login(colleague, role="opd", department="PUPR")
    page = colleague.get(f"{PETUGAS}/{garbage.id}").text
    timeline = page.split("Linimasa")[-1]
    assert "Terverifikasi" in timeline and "ke Dinas PUPR" in timeline


# -- resolve and reject need their words ---------------------------------------------------


def test_resolving_needs_what_was_done(client, garbage, login, stored, outbox, monday):
    login(client, role="opd", department="DLH")
    act(client, garbage, "verifikasi")
    act(client, garbage, "kerjakan")
    refused = act(client, garbage, "selesaikan", note="   ")
    assert refused.status_code == 422
    assert "Jelaskan apa yang dilakukan untuk menyelesaikan pengaduan." in refused.text
    assert stored()[0].status == "in_progress"
    done = act(client, garbage, "selesaikan", note="Sampah sudah diangkut truk DLH.")
    assert done.status_code == 302
    saved = stored()[0]
    assert saved.status == "resolved" and saved.events[-1].action == "resolve"
    assert any("Sampah sudah diangkut truk DLH." in m.body for m in outbox())
    tracking = client.get(f"/pengaduan/lacak?kode={garbage.tracking_code}").text
    assert "Sampah sudah diangkut truk DLH." in tracking


def test_rejecting_needs_a_reason_the_reporter_reads(client, garbage, login, stored, monday):
    login(client, role="opd", department="DLH")
    refused = act(client, garbage, "tolak")
    assert refused.status_code == 422 and "Jelaskan alasan pengaduan ditolak." in refused.text
    assert act(client, garbage, "tolak", note="Bukan wewenang daerah.").status_code == 302
    saved = stored()[0]
    assert (saved.status, saved.rejection_reason) == ("rejected", "Bukan wewenang daerah.")
    client.get("/keluar")
    tracking = client.get(f"/pengaduan/lacak?kode={garbage.tracking_code}").text
    assert "Bukan wewenang daerah." in tracking


# -- photos of the work ----------------------------------------------------------------------


def test_resolving_with_photos_of_the_work(
    app, client, tenant, garbage, login, db_session, make_jpeg, monday
):
    officer = login(client, role="opd", department="DLH")
    act(client, garbage, "verifikasi")
    act(client, garbage, "kerjakan")
    done = with_photos(
        client,
        garbage,
        "selesaikan",
        [(make_jpeg(gps=True), "sesudah.jpg"), (make_jpeg(fmt="PNG"), "dua.png")],
        note="Sudah bersih.",
    )
    assert done.status_code == 302, done.text
    db_session.rollback()
    rows = db_session.scalars(select(Photo).order_by(Photo.id)).all()
    assert [(p.kind, p.added_by_id) for p in rows] == [("after", officer.id)] * 2
    assert len(files_in(app, tenant)) == 2
    page = client.get(f"{PETUGAS}/{garbage.id}").text
    assert "Sesudah dikerjakan" in page and "Sudah bersih." in page
    client.get("/keluar")
    with client.get(f"/pengaduan/foto/{rows[0].id}") as served:
        assert served.status_code == 200 and b"KameraUji" not in served.data


def test_a_bad_photo_refuses_the_resolution_and_writes_nothing(
    app, client, tenant, garbage, login, stored, monday
):
    login(client, role="opd", department="DLH")
    act(client, garbage, "verifikasi")
    act(client, garbage, "kerjakan")
    refused = with_photos(client, garbage, "selesaikan", [(b"bukan foto", "x.jpg")], note="Beres.")
    assert refused.status_code == 422 and "x.jpg" in refused.text
    assert stored()[0].status == "in_progress" and files_in(app, tenant) == []


def test_files_are_removed_when_the_resolution_fails(
    app, client, tenant, garbage, login, stored, make_jpeg, monkeypatch, monday
):
    from balai_pengaduan import runtime

    login(client, role="opd", department="DLH")
    act(client, garbage, "verifikasi")
    act(client, garbage, "kerjakan")

    def refuse(complaint, event):
        raise RuntimeError("another plugin refused")

    monkeypatch.setattr(runtime, "announce_change", refuse)
    with pytest.raises(RuntimeError):
        with_photos(client, garbage, "selesaikan", [(make_jpeg(), "a.jpg")], note="Beres.")
    assert stored()[0].status == "in_progress" and files_in(app, tenant) == []


@pytest.mark.balai_config(PLUGIN_SETTINGS={"pengaduan": {"max_after_photos": 2}})
def test_photos_during_the_work_up_to_the_limit(
    app, client, tenant, garbage, login, make_jpeg, db_session, monday
):
    login(client, role="opd", department="DLH")
    early = with_photos(client, garbage, "foto-sesudah", [(make_jpeg(), "a.jpg")])
    assert early.status_code == 422 and "selama pengaduan sedang ditangani" in early.text
    act(client, garbage, "verifikasi")
    act(client, garbage, "kerjakan")
    page = client.get(f"{PETUGAS}/{garbage.id}").text
    assert 'id="aksi-photos"' in page
    # two photo fields, told apart: optional with "Resolve", required to add some now
    assert page.count("Foto hasil pekerjaan") == 1
    assert "Tambah foto pekerjaan yang sedang berjalan" in page
    assert page.count("Tidak wajib. Paling banyak 2 per pengaduan") == 1
    none = with_photos(client, garbage, "foto-sesudah", [])
    assert none.status_code == 422 and "Pilih setidaknya satu foto." in none.text
    added = with_photos(client, garbage, "foto-sesudah", [(make_jpeg(), "a.jpg")])
    assert added.status_code == 302
    too_many = with_photos(
        client, garbage, "foto-sesudah", [(make_jpeg(), "b.jpg"), (make_jpeg(), "c.jpg")]
    )
    assert too_many.status_code == 422
    assert "Paling banyak 2 foto hasil pekerjaan per pengaduan (sudah 1)." in too_many.text
    assert len(files_in(app, tenant)) == 1
    db_session.rollback()
    assert db_session.scalars(select(Photo.kind)).all() == ["after"]


def test_only_the_department_adds_photos(client, garbage, login, grant, make_jpeg, monday):
    grant("opd", HANDLE, granted=False)
    login(client, role="opd", department="DLH", permissions=(VERIFY,))
    assert with_photos(client, garbage, "foto-sesudah", [(make_jpeg(), "a.jpg")]).status_code == 403


# -- the work deadline ---------------------------------------------------------------------


class Listener:
    """Records what ``check-deadlines`` announces."""

    name = "dengar"
    heard: list[str] = []

    @hookimpl
    def complaints_overdue(self, tenant: Any, complaints: list[Any], session: Any) -> None:
        self.heard.extend(c.tracking_code for c in complaints)


@pytest.mark.balai_plugins(Listener())
@pytest.mark.balai_config(PLUGIN_SETTINGS={"pengaduan": {"work_days": 3}})
def test_unfinished_work_is_overdue_in_the_inbox_and_announced(
    app, client, garbage, login, enable_plugin, monday
):
    enable_plugin("dengar")
    Listener.heard.clear()
    login(client, role="opd", department="DLH")
    act(client, garbage, "verifikasi")
    act(client, garbage, "kerjakan")
    runner = app.test_cli_runner()
    with travel(datetime(2025, 2, 13, 10, tzinfo=UTC)):  # Thursday: the last day
        login(client, role="opd", department="DLH")
        inbox = client.get(f"{PETUGAS}/?overdue=1")
        assert inbox.status_code == 200 and inbox.text.count("ADU-") == 0
        assert (
            "kota-a: 0 newly overdue" in runner.invoke(args=["pengaduan", "check-deadlines"]).output
        )
    with travel(datetime(2025, 2, 14, 3, tzinfo=UTC)):  # Friday
        login(client, role="opd", department="DLH")  # the session of Monday has expired
        inbox = client.get(f"{PETUGAS}/?overdue=1").text
        assert garbage.tracking_code in inbox
        row = inbox.split(garbage.tracking_code)[0].rsplit("<tr", 1)[1]
        assert 'class="overdue"' in row
        assert "lewat tenggat" in client.get(f"{PETUGAS}/{garbage.id}").text
        result = runner.invoke(args=["pengaduan", "check-deadlines"])
        assert "kota-a: 1 newly overdue" in result.output
        assert Listener.heard == [garbage.tracking_code]
        assert (
            "kota-a: 0 newly overdue" in runner.invoke(args=["pengaduan", "check-deadlines"]).output
        )


# -- the migration ---------------------------------------------------------------------------


@pytest.mark.skipif(
    "postgresql" in os.environ.get("BALAI_TEST_DATABASE_URL", ""),
    reason="SQLite rebuilds tables on the way down (the cascade hazard this guards); on "
    "the PostgreSQL test database the downgrade is not seen by the test's session",
)
def test_the_migration_keeps_existing_photos_as_the_reporters(
    app, tenant, enabled, sampah, complaint, db_session
):
    from sqlalchemy import text

    from balai.db import db
    from balai.testing import downgraded

    found_id = complaint().id
    db_session.rollback()  # no open transaction may hold the tables
    with downgraded(app, "pengaduan_0006-1"), db.all_tenants() as session:
        session.execute(
            text(
                "INSERT INTO pengaduan_photo (tenant_id, complaint_id, filename,"
                " content_type, size, width, height, created_at) VALUES"
                " (:t, :c, 'lama.jpg', 'image/jpeg', 10, 4, 3, :now)"
            ),
            {"t": tenant.id, "c": found_id, "now": f"{MONDAY:%Y-%m-%d %H:%M:%S}+00:00"},
        )
    found = db_session.get(Complaint, found_id)
    assert [(p.filename, p.kind, p.added_by_id) for p in found.photos] == [
        ("lama.jpg", "before", None)
    ]
    assert [p.filename for p in found.before_photos] == ["lama.jpg"] and found.after_photos == []
    # The complaint's events survived the tables being rebuilt; the action went with
    # the column on the way down.
    assert [(e.to_status, e.action) for e in found.events] == [("received", None)]
    assert found.work_due is None


def test_the_public_pages_show_the_work_done_apart_from_the_reporters_photos(
    app, client, tenant, garbage, login, db_session, make_jpeg, monday
):
    """The tracking page and the public page show the after photos in their own section."""
    login(client, role="opd", department="DLH")
    act(client, garbage, "verifikasi")
    act(client, garbage, "kerjakan")
    track = f"/pengaduan/lacak?kode={garbage.tracking_code}"
    assert 'id="sesudah"' not in client.get(track).get_data(as_text=True)
    with_photos(client, garbage, "selesaikan", [(make_jpeg(), "a.jpg")], note="Sudah bersih.")
    db_session.rollback()
    db_session.expire_all()
    found = db_session.get(Complaint, garbage.id)
    [photo] = found.after_photos
    assert found.before_photos == []
    page = client.get(track).get_data(as_text=True)
    after = page[page.index('id="sesudah"') :]
    assert "Sudah bersih." in after
    assert f'src="/pengaduan/foto/{photo.id}?kode={garbage.tracking_code}"' in after
    assert page.count(f"/pengaduan/foto/{photo.id}") == 2  # the link and the image, once
    detail = client.get(f"/pengaduan/{garbage.id}").get_data(as_text=True)
    after = detail[detail.index('id="sesudah"') :]
    assert "<h2>" in after and f'src="/pengaduan/foto/{photo.id}"' in after
