"""balai.storage: every store (the instance folder and S3 through moto) behaves alike."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import requests
from click.testing import Result
from flask import Flask
from PIL import Image

from balai import files, storage
from balai.cli import cli
from balai.storage import BadKey, NotFound, StorageError
from balai.tenancy.models import Tenant
from balai.testing import S3_BUCKET

BAD_KEYS = ["", "../x", "a/../b", "/etc/passwd", "a\\b", "a\x00b", "a//b", "./a", "a/", "a\nb"]


@pytest.fixture
def region(app: Flask, tenant, storage_backend: str) -> storage.TenantFiles:
    return storage.for_tenant(tenant.id)


def png(colour: str = "#0b5d7a") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, "PNG")
    return out.getvalue()


def test_objects_are_put_read_listed_and_deleted(region: storage.TenantFiles) -> None:
    region.put("b.txt", b"kedua")
    region.put("a/satu.txt", io.BytesIO(b"satu" * 100_000))  # a stream, read to its end
    assert region.exists("b.txt") and not region.exists("c.txt")
    assert region.read("b.txt") == b"kedua"
    assert region.size("a/satu.txt") == 400_000
    with region.open("a/satu.txt") as stream:
        assert stream.read(4) == b"satu"
    assert [(e.key, e.size) for e in region.list()] == [("a/satu.txt", 400_000), ("b.txt", 5)]
    assert [e.key for e in region.list("a/")] == ["a/satu.txt"]
    region.delete("a/satu.txt")
    region.delete("a/satu.txt")  # gone already: fine
    assert [e.key for e in region.list()] == ["b.txt"]
    with pytest.raises(NotFound):
        region.read("a/satu.txt")
    with pytest.raises(NotFound):
        region.stat("a/satu.txt")


def test_a_put_that_fails_half_way_leaves_nothing(region: storage.TenantFiles) -> None:
    class Broken(io.RawIOBase):
        sent = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            if self.sent > 3 * 1024 * 1024:
                raise OSError("the upload broke off")
            self.sent += len(buffer)
            buffer[:] = b"x" * len(buffer)
            return len(buffer)

    region.put("foto.jpg", b"old")
    with pytest.raises(OSError, match=r"broke off|S3"):
        region.put("foto.jpg", io.BufferedReader(Broken()))
    assert region.read("foto.jpg") == b"old"  # the reader still sees the whole old one
    assert [e.key for e in region.list()] == ["foto.jpg"]


def test_the_local_folder_leaves_no_partial_file(app: Flask, tenant) -> None:
    region = storage.for_tenant(tenant.id)
    with pytest.raises(OSError):
        region.put("foto.jpg", io.BufferedReader(_FailingStream()))
    folder = Path(app.instance_path) / "tenants" / str(tenant.id)
    assert not folder.exists() or list(folder.rglob("*")) == []


class _FailingStream(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise OSError("the upload broke off")


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_that_could_leave_their_namespace_are_refused(
    region: storage.TenantFiles, key: str
) -> None:
    for use in (
        lambda: region.put(key, b"x"),
        lambda: region.read(key),
        lambda: region.delete(key),
        lambda: region.exists(key),
        lambda: region.within(key),
    ):
        with pytest.raises(BadKey):
            use()
    assert list(region.store.list("")) == []


def test_a_region_cannot_reach_another_regions_files(
    app: Flask, tenant, other_tenant, storage_backend: str
) -> None:
    mine = storage.for_tenant(tenant.id)
    theirs = storage.for_tenant(other_tenant.id)
    mine.put("logo.png", b"punyaku")
    assert not theirs.exists("logo.png")
    assert list(theirs.list()) == []
    with pytest.raises(BadKey):
        theirs.read(f"../{tenant.id}/logo.png")
    with pytest.raises(NotFound):  # a whole key is only a name inside its own namespace
        theirs.read(f"tenants/{tenant.id}/logo.png")
    theirs.delete("logo.png")
    assert mine.read("logo.png") == b"punyaku"
    assert [e.key for e in mine.list()] == ["logo.png"]


@pytest.mark.parametrize("given", [0, -1, True, "1", 1.0, object()])
def test_only_a_tenant_gets_a_handle(app: Flask, given: object) -> None:
    with pytest.raises(ValueError, match="not a tenant"):
        storage.for_tenant(given)


def test_the_logo_is_streamed_with_an_etag_and_revalidated(
    app: Flask, client, login, tenant, storage_backend: str
) -> None:
    login(client, role="admin")
    form = {"name": "Kota A", "theme": "default", "timezone": "Asia/Jakarta"}
    form["logo"] = (io.BytesIO(png()), "logo.png")
    assert client.post("/admin/tampilan", data=form).status_code == 302
    with client.get("/-/logo") as served:
        assert served.status_code == 200 and served.mimetype == "image/png"
        assert served.data[:8] == b"\x89PNG\r\n\x1a\n"
        assert served.headers["Cache-Control"] == "public, max-age=300"
        etag = served.headers["ETag"]
    with client.get("/-/logo", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304 and again.data == b""
    with client.get("/-/logo", headers={"If-None-Match": '"something-else"'}) as changed:
        assert changed.status_code == 200 and changed.data == served.data


def test_the_store_says_whether_it_can_be_used(
    app: Flask, storage_backend: str, tmp_path: Path
) -> None:
    storage.check()  # the test's own store works
    if storage_backend == "local":
        (tmp_path / "a-file").write_text("")
        broken = storage.open_store("file://" + str(tmp_path / "a-file" / "x"), instance_path="")
    else:
        broken = storage.open_store(
            "s3://no-such-bucket", instance_path="", endpoint_url=app.config["S3_ENDPOINT_URL"]
        )
    with pytest.raises(StorageError):
        broken.check()


def test_signed_addresses_only_where_the_store_has_them(
    region: storage.TenantFiles, storage_backend: str
) -> None:
    region.put("ekspor.csv", b"a,b\n")
    address = region.url("ekspor.csv", expires=60)
    if storage_backend == "local":
        assert address is None
        return
    assert address and ("X-Amz-Expires=60" in address or "Expires=" in address)
    assert requests.get(address, timeout=10).content == b"a,b\n"


@pytest.mark.parametrize(
    "url", ["s3://", "ftp://x/y", "file://relative/folder", "/plain/path", "s3:///prefix"]
)
def test_a_bad_storage_url_stops_the_start(make_app, url: str) -> None:
    with pytest.raises(ValueError, match="STORAGE_URL"):
        make_app(STORAGE_URL=url)


# -- a full disk ---------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.balai_config(STORAGE_URL=None)  # a local disk, whatever the suite's store
def test_a_full_disk_is_no_room_and_the_logo_upload_answers_507(
    app: Flask, client, login, tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    region = storage.for_tenant(tenant.id)
    monkeypatch.setattr(files, "_create", lambda partial: open("/dev/full", "wb"))  # noqa: SIM115
    with pytest.raises(storage.NoRoom):
        region.put("foto.jpg", b"x" * 100_000)
    login(client, role="admin")
    form = {"name": "Kota A", "theme": "default", "timezone": "Asia/Jakarta"}
    form["logo"] = (io.BytesIO(png()), "logo.png")
    refused = client.post("/admin/tampilan", data=form)
    assert refused.status_code == 507
    assert "tidak punya ruang tersisa untuk menyimpan logo" in refused.text
    assert list(region.list()) == []


# -- an unreachable store -----------------------------------------------------------


class _Unreachable:
    """A store whose every call fails as S3 does when its bucket is missing."""

    def __getattr__(self, name: str):
        def fail(*args: object, **kwargs: object) -> None:
            raise StorageError("NoSuchBucket")

        return fail


def _upload_logo(client, **headers: str):
    form = {"name": "Kota A", "theme": "default", "timezone": "Asia/Jakarta"}
    form["logo"] = (io.BytesIO(png()), "logo.png")
    return client.post("/admin/tampilan", data=form, headers=headers)


def test_an_unreachable_store_answers_503_to_a_logo_upload(
    app: Flask, client, login, tenant, db_session, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(client, role="admin")
    monkeypatch.setitem(app.extensions, storage.EXTENSION, _Unreachable())

    page = _upload_logo(client)
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert page.headers["Retry-After"] == "30"
    assert "Penyimpanan berkas tidak dapat dihubungi" in page.text
    assert "Basis data" not in page.text

    api = _upload_logo(client, Accept="application/json")
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert api.json["error"]["code"] == "service_unavailable"
    assert api.json["error"]["message"].startswith("Penyimpanan berkas tidak dapat dihubungi")

    client.post("/bahasa", data={"lang": "en", "next": "/"})
    english = _upload_logo(client)
    assert "The file store cannot be reached" in english.text
    assert db_session.get(Tenant, tenant.id).logo is None  # nothing was saved


# -- balai files migrate -----------------------------------------------------------------


def migrate(app: Flask, *args: str) -> Result:
    """``balai files migrate ARGS`` on ``app``."""
    with app.app_context():
        return app.test_cli_runner().invoke(cli, ["files", "migrate", *args])


@pytest.mark.parametrize("target", ["s3", "folder"])
def test_migrate_copies_every_regions_files_and_can_run_again(
    make_app, tenant, other_tenant, s3_storage, tmp_path: Path, target: str
) -> None:
    # the instance folder, as every install had it; the S3 server is named by its setting
    app = make_app(STORAGE_URL=None, S3_ENDPOINT_URL=s3_storage["S3_ENDPOINT_URL"])
    storage.for_tenant(tenant.id, app=app).put("logo-a.png", png())
    storage.for_tenant(tenant.id, app=app).put("pengaduan/pending/k/00-a.jpg", b"foto")
    storage.for_tenant(other_tenant.id, app=app).put("logo-b.png", png("#c8102e"))
    url = s3_storage["STORAGE_URL"] if target == "s3" else f"file://{tmp_path / 'new'}"

    dry = migrate(app, "--to", url, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "total: 3 would copy, 0 already there, 0 failed" in dry.output
    moved = make_app(STORAGE_URL=url, S3_ENDPOINT_URL=s3_storage["S3_ENDPOINT_URL"])
    assert list(storage.store(moved).list("")) == []

    first = migrate(app, "--to", url)
    assert first.exit_code == 0, first.output
    assert f"{tenant.slug}: 2 copied, 0 already there, 0 failed" in first.output
    assert "total: 3 copied, 0 already there, 0 failed" in first.output
    again = migrate(app, "--to", url)
    assert "total: 0 copied, 3 already there, 0 failed" in again.output

    keys = [e.key for e in storage.store(moved).list("")]
    assert keys == [
        f"tenants/{tenant.id}/logo-a.png",
        f"tenants/{tenant.id}/pengaduan/pending/k/00-a.jpg",
        f"tenants/{other_tenant.id}/logo-b.png",
    ]
    assert storage.for_tenant(other_tenant.id, app=moved).read("logo-b.png") == png("#c8102e")


def test_migrate_replaces_a_different_copy_and_refuses_the_same_store(
    make_app, tenant, s3_storage
) -> None:
    app = make_app(STORAGE_URL=None, S3_ENDPOINT_URL=s3_storage["S3_ENDPOINT_URL"])
    storage.for_tenant(tenant.id, app=app).put("logo-a.png", png())
    moved = make_app(**s3_storage)
    storage.for_tenant(tenant.id, app=moved).put("logo-a.png", b"truncated")
    done = migrate(app, "--to", s3_storage["STORAGE_URL"])
    assert "total: 1 copied, 0 already there, 0 failed" in done.output
    assert storage.for_tenant(tenant.id, app=moved).read("logo-a.png") == png()
    same = migrate(app, "--to", f"file://{app.instance_path}")
    assert same.exit_code != 0 and "the same store" in same.output
    missing = migrate(app, "--to", f"s3://no-{S3_BUCKET}/x")
    assert missing.exit_code != 0 and "target store cannot be used" in missing.output
