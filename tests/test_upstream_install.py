"""Which file ``balai plugins install`` takes, and what it refuses before pip runs:
only wheels (an sdist's build code would run on the server), never one that requires
something by address, and pip itself takes wheels only."""

from __future__ import annotations

import hashlib
import io
import subprocess
import zipfile
from pathlib import Path

import pytest
from packaging.version import Version

from balai.upstream import install
from balai.upstream.install import Incompatible, Release, ReleaseFile, Tampered

RELEASE = Release(Version("0.1.0"), ">=0.1", yanked=False)
SDIST = ReleaseFile(
    "balai_kebun-0.1.0.tar.gz", "http://r/files/a/balai_kebun-0.1.0.tar.gz", "a" * 64
)
WHEEL = ReleaseFile(
    "balai_kebun-0.1.0-py3-none-any.whl",
    "http://r/files/b/balai_kebun-0.1.0-py3-none-any.whl",
    "b" * 64,
)


def _wheel(requires: list[str]) -> bytes:
    info = "balai_kebun-0.1.0.dist-info"
    metadata = "Metadata-Version: 2.1\nName: balai-kebun\nVersion: 0.1.0\n" + "".join(
        f"Requires-Dist: {line}\n" for line in requires
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("balai_kebun/__init__.py", "")
        archive.writestr(f"{info}/METADATA", metadata)
    return out.getvalue()


class _Client:
    """Stands in for :class:`balai.upstream.client.RegistryClient`: ``download`` writes
    the given bytes and returns their SHA-256."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def download(self, url: str, target: Path) -> str:
        target.write_bytes(self.data)
        return hashlib.sha256(self.data).hexdigest()


def test_a_release_with_only_an_sdist_is_refused_saying_why():
    with pytest.raises(Incompatible) as refused:
        install.choose_file("kebun", RELEASE, [SDIST])
    assert "only a source distribution of balai-kebun 0.1.0" in str(refused.value)
    assert "installs plugins only from wheels" in str(refused.value)


def test_the_wheel_is_taken_never_the_sdist():
    assert install.choose_file("kebun", RELEASE, [SDIST, WHEEL]) == WHEEL


def test_requirements_by_address_are_found(tmp_path):
    wheel = tmp_path / WHEEL.filename
    wheel.write_bytes(_wheel(["balai>=0.1", "zz-helper @ http://127.0.0.1:8999/zz.whl"]))
    assert install.direct_references(wheel) == ["zz-helper @ http://127.0.0.1:8999/zz.whl"]


def test_a_wheel_requiring_something_by_address_is_refused_and_deleted(tmp_path):
    data = _wheel(["zz-helper @ https://example.org/zz-1.0-py3-none-any.whl"])
    listed = ReleaseFile(WHEEL.filename, WHEEL.url, hashlib.sha256(data).hexdigest())
    with pytest.raises(Tampered) as refused:
        install.fetch_file(_Client(data), listed, tmp_path)
    assert "requires zz-helper @ https://example.org/zz-1.0-py3-none-any.whl" in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_a_plain_wheel_is_kept(tmp_path):
    data = _wheel(["balai>=0.1,<0.2"])
    listed = ReleaseFile(WHEEL.filename, WHEEL.url, hashlib.sha256(data).hexdigest())
    path = install.fetch_file(_Client(data), listed, tmp_path)
    assert path.read_bytes() == data


def test_pip_installs_wheels_only(tmp_path, monkeypatch):
    ran: list[list[str]] = []
    monkeypatch.setattr(
        subprocess,
        "run",
        lambda command, **kw: ran.append(command) or subprocess.CompletedProcess(command, 0),
    )
    wheel = tmp_path / WHEEL.filename
    wheel.write_bytes(b"")
    assert install.pip_install("http://r", "kebun", wheel, "c" * 64) == 0
    (command,) = ran
    assert command[command.index("--only-binary") + 1] == ":all:"
    assert command[-1] == f"balai-kebun @ {wheel.resolve().as_uri()}#sha256={'c' * 64}"
