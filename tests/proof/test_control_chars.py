"""No control character is ever stored, served, or able to break an XML document.

A region with every plugin on and its demo data is walked by each role (visitor,
citizen, department officer, region admin). Every form found is filled: each text
field with a text carrying control characters (ESC, VT, NUL, BEL, BS, DEL, a C1
control, U+FFFE, U+FFFF and CR LF) and a marker unique to the field, every other
field with a valid value as far as one can be guessed. The JSON API's writes get
the same text (with a lone surrogate too), and so do an Open311 client's POST and
an inbound SMS. Then:

- every XML document (Open311 ``services.xml``, ``requests.xml`` and each request,
  any other XML a page links to) is parsed with a strict XML parser;
- every page, feed and JSON answer any role meets is searched for control characters;
- every text column of every table, in every region, is searched for them too.

Unparseable documents, answers and stored values with control characters and
server errors must all be 0.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

import pytest
from forms import Form, forms_of, guess, role_clients, submit
from sqlalchemy import String, select
from walking import seeds, walk

from balai.db import Base, db
from balai.sms import TOKEN_HEADER, rotate_token

# A fault must come back as the 500 a visitor would get, to be counted, not raised.
pytestmark = pytest.mark.balai_config(PROPAGATE_EXCEPTIONS=False)

CONTROLS = "\x1b[31m\x0b\x00\x07\x08\x7f\x85\ufffe\uffff"
# What must never be stored or served: C0 controls but tab, newline and CR; DEL; C1;
# U+FFFE and U+FFFF; lone surrogates.
UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
MARKER = re.compile(r"ctl\d{4}")
OPEN311 = "/pengaduan/open311/v2"


@dataclass
class Sent:
    """What was sent and what came back."""

    markers: itertools.count = field(default_factory=lambda: itertools.count(1))
    filled: int = 0
    submissions: int = 0
    accepted: int = 0
    server_errors: list[str] = field(default_factory=list)

    def text(self, maxlength: str | None = None, *, surrogate: bool = False) -> str:
        self.filled += 1
        marker = f"ctl{next(self.markers):04d}"
        text = f"Uji {marker}{CONTROLS} kontrol\r\nbaris{' ' + chr(0xD800) if surrogate else ''}"
        return text[: int(maxlength)] if maxlength and int(maxlength) >= 12 else text

    def note(self, label: str, response) -> None:
        self.submissions += 1
        if response.status_code >= 500:
            self.server_errors.append(f"{label}: {response.status_code}")
        elif response.status_code < 400:
            self.accepted += 1


def _data(form: Form, sent: Sent, filled: list[dict]) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for index, item in enumerate(form.fields):
        value = sent.text(item["maxlength"]) if item in filled else guess(item, index)
        if value is not None:
            data.setdefault(item["name"], []).append(value)
    return data


def fill_forms(clients, app, sent: Sent) -> int:
    """Every form each role reaches, text fields filled; one field at a time if refused."""
    seen: set[tuple] = set()
    for role, client in clients.items():
        for _endpoint, page in walk(client, seeds(app)):
            if page.mimetype != "text/html":
                continue
            for form in forms_of(page.text, page.request.url):
                texts = form.text_fields()
                if form.key() in seen or not texts or "/keluar" in form.action:
                    continue
                seen.add(form.key())
                response = submit(client, form, _data(form, sent, texts))
                sent.note(f"{role} {form.action}", response)
                if response.status_code < 400 or form.method != "post":
                    continue
                for single in texts if len(texts) > 1 else []:
                    response = submit(client, form, _data(form, sent, [single]))
                    sent.note(f"{role} {form.action} {single['name']}", response)
    return len(seen)


def _api_body(schema: dict, schemas: dict, sent: Sent) -> dict:
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    body = {}
    for name, spec in schema.get("properties", {}).items():
        if spec.get("readOnly"):
            continue
        if "enum" in spec:
            body[name] = spec["enum"][0]
        elif spec.get("type") == "string" and spec.get("format") in ("date", "date-time"):
            body[name] = "2026-11-20"
        elif spec.get("type") == "string":
            body[name] = sent.text(spec.get("maxLength") and str(spec["maxLength"]), surrogate=True)
        elif spec.get("type") in ("integer", "number"):
            body[name] = 1
        elif spec.get("type") == "boolean":
            body[name] = False
    return body


def write_api(client, sent: Sent) -> int:
    """Every JSON write of the OpenAPI document, with control characters in its text."""
    document = client.get("/api/v1/openapi.json").json
    schemas = document.get("components", {}).get("schemas", {})
    tried = 0
    for path, operations in document["paths"].items():
        for method in ("post", "put", "patch"):
            body = operations.get(method, {}).get("requestBody")
            json_body = (body or {}).get("content", {}).get("application/json")
            if json_body is None:  # none, or a multipart upload of a file: not a JSON write
                continue
            schema = json_body["schema"]
            url = re.sub(r"\{[^}]+\}", "1", path)
            payload = json.dumps(_api_body(schema, schemas, sent))  # keeps the lone surrogate
            response = client.open(
                url, method=method.upper(), data=payload, content_type="application/json"
            )
            sent.note(f"API {method.upper()} {url}", response)
            tried += 1
    return tried


def write_open311_and_sms(app, tenant, client, sent: Sent) -> None:
    from balai_pengaduan.clients import create_client
    from balai_pengaduan.models import Category

    with db.tenant_session(tenant.id) as session:
        _client, key = create_client(session, "Aplikasi uji")
        code = session.scalar(select(Category.code).where(Category.active.is_(True)))
    form = {
        "api_key": key,
        "service_code": code,
        "address_string": sent.text(),
        "description": sent.text(),
        "first_name": sent.text(),
    }
    sent.note("Open311 POST", client.post(f"{OPEN311}/requests.xml", data=form))
    token = rotate_token(app, tenant)
    sms = {"from": "+6281234567890", "text": f"ADUAN {code} {sent.text()}"}
    sent.note("SMS", client.post("/-/sms/masuk", data=sms, headers={TOKEN_HEADER: token}))


# -- reading it all back ------------------------------------------------------------------


def xml_problem(response) -> str | None:
    """Why ``response``'s XML does not parse, or None."""
    try:
        ET.fromstring(response.get_data())  # noqa: S314 - our own answers, in a test
    except ET.ParseError as exc:
        return str(exc)
    return None


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def served_controls(response) -> bool:
    """Does a page, feed or JSON answer carry a control character?"""
    text = response.get_data(as_text=True)
    if "json" in (response.mimetype or ""):
        try:
            return any(UNWANTED.search(s) for s in _strings(json.loads(text)))
        except ValueError:
            return False
    return bool(UNWANTED.search(text))


def stored_controls(tenant_ids) -> list[str]:
    """``table.column`` of every stored text with a control character, in every region."""
    found = []
    with db.all_tenants() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String):
                    continue
                for value in session.scalars(select(column).where(column.is_not(None))):
                    if isinstance(value, str) and UNWANTED.search(value):
                        found.append(f"{table.name}.{column.name}: {value[:40]!r}")
    return found


def xml_urls(tenant) -> list[str]:
    from balai_pengaduan.models import Complaint

    with db.tenant_session(tenant.id) as session:
        ids = session.scalars(select(Complaint.id).order_by(Complaint.id.desc()).limit(20)).all()
    fixed = [f"{OPEN311}/services.xml", f"{OPEN311}/requests.xml"]
    return fixed + [f"{OPEN311}/requests/{i}.xml" for i in ids]


def _is_text(response) -> bool:
    kind = response.mimetype or ""
    return kind.startswith("text/") or "json" in kind or "xml" in kind


def read_back(clients, app, tenant, start: list[str]):
    """Every XML document and every answer the roles meet: (parsed, problems, dirty, seen)."""
    parsed, problems, dirty, markers = 0, [], [], set()
    for role, client in clients.items():
        for endpoint, response in walk(client, [*start, *xml_urls(tenant), *seeds(app)], 3):
            if not _is_text(response):  # a download (a plugin's wheel, a photo): bytes
                continue
            markers.update(MARKER.findall(response.get_data(as_text=True)))
            if "xml" in (response.mimetype or ""):
                parsed += 1
                problem = xml_problem(response)
                if problem:
                    problems.append(f"{role} {response.request.path}: {problem}")
            if served_controls(response):
                dirty.append(f"{role} {endpoint} {response.request.path}")
    return parsed, problems, dirty, markers


# -- the sweep ---------------------------------------------------------------------------


def test_no_control_character_is_stored_served_or_breaks_xml(app, full_tenant, login, figures):
    clients = role_clients(app, full_tenant, login)
    sent = Sent()
    forms = fill_forms(clients, app, sent)
    api_writes = write_api(clients["admin"], sent)
    write_open311_and_sms(app, full_tenant, clients["anonymous"], sent)

    parsed, problems, dirty, markers = read_back(clients, app, full_tenant, ["/cari?q=ctl"])
    stored = stored_controls([full_tenant.id])

    part = "control characters"
    figures.record(part, "forms filled", forms)
    figures.record(part, "submissions", sent.submissions)
    figures.record(part, "API writes", api_writes)
    figures.record(part, "fields filled", sent.filled)
    figures.record(part, "submissions accepted", sent.accepted)
    figures.record(part, "texts stored and shown", len(markers))
    figures.record(part, "XML documents parsed", parsed)
    figures.record(part, "unparseable XML", len(problems))
    figures.record(part, "answers with control characters", len(dirty))
    figures.record(part, "stored with control characters", len(stored))
    figures.record(part, "server errors", len(sent.server_errors))
    print(f"{forms} forms, {sent.accepted} accepted, {parsed} XML documents parsed")
    assert sent.server_errors == []
    assert problems == []
    assert dirty == []
    assert stored == []
    assert sent.accepted >= 10, "too few forms accepted the text: the sweep proves little"
    assert parsed >= 5 and len(markers) >= 10


def test_the_check_goes_red_without_cleaning(app, full_tenant, client, monkeypatch):
    """With the cleaning undone, an ESC in a complaint breaks requests.xml, and is caught."""
    import balai.fields
    import balai.forms
    import balai.text

    for module in (balai.fields, balai.forms):
        monkeypatch.setattr(module, "clean_text", lambda value: value)
    monkeypatch.setattr(balai.text, "xml_text", lambda value: value)
    from balai_pengaduan.models import Category

    with db.tenant_session(full_tenant.id) as session:
        code = session.scalar(select(Category.code).where(Category.active.is_(True)))
    form = {"category": code, "description": "Lampu\x1b mati", "address": "Jl. Merdeka\x0b 1"}
    assert client.post("/pengaduan/lapor", data=form).status_code == 302
    assert xml_problem(client.get(f"{OPEN311}/requests.xml")) is not None
    assert served_controls(client.get(f"{OPEN311}/requests.json"))
    assert len(stored_controls([full_tenant.id])) >= 2


@pytest.mark.parametrize("text", ["a\x1bb", "a\x00b", "\ufffe", "a\x85b", "x\ud800"])
def test_each_unwanted_character_is_recognised(text):
    assert UNWANTED.search(text)
    assert not UNWANTED.search("Tab\tnewline\ncarriage\rꦧꦭꦻ 🏛️")
