"""The cross-tenant sweep of every installed plugin: no request of region A reaches
region B's data.

The sweep itself is public (:mod:`balai.proof.sweep`, whose docstring says what a
leak is); here region B gets every plugin's demo data and a waiting run of every job,
region A every plugin too, and every route of the core and of every plugin is swept.
The sweep records its figures under "cross-tenant sweep". The last test removes the
tenant filter (and, on PostgreSQL, stops forcing row-level security) and shows the
sweep then finds leaks: in lists, on object pages, and by ids alone with no marker.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from filling import enable_all, enqueue_jobs, fill
from flask import Flask

from balai.proof.sweep import (
    PART,
    Keys,
    Observer,
    Regions,
    Sweep,
    SweepResult,
    row_security_not_forced,
    rows_of,
    run_sweep,
    sign_in,
    targets,
)
from balai.tenancy import TenantInfo, registry
from balai.testing import PASSWORD


@pytest.fixture
def regions(app: Flask, tenant: TenantInfo, other_tenant: TenantInfo) -> Regions:
    enable_all(app, tenant)
    fill(app, enable_all(app, other_tenant))
    for region in (tenant, other_tenant):  # job names are in both: only B's keys are B's
        enqueue_jobs(app, registry(app).by_id(region.id))
    return sign_in(
        app, registry(app).by_id(tenant.id), registry(app).by_id(other_tenant.id), PASSWORD
    )


@pytest.mark.balai_config(PROPAGATE_EXCEPTIONS=False)
def test_no_request_of_one_region_reaches_another(app, regions, figures):
    result = run_sweep(app, regions)
    assert result.keys.markers and result.keys.ids and result.keys.strings
    _report(figures, result)
    tally = result.tally
    assert tally.errors == [], f"{len(tally.errors)} server errors: {tally.errors[:10]}"
    assert tally.leaks == [], f"{len(tally.leaks)} leaks of {tally.tried}: {tally.leaks[:10]}"
    assert not result.b_changed, "B's rows changed"


@pytest.mark.balai_config(PROPAGATE_EXCEPTIONS=False)
def test_the_sweep_goes_red_without_the_tenant_filter(app, regions, monkeypatch):
    """The sweep is only worth something if it notices a missing filter."""
    import balai.db

    keys = Keys.of(rows_of(regions.b.id), rows_of(regions.a.id))
    reads = [t for t in targets(app, keys) if t.method == "GET"]
    monkeypatch.setattr(balai.db, "_tenant_criteria", lambda tenant_id: ())
    with row_security_not_forced(app), Observer(app).watching() as observer:
        sweep = Sweep(app, keys, observer, rows_of(regions.a.id).ids())
        tally = sweep.run(
            regions.clients["admin"],
            reads,
            host=regions.a.domains[0],
            own_host=True,
            label="A's admin, no filter",
        )
        sweep.keys = replace(keys, markers=[])  # the ids alone must give it away too
        blind = sweep.run(
            regions.clients["admin"],
            [t for t in reads if t.ids],
            host=regions.a.domains[0],
            own_host=True,
            label="A's admin, no filter, no markers",
        )
    a_ids = rows_of(regions.a.id).ids()
    tally.judge_suspects(a_ids)
    blind.judge_suspects(a_ids)
    assert any("shows B's" in leak for leak in tally.leaks if "?" in leak), "lists"
    assert any("shows B's" in leak for leak in tally.leaks if "?" not in leak), "objects"
    assert any("answers for B's ids" in leak for leak in blind.leaks), "ids"


def _report(figures: Any, result: SweepResult) -> None:
    print(f"\n{PART}: {result.summary()}")
    if result.keys.empty_tables:
        print(f"tables with no rows of B to aim at: {', '.join(result.keys.empty_tables)}")
    figures.record(PART, "requests tried", result.tally.tried)
    figures.record(PART, "leaks", len(result.tally.leaks))
    figures.record(PART, "server errors", len(result.tally.errors))
