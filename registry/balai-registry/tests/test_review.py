"""Checking and deciding: the job runs the plugin check, maintainers publish or reject,
the submitter reads the report and is told by e-mail."""

from __future__ import annotations

import inspect
import sys
from datetime import UTC

import pytest

from .conftest import basic, upload_form

REVIEW = ("registry.review_submissions",)


@pytest.fixture
def sent(client, enabled, partner_token, build_dist, stored):
    """``sent(version="1.0.0")``: upload a wheel of balai-kebun; the new submission."""
    token = partner_token()

    def send(version: str = "1.0.0"):
        form = upload_form(build_dist(version=version))
        response = client.post(
            "/registry/legacy/", data=form, headers=basic(token), content_type="multipart/form-data"
        )
        assert response.status_code == 200, response.text
        return stored()[-1]

    return send


def test_the_check_job_runs_the_plugin_check_and_keeps_its_report(
    sent, fake_check, run_jobs, stored, mails
):
    seen = fake_check(passed=True)
    submission = sent()
    output = run_jobs()
    assert "registry.check-submission kota-a" in output
    assert "checks passed" in output
    [checked] = stored()
    assert checked.status == "checked"
    assert checked.passed is True
    assert {c["status"] for c in checked.report["checks"]} == {"passed"}
    assert checked.inspection["permissions"] == ["kebun.manage_plot"]
    assert [p.name for p in seen] == [submission.filename]
    [mail] = mails()
    assert mail.recipient == "diskominfo@lebak.example.id"
    assert mail.subject == f"Pemeriksaan {submission.filename}"
    assert "Semua pemeriksaan lolos." in mail.body
    assert f"http://kota-a.test/registry/kiriman/{submission.key}" in mail.body
    assert "nothing to check" not in run_jobs()  # the run is not repeated


def test_the_report_page_shows_each_check_to_whoever_holds_the_link(
    client, other_client, sent, fake_check, run_jobs
):
    fake_check(passed=False)
    submission = sent()
    waiting = client.get(f"/registry/kiriman/{submission.key}").text
    assert "Pemeriksaan belum berjalan." in waiting
    run_jobs()
    page = client.get(f"/registry/kiriman/{submission.key}").text
    assert "Sebagian pemeriksaan tidak lolos." in page
    assert '<span class="status failed"><span aria-hidden="true">✗ </span>gagal</span>' in page
    assert "1 failed: test_x" in page
    assert "Terbitkan" not in page  # no decision form without the permission
    assert client.get("/registry/kiriman/not-the-key").status_code == 404
    assert other_client.get(f"/registry/kiriman/{submission.key}").status_code == 404


def test_maintainer_publishes_a_submission_that_passed(
    client, login, sent, fake_check, run_jobs, stored, mails
):
    fake_check(passed=True)
    submission = sent()
    run_jobs()
    login(client, role="opd", permissions=REVIEW)
    assert submission.filename in client.get("/registry/kelola/").text
    response = client.post(
        f"/registry/kelola/kiriman/{submission.id}/putuskan",
        data={"decision": "publish", "comment": "Terima kasih, Lebak!"},
    )
    assert response.status_code == 302
    assert "Kiriman diterbitkan." in client.get(response.headers["Location"]).text
    [published] = stored()
    assert (published.status, published.comment) == ("published", "Terima kasih, Lebak!")
    assert published.decided_at is not None
    decided = mails()[-1]
    assert decided.subject == f"{submission.filename} diterbitkan"
    assert "Terima kasih, Lebak!" in decided.body


def test_maintainer_rejects_with_a_comment(
    client, login, sent, fake_check, run_jobs, stored, mails
):
    fake_check(passed=False)
    submission = sent()
    run_jobs()
    login(client, role="admin")
    url = f"/registry/kelola/kiriman/{submission.id}/putuskan"
    refused = client.post(url, data={"decision": "publish"})
    assert refused.status_code == 422
    assert "tidak lolos pemeriksaan tidak dapat diterbitkan" in refused.text
    no_reason = client.post(url, data={"decision": "reject", "comment": "  "})
    assert no_reason.status_code == 422
    assert "Tuliskan alasan kiriman ditolak." in no_reason.text
    assert stored()[0].status == "checked"
    assert client.post(url, data={"decision": "reject", "comment": "Uji gagal."}).status_code == 302
    [rejected] = stored()
    assert (rejected.status, rejected.comment) == ("rejected", "Uji gagal.")
    mail = mails()[-1]
    assert mail.subject == f"{submission.filename} ditolak"
    assert "Uji gagal." in mail.body
    page = client.get(f"/registry/kiriman/{submission.key}").text
    assert "Uji gagal." in page
    assert client.post(url, data={"decision": "reject", "comment": "lagi"}).status_code == 422


def test_a_pending_submission_cannot_be_decided_and_checks_can_run_again(
    client, login, sent, fake_check, run_jobs, stored
):
    fake_check(passed=False)
    submission = sent()
    login(client, role="admin")
    url = f"/registry/kelola/kiriman/{submission.id}/putuskan"
    assert client.post(url, data={"decision": "reject", "comment": "x"}).status_code == 422
    run_jobs()
    assert stored()[0].passed is False
    fake_check(passed=True)
    again = f"/registry/kelola/kiriman/{submission.id}/periksa-ulang"
    assert client.post(again).status_code == 302
    assert stored()[0].status == "pending"
    run_jobs()
    assert stored()[0].passed is True


def test_only_maintainers_decide(client, login, sent, fake_check, run_jobs):
    fake_check()
    submission = sent()
    run_jobs()
    login(client, role="opd")
    url = f"/registry/kelola/kiriman/{submission.id}/putuskan"
    assert client.post(url, data={"decision": "publish"}).status_code == 403
    assert client.get("/registry/kelola/").status_code == 403


def test_the_real_plugin_check_has_the_interface_the_job_uses():
    plugincheck = pytest.importorskip("balai.plugincheck")
    parameters = inspect.signature(plugincheck.run_check).parameters
    assert next(iter(parameters)) == "path"
    assert "require_sandbox" in parameters
    assert callable(plugincheck.CheckReport.from_dict)
    assert "balai.plugincheck" in sys.modules


def test_the_job_runs_uploaded_code_only_in_the_sandbox(sent, run_jobs, fake_check, monkeypatch):
    plugincheck = pytest.importorskip("balai.plugincheck")
    fake_check()
    quick = plugincheck.run_check
    asked: dict = {}

    def spy(path, **options):
        asked.update(options)
        return quick(path, **options)

    monkeypatch.setattr(plugincheck, "run_check", spy)
    sent()
    run_jobs()
    assert asked == {"require_sandbox": True, "time_limit": 600}


def test_the_job_runs_the_real_plugin_check(sent, run_jobs, stored, client):
    """No stand-in: the core's check installs the wheel in a scratch environment."""
    pytest.importorskip("balai.plugincheck")
    submission = sent()
    run_jobs()
    [checked] = stored()
    assert checked.status == "checked"
    names = [c["name"] for c in checked.report["checks"]]
    assert names[:3] == ["metadata", "hooks", "conventions"]
    conventions = next(c for c in checked.report["checks"] if c["name"] == "conventions")
    assert conventions["status"] == "failed"  # the test plugin has no services.py
    assert checked.passed is False
    assert checked.inspection["summary"] == "Kebun warga: pendaftaran lahan"
    page = client.get(f"/registry/kiriman/{submission.key}").text
    assert "lacks services.py" in page


def _report(*checks: tuple[str, str, str, str, dict]) -> dict:
    """A check's report as the real check writes it (summaries with message ids)."""
    listed = [
        {"name": n, "status": st, "summary": su, "output": "", "message": m, "params": p}
        for n, st, su, m, p in checks
    ]
    passed = all(c["status"] in ("passed", "skipped") for c in listed)
    return {"passed": passed, "checks": listed, "inspection": {}}


ROUTES = (
    "routes",
    "passed",
    "4 routes, each guarded or public",
    "%(count)d routes, each guarded or public",
    {"count": 4},
)
NO_TESTS = (
    "tests",
    "skipped",
    "a wheel ships no tests (upload the sdist too)",
    "a wheel ships no tests (upload the sdist too)",
    {},
)
NO_POSTGRES = (
    "migrations-postgresql",
    "skipped",
    "no PostgreSQL given (--postgres URL)",
    "no PostgreSQL given (--postgres URL)",
    {},
)


def test_skipped_checks_are_not_called_all_passed(
    client, login, sent, db_session, stored, run_jobs, fake_check
):
    fake_check()
    submission = sent()
    run_jobs()
    [found] = stored()
    found.report = _report(ROUTES, NO_TESTS, NO_POSTGRES)
    db_session.commit()
    page = client.get(f"/registry/kiriman/{submission.key}").text
    assert "Lolos, 2 pemeriksaan dilewati." in page
    assert "Semua pemeriksaan lolos." not in page
    assert page.count('class="status skipped"') == 2 + 1  # each check and the verdict
    # The summaries speak the reader's language.
    assert "4 rute, masing-masing dijaga atau publik" in page
    assert "wheel tidak membawa tes (unggah juga sdist-nya)" in page
    assert "no PostgreSQL given" not in page
    login(client, role="admin")
    listing = client.get("/registry/kelola/").text
    assert "lolos, 2 dilewati" in listing
    publish = client.post(
        f"/registry/kelola/kiriman/{found.id}/putuskan", data={"decision": "publish"}
    )
    assert publish.status_code == 302  # skipped checks do not stop publishing


def test_a_version_whose_other_file_failed_cannot_be_published(
    client, login, enabled, partner_token, build_dist, stored, db_session
):
    token = partner_token()
    for built in (build_dist(), build_dist(sdist=True)):
        form = upload_form(built)
        response = client.post(
            "/registry/legacy/", data=form, headers=basic(token), content_type="multipart/form-data"
        )
        assert response.status_code == 200, response.text
    wheel, sdist = sorted(stored(), key=lambda s: not s.filename.endswith(".whl"))
    failed = (
        "tests",
        "failed",
        "its tests fail: 1 failed",
        "its tests fail: %(result)s",
        {"result": "1 failed"},
    )
    wheel.report, wheel.status = _report(ROUTES, NO_TESTS), "checked"
    sdist.report, sdist.status = _report(ROUTES, failed), "checked"
    db_session.commit()
    login(client, role="admin")
    page = client.get(f"/registry/kiriman/{wheel.key}").text
    assert "Berkas lain dari versi ini tidak lolos pemeriksaan" in page
    assert sdist.filename in page
    assert 'value="publish"' not in page  # no Publish button
    assert 'value="reject"' in page
    refused = client.post(
        f"/registry/kelola/kiriman/{wheel.id}/putuskan", data={"decision": "publish"}
    )
    assert refused.status_code == 422
    assert "versi ini tidak dapat diterbitkan" in refused.text
    assert {s.status for s in stored()} == {"checked"}
    sdist_page = client.get(f"/registry/kiriman/{sdist.key}").text
    assert "tesnya gagal: 1 failed" in sdist_page


def test_the_check_job_is_never_tried_again_by_itself():
    """A check that ran out of time would only hang as long again: a reviewer reruns it."""
    from balai_registry.jobs import JOBS

    assert [(job.name, job.retries) for job in JOBS] == [("registry.check-submission", 0)]


def _send_wheel_and_sdist(client, token, build_dist, stored):
    """Upload the wheel and the sdist of one release; both stored submissions."""
    for built in (build_dist(), build_dist(sdist=True)):
        response = client.post(
            "/registry/legacy/",
            data=upload_form(built),
            headers=basic(token),
            content_type="multipart/form-data",
        )
        assert response.status_code == 200, response.text
    return sorted(stored(), key=lambda s: not s.filename.endswith(".whl"))


def test_a_wheel_waits_while_the_sdist_of_its_version_is_unchecked(
    client, login, enabled, partner_token, build_dist, stored, db_session
):
    wheel, sdist = _send_wheel_and_sdist(client, partner_token(), build_dist, stored)
    wheel.report, wheel.status = _report(ROUTES, NO_TESTS), "checked"
    db_session.commit()
    assert sdist.status == "pending"
    login(client, role="admin")
    page = client.get(f"/registry/kiriman/{wheel.key}").text
    assert "Berkas lain dari versi ini masih menunggu pemeriksaannya" in page
    assert sdist.filename in page
    assert 'value="publish"' not in page
    url = f"/registry/kelola/kiriman/{wheel.id}/putuskan"
    refused = client.post(url, data={"decision": "publish"})
    assert refused.status_code == 422
    assert "masih menunggu pemeriksaannya" in refused.text
    assert stored()[0].status == "checked"
    # Once the sdist is checked (and passed), the wheel is published.
    sdist = stored()[1]
    sdist.report, sdist.status = _report(ROUTES), "checked"
    db_session.commit()
    assert 'value="publish"' in client.get(f"/registry/kiriman/{wheel.key}").text
    assert client.post(url, data={"decision": "publish"}).status_code == 302


def test_a_pending_submission_offers_no_decision_and_no_rerun_until_its_checks_ran(
    client, login, sent, fake_check, run_jobs, stored
):
    from datetime import timedelta

    from balai.testing import travel

    fake_check(passed=True)
    submission = sent()
    login(client, role="admin")
    again = f"/registry/kelola/kiriman/{submission.id}/periksa-ulang"
    waiting = client.get(f"/registry/kiriman/{submission.key}").text
    assert "Terbitkan atau tolak setelah pemeriksaan berjalan." in waiting
    assert "Jalankan pemeriksaan lagi" not in waiting
    assert "Wajib diisi bila menolak" not in waiting and 'value="reject"' not in waiting
    assert client.post(again).status_code == 409
    # A check that should have ended long ago (its job failed) may be run again.
    with travel(submission.created_at.replace(tzinfo=UTC) + timedelta(minutes=16)):
        stalled = client.get(f"/registry/kiriman/{submission.key}").text
    assert "Jalankan pemeriksaan lagi" in stalled
    run_jobs()
    checked = client.get(f"/registry/kiriman/{submission.key}").text
    assert "Jalankan pemeriksaan lagi" in checked
    assert "Wajib diisi bila menolak" in checked and 'value="reject"' in checked
    assert client.post(again).status_code == 302


def test_a_submission_page_lists_the_other_files_of_its_version(
    client, login, enabled, partner_token, build_dist, stored, db_session
):
    wheel, sdist = _send_wheel_and_sdist(client, partner_token(), build_dist, stored)
    wheel.report, wheel.status = _report(ROUTES, NO_TESTS), "checked"
    sdist.report, sdist.status = _report(ROUTES), "checked"
    db_session.commit()
    page = client.get(f"/registry/kiriman/{wheel.key}").text
    other = page.split("Berkas lain dari versi ini</h2>")[1].split("</section>")[0]
    assert f'href="/registry/kiriman/{sdist.key}">{sdist.filename}</a>' in other
    assert '<span class="status passed">lolos</span>' in other
    assert "pemeriksaan sdist-nya yang menjalankannya" in other
    assert wheel.filename in client.get(f"/registry/kiriman/{sdist.key}").text
