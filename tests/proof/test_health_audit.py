"""Every showing of health data is in the audit trail, once.

Every route of e-Puskesmas, web and API, is called with every method it accepts, as
each kind of user (a visitor, a citizen whose record it is, officers on registration,
clinician and viewer duty at the puskesmas, a region admin without a duty), with
probes that reach its reading paths: no input, a queue number (one whose holder gave
an unregistered NIK, one linked to the patient), a patient at a clinic, a NIK, a
name, and a visit form that is refused. A response **shows health data** when it
carries a value that only the database can have given it: the patient's name,
address, NIK, phone or BPJS number, the NIK given with a queue number, a visit's
complaint or notes (values the request itself sent do not count). Each such response
must have added exactly one entry to the audit trail; no request may fail.

The companion test forges the audit context (the entry is never written) and checks
that the walk then finds showings without an entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from balai.db import db, utcnow
from balai.tenancy import TenantInfo, registry, save_plugin_settings
from balai_puskesmas import queue as tickets
from balai_puskesmas.models import (
    AuditEntry,
    Clinic,
    Diagnosis,
    Export,
    Facility,
    Icd10Synonym,
    Patient,
    QueueCounter,
    Staff,
    Ticket,
    Visit,
)
from balai_puskesmas.runtime import vault_for

PART = "health data audit"
METHODS = ("GET", "POST")
ROLES = ("anonymous", "warga", "registration", "clinician", "viewer", "admin")
NIK = "3671011503859901"  # the patient's
TICKET_NIK = "3671015507929902"  # given with a queue number, no patient has it
PHONE = "+6281234560077"
BPJS = "0009998887776"
#: Values only the database can put in a response, by what they are.
MARKERS = {
    "name": "Markus Penanda",
    "address": "Jl. Penanda Tujuh",
    "nik": NIK,
    "ticket nik": TICKET_NIK,
    "phone": PHONE[3:],
    "bpjs": BPJS,
    "complaint": "Keluhan penanda",
    "notes": "Catatan penanda",
}
ALL_DAY = {str(d): ["00:00", "23:59"] for d in range(1, 8)}


@dataclass
class Scene:
    app: Flask
    tenant: TenantInfo
    ids: dict[str, int] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    clients: dict[str, FlaskClient] = field(default_factory=dict)


def _client(app: Flask, tenant: TenantInfo) -> FlaskClient:
    client = app.test_client()
    client.host = tenant.domains[0]  # type: ignore[attr-defined]
    return client


@pytest.fixture
def scene(app, tenant, enable_plugin, login) -> Scene:
    tenant = enable_plugin("puskesmas")
    save_plugin_settings(
        app, tenant, "puskesmas", {"closed_on_holidays": False, "export_enabled": True}
    )
    tenant = registry(app).by_id(tenant.id)
    vault = vault_for(app.config, tenant.id)
    found = Scene(app, tenant)
    found.clients["anonymous"] = _client(app, tenant)
    users = {}
    for role in ROLES[1:]:
        found.clients[role] = _client(app, tenant)
        kind = {"warga": "warga", "admin": "admin"}.get(role, "opd")
        users[role] = login(found.clients[role], kind, tenant=tenant)
    spare = login(_client(app, tenant), "opd", tenant=tenant)
    now = utcnow()
    today = tickets.region_today(now, "Asia/Jakarta")
    with db.tenant_session(tenant.id) as session:
        facility = Facility(code="PEN", name="Puskesmas Uji", hours=ALL_DAY)
        session.add(facility)
        session.flush()
        umum = Clinic(facility_id=facility.id, code="UMUM", name="Poli Umum", position=0)
        kia = Clinic(facility_id=facility.id, code="KIA", name="Poli KIA", position=1)
        session.add_all([umum, kia])
        session.flush()
        for role in ("registration", "clinician", "viewer"):
            session.add(Staff(user_id=users[role].id, facility_id=facility.id, duty=role))
        spare_duty = Staff(user_id=spare.id, facility_id=facility.id, duty="viewer")
        session.add(spare_duty)
        patient = Patient(
            name=MARKERS["name"],
            address=MARKERS["address"],
            birth_date=date(1985, 3, 15),
            sex="male",
            user_id=users["warga"].id,
        )
        patient.nik_cipher, patient.nik_hash = vault.seal(NIK)
        patient.phone_cipher, patient.phone_hash = vault.seal(PHONE)
        patient.bpjs_cipher, patient.bpjs_hash = vault.seal(BPJS)
        session.add(patient)
        session.flush()
        visit = Visit(
            patient_id=patient.id,
            facility_id=facility.id,
            clinic_id=umum.id,
            clinician_id=users["clinician"].id,
            clinician_name="dr. Uji",
            started_at=now,
            complaint=MARKERS["complaint"],
            notes=MARKERS["notes"],
        )
        session.add(visit)
        session.flush()
        session.add(Diagnosis(visit_id=visit.id, code="J06.9", display="ISPA", position=0))
        session.add(Export(visit_id=visit.id, status="failed", last_error="x"))
        waiting = _ticket(umum, today, 1, "waiting", now)
        waiting.nik_cipher, waiting.nik_hash = vault.seal(TICKET_NIK)
        waiting.phone_cipher = vault.encrypt(PHONE)
        called = _ticket(umum, today, 2, "called", now, patient_id=patient.id)
        called.phone_cipher = vault.encrypt(PHONE)
        holder = _ticket(kia, today, 1, "waiting", now)
        session.add_all([waiting, called, holder])
        session.add_all(
            [
                QueueCounter(clinic_id=umum.id, day=today, last_number=2),
                QueueCounter(clinic_id=kia.id, day=today, last_number=1),
            ]
        )
        synonym = Icd10Synonym(term="anyang-anyangan", codes="N39.0")
        session.add(synonym)
        session.flush()
        found.ids = {
            "synonym": synonym.id,
            "facility": facility.id,
            "clinic": umum.id,
            "patient": patient.id,
            "visit": visit.id,
            "staff": spare_duty.id,
            "waiting": waiting.id,
            "called": called.id,
        }
        found.ids["ticket"] = called.id
        found.ids["export"] = session.scalar(select(Export.id))
        found.codes["code"] = holder.code
    return found


def _ticket(clinic, day, number, status, now, patient_id=None) -> Ticket:
    return Ticket(
        code=tickets.new_code(),
        facility_id=clinic.facility_id,
        clinic_id=clinic.id,
        day=day,
        number=number,
        status=status,
        channel="web",
        patient_id=patient_id,
        created_at=now,
        called_at=now if status == "called" else None,
    )


# -- the walk ------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One request: where, how, and the values the request itself carries."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)

    @property
    def sent(self) -> str:
        return json.dumps([self.query, self.form])


def routes(app: Flask) -> list[tuple[str, str]]:
    """Every (path, method) of e-Puskesmas' pages and API."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/puskesmas", "/api/v1/puskesmas")):
            continue
        if rule.endpoint == "puskesmas.static":  # the plugin's style sheet and scripts
            continue
        found |= {(rule.rule, m) for m in rule.methods & set(METHODS)}
    return sorted(found)


def _path(scene: Scene, rule: str) -> str:
    def value(match: re.Match) -> str:
        name = match.group(2)
        if name == "code":
            return scene.codes["code"]
        return str(scene.ids[name.removesuffix("_id")])

    return re.sub(r"<(\w+:)?(\w+)>", value, rule)


def probes(scene: Scene, rule: str, method: str) -> Iterator[Probe]:
    """The requests that reach the route's reading paths."""
    ids = {k: str(v) for k, v in scene.ids.items()}
    path = _path(scene, rule)
    refused_visit = {"complaint": "", "systolic": "999", "diagnosis_1": "J06.9"}
    inputs = [
        {},
        {"tiket": ids["waiting"]},
        {"tiket": ids["called"]},
        {"pasien": ids["patient"], "poli": ids["clinic"]},
        {"q": "Penanda"},
        {"nik": NIK},
        {"tiket": ids["called"], **refused_visit},
        {"pasien": ids["patient"], "poli": ids["clinic"], **refused_visit},
    ]
    for values in inputs:
        if method == "GET":
            if "nik" not in values:  # a NIK never travels in an address
                yield Probe(method, path, query=values)
        else:
            yield Probe(method, path, form=values)


def call(client: FlaskClient, probe: Probe):
    if probe.path.startswith("/api/") and probe.method == "POST":
        return client.post(probe.path, json=probe.form)
    if probe.method == "GET":
        return client.get(probe.path, query_string=probe.query)
    return client.post(probe.path, data=probe.form)


def audit_count(tenant: TenantInfo) -> int:
    with db.tenant_session(tenant.id) as session:
        return session.scalar(select(func.count(AuditEntry.id))) or 0


def shown(response, probe: Probe) -> list[str]:
    """The markers in the response that the request did not send itself."""
    body = response.get_data(as_text=True)
    return [name for name, value in MARKERS.items() if value in body and value not in probe.sent]


@dataclass
class Walk:
    requests: int = 0
    showing: int = 0
    unaudited: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def walk(scene: Scene) -> Walk:
    result = Walk()
    for role in ROLES:  # the region admin last: its writes cannot hide the others' reads
        client = scene.clients[role]
        for rule, method in routes(scene.app):
            for probe in probes(scene, rule, method):
                before = audit_count(scene.tenant)
                response = call(client, probe)
                written = audit_count(scene.tenant) - before
                result.requests += 1
                where = f"{role}: {probe.method} {probe.path} {probe.query or probe.form}"
                if response.status_code >= 500:
                    result.errors.append(f"{where} -> {response.status_code}")
                    continue
                data = shown(response, probe)
                if not data:
                    continue
                result.showing += 1
                if written == 0:
                    result.unaudited.append(f"{where} shows {', '.join(data)} unaudited")
                elif written > 1:
                    result.doubled.append(f"{where} shows {', '.join(data)}: {written} entries")
    return result


def test_every_showing_of_health_data_is_audited_once(scene, figures):
    result = walk(scene)
    figures.record(PART, "requests tried", result.requests)
    figures.record(PART, "responses showing health data", result.showing)
    figures.record(PART, "showings without an entry", len(result.unaudited))
    figures.record(PART, "showings with more than one entry", len(result.doubled))
    figures.record(PART, "server errors", len(result.errors))
    assert result.errors == [], "\n".join(result.errors)
    assert result.unaudited == [], "\n".join(result.unaudited)
    assert result.doubled == [], "\n".join(result.doubled)
    # The walk reaches the reading paths: each duty's pages, the API, the citizen's own.
    assert result.showing >= 20


def test_the_walk_notices_a_showing_without_an_entry(scene, figures, monkeypatch):
    """Forge the audit context (the entry is never written): the walk must notice."""
    from balai_puskesmas import services

    real = services.audit

    def forged(session, actor, action, now, **kwargs):
        with db.new_session(session.info["tenant_id"]) as elsewhere:
            context = real(elsewhere, actor, action, now, **kwargs)
            elsewhere.rollback()
        return context

    for module in ("patients", "visits", "records", "exports", "export", "notify"):
        target = f"balai_puskesmas.{module}.audit"
        monkeypatch.setattr(target, forged, raising=False)
    monkeypatch.setattr("balai_puskesmas.exports.services.audit", forged)
    result = walk(scene)
    figures.record(PART, "showings found with the entries removed", len(result.unaudited))
    assert result.unaudited, "a showing without an entry went unnoticed"
