"""The plugin's events reach the other plugins a region has enabled, with the right objects."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import update

from balai import hookimpl
from balai.tenancy import TenantInfo, registry
from balai_pengaduan.clients import create_client
from balai_pengaduan.commands import check_deadlines
from balai_pengaduan.models import Complaint


class Recorder:
    """Another plugin, listening to the complaint events."""

    name = "rekam"

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail_on: str | None = None

    def _record(self, *call: Any) -> None:
        self.calls.append(call)
        if call[0] == self.fail_on:
            raise RuntimeError(f"{call[0]} refused")

    @hookimpl
    def complaint_submitted(self, tenant: Any, complaint: Any, session: Any) -> None:
        self._record("submitted", tenant.slug, complaint.id, complaint.channel, session)

    @hookimpl
    def complaint_status_changed(
        self, tenant: Any, complaint: Any, event: Any, session: Any
    ) -> None:
        self._record("changed", tenant.slug, complaint.id, event.from_status, event.to_status)

    @hookimpl
    def complaints_overdue(self, tenant: Any, complaints: list[Any], session: Any) -> None:
        self._record("overdue", tenant.slug, sorted(c.id for c in complaints))


RECORDER = Recorder()
pytestmark = pytest.mark.balai_plugins(RECORDER)


@pytest.fixture
def recorder(enabled, enable_plugin) -> Recorder:
    """The recorder, switched on for ``tenant`` and with no calls yet."""
    enable_plugin("rekam")
    RECORDER.calls.clear()
    RECORDER.fail_on = None
    return RECORDER


def overdue(db_session, complaint) -> None:
    db_session.execute(
        update(Complaint).where(Complaint.id == complaint.id).values(forward_due=date(2020, 1, 6))
    )
    db_session.commit()


def test_open311_submission_is_announced(client, recorder, sampah, db_session, stored):
    _client, key = create_client(db_session, "Aplikasi")
    db_session.commit()
    form = {"api_key": key, "service_code": "SAMPAH", "address_string": "Pasar", "description": "x"}
    assert client.post("/pengaduan/open311/v2/requests.json", data=form).status_code == 200
    [complaint] = stored()
    [(name, slug, complaint_id, channel, session)] = recorder.calls
    assert (name, slug, complaint_id, channel) == ("submitted", "kota-a", complaint.id, "open311")
    assert session.info["tenant_id"] == complaint.tenant_id


def test_refusing_listener_aborts_the_submission(client, recorder, sampah, db_session, stored):
    _client, key = create_client(db_session, "Aplikasi")
    db_session.commit()
    recorder.fail_on = "submitted"
    form = {"api_key": key, "service_code": "SAMPAH", "address_string": "Pasar", "description": "x"}
    with pytest.raises(RuntimeError, match="submitted refused"):
        client.post("/pengaduan/open311/v2/requests.json", data=form)
    assert stored() == []


def test_api_transition_is_announced(client, recorder, sampah, complaint, login):
    found = complaint()
    recorder.calls.clear()
    login(client, role="admin")
    url = f"/api/v1/pengaduan/complaints/{found.id}/transitions"
    assert client.post(url, json={"status": "verified"}).status_code == 200
    assert recorder.calls == [("changed", "kota-a", found.id, "received", "verified")]


def test_refused_transition_announces_nothing(client, recorder, sampah, complaint, login):
    found = complaint()
    recorder.calls.clear()
    login(client, role="admin")
    url = f"/api/v1/pengaduan/complaints/{found.id}/transitions"
    assert client.post(url, json={"status": "closed"}).status_code == 422
    assert recorder.calls == []


def test_overdue_complaints_are_announced_once(app, recorder, sampah, complaint, db_session):
    late = [complaint(), complaint()]
    complaint()  # still on time
    for found in late:
        overdue(db_session, found)
    recorder.calls.clear()
    assert check_deadlines(recorder_tenant(app)) == 2
    assert recorder.calls == [("overdue", "kota-a", sorted(c.id for c in late))]
    recorder.calls.clear()
    assert check_deadlines(recorder_tenant(app)) == 0
    assert recorder.calls == []


def test_regions_without_the_listener_do_not_call_it(
    app, enabled, sampah, complaint, db_session, enable_plugin
):
    RECORDER.calls.clear()
    overdue(db_session, complaint())
    assert check_deadlines(recorder_tenant(app)) == 1
    assert RECORDER.calls == []


def recorder_tenant(app: Any) -> TenantInfo:
    """``tenant`` as the registry has it now, with the plugins switched on since."""
    found = registry(app).by_slug("kota-a")
    assert found is not None
    return found
