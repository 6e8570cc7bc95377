"""The forms of a region's pages, as a browser sees them: for the sweeps that fill them.

``forms_of(html, url)`` finds every form with its fields, current values and choices;
``guess(field, n)`` gives a plausible valid value for a field; ``submit`` sends a form
the way a browser would; ``role_clients`` logs one client in per role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

TEXT_TYPES = {"text", "search", "url", None}
ROLES = ("anonymous", "warga", "opd", "admin")


@dataclass
class Form:
    action: str
    method: str
    fields: list[dict] = field(default_factory=list)

    def key(self) -> tuple:
        return (self.method, urlsplit(self.action).path, tuple(f["name"] for f in self.fields))

    def text_fields(self) -> list[dict]:
        return [f for f in self.fields if is_text(f)]


def is_text(item: dict) -> bool:
    return item["tag"] == "textarea" or (item["tag"] == "input" and item["type"] in TEXT_TYPES)


class _Forms(HTMLParser):
    """The forms of a page with their fields, current values and choices."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.forms: list[Form] = []
        self._field: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            method = (a.get("method") or "get").lower()
            self.forms.append(Form(urljoin(self.base, a.get("action") or self.base), method))
        elif not self.forms or (not a.get("name") and tag != "option"):
            return
        elif tag in ("input", "textarea", "select"):
            kind = (a.get("type") or "").lower() or None
            self._field = {"tag": tag, "type": kind, "name": a["name"], "value": a.get("value")}
            self._field |= {"maxlength": a.get("maxlength"), "checked": "checked" in a}
            self._field |= {"options": [], "pattern": a.get("pattern")}
            self.forms[-1].fields.append(self._field)
        elif tag == "option" and self._field is not None and self._field["tag"] == "select":
            value = a.get("value") or ""
            self._field["options"].append(value)
            if "selected" in a:
                self._field["value"] = value

    def handle_data(self, data: str) -> None:
        if self._field is not None and self._field["tag"] == "textarea":
            self._field["value"] = (self._field["value"] or "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("textarea", "select"):
            self._field = None


def forms_of(html: str, base: str) -> list[Form]:
    parser = _Forms(base)
    parser.feed(html)
    return parser.forms


GUESSES = [  # (part of a field's name, a valid value)
    ("nik", "3671015501900001"),
    ("email", "isian{n}@example.test"),
    ("phone", "0812345{n:05d}"),
    ("telepon", "0812345{n:05d}"),
    ("latitude", "-6,1783"),
    ("longitude", "106,6319"),
    ("tanggal", "2026-11-20"),
    ("date", "2026-11-20"),
    ("birth", "1990-01-15"),
    ("code", "KODE{n}"),
    ("kode", "KODE{n}"),
    ("colour", "#336699"),
    ("color", "#336699"),
]


def guess(item: dict, n: int) -> str | None:
    """A plausible valid value for a field, or None to leave it out."""
    kind, name = item["type"], item["name"].lower()
    if item["tag"] == "select":
        return item["value"] or next((o for o in item["options"] if o), "")
    if kind in ("checkbox", "radio"):
        return item["value"] or "on" if item["checked"] else None
    if kind in ("file", "password", "submit", "button", "image"):
        return None
    if item["value"]:
        return item["value"]
    for part, value in GUESSES:
        if part in name:
            return value.format(n=n)
    return {"email": f"isian{n}@example.test", "number": "1", "date": "2026-11-20"}.get(
        kind or "", "Isian uji"
    )


def submit(client, form: Form, data: dict[str, list[str]]):
    path = urlsplit(form.action)
    target = path.path + (f"?{path.query}" if path.query else "")
    if form.method == "get":
        return client.get(target, query_string=data)
    return client.post(target, data=data)


def role_clients(app, tenant, login, roles=ROLES) -> dict[str, object]:
    clients = {}
    for role in roles:
        client = app.test_client()
        client.host = tenant.domains[0]
        if role != "anonymous":
            login(client, role=role, department="DLH" if role == "opd" else None)
        clients[role] = client
    return clients
