"""The legacy upload API: what twine sends becomes a pending submission, or a clear 400."""

from __future__ import annotations

import hashlib
import io
import random
import zipfile
from datetime import UTC, datetime

import pytest

from balai import storage
from balai_registry import packages, services

from .conftest import basic, small_wheel, upload_form, wheel_form

URL = "/registry/legacy/"
NOW = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)


def post(client, token, form):
    return client.post(URL, data=form, headers=basic(token), content_type="multipart/form-data")


def reason(response) -> str:
    return response.status.split(" ", 1)[1]


def test_an_upload_becomes_a_pending_submission_with_its_file_stored(
    client, tenant, enabled, partner_token, build_dist, stored
):
    built = build_dist()
    response = post(client, partner_token(), upload_form(built))
    assert response.status_code == 200, response.text
    [submission] = stored()
    assert (submission.project, submission.version, submission.status) == (
        "balai-kebun",
        "1.0.0",
        "pending",
    )
    assert (submission.sha256, submission.size, submission.filetype) == (
        built.sha256,
        len(built.data),
        "bdist_wheel",
    )
    assert submission.summary == "Kebun warga: pendaftaran lahan"
    assert submission.requires_core == "<0.2,>=0.1"
    assert submission.requires_python == ">=3.11"
    assert submission.licence == "Apache-2.0"
    assert submission.kind == "plugin"
    assert submission.metadata_text.startswith("Metadata-Version:")
    assert submission.partner.region == "Kabupaten Lebak"
    files = storage.for_tenant(tenant.id).within("registry")
    assert files.read(services.file_key(built.sha256, built.path.name)) == built.data
    assert f"/registry/kiriman/{submission.key}" in response.text


def test_an_sdist_and_a_theme_are_read_too(client, enabled, partner_token, build_dist, stored):
    token = partner_token()
    assert post(client, token, upload_form(build_dist(sdist=True))).status_code == 200
    theme = build_dist("balai-theme-sawah", kind="theme")
    assert post(client, token, upload_form(theme)).status_code == 200
    sdist, wheel = stored()
    assert (sdist.filetype, sdist.kind) == ("sdist", "plugin")
    assert (wheel.project, wheel.kind) == ("balai-theme-sawah", "theme")


def test_the_same_file_twice_is_refused_with_what_twine_shows(
    client, enabled, partner_token, build_dist, stored
):
    token, built = partner_token(), build_dist()
    assert post(client, token, upload_form(built)).status_code == 200
    again = post(client, token, upload_form(built))
    assert again.status_code == 400
    assert reason(again).startswith("File already exists: berkas balai_kebun-1.0.0-py3-none")
    assert "already exist" in reason(again).lower()  # what twine --skip-existing looks for
    assert "(kiriman 1, menunggu pemeriksaan)" in reason(again)  # the state in words
    assert len(stored()) == 1


def test_another_partner_may_not_take_a_published_name(
    client, enabled, partner_token, build_dist, stored, db_session
):
    assert post(client, partner_token(), upload_form(build_dist())).status_code == 200
    [sent] = stored()
    services.record_check(sent, {"passed": True, "checks": [], "inspection": {}}, NOW)
    services.decide(sent, True, "", None, NOW)
    db_session.commit()
    other = partner_token("Kota Serang")
    refused = post(client, other, upload_form(build_dist(version="1.0.1")))
    assert refused.status_code == 403
    assert "balai-kebun" in reason(refused)
    assert len(stored()) == 1


def _renamed_inside(data: bytes, name: str) -> bytes:
    """The wheel with ``Name:`` in its METADATA changed (its RECORD no longer matches)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for item in old.infolist():
            content = old.read(item)
            if item.filename.endswith("METADATA"):
                content = content.replace(b"Name: balai-kebun", f"Name: {name}".encode())
            new.writestr(item, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({":action": "submit"}, "Hanya :action=file_upload"),
        ({"name": ""}, "Isian name dan version wajib"),
        ({"filetype": "bdist_egg"}, "filetype harus bdist_wheel atau sdist"),
        ({"filetype": "sdist"}, "filetype sdist tidak cocok"),
        ({"sha256_digest": "0" * 64}, "SHA-256 berkas berbeda"),
        ({"sha256_digest": None}, "sha256_digest wajib"),
        ({"name": "balai-lain"}, "berbeda dengan metadata berkas itu sendiri"),
        ({"version": "1.0.1"}, "Versi 1.0.1 berbeda"),
        ({"content": b"not a zip"}, "bukan arsip"),
        ({"filename": "kebun.exe"}, "bukan nama wheel"),
        ({"filename": "../etc/passwd"}, "tidak diperbolehkan"),
    ],
)
def test_a_bad_upload_is_refused_clearly_and_nothing_is_kept(
    client, tenant, enabled, partner_token, build_dist, stored, changes, message
):
    built = build_dist()
    if isinstance(changes.get("content"), bytes):
        changes["sha256_digest"] = hashlib.sha256(changes["content"]).hexdigest()
    response = post(client, partner_token(), upload_form(built, **changes))
    assert response.status_code == 400
    assert message in response.text, response.text
    assert stored() == []
    assert list(storage.for_tenant(tenant.id).within("registry").list()) == []


def test_the_name_inside_the_file_must_match(client, enabled, partner_token, build_dist, stored):
    built = build_dist()
    data = _renamed_inside(built.data, "balai-lain")
    form = upload_form(built, content=data, sha256_digest=hashlib.sha256(data).hexdigest())
    response = post(client, partner_token(), form)
    assert response.status_code == 400
    assert "balai-lain" in response.text
    assert stored() == []


def test_only_balai_distributions_are_taken(client, enabled, partner_token, build_dist, stored):
    built = build_dist("kebun-warga")
    response = post(client, partner_token(), upload_form(built))
    assert response.status_code == 400
    assert "balai-" in response.text
    assert stored() == []


@pytest.mark.parametrize(
    ("scopes", "header", "status"),
    [
        (("upload",), None, 401),
        (("feedback", "report"), "token", 403),
        (("upload",), "Basic X19fdG9rZW5fXzpub3BlCg==", 401),
    ],
)
def test_upload_needs_a_live_token_with_the_upload_scope(
    client, enabled, partner_token, build_dist, stored, scopes, header, status
):
    token = partner_token(scopes=scopes)
    headers = basic(token) if header == "token" else ({"Authorization": header} if header else {})
    response = client.post(
        URL, data=upload_form(build_dist()), headers=headers, content_type="multipart/form-data"
    )
    assert response.status_code == status
    if status == 401:
        assert 'Basic realm="Balai registry"' in response.headers.getlist("WWW-Authenticate")
    assert stored() == []


def test_another_region_does_not_take_the_token(
    client, other_client, enabled, enable_plugin, other_tenant, partner_token, build_dist
):
    enable_plugin("registry", tenant=other_tenant)
    response = post(other_client, partner_token(), upload_form(build_dist()))
    assert response.status_code == 401


def _padded(data: bytes, size: int) -> bytes:
    """The wheel with an incompressible file added, to reach about ``size`` bytes."""
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as wheel:
        wheel.writestr("balai_kebun/data.bin", random.Random(7).randbytes(size))
    return out.getvalue()


# Sizes stay under the 500 KB above which Werkzeug spools a body to a temporary file.
@pytest.mark.balai_config(MAX_CONTENT_LENGTH=128 * 1024)
def test_a_file_larger_than_other_forms_may_be_is_taken(
    app, client, enabled, partner_token, build_dist, stored
):
    built = build_dist()
    data = _padded(built.data, app.config["MAX_CONTENT_LENGTH"] + 1024)
    form = upload_form(built, content=data, sha256_digest=hashlib.sha256(data).hexdigest())
    assert post(client, partner_token(), form).status_code == 200
    assert stored()[0].size == len(data)


def test_a_file_beyond_the_registry_limit_is_413(
    client, enabled, partner_token, build_dist, stored, monkeypatch
):
    monkeypatch.setattr(services, "MAX_UPLOAD", 2 * 1024 * 1024)
    monkeypatch.setattr(packages, "FORM_MARGIN", -1900 * 1024)  # a limit of 148 KB
    built = build_dist()
    data = _padded(built.data, 200 * 1024)
    form = upload_form(built, content=data, sha256_digest=hashlib.sha256(data).hexdigest())
    response = post(client, partner_token(), form)
    assert response.status_code == 413
    assert response.text == "Berkas lebih besar dari 2 MB.\n"
    assert stored() == []


def _with_files(data: bytes, files: dict[str, bytes]) -> bytes:
    """The wheel with ``files`` added."""
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as wheel:
        for name, content in files.items():
            wheel.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("zzz.pth", "Wheel ini membawa berkas .pth: zzz.pth."),
        ("balai_kebun/hidden.pth", "Wheel ini membawa berkas .pth: balai_kebun/hidden.pth."),
        (
            "balai/evil_override.py",
            "Wheel ini membawa berkas di luar paketnya balai_kebun/: balai/evil_override.py.",
        ),
        (
            "balai_kebun-1.0.0.data/purelib/balai/evil.py",
            "di luar paketnya balai_kebun/: balai_kebun-1.0.0.data/purelib/balai/evil.py.",
        ),
        *(
            (
                f"balai_kebun-1.0.0.data/{folder}",
                "Wheel ini membawa berkas dalam folder .data selain purelib atau platlib,"
                " yang dipasang pip di luar paket lingkungannya:"
                f" balai_kebun-1.0.0.data/{folder}.",
            )
            for folder in (
                "data/lib/python3.11/site-packages/sitecustomize.py",
                "scripts/balai",
                "headers/x.h",
            )
        ),
    ],
)
def test_a_wheel_with_files_outside_its_package_is_refused(
    client, enabled, partner_token, build_dist, stored, extra, message
):
    built = build_dist()
    data = _with_files(built.data, {extra: b"import os\n"})
    form = upload_form(built, content=data, sha256_digest=hashlib.sha256(data).hexdigest())
    response = post(client, partner_token(), form)
    assert response.status_code == 400
    assert message in response.text, response.text
    assert stored() == []


def _with_entry_points(filename: str, data: bytes, extra: str) -> bytes:
    """The wheel or sdist ``data`` with ``extra`` added to its entry_points.txt."""
    import tarfile

    out = io.BytesIO()
    if filename.endswith(".whl"):
        with zipfile.ZipFile(io.BytesIO(data)) as wheel, zipfile.ZipFile(out, "w") as copy:
            for info in wheel.infolist():
                content = wheel.read(info)
                if info.filename.endswith(".dist-info/entry_points.txt"):
                    content += extra.encode()
                copy.writestr(info, content)
        return out.getvalue()
    with (
        tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as sdist,
        tarfile.open(fileobj=out, mode="w:gz") as copy,
    ):
        for member in sdist.getmembers():
            content = sdist.extractfile(member).read() if member.isfile() else b""
            if member.name.endswith(".egg-info/entry_points.txt"):
                content += extra.encode()
                member.size = len(content)
            copy.addfile(member, io.BytesIO(content) if member.isfile() else None)
    return out.getvalue()


@pytest.mark.parametrize("sdist", [False, True])
@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (
            "\n[console_scripts]\nkebun-admin = balai_kebun.plugin:main\n",
            "console_scripts: kebun-admin",
        ),
        ("\n[gui_scripts]\nkebun = balai_kebun.plugin:main\n", "gui_scripts: kebun"),
    ],
)
def test_a_distribution_installing_a_command_is_refused_naming_it(
    client, enabled, partner_token, build_dist, stored, sdist, extra, named
):
    built = build_dist(sdist=sdist)
    data = _with_entry_points(built.path.name, built.data, extra)
    form = upload_form(built, content=data, sha256_digest=hashlib.sha256(data).hexdigest())
    response = post(client, partner_token(), form)
    assert response.status_code == 400
    assert f"akan memasang perintah {named}" in response.text, response.text
    assert stored() == []


def _sdist_with(entries: int, *, pkg_info_first: bool) -> bytes:
    """A .tar.gz of ``entries`` empty files, PKG-INFO and entry points first or nowhere."""
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        if pkg_info_first:
            for name, text in (
                ("PKG-INFO", b"Metadata-Version: 2.1\nName: balai-kebun\nVersion: 1.0.0\n"),
                ("balai_kebun.egg-info/entry_points.txt", b"[balai.themes]\nkebun = x\n"),
            ):
                info = tarfile.TarInfo(f"balai_kebun-1.0.0/{name}")
                info.size = len(text)
                archive.addfile(info, io.BytesIO(text))
        for number in range(entries):
            archive.addfile(tarfile.TarInfo(f"balai_kebun-1.0.0/empty/{number}"))
    return out.getvalue()


@pytest.fixture
def members_read(monkeypatch):
    """How many members tarfile has read, counted as it reads them."""
    import tarfile

    count = {"read": 0}
    original = tarfile.TarFile.next

    def counted(self):
        member = original(self)
        count["read"] += member is not None
        return member

    monkeypatch.setattr(tarfile.TarFile, "next", counted)
    monkeypatch.setattr(
        tarfile.TarFile, "getmembers", lambda self: pytest.fail("every member read at once")
    )
    return count


def test_an_sdist_of_many_entries_is_read_only_as_far_as_needed(members_read, monkeypatch):
    from balai_registry import distribution

    monkeypatch.setattr(distribution, "MAX_MEMBERS", 200)
    many = _sdist_with(3000, pkg_info_first=False)
    with pytest.raises(distribution.DistributionError, match="no single PKG-INFO"):
        distribution.read_metadata("balai_kebun-1.0.0.tar.gz", many)
    assert members_read["read"] <= 202  # tarfile reads one ahead
    members_read["read"] = 0
    found = distribution.read_metadata(
        "balai_kebun-1.0.0.tar.gz", _sdist_with(3000, pkg_info_first=True)
    )
    assert (found.name, found.version, found.kind) == ("balai-kebun", "1.0.0", "theme")
    assert members_read["read"] <= 3


def test_a_wheel_of_too_many_entries_is_refused(monkeypatch):
    from balai_registry import distribution

    monkeypatch.setattr(distribution, "MAX_MEMBERS", 50)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as wheel:
        for number in range(51):
            wheel.writestr(f"balai_kebun/{number}.py", b"")
    with pytest.raises(distribution.DistributionError, match="more than 50 files"):
        distribution.read_metadata("balai_kebun-1.0.0-py3-none-any.whl", out.getvalue())


def _patched_metadata_entry(data: bytes, offset: int, value: int) -> bytes:
    """The wheel with a 2-byte field of METADATA's central directory entry set to
    ``value`` (offset 8: the flags, 10: the compression method)."""
    import struct

    data = bytearray(data)
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) != -1:
        length = struct.unpack_from("<H", data, start + 28)[0]
        if bytes(data[start + 46 : start + 46 + length]).endswith(b".dist-info/METADATA"):
            struct.pack_into("<H", data, start + offset, value)
            return bytes(data)
        start += 4
    raise AssertionError("no METADATA entry")


@pytest.mark.parametrize(("offset", "value"), [(8, 0x1), (10, 99)], ids=["encrypted", "aes"])
def test_a_wheel_whose_metadata_cannot_be_read_is_a_400(
    client, enabled, partner_token, build_dist, stored, offset, value
):
    built = build_dist()
    data = _patched_metadata_entry(built.data, offset, value)
    form = upload_form(built, content=data, sha256_digest=hashlib.sha256(data).hexdigest())
    response = post(client, partner_token(), form)
    assert response.status_code == 400, response.text
    assert "bukan arsip yang dapat dibaca" in response.text
    assert stored() == []


@pytest.mark.balai_config(PLUGIN_SETTINGS={"registry": {"upload_limit": "2 per hour"}})
def test_uploads_are_limited_per_token_with_a_429_and_retry_after(
    client, enabled, partner_token, build_dist, stored
):
    token, other = partner_token(), partner_token("Kabupaten Serang")
    first = post(client, token, upload_form(build_dist()))
    assert first.status_code == 200, first.text
    again = post(client, token, upload_form(build_dist()))  # refused, but counted
    assert again.status_code == 400
    refused = post(client, token, upload_form(build_dist(version="1.0.1")))
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "Terlalu banyak permintaan dengan token registri ini." in refused.text
    assert reason(refused).startswith("Terlalu banyak permintaan")
    assert len(stored()) == 1
    # Another partner's token has its own count.
    assert post(client, other, upload_form(build_dist("balai-sawah"))).status_code == 200


@pytest.mark.parametrize(
    ("form_version", "file_version", "inside", "message"),
    [
        ("1" * 100_000, "1.0.0", None, "version lebih dari 64 karakter"),
        ("1.0.0", "1.0.0", "1" * 5000, "Version dalam metadata berkas lebih dari 64 karakter"),
        ("1." * 100 + "0", "1." * 100 + "0", None, "version lebih dari 64 karakter"),
    ],
    ids=["form", "metadata", "file"],
)
def test_an_endless_version_is_a_400_naming_the_field(
    client, enabled, partner_token, stored, form_version, file_version, inside, message
):
    filename, data = small_wheel("balai-kebun", file_version, inside=inside)
    form = wheel_form(filename, data, "balai-kebun", form_version)
    response = post(client, partner_token(), form)
    assert response.status_code == 400, response.text
    assert message in response.text
    assert stored() == []


def test_an_endless_name_is_a_400_naming_the_field(client, enabled, partner_token, stored):
    name = "balai-" + "k" * 120
    filename, data = small_wheel(name, "1.0.0")
    response = post(client, partner_token(), wheel_form(filename, data, name, "1.0.0"))
    assert response.status_code == 400, response.text
    assert "name lebih dari 100 karakter" in response.text
    filename, data = small_wheel(name, "1.0.0")
    form = wheel_form(filename, data, "balai-kebun", "1.0.0")
    response = post(client, partner_token("Kota Serang"), form)
    assert response.status_code == 400, response.text
    assert "Name dalam metadata berkas lebih dari 100 karakter" in response.text


def _requiring(data: bytes, line: str) -> bytes:
    """The wheel with ``line`` added to the Requires-Dist of its METADATA."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for item in old.infolist():
            content = old.read(item)
            if item.filename.endswith(".dist-info/METADATA"):
                content = content.replace(
                    b"Requires-Dist:", f"Requires-Dist: {line}\nRequires-Dist:".encode(), 1
                )
            new.writestr(item, content)
    return out.getvalue()


def test_a_requirement_with_a_direct_url_is_refused_by_name(
    client, enabled, partner_token, build_dist, stored
):
    built = build_dist()
    line = "zz-helper @ http://127.0.0.1:8999/zz_helper-1.0-py3-none-any.whl"
    data = _requiring(built.data, line)
    form = upload_form(built, content=data, sha256_digest=hashlib.sha256(data).hexdigest())
    response = post(client, partner_token(), form)
    assert response.status_code == 400
    assert f"Persyaratan {line} menunjuk URL langsung" in response.text, response.text
    assert stored() == []


def test_a_renamed_file_is_refused_naming_both_names_and_versions(
    client, enabled, partner_token, stored
):
    """twine sends the name and version of the file's metadata; the file name differs."""
    _filename, data = small_wheel("balai-taman", "0.1.0")
    form = wheel_form("balai_kebun_warga-0.2.0-py3-none-any.whl", data, "balai-taman", "0.1.0")
    response = post(client, partner_token(), form)
    assert response.status_code == 400
    assert (
        "Nama berkas menyebut balai-kebun-warga 0.2.0, metadatanya balai-taman 0.1.0"
        in response.text
    ), response.text
    assert stored() == []
