"""Days at the edge of what Python knows (0001-01-01, 9999-12-31) in every date filter.

A filter that adds a day to ``9999-12-31``, or turns ``0001-01-01`` into the start of
a day in WIB, overflows: the date fields of :mod:`balai.fields` refuse such days with a
message naming the range, so each filter answers 400 (or shows the form's error), never 500.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.balai_config(PROPAGATE_EXCEPTIONS=False)

EDGES = ["9999-12-31", "0001-01-01"]


@pytest.mark.parametrize("day", EDGES)
def test_complaint_lists_refuse_days_no_one_means(client, enable_plugin, login, day):
    enable_plugin("pengaduan")
    for query in (f"since={day}", f"until={day}"):
        page = client.get(f"/pengaduan/daftar?{query}")
        assert page.status_code in (200, 400), query
        assert "1900-01-01" in page.get_data(as_text=True), query
    login(client, role="admin")
    page = client.get(f"/pengaduan/petugas/?until={day}")
    assert page.status_code in (200, 400)
    assert "1900-01-01" in page.get_data(as_text=True)


@pytest.mark.parametrize("day", EDGES)
def test_the_complaints_api_refuses_days_no_one_means(client, enable_plugin, login, day):
    enable_plugin("pengaduan")
    login(client, role="admin")
    answer = client.get(f"/api/v1/pengaduan/complaints?submitted_until={day}T00:00:00%2B07:00")
    assert answer.status_code in (400, 422)
    assert "submitted_until" in answer.get_data(as_text=True)


@pytest.mark.parametrize("day", EDGES)
@pytest.mark.parametrize("name", ["start_date", "end_date"])
def test_open311_refuses_days_no_one_means(client, enable_plugin, day, name):
    enable_plugin("pengaduan")
    answer = client.get(f"/pengaduan/open311/v2/requests.json?{name}={day}T00:00:00Z")
    assert answer.status_code == 400
    assert answer.json[0]["code"] == 400
    assert name in answer.json[0]["description"]


@pytest.mark.parametrize("day", EDGES)
def test_the_health_audit_filter_refuses_days_no_one_means(client, enable_plugin, login, day):
    enable_plugin("puskesmas")
    login(client, role="admin")
    for path in ("/puskesmas/kelola/audit", "/puskesmas/kelola/audit.csv"):
        for query in (f"date_from={day}", f"date_to={day}"):
            answer = client.get(f"{path}?{query}")
            assert answer.status_code in (200, 400), f"{path}?{query}"
            if path.endswith("audit"):
                assert "1900-01-01" in answer.get_data(as_text=True)
