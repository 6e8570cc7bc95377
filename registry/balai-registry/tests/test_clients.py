"""Real clients against the live registry: twine uploads, pip installs.

The app is served on 127.0.0.1 (``balai.testing.serve``). Each client reaches the
upstream region by its own host name, ``kota-a.test``: the server itself is given to
them as their HTTP proxy, so every request goes to 127.0.0.1 in absolute form and
Werkzeug takes its ``Host`` from it, as a region's reverse proxy would pass it on.
pip installs into a fresh virtual environment (``--python``), with ``--isolated`` so no
configuration of this machine (its own indexes, find-links) is read.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from balai.testing import serve

BIN = Path(sys.executable).parent
HOST = "kota-a.test"


class Recorder:
    """WSGI middleware noting the path of every request the server answers."""

    def __init__(self, app: Flask) -> None:
        self.wsgi_app, self.paths = app.wsgi_app, []

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        self.paths.append(environ.get("PATH_INFO", ""))
        return self.wsgi_app(environ, start_response)


@pytest.fixture
def served(app: Flask, enabled) -> Iterator[tuple[int, Recorder]]:
    recorder = Recorder(app)
    app.wsgi_app = recorder  # type: ignore[method-assign]
    with serve(app) as port:
        yield port, recorder


def _env(port: int) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.upper().startswith(("PIP_", "TWINE_"))}
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        keep.pop(name, None)
    proxy = f"http://127.0.0.1:{port}"
    return {
        **keep,
        "HTTP_PROXY": proxy,
        "http_proxy": proxy,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "COLUMNS": "400",  # twine's messages on one line each
        "NO_COLOR": "1",
    }


def run(args: list[str], port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  (our own tools and arguments)
        args, env=_env(port), capture_output=True, text=True, timeout=300, check=False
    )


def twine_upload(port: int, token: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return run(
        [
            str(BIN / "twine"),
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            f"http://{HOST}:{port}/registry/legacy/",
            "-u",
            "__token__",
            "-p",
            token,
            *map(str, files),
        ],
        port,
    )


@pytest.fixture
def fresh_env(tmp_path: Path) -> Callable[[], Path]:
    """``fresh_env()``: a new virtual environment (without pip); its Python."""
    counter = iter(range(100))

    def make() -> Path:
        folder = tmp_path / f"venv-{next(counter)}"
        venv.create(folder, with_pip=False)
        return folder / "bin" / "python"

    return make


def pip_install(port: int, python: Path, *requirements: str) -> subprocess.CompletedProcess[str]:
    return run(
        [
            sys.executable,
            "-m",
            "pip",
            "--isolated",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--proxy",
            f"http://127.0.0.1:{port}",
            "--trusted-host",
            HOST,
            "--index-url",
            f"http://{HOST}:{port}/registry/simple/",
            *requirements,
        ],
        port,
    )


def installed_version(python: Path, name: str) -> str:
    found = subprocess.run(  # noqa: S603
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({name!r}))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return found.stdout.strip() or found.stderr


def test_twine_uploads_and_pip_installs_once_published(
    served, client, login, partner_token, build_dist, fake_check, run_jobs, stored, fresh_env
):
    port, recorder = served
    token = partner_token()
    wheel, sdist = build_dist(), build_dist(sdist=True)
    sent = twine_upload(port, token, wheel.path, sdist.path)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert [s.status for s in stored()] == ["pending", "pending"]

    # Nothing is installable before a maintainer publishes it.
    python = fresh_env()
    early = pip_install(port, python, "balai-kebun")
    assert early.returncode != 0
    assert "No matching distribution found for balai-kebun" in early.stderr

    fake_check(passed=True)
    run_jobs()
    login(client, role="admin")
    for submission in stored():
        decided = client.post(
            f"/registry/kelola/kiriman/{submission.id}/putuskan", data={"decision": "publish"}
        )
        assert decided.status_code == 302

    recorder.paths.clear()
    done = pip_install(port, python, "balai-kebun")
    assert done.returncode == 0, done.stdout + done.stderr
    assert installed_version(python, "balai-kebun") == "1.0.0"
    assert f"/registry/files/{wheel.sha256}/{wheel.path.name}.metadata" in recorder.paths  # PEP 658
    assert f"/registry/files/{wheel.sha256}/{wheel.path.name}" in recorder.paths  # the wheel

    # twine shows why a second upload of the same file is refused.
    again = twine_upload(port, token, wheel.path)
    assert again.returncode != 0
    told = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", again.stdout + again.stderr).split())
    assert (
        f"HTTPError: 400 Bad Request from http://{HOST}:{port}/registry/legacy/"
        f" File already exists: berkas {wheel.path.name} sudah pernah dikirim"
    ) in told, told


def test_twine_is_told_when_the_token_is_wrong(served, build_dist, stored):
    port, _recorder = served
    refused = twine_upload(port, "balai-reg-not-a-token", build_dist().path)
    assert refused.returncode != 0
    assert "401" in refused.stdout + refused.stderr
    assert stored() == []


def test_pip_skips_a_yanked_version_unless_asked_for_it(served, publish, db_session, fresh_env):
    port, _recorder = served
    from balai.db import utcnow
    from balai_registry import services

    publish()
    publish(version="1.1.0")
    services.yank(db_session, "balai-kebun", "1.1.0", "Merusak data kebun", utcnow())
    db_session.commit()
    python = fresh_env()
    latest = pip_install(port, python, "balai-kebun")
    assert latest.returncode == 0, latest.stdout + latest.stderr
    assert installed_version(python, "balai-kebun") == "1.0.0"
    pinned = pip_install(port, python, "balai-kebun==1.1.0")
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    assert installed_version(python, "balai-kebun") == "1.1.0"
    assert "Merusak data kebun" in pinned.stdout + pinned.stderr  # pip names the reason


def test_another_region_installs_nothing_from_it(
    served, publish, other_tenant, enable_plugin, fresh_env
):
    port, _recorder = served
    publish()
    enable_plugin("registry", tenant=other_tenant)
    python = fresh_env()
    result = run(
        [
            sys.executable,
            "-m",
            "pip",
            "--isolated",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-cache-dir",
            "--proxy",
            f"http://127.0.0.1:{port}",
            "--trusted-host",
            "kota-b.test",
            "--index-url",
            f"http://kota-b.test:{port}/registry/simple/",
            "balai-kebun",
        ],
        port,
    )
    assert result.returncode != 0
    assert "No matching distribution found for balai-kebun" in result.stderr


def test_pip_installs_the_demo_sample(served, tenant, db_session, fresh_env):
    from balai_registry import plugin

    port, _recorder = served
    plugin.populate_demo(tenant=tenant, session=db_session)
    db_session.commit()
    python = fresh_env()
    done = pip_install(port, python, "balai-kebun-warga")
    assert done.returncode == 0, done.stdout + done.stderr
    assert installed_version(python, "balai-kebun-warga") == "0.1.0"
