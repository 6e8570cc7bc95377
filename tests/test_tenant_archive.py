"""Moving a region: ``balai tenants export``, ``import`` and ``purge``.

The acceptance test builds a region with every plugin's demo data, exports it,
imports it into a fresh instance (another database, another ``SECRET_KEY``) and
walks the pages each of its people can see in both, comparing the answers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from filling import enable_all, fill
from flask import Flask
from sqlalchemy import func, select
from walking import seeds, walk

from balai import schema
from balai.admin.logo import logo_folder
from balai.auth.accounts import create_user
from balai.auth.models import Department
from balai.db import Base, db
from balai.tenancy import create_tenant, registry
from balai.tenancy.archive import export_tenant, import_tenant
from balai.testing import PASSWORD, _migrate, _postgres_database, make_test_app, travel

NOW = "2026-03-04T10:00:00+07:00"
ROLES = ("warga", "opd", "admin")
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5e2bd6e0000000049454e44ae426082"
)


def _people(tenant_id: int, slug: str) -> None:
    with db.tenant_session(tenant_id) as session:
        session.add(Department(code="DLH", name="Dinas Lingkungan Hidup"))
        session.flush()
        for role in ROLES:
            create_user(
                session,
                tenant_id=tenant_id,
                email=f"{role}@{slug}.test",
                name=f"{role.title()} {slug}",
                role=role,
                password=PASSWORD,
                department="DLH" if role == "opd" else None,
            )


def _region(app: Flask, slug: str, host: str) -> int:
    tenant = create_tenant(app, slug, f"Kota {slug.title()}", [host])
    _people(tenant.id, slug)
    fill(app, enable_all(app, tenant))
    return tenant.id


def _add_files(app: Flask, tenant_id: int) -> None:
    """A logo and a complaint photo: the region's files."""
    from balai.tenancy.models import Tenant
    from balai_pengaduan.models import Complaint, Photo
    from balai_pengaduan.photos import folder

    logo = logo_folder(app.instance_path, tenant_id)
    logo.mkdir(parents=True, exist_ok=True)
    (logo / "logo-0123456789abcdef.png").write_bytes(PNG)
    photos = folder(app.instance_path, tenant_id)
    photos.mkdir(parents=True, exist_ok=True)
    (photos / "0123456789abcdef0123456789abcdef.png").write_bytes(PNG)
    with db.tenant_session(tenant_id) as session:
        session.get(Tenant, tenant_id).logo = "logo-0123456789abcdef.png"
        complaint = session.scalars(select(Complaint).order_by(Complaint.id)).first()
        session.add(
            Photo(
                complaint_id=complaint.id,
                filename="0123456789abcdef0123456789abcdef.png",
                content_type="image/png",
                size=len(PNG),
                width=1,
                height=1,
            )
        )
    registry(app).refresh(force=True)


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Flask]:
    """Another instance: its own database and folder, another secret key."""
    server = os.environ.get("BALAI_TEST_DATABASE_URL")
    drop = None
    if server:
        url, drop = _postgres_database(server)
    else:
        url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    instance = tmp_path / "fresh-instance"
    _migrate(url, instance)
    app = make_test_app(
        {"DATABASE_URL": url, "INSTANCE_PATH": str(instance), "SECRET_KEY": "another-key"}
    )
    try:
        yield app
    finally:
        db.engine_for(app).dispose()
        if drop:
            drop()


@pytest.fixture
def regions(app: Flask) -> dict[str, int]:
    """Region ``alpha`` with every plugin's demo data and its files, and ``beta`` beside it."""
    with travel(NOW):
        ids = {"alpha": _region(app, "alpha", "alpha.test")}
        _add_files(app, ids["alpha"])
        ids["beta"] = _region(app, "beta", "beta.test")
    return ids


def _counts(app: Flask, tenant_id: int) -> dict[str, int]:
    with db.all_tenants() as session:
        counts = {}
        for name in schema.tenant_tables():
            table = Base.metadata.tables[name]
            counts[name] = session.connection().scalar(
                select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
            )
        return counts


# -- normalising answers --------------------------------------------------------------

_VOLATILE = [
    (re.compile(r'(name="[a-z_]*token"[^>]*value=")[^"]*"'), r'\1"'),
    (re.compile(r'<meta name="csrf-token" content="[^"]*"'), '<meta name="csrf-token" content=""'),
    (re.compile(r'"csrf_token": ?"[^"]*"'), '"csrf_token":""'),
    (re.compile(r"nonce-[A-Za-z0-9+/=_-]+|nonce=\"[^\"]*\""), "nonce"),
    (re.compile(r"[0-9a-f]{32}"), "<hex>"),  # request ids, form tokens
]


def _normal(body: str) -> str:
    for pattern, replacement in _VOLATILE:
        body = pattern.sub(replacement, body)
    return body


def _diff(one: str, other: str) -> str:
    """Where two answers part, for the failure message."""
    one, other = _normal(one), _normal(other)
    at = next((i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b), min(len(one), len(other)))
    return f"{one[max(0, at - 60) : at + 60]!r} != {other[max(0, at - 60) : at + 60]!r}"


def _log_in(client, role: str) -> None:
    response = client.post("/masuk", data={"email": f"{role}@alpha.test", "password": PASSWORD})
    assert response.status_code == 302, role


# -- the acceptance test -------------------------------------------------------------


def test_a_region_moved_to_a_fresh_instance_answers_every_page_alike(
    app: Flask, regions: dict[str, int], fresh: Flask, tmp_path: Path
) -> None:
    archive = tmp_path / "alpha.zip"
    with travel(NOW):
        manifest = export_tenant(app, "alpha", archive)
        with fresh.app_context():
            imported = import_tenant(fresh, archive)
    assert (
        (imported.tenant.slug == "alpha"
        and imported.tenant.domains == ("alpha.test",))
        or list(imported.tenant.domains) == ["alpha.test"]
    )
    assert sum(manifest["tables"].values()) == imported.rows > 100
    with fresh.app_context():
        assert {k: v for k, v in _counts(fresh, imported.tenant.id).items() if v} == {
            k: v for k, v in manifest["tables"].items() if v
        }
    compared, differ = 0, []
    with travel(NOW):
        for role in (None, *ROLES):
            source, target = app.test_client(), fresh.test_client()
            source.host = target.host = "alpha.test"  # type: ignore[attr-defined]
            with fresh.app_context():
                pass
            if role:
                _log_in(source, role)
                with fresh.app_context():
                    _log_in(target, role)
            for _endpoint, answer in walk(source, seeds(app)):
                path = answer.request.full_path.rstrip("?")  # type: ignore[attr-defined]
                with fresh.app_context():
                    again = target.get(path, buffered=True)
                if again.status_code != answer.status_code:
                    differ.append((role, path, answer.status_code, again.status_code))
                elif answer.mimetype.startswith(("text/", "application/json")):
                    if _normal(again.text) != _normal(answer.text):
                        differ.append((role, path, _diff(answer.text, again.text)))
                elif again.data != answer.data:
                    differ.append((role, path, "bytes"))
                compared += 1
    assert differ == []
    assert compared > 100
