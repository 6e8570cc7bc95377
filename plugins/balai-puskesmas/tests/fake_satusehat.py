"""A local stand-in for SATUSEHAT for the tests, and a visit to send to it.

:class:`FakeSatusehat` is a real HTTP server on ``127.0.0.1`` (a free port, in a
thread) with the two endpoints the outbox uses:

- ``POST /oauth2/v1/accesstoken``: OAuth2 client credentials (form fields
  ``grant_type=client_credentials``, ``client_id``, ``client_secret``) → an
  ``access_token`` with ``expires_in`` (a string, as SATUSEHAT sends it).
- ``GET /fhir-r4/v1/Patient?identifier=https://fhir.kemkes.go.id/id/nik|<NIK>``:
  SATUSEHAT's Patient search (bearer token required) → a ``searchset`` Bundle with the
  patients registered for that NIK (:meth:`FakeSatusehat.add_patient`; none, one, or
  several).
- ``POST /fhir-r4/v1``: a transaction ``Bundle`` (bearer token and
  ``application/fhir+json`` required), checked against the official FHIR R4 JSON
  Schema, and refused (400) when a reference to a resource SATUSEHAT holds (the
  patient, the clinician, the clinic's Location, the puskesmas's Organization) has a
  name but no id, as SATUSEHAT refuses it, or when it names a ``Patient/<id>`` the
  server does not hold, or creates a Patient → a ``transaction-response`` Bundle.

``fail("500", "500")`` scripts the next answers of the FHIR endpoint: ``"500"``,
``"503"``, ``"429"`` (with ``Retry-After``), ``"401"`` (and forget every token issued),
``"400"`` (an OperationOutcome that quotes the patient's IHS number and name, as
careless servers do), or ``"close"`` (drop the connection without an answer).
``fail_search(...)`` does the same for the Patient search, ``fail_token(...)`` for the
token endpoint.
"""

from __future__ import annotations

import gzip
import json
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.orm import Session

from balai_puskesmas.models import Clinic, Diagnosis, Patient, Visit

__all__ = ["SCHEMA_PATH", "FakeSatusehat", "add_visit", "fhir_validator", "running"]

SCHEMA_PATH = Path(__file__).parent / "data" / "fhir-r4.schema.json.gz"
NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"
TOKEN_PATH = "/oauth2/v1/accesstoken"
FHIR_PATH = "/fhir-r4/v1"
STARTED = datetime(2026, 11, 23, 2, 15, tzinfo=UTC)  # 09.15 WIB


@cache
def fhir_validator() -> Any:
    """A Draft-06 validator of the official HL7 FHIR R4 (4.0.1) JSON Schema.

    The root schema accepts any resource (``oneOf`` every resource type, chosen by
    ``resourceType``); ``additionalProperties: false`` and the value sets of codes
    such as ``gender`` make it strict.
    """
    import jsonschema

    with gzip.open(SCHEMA_PATH, "rt", encoding="utf-8") as file:
        schema = json.load(file)
    jsonschema.Draft6Validator.check_schema(schema)
    return jsonschema.Draft6Validator(schema)


def fhir_errors(resource: dict[str, Any]) -> list[str]:
    """The schema's complaints about ``resource`` (empty when it is valid)."""
    validator = fhir_validator()
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message[:200]}"
        for error in validator.iter_errors(resource)
    ]


class FakeSatusehat:
    """The server's state; see the module docstring."""

    def __init__(self, *, validate: bool = True) -> None:
        self.client_id = "balai-test-client"
        self.client_secret = secrets.token_hex(8)
        self.validate = validate
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.fhir_requests = 0
        self.received: list[dict[str, Any]] = []  # bundles accepted, in order
        self.patients: dict[str, list[str]] = {}  # NIK -> Patient ids (IHS numbers)
        self.searches: list[str] = []  # the identifiers searched for, in order
        self.script: list[str] = []
        self.search_script: list[str] = []
        self.token_script: list[str] = []
        self.delay = 0.0  # seconds before answering the FHIR endpoint
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    # -- scripting -----------------------------------------------------------------

    def fail(self, *answers: str) -> None:
        """The next answers of the FHIR endpoint, in order."""
        with self.lock:
            self.script.extend(answers)

    def fail_token(self, *answers: str) -> None:
        """The next answers of the token endpoint, in order."""
        with self.lock:
            self.token_script.extend(answers)

    def fail_search(self, *answers: str) -> None:
        """The next answers of the Patient search, in order."""
        with self.lock:
            self.search_script.extend(answers)

    def add_patient(self, nik: str, ihs: str | None = None) -> str:
        """Register a patient (as the civil registry feeds SATUSEHAT) for ``nik``; a
        second one for the same NIK makes the search find several. Returns the IHS
        number."""
        with self.lock:
            found = self.patients.setdefault(nik, [])
            ihs = ihs or f"P{secrets.randbelow(10**11):011d}"
            found.append(ihs)
        return ihs

    @property
    def search_requests(self) -> int:
        return len(self.searches)

    # -- addresses -----------------------------------------------------------------

    @property
    def origin(self) -> str:
        assert self.server is not None, "the server is not running"
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def token_url(self) -> str:
        return f"{self.origin}{TOKEN_PATH}?grant_type=client_credentials"

    @property
    def base_url(self) -> str:
        return f"{self.origin}{FHIR_PATH}"

    def region_settings(self, app: Any, **overrides: Any) -> dict[str, Any]:
        """A region's settings choosing this server, which ``app``'s operator offers
        (as ``"fake"``), sending on: for ``save_plugin_settings``."""
        app.config["PUSKESMAS_SATUSEHAT_ENDPOINTS"] = {
            "fake": {"token_url": self.token_url, "base_url": self.base_url}
        }
        values: dict[str, Any] = {
            "export_enabled": True,
            "satusehat_server": "fake",
            "satusehat_client_id": self.client_id,
            "satusehat_client_secret": self.client_secret,
            "max_attempts": 8,
        }
        values.update(overrides)
        return values

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """The sender's settings pointing at this server, sending on (what
        ``sending_settings`` makes of a region's settings)."""
        values: dict[str, Any] = {
            "export_enabled": True,
            "satusehat_token_url": self.token_url,
            "satusehat_base_url": self.base_url,
            "satusehat_client_id": self.client_id,
            "satusehat_client_secret": self.client_secret,
            "max_attempts": 8,
        }
        values.update(overrides)
        return values

    # -- answers -------------------------------------------------------------------

    def token(self, form: dict[str, list[str]], query: dict[str, list[str]]) -> tuple[int, Any]:
        with self.lock:
            self.token_requests += 1
            scripted = self.token_script.pop(0) if self.token_script else None
        if scripted == "close":
            return 0, None
        if scripted is not None:
            return int(scripted), {"error": "server_error"}
        grant = (form.get("grant_type") or query.get("grant_type") or [""])[0]
        if grant != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if form.get("client_id") != [self.client_id] or form.get("client_secret") != [
            self.client_secret
        ]:
            return 401, {"error": "invalid_client"}
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.tokens.add(token)
        return 200, {
            "access_token": token,
            "token_type": "BearerToken",
            "expires_in": "14399",
            "client_id": self.client_id,
        }

    def search(self, headers: Any, query: dict[str, list[str]]) -> tuple[int, Any]:
        identifier = (query.get("identifier") or [""])[0]
        with self.lock:
            self.searches.append(identifier)
            scripted = self.search_script.pop(0) if self.search_script else None
        if scripted == "close":
            return 0, None
        bearer = headers.get("Authorization", "")
        if scripted == "401" or bearer.removeprefix("Bearer ") not in self.tokens:
            with self.lock:
                self.tokens.clear()
            return 401, _outcome("login", "Access token invalid or expired")
        if scripted is not None:
            return int(scripted), _outcome("exception", "Internal error")
        system, _, nik = identifier.partition("|")
        if system != NIK_SYSTEM or not nik:
            return 400, _outcome("invalid", "Search by identifier=<system>|<value>")
        with self.lock:
            found = list(self.patients.get(nik, []))
        return 200, {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "entry": [
                {
                    "fullUrl": f"{self.base_url}/Patient/{ihs}",
                    "resource": {
                        "resourceType": "Patient",
                        "id": ihs,
                        "identifier": [{"system": NIK_SYSTEM, "value": nik}],
                        "name": [{"text": "Nama dari Dukcapil"}],
                    },
                }
                for ihs in found
            ],
        }

    def transaction(self, headers: Any, body: bytes) -> tuple[int, Any]:
        with self.lock:
            self.fhir_requests += 1
            scripted = self.script.pop(0) if self.script else None
        bearer = headers.get("Authorization", "")
        if scripted == "close":
            return 0, None
        if scripted == "401" or bearer.removeprefix("Bearer ") not in self.tokens:
            with self.lock:
                self.tokens.clear()
            return 401, _outcome("login", "Access token invalid or expired")
        if scripted == "400":
            bundle = json.loads(body)
            subject = bundle["entry"][0]["resource"]["subject"]
            return 400, _outcome(
                "invalid",
                f"{subject['reference']} ({subject.get('display')}) is not active",
                "Bundle.entry[0]",
            )
        if scripted == "429":
            return 429, _outcome("throttled", "Too many requests")
        if scripted is not None:
            return int(scripted), _outcome("exception", "Internal error")
        if not headers.get("Content-Type", "").startswith("application/fhir+json"):
            return 415, _outcome("not-supported", "Use application/fhir+json")
        if "application/fhir+json" not in headers.get("Accept", ""):
            return 406, _outcome("not-supported", "Accept application/fhir+json")
        bundle = json.loads(body)
        if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
            return 400, _outcome("invalid", "Not a transaction Bundle")
        if self.validate:
            problems = fhir_errors(bundle)
            if problems:
                return 400, _outcome("structure", "; ".join(problems[:3]))
        unresolved = _by_name_only(bundle)
        if unresolved:
            return 400, _outcome(
                "invalid", "Reference must have an id", ", ".join(sorted(set(unresolved)))
            )
        with self.lock:
            held = {ihs for found in self.patients.values() for ihs in found}
        for index, entry in enumerate(bundle["entry"]):
            resource = entry["resource"]
            if resource["resourceType"] == "Patient":
                return 400, _outcome("not-supported", "Patients come from Dukcapil")
            reference = (resource.get("subject") or {}).get("reference", "")
            if reference.startswith("Patient/") and reference[8:] not in held:
                return 400, _outcome(
                    "not-found", "Patient not found", f"Bundle.entry[{index}].subject"
                )
        entries = []
        with self.lock:
            for entry in bundle["entry"]:
                kind = entry["resource"]["resourceType"]
                new_id = str(uuid.uuid4())
                entries.append(_response("201 Created", f"{kind}/{new_id}/_history/1"))
            self.received.append(bundle)
        return 200, {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}


#: Where a resource refers to others: SATUSEHAT needs an id in each.
_REFERENCES = (
    "subject",
    "encounter",
    "individual",
    "location",
    "serviceProvider",
    "recorder",
    "requester",
    "medicationReference",
    "reasonReference",
)


def _by_name_only(bundle: dict[str, Any]) -> list[str]:
    """The places in ``bundle`` that refer to a resource by name (``display``) only."""
    found = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                here = f"{where}.{key}"
                if key in _REFERENCES or key == "performer":
                    for reference in item if isinstance(item, list) else [item]:
                        if (
                            isinstance(reference, dict)
                            and "display" in reference
                            and not (reference.get("reference"))
                        ):
                            found.append(here)
                walk(item, here)
        elif isinstance(value, list):
            for item in value:
                walk(item, where)

    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        walk(resource, str(resource.get("resourceType")))
    return found


def _outcome(code: str, diagnostics: str, where: str | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": diagnostics}
    if where:
        issue["expression"] = [where]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def _response(status: str, location: str) -> dict[str, Any]:
    return {"response": {"status": status, "location": location}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == f"{FHIR_PATH}/Patient":
            status, answer = self.server.fake.search(self.headers, parse_qs(url.query))
            self.answer(status, answer, "application/fhir+json")
        else:
            self.answer(404, {"error": "not found"}, "application/json")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        fake = self.server.fake
        url = urlsplit(self.path)
        if url.path == TOKEN_PATH:
            form = parse_qs(body.decode("utf-8"))
            status, answer = fake.token(form, parse_qs(url.query))
            kind = "application/json"
        elif url.path == FHIR_PATH:
            if fake.delay:
                threading.Event().wait(fake.delay)
            status, answer = fake.transaction(self.headers, body)
            kind = "application/fhir+json"
        else:
            status, answer, kind = 404, {"error": "not found"}, "application/json"
        self.answer(status, answer, kind)

    def answer(self, status: int, answer: Any, kind: str) -> None:
        if status == 0:  # drop the connection without an answer
            self.close_connection = True
            return
        data = json.dumps(answer).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "120")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeSatusehat) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


@contextmanager
def running(**options: Any) -> Iterator[FakeSatusehat]:
    """A :class:`FakeSatusehat` serving in a thread until the block ends."""
    fake = FakeSatusehat(**options)
    server = _Server(fake)
    fake.server = server
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def add_visit(
    session: Session,
    patient: Patient,
    clinic: Clinic,
    *,
    diagnoses: tuple[tuple[str, str], ...] = (
        ("J06.9", "Acute upper respiratory infection, unspecified"),
        ("I10", "Essential (primary) hypertension"),
    ),
    **fields: Any,
) -> Visit:
    """A visit of ``patient`` at ``clinic`` with every vital sign, straight to the table
    (flushed and committed), as a clinician would have recorded it."""
    values: dict[str, Any] = {
        "clinician_name": "dr. Siti Rahma",
        "started_at": STARTED,
        "ended_at": STARTED + timedelta(minutes=12),
        "complaint": "Batuk pilek tiga hari",
        "systolic": 142,
        "diastolic": 91,
        "heart_rate": 84,
        "respiratory_rate": 20,
        "temperature": 37.8,
        "weight": 68.5,
        "height": 167.0,
        "oxygen_saturation": 97,
        "notes": "Catatan bebas dokter",
        "created_at": STARTED + timedelta(minutes=13),
    }
    values.update(fields)
    visit = Visit(
        patient_id=patient.id,
        facility_id=clinic.facility_id,
        clinic_id=clinic.id,
        **values,
    )
    session.add(visit)
    session.flush()
    for position, (code, display) in enumerate(diagnoses):
        session.add(Diagnosis(visit_id=visit.id, code=code, display=display, position=position))
    session.commit()
    session.refresh(visit)
    return visit
