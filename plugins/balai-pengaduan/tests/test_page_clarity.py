"""The complaints pages say clearly what happens: the merge field styled like the
others, a hint under each officer's action, no department chosen for the officer
when forwarding, a skipped step in the stepper and the photo limits said once."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from balai.testing import travel
from balai_pengaduan import services

MONDAY = datetime(2025, 2, 10, 3, tzinfo=UTC)
PETUGAS = "/pengaduan/petugas"


@pytest.fixture
def garbage(enabled, sampah, jalan, complaint):
    return complaint("SAMPAH", now=MONDAY)


@pytest.fixture
def monday():
    with travel(MONDAY):
        yield


def act(client, found, slug, **form):
    return client.post(f"{PETUGAS}/{found.id}/{slug}", data=form)


def form_of(page: str, form_id: str) -> str:
    return page.split(f'id="{form_id}"')[1].split("</form>")[0]


def test_the_merge_field_is_a_text_input_like_the_others(client, garbage, login, monday):
    login(client, role="admin")
    merge = form_of(client.get(f"{PETUGAS}/{garbage.id}").text, "gabung")
    field = re.search(r'<input id="f-merge-duplicate_of"[^>]*>', merge)
    assert field and 'type="text"' in field.group(0)


def test_each_action_says_what_it_does(client, garbage, login, monday):
    login(client, role="opd", department="DLH")
    page = client.get(f"{PETUGAS}/{garbage.id}").text
    verify = form_of(page, "aksi-verify")
    assert 'id="verify-hint"' in verify and 'aria-describedby="verify-hint"' in verify
    assert "Verifikasi: pengaduan benar dan lengkap" in verify
    assert "Tolak: menolak pengaduan" in form_of(page, "aksi-reject")
    assert "Gabungkan: menutup pengaduan ini" in form_of(page, "gabung")

    assert act(client, garbage, "verifikasi").status_code == 302
    page = client.get(f"{PETUGAS}/{garbage.id}").text
    start = form_of(page, "aksi-start")
    assert (
        "Kerjakan: pengaduan menjadi Sedang ditangani dan harus selesai dalam 14 hari kerja."
        in start
    )
    assert "Teruskan: menyerahkan pengaduan ke OPD yang dipilih" in form_of(page, "aksi-forward")
    assert act(client, garbage, "kerjakan").status_code == 302
    page = client.get(f"{PETUGAS}/{garbage.id}").text
    assert "Selesaikan: pekerjaan sudah selesai" in form_of(page, "aksi-resolve")

    assert act(client, garbage, "selesaikan", note="Sudah diangkut.").status_code == 302
    page = client.get(f"{PETUGAS}/{garbage.id}").text
    start = form_of(page, "aksi-start")
    assert "Kerjakan: membuka kembali pekerjaan" in start
    assert "Sedang ditangani dengan tenggat baru 14 hari kerja" in start
    assert 'aria-describedby="start-hint"' in start
    close = form_of(page, "aksi-close")
    assert "Tutup: menutup pengaduan apa adanya tanpa pekerjaan lagi" in close
    assert "tidak dapat lagi membukanya kembali" in close
    assert 'aria-describedby="close-hint"' in close


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")
def test_the_hints_are_in_english_too(client, garbage, login, monday):
    login(client, role="opd", department="DLH")
    act(client, garbage, "verifikasi")
    act(client, garbage, "kerjakan")
    act(client, garbage, "selesaikan", note="Done.")
    page = client.get(f"{PETUGAS}/{garbage.id}").text
    assert "Start work: reopens the work" in page
    assert "Close: closes the complaint as it is, without further work" in page


def test_forwarding_starts_with_no_department_chosen(
    client, garbage, login, stored, dlh, pupr, monday
):
    login(client, role="opd", department="DLH")
    act(client, garbage, "verifikasi")
    forward = form_of(client.get(f"{PETUGAS}/{garbage.id}").text, "aksi-forward")
    options = re.findall(r"<option[^>]*>[^<]*</option>", forward)
    assert options[0] == '<option value="" selected>— Pilih OPD —</option>'
    assert not any("selected" in o for o in options[1:])

    missing = act(client, garbage, "teruskan", department_id="", note="Ke mana?")
    assert missing.status_code == 422
    forward = form_of(missing.text, "aksi-forward")
    assert 'id="forward-department_id-error"' in forward
    assert "Pilih OPD tujuan penerusan." in forward
    assert 'aria-invalid="true"' in forward
    assert "Ke mana?" in forward  # the note is kept
    saved = stored()[0]
    assert (saved.status, saved.department_id) == ("verified", dlh.id)
    assert [e.action for e in saved.events] == ["submit", "verify"]
    assert act(client, garbage, "teruskan").status_code == 422  # no field at all


def test_the_central_desk_still_has_the_routed_department_chosen(
    client, garbage, login, dlh, db_session, make_ctx, monday
):
    services.transition(
        db_session, garbage, "verified", make_ctx(MONDAY), actor_id=None, actor_label="x"
    )
    db_session.commit()
    login(client, role="admin")  # no department of its own
    forward = form_of(client.get(f"{PETUGAS}/{garbage.id}").text, "aksi-forward")
    assert '<option value="" >— Pilih OPD —</option>' in forward
    assert f'<option value="{dlh.id}" selected' in forward


def stepper_of(page: str) -> str:
    start = page.index('<ol class="stepper"')
    return page[start : page.index("</ol>", start)]


def test_a_step_not_taken_is_shown_as_skipped(client, garbage, login, monday):
    login(client, role="opd", department="DLH")
    act(client, garbage, "verifikasi")
    act(client, garbage, "kerjakan")
    stepper = stepper_of(client.get(f"/pengaduan/lacak?kode={garbage.tracking_code}").text)
    steps = re.findall(r'<li class="step-(\w+)"', stepper)
    assert steps == ["done", "done", "skipped", "current", "todo"]
    forwarded = stepper.split('class="step-skipped"')[1].split("</li>")[0]
    assert "Diteruskan" in forwarded and "(dilewati)" in forwarded and "selesai" not in forwarded

    act(client, garbage, "selesaikan", note="Sudah.")
    act(client, garbage, "tutup")
    stepper = stepper_of(client.get(f"/pengaduan/lacak?kode={garbage.tracking_code}").text)
    assert re.findall(r'<li class="step-(\w+)"', stepper) == [
        "done",
        "done",
        "skipped",
        "done",
        "done",
    ]


def test_a_forwarded_complaint_shows_the_step_done(client, garbage, login, pupr, app, monday):
    login(client, role="opd", department="DLH")
    act(client, garbage, "verifikasi")
    act(client, garbage, "teruskan", department_id=str(pupr.id))
    colleague = app.test_client()
    colleague.host = client.host
    login(colleague, role="opd", department="PUPR")
    act(colleague, garbage, "kerjakan")
    stepper = stepper_of(client.get(f"/pengaduan/lacak?kode={garbage.tracking_code}").text)
    assert re.findall(r'<li class="step-(\w+)"', stepper) == [
        "done",
        "done",
        "done",
        "current",
        "todo",
    ]
    assert "dilewati" not in stepper


@pytest.mark.balai_config(
    MAX_CONTENT_LENGTH=16 * 1024 * 1024, PLUGIN_SETTINGS={"pengaduan": {"max_photo_mb": 16}}
)
def test_equal_photo_limits_are_said_once(client, enabled, sampah):
    page = client.get("/pengaduan/lapor").text
    assert "paling besar 16 MB bersama-sama" in page
    assert "masing-masing" not in page


@pytest.mark.balai_config(
    MAX_CONTENT_LENGTH=16 * 1024 * 1024, PLUGIN_SETTINGS={"pengaduan": {"max_photo_mb": 4}}
)
def test_different_photo_limits_are_both_said(client, enabled, sampah):
    page = client.get("/pengaduan/lapor").text
    assert "masing-masing paling besar 4 MB dan bersama-sama 16 MB" in page
