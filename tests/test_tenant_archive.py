"""Moving a region: ``balai tenants export``, ``import`` and ``purge``.

The acceptance test builds a region with every plugin's demo data, exports it,
imports it into a fresh instance (another database, another ``SECRET_KEY``) and
walks the pages each of its people can see in both, comparing the answers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import zipfile
from collections.abc import Iterator
from pathlib import Path

import hello
import pytest
from filling import enable_all, fill
from flask import Flask
from sqlalchemy import func, inspect, select
from walking import seeds, walk

from balai import hookimpl, ratelimit, schema, storage
from balai.auth.accounts import create_user
from balai.auth.models import Department, User
from balai.cli import cli
from balai.db import Base, db, utcnow
from balai.files import NoRoom
from balai.jobs.models import JobRun
from balai.tenancy import TenancyError, create_tenant, registry, save_plugin_settings
from balai.tenancy.archive import ArchiveError, export_tenant, import_tenant
from balai.tenancy.portable import TenantData
from balai.tenancy.purge import purge_tenant
from balai.testing import (
    PASSWORD,
    S3_BUCKET,
    STORAGE_VARIABLE,
    make_test_app,
    migrate_database,
    new_postgres_database,
    travel,
)

NOW = "2026-03-04T10:00:00+07:00"
ROLES = ("warga", "opd", "admin")
LOGO = "logo-0123456789abcdef.png"
PHOTO = "0123456789abcdef0123456789abcdef.png"
PENDING = "pengaduan/pending/fedcba9876543210fedcba9876543210/01-0123456789abcdef.png"
# A 2x2 PNG as balai.images stores it: re-encoding it gives the same bytes.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a7300000016494441"
    "5478da633c21a7c1c0c0c0c4c0c0c0c0c000000d7201123baecdc50000000049454e44ae426082"
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
    """A logo, a complaint photo and a photo kept for a form not yet sent: the
    region's files."""
    from balai.tenancy.models import Tenant
    from balai_pengaduan.models import Complaint, Photo

    files = storage.for_tenant(tenant_id, app=app)
    files.put(LOGO, PNG)
    files.put(f"pengaduan/{PHOTO}", PNG)
    files.put(PENDING, PNG)
    with db.tenant_session(tenant_id) as session:
        session.get(Tenant, tenant_id).logo = LOGO
        complaint = session.scalars(select(Complaint).order_by(Complaint.id)).first()
        session.add(
            Photo(
                complaint_id=complaint.id,
                filename=PHOTO,
                content_type="image/png",
                size=len(PNG),
                width=1,
                height=1,
            )
        )
    registry(app).refresh(force=True)


def _files(app: Flask, tenant_id: int) -> dict[str, bytes]:
    files = storage.for_tenant(tenant_id, app=app)
    return {entry.key: files.read(entry.key) for entry in files.list()}


def _registry_files(app: Flask, tenant_id: int) -> dict[str, bytes]:
    """The registry's sample files: where it is installed, the region runs it too."""
    files = _files(app, tenant_id)
    return {key: data for key, data in files.items() if key.startswith("registry/")}


def _add_job_run(tenant_id: int) -> None:
    with db.tenant_session(tenant_id) as session:
        session.add(JobRun(job="pengaduan.deadlines", slot="2026-03-04T17:00:00Z", status="done"))


@pytest.fixture
def fresh(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """Another instance: its own database, folder and files, another secret key."""
    server = os.environ.get("BALAI_TEST_DATABASE_URL")
    drop = None
    if server:
        url, drop = new_postgres_database(server)
    else:
        url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    instance = tmp_path / "fresh-instance"
    files: dict[str, str | None] = {"STORAGE_URL": None}
    if os.environ.get(STORAGE_VARIABLE) == "s3":
        files = {
            "STORAGE_URL": f"s3://{S3_BUCKET}/fresh-{secrets.token_hex(6)}",
            "S3_ENDPOINT_URL": request.getfixturevalue("balai_s3_server"),
        }
    migrate_database(url, instance)
    app = make_test_app(
        {"DATABASE_URL": url, "INSTANCE_PATH": str(instance), "SECRET_KEY": "another-key", **files}
    )
    try:
        yield app
    finally:
        db.engine_for(app).dispose()
        ratelimit.dispose(app)
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
    existing = set(inspect(db.engine_for(app)).get_table_names())
    with db.all_tenants() as session:
        counts = {}
        for name in sorted(set(schema.tenant_tables()) & existing):
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
    pairs = enumerate(zip(one, other, strict=False))
    at = next((i for i, (a, b) in pairs if a != b), min(len(one), len(other)))
    return f"{one[max(0, at - 60) : at + 60]!r} != {other[max(0, at - 60) : at + 60]!r}"


def _log_in(client, role: str) -> None:
    response = client.post("/masuk", data={"email": f"{role}@alpha.test", "password": PASSWORD})
    assert response.status_code == 302, role


# -- the acceptance test -------------------------------------------------------------


def test_a_region_moved_to_a_fresh_instance_answers_every_page_alike(
    app: Flask, regions: dict[str, int], fresh: Flask, tmp_path: Path
) -> None:
    archive = tmp_path / "alpha.zip"
    samples = _registry_files(app, regions["alpha"])
    with travel(NOW):
        manifest = export_tenant(app, "alpha", archive)
        with fresh.app_context():
            imported = import_tenant(fresh, archive)
    assert (imported.tenant.slug == "alpha" and imported.tenant.domains == ("alpha.test",)) or list(
        imported.tenant.domains
    ) == ["alpha.test"]
    assert sum(manifest["tables"].values()) == imported.rows > 100
    with fresh.app_context():  # the files, but the photo kept for a form not yet sent
        moved = _files(fresh, imported.tenant.id)
        assert moved == {LOGO: PNG, f"pengaduan/{PHOTO}": PNG, **samples}
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


# -- what an archive holds -------------------------------------------------------------


def _markers(app: Flask, tenant_id: int) -> set[str]:
    """Distinctive text of a region's rows: its users' e-mail addresses and names,
    its complaints, its patients' names."""
    from balai_pengaduan.models import Complaint
    from balai_puskesmas.models import Patient

    with db.tenant_session(tenant_id) as session:
        found = set(session.scalars(select(User.email).where(User.tenant_id == tenant_id)))
        found |= set(session.scalars(select(Complaint.description)))
        found |= set(session.scalars(select(Patient.name)))
    return {m for m in found if m and len(m) > 8}


def test_an_archive_holds_its_region_only_and_no_secret(
    app: Flask, regions: dict[str, int], tmp_path: Path
) -> None:
    archive = tmp_path / "alpha.zip"
    _add_job_run(regions["alpha"])
    export_tenant(app, "alpha", archive)
    with zipfile.ZipFile(archive) as opened:
        text = b"\n".join(opened.read(n) for n in opened.namelist()).decode(errors="replace")
        names = opened.namelist()
    beta = {m for m in _markers(app, regions["beta"]) if m.endswith("@beta.test")}
    assert beta and not [m for m in beta if m in text]
    assert "beta.test" not in text and "Kota Beta" not in text
    assert "admin@alpha.test" in text
    samples = [f"files/{key}" for key in _registry_files(app, regions["alpha"])]
    assert sorted(n for n in names if n.startswith("files/")) == sorted(
        [f"files/{LOGO}", f"files/pengaduan/{PHOTO}", *samples]
    )
    for left in ("balai_login_session", "balai_api_token", "balai_account_code", "balai_job_run"):
        assert f"tables/{left}.jsonl" not in names
    manifest = json.loads(zipfile.ZipFile(archive).read("manifest.json"))
    assert manifest["source"]["slug"] == "alpha" and manifest["format"] == 1
    assert "pengaduan" in manifest["plugins"] and "balai_outbox" in manifest["dropped"]
    assert "balai_job_run" in manifest["dropped"] and "balai_job_run" not in manifest["tables"]
    assert "files pengaduan/pending/" in manifest["dropped"]
    from balai_puskesmas.models import AuditEntry

    with db.tenant_session(regions["alpha"]) as session:  # the export is in the audit trail
        exports = session.scalars(select(AuditEntry).where(AuditEntry.action == "region.export"))
        assert len(exports.all()) == 1
        assert manifest["tables"]["puskesmas_audit"] == session.scalar(
            select(func.count()).select_from(AuditEntry)
        )


def test_an_import_gives_new_ids_and_keeps_every_reference(
    app: Flask, regions: dict[str, int], fresh: Flask, tmp_path: Path
) -> None:
    """Imported after another region, every id is new: each row of the copy is its
    original with its ids and references mapped."""
    from balai_pengaduan.models import Complaint
    from balai_puskesmas.models import Visit

    export_tenant(app, "beta", tmp_path / "beta.zip")
    manifest = export_tenant(app, "alpha", tmp_path / "alpha.zip")
    with fresh.app_context():
        import_tenant(fresh, tmp_path / "beta.zip")
        imported = import_tenant(fresh, tmp_path / "alpha.zip")
        counts = _counts(fresh, imported.tenant.id)
    assert {k: v for k, v in counts.items() if v} == {
        k: v for k, v in manifest["tables"].items() if v
    }
    checked = 0
    for model, refs in ((Complaint, ("category_id", "area_id")), (Visit, ("patient_id",))):
        name = model.__table__.name
        with db.tenant_session(regions["alpha"]) as session:
            originals = session.scalars(select(model).order_by(model.id)).all()
        for original in originals:
            new_id = imported.idmap[name][original.id]
            assert new_id != original.id
            with fresh.app_context(), db.tenant_session(imported.tenant.id) as session:
                copy = session.get(model, new_id)
                for ref in refs:
                    old = getattr(original, ref)
                    target = next(iter(model.__table__.c[ref].foreign_keys)).column.table.name
                    assert getattr(copy, ref) == (old and imported.idmap[target][old])
                    checked += 1
    assert checked > 10
    assert _opened(app, regions["alpha"], None) == _opened(fresh, imported.tenant.id, imported)


def _opened(app: Flask, tenant_id: int, imported) -> list[tuple]:
    """The region's NIKs and reporters' contacts, opened with the instance's own keys
    (so in the fresh instance they were sealed again with its key), in the source's
    order, with whether each NIK's lookup hash is its hash under that key."""
    from balai_pengaduan.models import Complaint
    from balai_pengaduan.reporters import contacts
    from balai_puskesmas.models import Patient
    from balai_puskesmas.runtime import vault_for
    from balai_puskesmas.services import Actor, audit

    def ordered(model, ids):
        return ids if imported is None else [imported.idmap[model.__table__.name][i] for i in ids]

    with app.app_context(), db.tenant_session(tenant_id) as session:
        vault = vault_for(app.config, tenant_id)
        audited = audit(session, Actor(None, "test"), "patient.read", utcnow())
        found = []
        for patient_id in ordered(Patient, SOURCE_IDS["patients"]):
            patient = session.get(Patient, patient_id)
            nik = vault.open(patient.nik_cipher, audited)
            found.append((nik, patient.nik_hash == vault.hash(nik)))
        for complaint_id in ordered(Complaint, SOURCE_IDS["complaints"]):
            sealed = contacts(session.get(Complaint, complaint_id), app)
            found.append((sealed.email, sealed.phone))
    assert len(found) == 20 and any(email for email, _phone in found[10:])
    return found


SOURCE_IDS: dict[str, list[int]] = {}


@pytest.fixture(autouse=True)
def _source_ids(request) -> None:
    """The first ten patients and complaints with a reporter's contact, of region alpha."""
    SOURCE_IDS.clear()
    if "regions" not in request.fixturenames:
        return
    from balai_pengaduan.models import Complaint
    from balai_puskesmas.models import Patient

    regions = request.getfixturevalue("regions")
    with db.tenant_session(regions["alpha"]) as session:
        SOURCE_IDS["patients"] = list(
            session.scalars(select(Patient.id).order_by(Patient.id).limit(10))
        )
        SOURCE_IDS["complaints"] = list(
            session.scalars(
                select(Complaint.id)
                .where(Complaint.reporter_email_sealed.is_not(None))
                .order_by(Complaint.id)
                .limit(10)
            )
        )


def test_an_archive_altered_or_for_a_taken_slug_is_refused_with_nothing_written(
    app: Flask, regions: dict[str, int], tmp_path: Path
) -> None:
    archive = tmp_path / "alpha.zip"
    export_tenant(app, "alpha", archive)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(tampered, "w") as out:
        for name in source.namelist():
            data = source.read(name)
            if name == "tables/balai_user.jsonl":
                data = data.replace(b"Admin alpha", b"Admin evil!")
            out.writestr(name, data)
    before = _counts(app, regions["alpha"])
    with pytest.raises(ArchiveError, match=r"balai_user\.jsonl does not match its SHA-256"):
        import_tenant(app, tampered, slug="delta", domains=["delta.test"])
    with pytest.raises(TenancyError, match="alpha") as refused:
        import_tenant(app, archive)
    assert refused.value.field == "slug"
    assert registry(app).by_slug("delta") is None and _counts(app, regions["alpha"]) == before
    for name, change in (
        (
            "future.zip",
            lambda n, d: d.replace(b'"format": 1', b'"format": 2') if n == "manifest.json" else d,
        ),
        ("extra.zip", None),
    ):
        with zipfile.ZipFile(archive) as source, zipfile.ZipFile(tmp_path / name, "w") as out:
            for member in source.namelist():
                out.writestr(
                    member, change(member, source.read(member)) if change else source.read(member)
                )
            if change is None:
                out.writestr("files/balai/extra.png", PNG)
    with pytest.raises(ArchiveError, match="archive format 2; this Balai reads format 1"):
        import_tenant(app, tmp_path / "future.zip", slug="delta")
    with pytest.raises(ArchiveError, match=r"extra\.png is not in the manifest"):
        import_tenant(app, tmp_path / "extra.zip", slug="delta")
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(ArchiveError, match="not a readable zip"):
        import_tenant(app, tmp_path / "junk.zip", slug="delta")


def test_an_import_that_fails_removes_the_files_it_wrote(
    app: Flask,
    regions: dict[str, int],
    fresh: Flask,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    archive = tmp_path / "alpha.zip"
    export_tenant(app, "alpha", archive)
    put = storage.TenantFiles.put
    written = []

    def full_at_the_photo(self, name, data, content_type=None):  # the logo comes first
        if name.startswith("pengaduan/"):
            raise NoRoom(28, "no room left", name)
        put(self, name, data, content_type)
        written.append(name)

    monkeypatch.setattr(storage.TenantFiles, "put", full_at_the_photo)
    with fresh.app_context():
        with pytest.raises(NoRoom):
            import_tenant(fresh, archive)
        assert written == [LOGO] and registry(fresh).by_slug("alpha") is None
        assert list(storage.store(fresh).list("tenants/")) == []


def test_purge_needs_a_current_archive_and_removes_the_region_only(
    app: Flask, regions: dict[str, int], tmp_path: Path
) -> None:
    archive = tmp_path / "alpha.zip"
    export_tenant(app, "alpha", archive)
    other = tmp_path / "beta.zip"
    export_tenant(app, "beta", other)
    beta_before = _counts(app, regions["beta"])
    with pytest.raises(ArchiveError, match="not an export of alpha"):
        purge_tenant(app, "alpha", other)
    with db.tenant_session(regions["alpha"]) as session:
        session.add(Department(code="NEW", name="Dinas Baru"))
    with pytest.raises(ArchiveError, match="export it again"):
        purge_tenant(app, "alpha", archive)
    export_tenant(app, "alpha", archive)
    _add_job_run(regions["alpha"])  # not carried: it does not make the archive stale
    storage.for_tenant(regions["beta"], app=app).put(LOGO, PNG)
    files = 3 + len(_registry_files(app, regions["alpha"]))
    beta_samples = _registry_files(app, regions["beta"])
    assert len(_files(app, regions["alpha"])) == files
    purged = purge_tenant(app, "alpha", archive)
    assert purged.rows > 100 and purged.files == files  # the kept form photo too
    assert registry(app).by_slug("alpha") is None and _files(app, regions["alpha"]) == {}
    assert not any(_counts(app, regions["alpha"]).values())
    assert _counts(app, regions["beta"]) == beta_before
    assert _files(app, regions["beta"]) == {LOGO: PNG, **beta_samples}


def test_the_commands_export_import_and_purge(app: Flask, tmp_path: Path) -> None:
    create_tenant(app, "kecil", "Kota Kecil", ["kecil.test"])
    _people(registry(app).by_slug("kecil").id, "kecil")
    runner = app.test_cli_runner()
    archive = tmp_path / "kecil.zip"
    result = runner.invoke(cli, ["tenants", "export", "kecil", "--output", str(archive)])
    assert result.exit_code == 0 and "exported kecil" in result.output, result.output
    result = runner.invoke(cli, ["tenants", "purge", "kecil", "--export-file", str(archive)])
    assert result.exit_code == 1 and "--yes" in result.output
    args = ["tenants", "purge", "kecil", "--export-file", str(archive), "--yes"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0 and "purged kecil" in result.output, result.output
    args = ["tenants", "import", str(archive), "--slug", "kecil2", "--domain", "kecil2.test"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0 and "imported kecil2" in result.output, result.output
    result = runner.invoke(cli, args)
    assert result.exit_code == 1 and result.output == "Error: Slug kecil2 sudah dipakai.\n"
    response = app.test_client().post(
        "/masuk",
        data={"email": "admin@kecil.test", "password": PASSWORD},
        base_url="http://kecil2.test",
    )
    assert response.status_code == 302  # the password hashes moved with the accounts


# -- a plugin's data moves without code of its own -------------------------------------


class PrivateNotes:
    """Declares that hello's notes do not move."""

    name = "private-notes"

    @hookimpl
    def tenant_data(self) -> TenantData:
        return TenantData(skip=("hello_note",))


def _hello_archive(app: Flask, tmp_path: Path) -> tuple[dict, list[str]]:
    tenant = create_tenant(app, "kecil", "Kota Kecil", ["kecil.test"])
    tenant = enable_all(app, tenant)
    save_plugin_settings(
        app, tenant, "hello", {"greeting": "Sugeng", "api_key": "kunci-rahasia-42"}
    )
    with db.tenant_session(tenant.id) as session:
        session.add(hello.HelloNote(text="Catatan kota kecil"))
    manifest = export_tenant(app, "kecil", tmp_path / "kecil.zip")
    with zipfile.ZipFile(tmp_path / "kecil.zip") as archive:
        text = b"".join(archive.read(n) for n in archive.namelist())
        assert b"Sugeng" in text and b"kunci-rahasia" not in text and b'"sealed"' not in text
        return manifest, archive.namelist()


@pytest.mark.balai_plugins(hello)
def test_a_plugins_tables_move_without_a_declaration(app: Flask, tmp_path: Path) -> None:
    manifest, names = _hello_archive(app, tmp_path)
    assert manifest["tables"]["hello_note"] == 1 and "tables/hello_note.jsonl" in names
    assert manifest["plugins"]["hello"] == "0"
    assert "hello setting api_key" in manifest["dropped"]


@pytest.mark.balai_plugins(hello, PrivateNotes())
def test_a_plugin_declares_a_table_that_stays(app: Flask, tmp_path: Path) -> None:
    manifest, names = _hello_archive(app, tmp_path)
    assert "hello_note" not in manifest["tables"] and "tables/hello_note.jsonl" not in names
    assert "hello_note" in manifest["dropped"]


# -- crafted archives ------------------------------------------------------------------

HTML = b"<script>alert(document.cookie)</script>"


def _craft(archive: Path, out: Path, members: dict | None = None, source: dict | None = None):
    """A copy of ``archive`` with ``members`` replaced (bytes, or a function of the old
    bytes) and the manifest's ``source`` updated, its hashes made to hold again."""
    with zipfile.ZipFile(archive) as opened:
        data = {name: opened.read(name) for name in opened.namelist()}
    manifest = json.loads(data.pop("manifest.json"))
    for name, content in (members or {}).items():
        data[name] = content(data.get(name)) if callable(content) else content
    manifest["source"].update(source or {})
    manifest["members"] = {name: hashlib.sha256(d).hexdigest() for name, d in data.items()}
    with zipfile.ZipFile(out, "w") as written:
        written.writestr("manifest.json", json.dumps(manifest))
        for name, content in data.items():
            written.writestr(name, content)
    return out


def _rows(change):
    """A member's new content: ``change`` applied to each of its rows."""

    def rewrite(data: bytes) -> bytes:
        rows = [change(json.loads(line)) for line in data.splitlines() if line]
        return b"".join(json.dumps(row).encode() + b"\n" for row in rows)

    return rewrite


def _stored(app: Flask) -> list[str]:
    return sorted(entry.key for entry in storage.store(app).list("tenants/"))


def test_a_crafted_archive_is_refused_with_nothing_written(
    app: Flask, regions: dict[str, int], fresh: Flask, tmp_path: Path
) -> None:
    """What the site serves from a region's files must be an image; an account must
    have a region role; a broken row or member is named, not a crash."""
    archive = tmp_path / "alpha.zip"
    export_tenant(app, "alpha", archive)
    first_row = {"role": "operator"}
    cases = [
        ({"files/x.html": HTML}, {"logo": "x.html"}, r"logo 'x\.html' is not a logo's name"),
        ({}, {"logo": f"pengaduan/{PHOTO}"}, "is not a logo's name"),
        ({f"files/{LOGO}": HTML}, {}, rf"file {LOGO} of the archive is refused"),
        ({f"files/pengaduan/{PHOTO}": HTML}, {}, rf"file pengaduan/{PHOTO} .* is refused"),
        (
            {"tables/pengaduan_photo.jsonl": _rows(lambda r: {**r, "content_type": "text/html"})},
            {},
            r"table pengaduan_photo, row 1: photo type 'text/html'",
        ),
        (
            {"tables/balai_user.jsonl": _rows(lambda r: {**r, **first_row})},
            {},
            r"table balai_user, row 1: role 'operator' is not a region role",
        ),
        (
            {"tables/balai_user.jsonl": _rows(lambda r: {**r, "role": "raja"})},
            {},
            r"table balai_user, row 1: role 'raja'",
        ),
        (
            {"tables/balai_department.jsonl": b"[1, 2]\n"},
            {},
            r"balai_department\.jsonl, line 1: not a JSON object",
        ),
        (
            {"tables/balai_department.jsonl": b"{not json\n"},
            {},
            r"balai_department\.jsonl, line 1: not JSON",
        ),
        (
            {"tables/balai_user.jsonl": _rows(lambda r: {**r, "created_at": "kemarin"})},
            {},
            r"table balai_user, row 1: ",
        ),
        (
            {"tables/balai_department.jsonl": lambda d: d + d},
            {},
            r"table balai_department, row \d+: id \d+ is there twice",
        ),
    ]
    # A zip whose member's own header names another file than its directory does.
    lying = tmp_path / "lying.zip"
    raw = archive.read_bytes()
    lying.write_bytes(raw.replace(b"tables/balai_user.jsonl", b"tables/balai_usex.jsonl", 1))
    cases.append((lying, None, r"balai_user\.jsonl cannot be read"))
    with fresh.app_context():
        for number, (members, source, refusal) in enumerate(cases):
            crafted = (
                members
                if isinstance(members, Path)
                else _craft(archive, tmp_path / f"crafted-{number}.zip", members, source)
            )
            with pytest.raises(ArchiveError, match=refusal):
                import_tenant(fresh, crafted)
            assert registry(fresh).by_slug("alpha") is None and _stored(fresh) == []
        # A support by an account the archive lacks matches no account of the copy.
        with zipfile.ZipFile(archive) as opened:
            complaint = json.loads(opened.read("tables/pengaduan_complaint.jsonl").split(b"\n")[0])
        support = {"id": 1, "complaint_id": complaint["id"], "supporter": "user:987654"}
        crafted = _craft(
            archive,
            tmp_path / "supporter.zip",
            {"tables/pengaduan_support.jsonl": json.dumps(support).encode() + b"\n"},
        )
        imported = import_tenant(fresh, crafted)
        from balai_pengaduan.models import Support

        with db.tenant_session(imported.tenant.id) as session:
            supporters = set(session.scalars(select(Support.supporter)))
        assert supporters == {"gone:987654"}


def test_purge_refuses_a_region_that_is_not_its_archive_now(
    app: Flask, regions: dict[str, int], tmp_path: Path
) -> None:
    """Same row counts are not enough: an edited row, a new file, a renamed region or
    a forged archive with copied counts are each refused."""
    from balai.tenancy.models import Tenant

    alpha = regions["alpha"]
    archive = tmp_path / "alpha.zip"

    def edit_a_department() -> None:
        with db.tenant_session(alpha) as session:
            session.scalars(select(Department)).first().name = "Dinas Diubah"

    def add_a_file() -> None:
        storage.for_tenant(alpha, app=app).put("pengaduan/baru.png", PNG)

    def rename() -> None:
        with db.all_tenants() as session:
            session.get(Tenant, alpha).name = "Kota Lain"

    for change in (edit_a_department, add_a_file, rename):
        export_tenant(app, "alpha", archive)
        change()
        with pytest.raises(ArchiveError, match="export it again"):
            purge_tenant(app, "alpha", archive)
    export_tenant(app, "alpha", archive)
    forged = _craft(archive, tmp_path / "forged.zip", {"tables/balai_department.jsonl": b""})
    with pytest.raises(ArchiveError, match=r"balai_department\.jsonl .* export it again"):
        purge_tenant(app, "alpha", forged)
    assert registry(app).by_slug("alpha") is not None
    files = 4 + len(_registry_files(app, alpha))
    assert purge_tenant(app, "alpha", archive).files == files  # the archive as made, still current


def test_an_archive_is_private_and_leaves_the_sms_token_behind(
    app: Flask, fresh: Flask, tmp_path: Path
) -> None:
    from balai.tenancy.models import Tenant

    tenant = create_tenant(app, "kecil", "Kota Kecil", ["kecil.test"])
    _people(tenant.id, "kecil")
    with db.all_tenants() as session:
        session.get(Tenant, tenant.id).settings = {"sms_token_hash": "abc123", "motto": "Maju"}
    archive = tmp_path / "kecil.zip"
    manifest = export_tenant(app, "kecil", archive)
    assert archive.stat().st_mode & 0o777 == 0o600
    assert manifest["source"]["settings"] == {"motto": "Maju"}
    assert "region setting sms_token_hash" in manifest["dropped"]
    crafted = _craft(
        archive,
        tmp_path / "crafted.zip",
        source={"settings": {"sms_token_hash": "abc123", "motto": "Maju", "x": {"sealed": "v1"}}},
    )
    with fresh.app_context():
        imported = import_tenant(fresh, crafted)
        assert dict(imported.tenant.settings) == {"motto": "Maju"}


@pytest.mark.balai_plugins(hello)
def test_an_archive_too_large_unpacked_is_refused_and_clear_secrets_are_sealed(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from balai.tenancy import archive as archives
    from balai.tenancy.models import PluginState

    _hello_archive(app, tmp_path)
    clear = _craft(
        tmp_path / "kecil.zip",
        tmp_path / "clear.zip",
        {"tables/balai_plugin_state.jsonl": _rows(_with_clear_key)},
    )
    big = _craft(
        tmp_path / "kecil.zip",
        tmp_path / "big.zip",
        {"tables/hello_note.jsonl": lambda d: d + b"\n" * 5000},
    )
    elsewhere = {"slug": "kecil2", "domains": ["kecil2.test"]}
    monkeypatch.setattr(archives, "MAX_TABLE_BYTES", 4000)
    with pytest.raises(ArchiveError, match=r"hello_note\.jsonl unpacks to more than 4000"):
        import_tenant(app, big, **elsewhere)
    monkeypatch.setattr(archives, "MAX_TOTAL_BYTES", 200)
    with pytest.raises(ArchiveError, match="unpacks to more than"):
        import_tenant(app, clear, **elsewhere)
    monkeypatch.undo()
    assert registry(app).by_slug("kecil2") is None
    imported = import_tenant(app, clear, **elsewhere)
    with db.tenant_session(imported.tenant.id) as session:
        state = session.scalar(select(PluginState).where(PluginState.plugin == "hello"))
        assert state.settings["greeting"] == "Sugeng"
        assert set(state.settings["api_key"]) == {"sealed"}


def _with_clear_key(row: dict) -> dict:
    if row["plugin"] == "hello":
        return {**row, "settings": {**row["settings"], "api_key": "kunci-terbuka"}}
    return row
