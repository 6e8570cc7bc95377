"""No write takes fields it does not offer: mass assignment over every form and API write.

In a region with every plugin on and its demo data loaded, every form a page shows
(to a region admin, an officer on registration or clinician duty at a puskesmas, a
citizen or a visitor) is submitted with the values the page put in it, required
empty fields filled in, and every write endpoint of the region's OpenAPI document
(POST, PUT, PATCH) gets a body built from its schema. Each request also carries
hostile extra fields: another region's id, the role ``admin``, a terminal status,
another user's id as owner, another region's department, a list of permissions.

Those fields must be ignored or refused. After every request: another region's
tables are as they were, no account changed role, region or department, no
permission was granted, no row jumped to the hostile status, and no new row names
the other user or the other region's department.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from filling import enable_all, fill
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from balai.auth.models import Department, User
from balai.calendar import local_date
from balai.db import Base, TenantScoped, db, utcnow
from balai.demo import DEPARTMENTS
from balai.tenancy import RoleGrant, TenantInfo, enable_plugin, registry
from balai_puskesmas.models import Facility, Staff

HOSTILE_STATUS = "closed"
OWNER_COLUMNS = ("user_id", "owner_id", "created_by", "author_id", "reporter_id", "actor_id")
#: Forms that only end the session, switch the language or log in.
SKIPPED_ACTIONS = ("/keluar", "/bahasa", "/masuk")
ROLES = ("admin", "puskesmas-registration", "puskesmas-clinician", "warga", "anonymous")
FILLERS = {
    "email": "massal{n}@example.test",
    "number": "1",
    "date": "2030-01-07",
    "password": "kata-sandi-massal-123",
    "tel": "081234567890",
}
NIK = "3201014101900001"


@dataclass
class Scene:
    app: Flask
    tenant: TenantInfo
    other: TenantInfo
    facility_id: int
    victim_id: int
    other_department_id: int
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    acting_ids: set[int] = field(default_factory=set)

    def hostile(self) -> dict[str, Any]:
        return {
            "tenant_id": self.other.id,
            "role": "admin",
            "status": HOSTILE_STATUS,
            "user_id": self.victim_id,
            "owner_id": self.victim_id,
            "created_by": self.victim_id,
            "id": self.victim_id,
            "is_admin": True,
            "department": self.other_department_id,
            "permissions": ["balai.manage_users", "balai.manage_plugins"],
        }


# -- forms -----------------------------------------------------------------------


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    required: dict[str, str] = field(default_factory=dict)


class FormParser(HTMLParser):
    """The POST forms of a page: their action, their fields' values and types."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page, self.forms, self._select, self._textarea = page, [], None, None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            post = a.get("method", "").lower() == "post"
            self.forms.append(Form(a.get("action") or self.page) if post else None)
        form = self.forms[-1] if self.forms else None
        chosen = "selected" in a or self._select not in getattr(form, "fields", {})
        if form is not None and tag == "option" and self._select and chosen:
            form.fields[self._select] = a.get("value", "")
        if form is None or not a.get("name"):
            return
        name, kind = a["name"], a.get("type", "text")
        if tag == "input" and kind in ("checkbox", "radio"):
            if "checked" in a:
                form.fields[name] = a.get("value", "on")
        elif tag == "input" and kind not in ("submit", "button", "file"):
            form.fields[name] = a.get("value", "")
            if "required" in a:
                form.required[name] = kind
        elif tag == "select":
            self._select = name
        elif tag == "textarea":
            self._textarea = name
            form.fields[name] = ""
            if "required" in a:
                form.required[name] = "text"

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms[-1] is not None:
            self.forms[-1].fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self.forms and self.forms[-1] is None:
            self.forms.pop()


def forms_of(client: FlaskClient, page: str) -> list[Form]:
    response = client.get(page)
    html = response.status_code == 200 and "html" in response.content_type
    text = response.text if html else ""
    response.close()
    parser = FormParser(page)
    parser.feed(text)
    return [f for f in parser.forms if f is not None]


def valid_body(form: Form, n: int) -> dict[str, str]:
    body = dict(form.fields)
    for name, kind in form.required.items():
        if not body.get(name):
            filler = NIK if "nik" in name else FILLERS.get(kind, "Uji massal {n}")
            body[name] = filler.format(n=n)
    return body


def with_hostile(body: dict[str, Any], hostile: dict[str, Any], as_form: bool) -> dict[str, Any]:
    extra = {k: v for k, v in hostile.items() if k not in body}
    if as_form:
        extra = {k: str(v).lower() if isinstance(v, bool) else v for k, v in extra.items()}
    return {**body, **extra}


# -- pages and API bodies ------------------------------------------------------------


def _model_of(argument: str) -> type:
    noun = "_" + argument.removesuffix("_id")
    return next(m.class_ for m in Base.registry.mappers if m.class_.__tablename__.endswith(noun))


def first_id(scene: Scene, argument: str) -> int | None:
    """A row of the region for ``<int:argument>``, at the scene's puskesmas if it has one."""
    model = _model_of(argument)
    query = select(model.id).order_by(model.id)
    if model is Facility:
        query = query.where(model.id == scene.facility_id)
    elif "facility_id" in model.__table__.columns:
        query = query.where(model.facility_id == scene.facility_id)
    if model is User:
        query = query.where(model.id.not_in(scene.acting_ids))
    with db.tenant_session(scene.tenant.id) as session:
        return session.scalar(query.limit(1))


def fill_path(scene: Scene, path: str) -> str | None:
    """``path`` with real ids of the region, or None when it takes anything else."""
    for argument in re.findall(r"<int:(\w+)>", path):
        found = first_id(scene, argument)
        if found is None:
            return None
        path = path.replace(f"<int:{argument}>", str(found))
    return None if "<" in path or "{" in path else path


def pages(scene: Scene) -> list[str]:
    """Every page that can be shown with the region's ids: where the forms are."""
    found = set()
    for rule in scene.app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.rule.startswith(("/api/", "/-/", "/static")):
            path = fill_path(scene, rule.rule)
            if path:
                found.add(path)
    return sorted(found)


def schema_body(document: dict, schema: dict, scene: Scene) -> dict[str, Any]:
    """A valid body for an OpenAPI request schema: required fields, plausible values."""
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    body = {}
    for name in schema.get("required", []):
        spec = schema["properties"][name]
        if "enum" in spec:
            body[name] = spec["enum"][0]
        elif spec.get("type") == "integer":
            body[name] = first_id(scene, name) if name.endswith("_id") else 1
        elif spec.get("format") == "date":
            body[name] = local_date(utcnow(), "Asia/Jakarta").isoformat()
        else:
            body[name] = NIK if name == "nik" else "Uji massal"
    return body


def api_writes(scene: Scene, client: FlaskClient) -> list[tuple[str, str, dict]]:
    document = client.get("/api/v1/openapi.json").json
    writes = []
    for path, operations in sorted(document["paths"].items()):
        filled = fill_path(scene, re.sub(r"\{(\w+_id)\}", r"<int:\1>", path))
        for method in ("post", "put", "patch"):
            operation = operations.get(method)
            if operation is None or filled is None:
                continue
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            writes.append((method.upper(), filled, schema_body(document, schema, scene)))
    return writes


# -- what must not change --------------------------------------------------------------


def snapshot(scene: Scene) -> dict[str, Any]:
    with db.all_tenants() as session:
        users = {
            u.id: (u.tenant_id, u.role, u.department_id) for u in session.scalars(select(User))
        }
        grants = {
            (g.tenant_id, g.role, g.permission, g.granted)
            for g in session.scalars(select(RoleGrant))
        }
        other = {m.__tablename__: _count(session, m, scene.other.id) for m in _scoped()}
        last = {m.__tablename__: session.scalar(select(func.max(m.id))) or 0 for m in _scoped()}
        statuses = {
            (m.__tablename__, row_id): status
            for m in _scoped()
            if "status" in m.__table__.columns
            for row_id, status in session.execute(select(m.id, m.status))
        }
    return {"users": users, "grants": grants, "other": other, "last": last, "statuses": statuses}


def _scoped() -> list[type]:
    return [m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantScoped)]


def _count(session, model: type, tenant_id: int) -> int:
    return session.scalar(select(func.count()).where(model.tenant_id == tenant_id)) or 0


def accepted_wrongly(scene: Scene, before: dict, after: dict, offered: set[str]) -> list[str]:
    """What the hostile fields achieved; ``offered`` are the fields the write itself has."""
    wrong = []
    if after["other"] != before["other"]:
        wrong.append("wrote into another region")
    for user_id, (tenant_id, role, department_id) in before["users"].items():
        now_tenant, now_role, now_department = after["users"].get(user_id, before["users"][user_id])
        if now_tenant != tenant_id:
            wrong.append(f"moved account {user_id} to another region")
        if now_role != role and "role" not in offered:
            wrong.append(f"changed the role of account {user_id}")
        if now_department != department_id and "department" not in offered:
            wrong.append(f"changed the department of account {user_id}")
    joined = [i for i, u in after["users"].items() if i not in before["users"]]
    if any(after["users"][i][0] == scene.other.id for i in joined):
        wrong.append("made an account in another region")
    if after["grants"] != before["grants"] and "permissions" not in offered:
        wrong.append("changed permissions")
    if "status" not in offered:
        jumped = [k for k, s in after["statuses"].items() if s == HOSTILE_STATUS != before[
            "statuses"
        ].get(k)]
        wrong += [f"{table} {row_id} jumped to {HOSTILE_STATUS}" for table, row_id in jumped]
    wrong += new_rows_naming(scene, before["last"])
    return wrong


def new_rows_naming(scene: Scene, last: dict[str, int]) -> list[str]:
    """New rows that name the other user or the other region's department."""
    found = []
    with db.all_tenants() as session:
        for model in _scoped():
            columns = model.__table__.columns
            new = select(model).where(model.id > last[model.__tablename__])
            owners = [c for c in OWNER_COLUMNS if c in columns]
            for row in session.scalars(new):
                name = f"new {model.__tablename__} {row.id}"
                if any(getattr(row, c) == scene.victim_id for c in owners):
                    found.append(f"{name} owned by the other user")
                if getattr(row, "department_id", None) == scene.other_department_id:
                    found.append(f"{name} in another region's department")
    return found


def restore(scene: Scene) -> None:
    """Switch back on what a submitted admin form switched off."""
    current = registry(scene.app).by_id(scene.tenant.id)
    for name in sorted(set(scene.tenant.plugins) - set(current.plugins)):
        enable_plugin(scene.app, registry(scene.app).by_id(scene.tenant.id), name)
    with db.all_tenants() as session:
        for user in session.scalars(select(User).where(User.id.in_(scene.acting_ids))):
            user.active = True


# -- the scene -------------------------------------------------------------------------


def _client(app: Flask, tenant: TenantInfo) -> FlaskClient:
    client = app.test_client()
    client.host = tenant.domains[0]
    return client


@pytest.fixture
def scene(app, tenant, other_tenant, login) -> Scene:
    for region in (tenant, other_tenant):
        with db.tenant_session(region.id) as session:
            session.add_all(Department(code=c, name=n) for c, n in DEPARTMENTS.items())
    tenant = enable_all(app, tenant)
    fill(app, tenant)
    enable_all(app, other_tenant)
    victim = login(_client(app, other_tenant), "warga", tenant=other_tenant)
    with db.tenant_session(tenant.id) as session:
        facility_id = session.scalar(select(Facility.id).order_by(Facility.id).limit(1))
    with db.tenant_session(other_tenant.id) as session:
        department_id = session.scalar(select(Department.id).order_by(Department.id).limit(1))
    made = Scene(app, tenant, other_tenant, facility_id, victim.id, department_id)
    made.clients["anonymous"] = _client(app, tenant)
    for role in ROLES[:-1]:
        client = made.clients[role] = _client(app, tenant)
        duty = role.removeprefix("puskesmas-") if role.startswith("puskesmas-") else None
        if duty:
            user = login(client, "opd", tenant=tenant, department="DINKES")
        else:
            user = login(client, role, tenant=tenant)
        made.acting_ids.add(user.id)
        if duty:
            with db.tenant_session(tenant.id) as session:
                session.add(Staff(user_id=user.id, facility_id=facility_id, duty=duty))
    return made


# -- the tests -------------------------------------------------------------------------


def submit_everything(scene: Scene) -> tuple[int, int, list[str]]:
    """Every form and API write with hostile extras: (tried, taken, what went wrong)."""
    tried, taken, wrong, seen = 0, 0, [], set()
    hostile = scene.hostile()
    for role in ROLES:
        client = scene.clients[role]
        for page in pages(scene):
            for form in forms_of(client, page):
                action = urlsplit(form.action).path
                if action in seen or action.startswith(SKIPPED_ACTIONS):
                    continue
                seen.add(action)
                before = snapshot(scene)
                body = with_hostile(valid_body(form, tried), hostile, as_form=True)
                response = client.post(action, data=body)
                tried, taken = tried + 1, taken + (response.status_code < 400)
                found = accepted_wrongly(scene, before, snapshot(scene), set(form.fields))
                wrong += [f"{role}: POST {action}: {w}" for w in found]
                restore(scene)
    for role in ROLES:
        client = scene.clients[role]
        for method, path, body in api_writes(scene, client):
            before = snapshot(scene)
            response = client.open(path, method=method, json=with_hostile(body, hostile, False))
            tried, taken = tried + 1, taken + (response.status_code < 400)
            found = accepted_wrongly(scene, before, snapshot(scene), set(body))
            wrong += [f"{role}: {method} {path}: {w}" for w in found]
            assert response.status_code < 500, f"{method} {path} as {role}: {response.status_code}"
    return tried, taken, wrong


def test_hostile_extra_fields_are_ignored_or_refused(scene, figures, monkeypatch):
    tried, taken, wrong = submit_everything(scene)
    figures.record("mass assignment", "requests tried", tried)
    figures.record("mass assignment", "writes accepted", taken)
    figures.record("mass assignment", "fields accepted wrongly", len(wrong))
    assert tried > 40
    assert wrong == [], "\n".join(wrong)

    # The checks notice a form that takes a field it does not offer.
    from flask import g, request

    import balai.admin.users

    update = balai.admin.users._update

    def careless(user, data):
        name = request.form["permissions"]
        grant = RoleGrant(tenant_id=g.tenant.id, role=user.role, permission=name, granted=True)
        db.session.add(grant)
        return update(user, data)

    monkeypatch.setattr(balai.admin.users, "_update", careless)
    page = f"/admin/pengguna/{first_id(scene, 'user_id')}"
    form = next(f for f in forms_of(scene.clients["admin"], page) if f.action == page)
    before = snapshot(scene)
    body = with_hostile(valid_body(form, 0), scene.hostile(), as_form=True)
    scene.clients["admin"].post(form.action, data=body)
    found = accepted_wrongly(scene, before, snapshot(scene), set(form.fields))
    assert "changed permissions" in found
