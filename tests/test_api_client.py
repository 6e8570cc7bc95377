"""A client generated from each region's OpenAPI document works, with typed models.

The demo (two regions, different plugins) is served for real on 127.0.0.1 and each
region's ``/api/v1/openapi.json`` is fed to ``openapi-python-client``, offline (it
formats its output with the ruff of this environment). The generated package is
imported and its functions called against the server, reached by the region's own
host name, as a program outside Balai would.

One test for both regions: the demo is built once, and the suite's second run on
PostgreSQL leaves it out, since the demo always runs on an SQLite file of its own.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import func, select

from balai import demo
from balai.auth.models import ApiToken, User, hash_token, new_token
from balai.db import db
from balai.tenancy import registry
from balai.testing import serve

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("BALAI_TEST_DATABASE_URL")),
    reason="runs once, on the SQLite pass: the demo has a database of its own",
)

KOTA, LEBAK = demo.TENANTS
BIN = Path(sys.executable).parent  # openapi-python-client and the ruff it runs


class ToLoopback(httpx.HTTPTransport):
    """Every host name resolves to 127.0.0.1; the request keeps its ``Host``."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(host="127.0.0.1")
        return super().handle_request(request)


@dataclass(frozen=True)
class Served:
    app: Flask
    port: int

    def base_url(self, region: demo.DemoTenant) -> str:
        return f"http://{region.domains[0]}:{self.port}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo on its own SQLite file, served on a free port of 127.0.0.1."""
    app = demo.build(tmp_path_factory.mktemp("demo") / "balai-demo", {"PASSWORD_HASHING": "fast"})
    with serve(app) as port:
        yield Served(app, port)


def token_for(app: Flask, email: str) -> str:
    """A fresh API token of the demo user ``email``."""
    secret = new_token("balai_")
    with app.app_context(), db.all_tenants() as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        session.add(
            ApiToken(
                user_id=user.id,
                tenant_id=user.tenant_id,
                name="generated client",
                token_hash=hash_token(secret),
                prefix=secret[:8],
            )
        )
    return secret


def generate(document: dict[str, Any], package: str, into: Path) -> None:
    """``openapi-python-client generate`` for ``document``: the package ``into/package``."""
    source = into / f"{package}.json"
    source.write_text(json.dumps(document))
    result = subprocess.run(  # noqa: S603  (our own tool and arguments)
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(source),
            "--meta",
            "none",
            "--output-path",
            str(into / package),
        ],
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in output and "Error" not in output, output  # nothing left out


@pytest.fixture
def importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on ``sys.path`` for generated packages, forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    # Only the generated packages: a library first imported meanwhile (httpcore's
    # HTTP/1.1 module, h11) must stay, or its classes exist twice for later tests.
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def client_for(
    served: Served, region: demo.DemoTenant, into: Path
) -> tuple[ModuleType, dict[str, Any]]:
    """The client generated from ``region``'s own document, imported; and that document."""
    with httpx.Client(transport=ToLoopback()) as http:
        document = http.get(f"{served.base_url(region)}/api/v1/openapi.json").json()
    package = f"{region.slug.replace('-', '_')}_client"
    generate(document, package, into)
    return importlib.import_module(package), document


def operation(package: ModuleType, tag: str, operation_id: str) -> Any:
    return importlib.import_module(f"{package.__name__}.api.{tag}.{operation_id}")


def connect(package: ModuleType, served: Served, region: demo.DemoTenant, token: str = "") -> Any:
    """A generated client for ``region``: anonymous, or with a bearer ``token``."""
    options = {
        "base_url": served.base_url(region),
        "httpx_args": {"transport": ToLoopback()},
        "raise_on_unexpected_status": True,
    }
    if token:
        return package.AuthenticatedClient(token=token, **options)
    return package.Client(**options)


def test_generated_clients_call_each_region_with_typed_models(
    served: Served, importable: Path
) -> None:
    kota, kota_document = client_for(served, KOTA, importable)
    lebak, lebak_document = client_for(served, LEBAK, importable)
    models_of = {kota: importlib.import_module(f"{kota.__name__}.models")}
    models_of[lebak] = importlib.import_module(f"{lebak.__name__}.models")

    # Each region's client holds the plugins that region has on, and only those.
    for package, document, expected in [
        (kota, kota_document, {"pengaduan", "pengumuman", "puskesmas", "registry"}),
        (lebak, lebak_document, {"pengaduan", "pengumuman", "puskesmas"}),
    ]:
        region = KOTA if package is kota else LEBAK
        plugins = operation(package, "balai_api", "core_list_plugins").sync(
            client=connect(package, served, region)
        )
        assert {p.name for p in plugins} == expected
        assert all(isinstance(p, models_of[package].Plugin) for p in plugins)
        tags = {t["name"] for t in document["tags"]}
        assert ("registry_api" in tags) == ("registry" in expected)

    for package, region in [(kota, KOTA), (lebak, LEBAK)]:
        models = models_of[package]
        admin = token_for(served.app, f"admin@{region.slug}.example")
        officer = connect(package, served, region, admin)

        me = operation(package, "balai_api", "core_get_me").sync(client=officer)
        assert isinstance(me, models.User)
        assert (me.email, me.tenant) == (f"admin@{region.slug}.example", region.slug)

        # Nullable nested objects: a generated model class or None, never a dict.
        page = operation(package, "pengaduan_api", "pengaduan_list_complaints").sync(
            client=officer, per_page=100
        )
        assert isinstance(page, models.PengaduanComplaintPage)
        complaints = page.items
        routed = [c for c in complaints if c.department is not None]
        assert routed, "the demo routes complaints to departments"
        for complaint in complaints:
            assert isinstance(complaint, models.PengaduanComplaint)
            for nested in (complaint.department, complaint.area):
                assert nested is None or isinstance(nested, models.PengaduanNamed)
        assert all(isinstance(c.department.name, str) for c in routed)
        unrouted = models.PengaduanComplaint.from_dict({"department": None, "area": None})
        assert (unrouted.department, unrouted.area) == (None, None)

        detail = operation(package, "pengaduan_api", "pengaduan_get_complaint").sync(
            complaint_id=routed[0].id, client=officer
        )
        assert isinstance(detail, models.PengaduanComplaintDetail)
        assert isinstance(detail.department, models.PengaduanNamed)
        assert detail.department.name == routed[0].department.name
        assert isinstance(detail.reporter, models.PengaduanReporter | None)
        hidden = models.PengaduanComplaintDetail.from_dict({"reporter": None})
        assert hidden.reporter is None

        announcements = operation(package, "pengumuman_api", "pengumuman_list_announcements")
        items = announcements.sync(client=connect(package, served, region)).items
        assert items and all(isinstance(a, models.PengumumanAnnouncement) for a in items)
        credited = [a for a in items if a.department is not None]
        assert credited, "the demo credits announcements to departments"
        assert all(isinstance(a.department, models.PengumumanDepartment) for a in credited)
        assert all(isinstance(a.department.name, str) for a in credited)

    # Public endpoints of Kota Tangerang's puskesmas, and a wrong token refused there.
    facilities = operation(kota, "puskesmas_api", "puskesmas_list_facilities").sync(
        client=connect(kota, served, KOTA)
    )
    models = models_of[kota]
    facility = facilities.items[0]
    assert isinstance(facility, models.PuskesmasFacility)
    assert isinstance(facility.clinics[0], models.PuskesmasClinic)
    wrong = connect(kota, served, KOTA, "balai_wrong")
    before = tickets(served.app)
    refused = operation(kota, "puskesmas_api", "puskesmas_take_ticket").sync_detailed(
        client=wrong, body=models.PuskesmasTake(clinic_id=facility.clinics[0].id)
    )
    assert refused.status_code == 401
    assert isinstance(refused.parsed, models.Error)
    assert refused.parsed.error.code == "unauthorized"
    assert refused.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert tickets(served.app) == before


def tickets(app: Flask) -> int:
    """Queue numbers taken in Kota Tangerang."""
    from balai_puskesmas.models import Ticket

    with app.app_context():
        tenant = registry(app).by_slug(KOTA.slug)
        assert tenant is not None
        with db.tenant_session(tenant.id) as session:
            return session.scalar(select(func.count()).select_from(Ticket)) or 0
