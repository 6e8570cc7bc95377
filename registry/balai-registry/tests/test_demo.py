"""Sample data for ``balai demo``: a partner, and the two sample plugins of
``registry/samples/`` built, checked for real and published, with the partner's feedback."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from balai_registry import demo, plugin
from balai_registry.feedback import Evaluation
from balai_registry.models import Submission


def _names(wheels: list[demo.Wheel]) -> list[tuple[str, str]]:
    return [(wheel.name, wheel.version) for wheel in wheels]


def test_demo_publishes_the_two_samples_after_their_checks(
    client, tenant, enabled, db_session, login
):
    login(client, role="admin")  # the region's admin publishes, as the maintainer
    plugin.populate_demo(tenant=tenant, session=db_session)
    db_session.commit()

    listing = client.get("/registry/").text
    assert "balai-kebun-warga" in listing and "balai-bank-sampah" in listing
    items = client.get("/api/v1/registry/plugins").json["items"]
    assert sorted((i["name"], i["latest_version"]) for i in items) == [
        ("balai-bank-sampah", "0.1.0"),
        ("balai-kebun-warga", "0.1.0"),
    ]
    page = client.get("/registry/balai-kebun-warga/").text
    assert "Kebun Warga" in page
    submissions = db_session.scalars(select(Submission).order_by(Submission.id)).all()
    assert [s.status for s in submissions] == ["published", "published"]
    for submission in submissions:
        checks = {c["name"]: c["status"] for c in submission.report["checks"]}
        # The real check: the routes, migrations and cross-tenant sweep ran and passed.
        assert {checks[n] for n in ("metadata", "routes", "migrations-sqlite", "sweep")} == {
            "passed"
        }
        # The comment says what the verdict above it says (skipped checks included).
        assert submission.comment.startswith(demo.decision_comment(submission))
        assert submission.decided_by_id is not None  # the region's admin, as maintainer
        assert (demo.sandboxed(submission.report)) == ("bubblewrap" not in submission.comment)
    [evaluation] = db_session.scalars(select(Evaluation)).all()
    assert (evaluation.plugin, evaluation.version) == ("balai-kebun-warga", "0.1.0")
    partners = client.get("/registry/kelola/mitra").text
    assert "Kabupaten Lebak" in partners
    endorsements = client.get("/registry/kelola/dukungan").text
    assert "Dipakai di tiga kecamatan" in endorsements
    for page in (partners, endorsements):  # the theme's table, as other admin lists
        assert '<div class="table-wrap">' in page and '<th scope="col">' in page
    report = client.get(f"/registry/kiriman/{submissions[0].key}").text
    assert "sweep" in report


def test_a_sample_that_fails_its_checks_waits_and_its_report_says_why(
    app, client, tenant, enabled, db_session, fake_check, tmp_path
):
    app.config["DEMO_CACHE"] = str(tmp_path)  # a report of its own, not the session's
    checked = fake_check(passed=False)

    plugin.populate_demo(tenant=tenant, session=db_session)
    db_session.commit()

    assert len(checked) == 2
    submissions = db_session.scalars(select(Submission)).all()
    assert {s.status for s in submissions} == {"checked"}
    assert client.get("/api/v1/registry/plugins").json["items"] == []
    page = client.get(f"/registry/kiriman/{submissions[0].key}").text
    assert "1 failed: test_x" in page
    assert db_session.scalars(select(Evaluation)).all() == []


def test_a_check_is_kept_by_the_wheels_sha256(app, fake_check, tmp_path):
    app.config["DEMO_CACHE"] = str(tmp_path)
    checked = fake_check(passed=True)
    wheels = demo.build_wheels(cache=tmp_path)

    first = [demo.check(wheel, tmp_path) for wheel in wheels]
    again = [demo.check(wheel, tmp_path) for wheel in wheels]

    assert first == again and len(checked) == 2  # the second time from the cache
    kept = sorted(p.name for p in (tmp_path / demo.CHECKS_FOLDER).iterdir())
    assert kept == sorted(f"{wheel.sha256}.json" for wheel in wheels)


def test_the_sample_wheels_are_the_same_bytes_every_time(tmp_path):
    once, twice = demo.build_wheels(), demo.build_wheels()

    assert _names(once) == [("balai-kebun-warga", "0.1.0"), ("balai-bank-sampah", "0.1.0")]
    assert [w.sha256 for w in once] == [w.sha256 for w in twice]
    assert [w.filename for w in once] == [
        "balai_kebun_warga-0.1.0-py3-none-any.whl",
        "balai_bank_sampah-0.1.0-py3-none-any.whl",
    ]
    cached = demo.build_wheels(cache=tmp_path)
    assert [w.sha256 for w in cached] == [w.sha256 for w in once]
    assert [w.sha256 for w in demo.build_wheels(cache=tmp_path)] == [w.sha256 for w in once]


def test_a_changed_source_is_built_again(tmp_path):
    source = tmp_path / "samples"
    shutil.copytree(demo.SAMPLES_DIR / demo.SAMPLES[0], source / demo.SAMPLES[0])
    cache = tmp_path / "cache"
    [before] = demo.build_wheels(demo.SAMPLES[:1], source, cache)
    readme = source / demo.SAMPLES[0] / "README.md"
    readme.write_text(readme.read_text() + "\nSatu baris lagi.\n")

    [after] = demo.build_wheels(demo.SAMPLES[:1], source, cache)

    assert before.sha256 != after.sha256
    with zipfile.ZipFile(io.BytesIO(after.data)) as wheel:
        metadata = wheel.read("balai_kebun_warga-0.1.0.dist-info/METADATA").decode()
    assert "Satu baris lagi." in metadata
    assert hashlib.sha256(after.data).hexdigest() == after.sha256


def test_missing_samples_are_a_clear_error(tmp_path):
    with pytest.raises(demo.SampleError, match="no sample distribution balai-kebun-warga"):
        demo.build_wheels(source=tmp_path)


def test_a_cached_report_of_another_balai_version_is_not_used(app, fake_check, tmp_path):
    checked = fake_check(passed=True)
    [wheel] = [w for w in demo.build_wheels(cache=tmp_path) if w.name == demo.SAMPLES[0]]
    folder = tmp_path / demo.CHECKS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stale = {"balai": "0.0.1", "report": {"passed": False, "checks": [], "inspection": {}}}
    (folder / f"{wheel.sha256}.json").write_text(json.dumps(stale))

    report = demo.check(wheel, tmp_path)

    assert report["passed"] is True and len(checked) == 1
    assert json.loads(Path(folder / f"{wheel.sha256}.json").read_text())["report"] == report


@pytest.mark.parametrize(
    ("statuses", "said"),
    [
        (["passed", "passed"], "Semua pemeriksaan lulus;"),
        (["passed", "skipped", "skipped"], "Lolos; 2 pemeriksaan dilewati"),
    ],
)
def test_the_demo_comment_agrees_with_the_verdict(statuses, said):
    checks = [{"name": f"c{n}", "status": status} for n, status in enumerate(statuses)]
    submission = Submission(report={"passed": True, "checks": checks})
    comment = demo.decision_comment(submission)
    assert comment.startswith(said)
    assert ("Semua pemeriksaan lulus" in comment) == ("skipped" not in statuses)
