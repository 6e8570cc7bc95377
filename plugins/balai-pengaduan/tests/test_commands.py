"""``balai pengaduan check-deadlines`` and ``balai pengaduan api-key create/revoke``."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, update

from balai import hookimpl
from balai.db import db
from balai_pengaduan.clients import find_client
from balai_pengaduan.models import ApiClient, Category, Complaint


class Refuser:
    """A plugin whose overdue listener fails, to show one region cannot stop the others."""

    name = "tolak"

    @hookimpl
    def complaints_overdue(self, tenant: Any, complaints: list[Any], session: Any) -> None:
        raise RuntimeError("listener is down")


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def invoke(*args: str) -> Any:
        return runner.invoke(args=["pengaduan", *args])

    return invoke


def make_overdue(db_session, found) -> None:
    db_session.execute(
        update(Complaint).where(Complaint.id == found.id).values(forward_due=date(2020, 1, 6))
    )
    db_session.commit()


def announced(db_session) -> list[bool]:
    db_session.rollback()
    return list(db_session.scalars(select(Complaint.overdue_announced).order_by(Complaint.id)))


def test_check_deadlines_marks_each_region_once(
    run, both, other_tenant, sampah, complaint, db_session
):
    make_overdue(db_session, complaint())
    complaint()
    result = run("check-deadlines")
    assert result.exit_code == 0, result.output
    assert "kota-a: 1 newly overdue" in result.output
    assert "kota-b: 0 newly overdue" in result.output
    assert announced(db_session) == [True, False]
    assert "kota-a: 0 newly overdue" in run("check-deadlines").output


def test_regions_without_the_plugin_are_skipped(run, tenant, other_tenant):
    result = run("check-deadlines")
    assert result.exit_code == 0
    assert result.output == ""


@pytest.mark.balai_plugins(Refuser())
def test_a_failing_region_is_reported_and_the_others_checked(
    run, both, other_tenant, enable_plugin, sampah, complaint, db_session
):
    enable_plugin("tolak")
    make_overdue(db_session, complaint())
    with db.tenant_session(other_tenant.id) as session:
        session.add(Category(code="SAMPAH", name="Sampah B"))
    result = run("check-deadlines")
    assert result.exit_code == 1
    assert "kota-a: failed: RuntimeError: listener is down" in result.output
    assert "kota-b: 0 newly overdue" in result.output
    assert announced(db_session) == [False]  # rolled back: the next run tries again


def test_api_key_create_and_revoke(run, enabled, db_session):
    result = run("api-key", "create", "Aplikasi Warga", "--tenant", "kota-a")
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("o311_")
    client = find_client(db_session, key)
    assert client is not None and client.name == "Aplikasi Warga"
    assert client.key_hash != key
    result = run("api-key", "revoke", str(client.id), "--tenant", "kota-a")
    assert result.exit_code == 0, result.output
    db_session.rollback()
    assert find_client(db_session, key) is None
    assert db_session.scalar(select(ApiClient.revoked_at)) is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "App", "--tenant", "kota-x"), "unknown tenant 'kota-x'"),
        (("create", "App", "--tenant", "kota-b"), "kota-b has not enabled the pengaduan plugin"),
        (("create", " ", "--tenant", "kota-a"), "1 to 100 characters"),
        (("revoke", "999", "--tenant", "kota-a"), "kota-a has no Open311 client 999"),
    ],
)
def test_api_key_refusals(run, enabled, other_tenant, args, message):
    result = run("api-key", *args)
    assert result.exit_code == 1
    assert message in result.output


def test_a_key_works_only_in_its_own_region(run, both, other_tenant, db_session):
    key = run("api-key", "create", "App", "--tenant", "kota-b").output.strip().splitlines()[-1]
    assert find_client(db_session, key) is None
    with db.tenant_session(other_tenant.id) as session:
        assert find_client(session, key) is not None


def test_the_deadline_check_is_a_job_run_once_per_region(
    app, both, other_tenant, sampah, complaint, db_session, run_command
):
    from balai.testing import travel

    make_overdue(db_session, complaint())
    with travel("2026-03-04T00:20:00+07:00"):  # the 00:15 slot, in the region's zone
        result = run_command("jobs", "run-due")
        again = run_command("jobs", "run-due")
    assert result.exit_code == 0, result.output
    slot = "2026-03-03T17:15:00Z"
    assert f"pengaduan.check-deadlines kota-a {slot}: done (1 newly overdue)" in result.output
    assert f"pengaduan.check-deadlines kota-b {slot}: done (0 newly overdue)" in result.output
    assert "pengaduan.sweep-photos kota-a" in result.output
    assert "pengaduan.check-deadlines" not in again.output
    assert announced(db_session) == [True]
