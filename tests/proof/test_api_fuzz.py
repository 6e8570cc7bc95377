"""API fuzzing: every operation of a region's OpenAPI document, driven by schemathesis.

A region with every plugin switched on and its demo data serves its own document at
``/api/v1/openapi.json``. The document must be a valid OpenAPI 3 document; then
schemathesis generates valid and invalid requests for each of its operations, sent
in-process to the WSGI app, once with a region admin's personal API token and once
anonymously. No answer may be a server error, and every answer must match the
document: a documented status code, the documented content type, a body conforming
to the documented schema, and invalid input refused with a 4xx. The fuzzing writes
only to the fuzzed region: every row of the other regions is unchanged afterwards.

Generation is bounded and derandomized (``hypothesis.settings`` below), so a run is
reproducible and short. To fuzz harder, raise ``MAX_EXAMPLES``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from filling import enable_all, fill
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate as validate_openapi
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select, text

from balai.db import Base, db
from balai.permissions import public
from balai.tenancy import TenantInfo

PART = "API fuzzing"
DOCUMENT = "/api/v1/openapi.json"
MAX_EXAMPLES = 10  # per operation, generation mode and identity

SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass
class Findings:
    """What the fuzzing sent and what the checks found."""

    requests: int = 0
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def report(self) -> str:
        return "\n\n".join([*self.server_errors, *self.violations][:5])


def test_fuzz_every_operation_as_admin_and_anonymously(
    app: Flask,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    client: FlaskClient,
    login: Callable[..., Any],
    figures: Any,
) -> None:
    tenant = enable_all(app, tenant)
    fill(app, tenant)
    fill(app, enable_all(app, other_tenant))
    token = admin_token(client, login, tenant)
    schema = load_document(app, tenant)
    others_before = fingerprint_of_others(tenant)

    findings = Findings()
    operations = [result.ok() for result in schema.get_all_operations()]
    known = known_path_values(tenant)
    for operation in operations:
        for headers in ({"Authorization": f"Bearer {token}"}, {}):
            for mode in modes_of(operation):
                fuzz(operation, mode, headers, known, tenant, findings)

    figures.record(PART, "operations tested", len(operations))
    figures.record(PART, "requests sent", findings.requests)
    figures.record(PART, "server errors", len(findings.server_errors))
    figures.record(PART, "schema violations", len(findings.violations))
    assert findings.server_errors == [], findings.report()
    assert findings.violations == [], findings.report()
    assert fingerprint_of_others(tenant) == others_before, "fuzzing changed another region"


def admin_token(client: FlaskClient, login: Callable[..., Any], tenant: TenantInfo) -> str:
    """A personal API token issued to a region admin the way the account page issues it."""
    admin = login(client, role="admin")
    give_desk_duty(admin.id, tenant)
    page = client.post("/akun/token", data={"name": "fuzzing"}).text
    found = re.search(r'<code class="secret">([^<]+)</code>', page)
    assert found, "the token page shows the new token"
    return found.group(1)


def give_desk_duty(user_id: int, tenant: TenantInfo) -> None:
    """Registration duty at the first puskesmas, so the desk and patient reads answer."""
    from balai_puskesmas.models import Facility, Staff

    with db.tenant_session(tenant.id) as session:
        facility = session.scalars(select(Facility).order_by(Facility.id)).first()
        session.add(Staff(user_id=user_id, facility_id=facility.id, duty="registration"))


def load_document(app: Flask, tenant: TenantInfo) -> schemathesis.BaseSchema:
    """The region's own document, validated by two validators, served by the app itself."""
    schema = schemathesis.openapi.from_wsgi(DOCUMENT, app, headers={"Host": tenant.domains[0]})
    validate_openapi(schema.raw_schema)
    schema.validate()
    return schema


def known_path_values(tenant: TenantInfo) -> dict[str, Any]:
    """A real value for each path parameter, so fuzzing reaches past the 404s."""
    from balai_pengaduan.models import Complaint
    from balai_pengumuman.models import Announcement
    from balai_puskesmas.models import Clinic, Facility, Patient, Ticket

    columns = {
        "complaint_id": Complaint.id,
        "announcement_id": Announcement.id,
        "facility_id": Facility.id,
        "clinic_id": Clinic.id,
        "patient_id": Patient.id,
        "code": Ticket.code,
    }
    with db.tenant_session(tenant.id) as session:
        return {name: session.scalar(select(c).order_by(c)) for name, c in columns.items()}


def modes_of(operation: Any) -> list[GenerationMode]:
    """Valid requests always; invalid ones where there is input that could be invalid."""
    has_input = operation.path_parameters or operation.query or operation.body
    return [GenerationMode.POSITIVE, *([GenerationMode.NEGATIVE] if has_input else [])]


def fuzz(
    operation: Any,
    mode: GenerationMode,
    headers: dict[str, str],
    known: dict[str, Any],
    tenant: TenantInfo,
    findings: Findings,
) -> None:
    """Send ``MAX_EXAMPLES`` generated requests to one operation and check each answer."""
    strategies = [operation.as_strategy(mode)]
    real = {p.name: known[p.name] for p in operation.path_parameters if p.name in known}
    if real and mode is GenerationMode.POSITIVE:
        strategies.append(operation.as_strategy(mode, path_parameters=real))

    @SETTINGS
    @given(case=st.one_of(strategies))
    def send(case: schemathesis.Case) -> None:
        findings.requests += 1
        try:
            with case.operation.app.app_context():  # a fresh ``g`` per request, as in production
                response = case.call(base_url=f"http://{tenant.domains[0]}", headers=headers)
        except Exception as exc:  # the app raised: a server error
            findings.server_errors.append(f"{case.method} {case.formatted_path}: {exc!r}")
            return
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                found = f"{case.method} {case.formatted_path}: {failure}"
                if isinstance(failure, ServerError):
                    findings.server_errors.append(found)
                else:
                    findings.violations.append(found)

    try:
        send()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, f"no valid request for {operation.label}"


def fingerprint_of_others(tenant: TenantInfo) -> str:
    """A digest of every row of every region-scoped table that is not ``tenant``'s."""
    digest = hashlib.sha256()
    with db.all_tenants() as session:
        for table, key in scoped_tables():
            rows = session.execute(
                select(table)
                .where(text("tenant_id IS NULL OR tenant_id != :tenant"))
                .order_by(*key),
                {"tenant": tenant.id},
            )
            digest.update(f"{table.name}:{[tuple(r) for r in rows]}".encode())
    return digest.hexdigest()


def scoped_tables() -> Iterator[tuple[Any, list[Any]]]:
    for table in Base.metadata.sorted_tables:
        if "tenant_id" in table.columns:
            yield table, list(table.primary_key.columns)


def _raises() -> Any:
    raise RuntimeError("broken")


def _wrong_body() -> Any:
    return [{"name": 1, "version": None}]


@pytest.mark.parametrize(
    ("broken", "kind"), [(_raises, "server_errors"), (_wrong_body, "violations")]
)
def test_the_checks_go_red_on_a_broken_endpoint(
    app: Flask, tenant: TenantInfo, monkeypatch: pytest.MonkeyPatch, broken: Any, kind: str
) -> None:
    monkeypatch.setitem(app.view_functions, "balai_api.list_plugins", public(broken))
    operation = load_document(app, tenant)["/api/v1/plugins"]["GET"]
    findings = Findings()
    fuzz(operation, GenerationMode.POSITIVE, {}, {}, tenant, findings)
    assert getattr(findings, kind), f"a broken endpoint went unnoticed ({kind})"
