"""The sample plugins the demo's registry publishes (``registry/samples/``): each one
passes its own tests and ruff, installed in a throw-away environment (never in this
one, whose plugins they are not). No network: pip builds with this setuptools."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from balai_registry import demo

PIP_OFFLINE = ["--no-deps", "--no-build-isolation", "--no-index", "--disable-pip-version-check"]


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(  # noqa: S603
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done.stdout


@pytest.fixture
def sample_python(tmp_path: Path) -> Path:
    """A new virtual environment that sees this one's packages, without pip of its own.
    One per sample: the samples share message ids, which one catalogue would merge."""
    folder = tmp_path / "venv"
    venv.create(folder, with_pip=False)
    python = folder / "bin" / "python"
    site = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], folder
    )
    ours = sysconfig.get_paths()["purelib"]
    Path(site.strip(), "_balai_parent.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return python


def test_the_samples_are_not_installed_here():
    from importlib.metadata import PackageNotFoundError, distribution

    for name in demo.SAMPLES:
        with pytest.raises(PackageNotFoundError):
            distribution(name)


@pytest.mark.parametrize("name", demo.SAMPLES)
def test_a_sample_passes_ruff_and_its_own_tests(name, sample_python, tmp_path):
    source = tmp_path / name
    shutil.copytree(
        demo.SAMPLES_DIR / name,
        source,
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )
    ruff = [sys.executable, "-m", "ruff"]
    _run([*ruff, "check", "."], source)
    _run([*ruff, "format", "--check", "."], source)
    pip = [sys.executable, "-m", "pip", "--python", str(sample_python), "install", "--quiet"]
    _run([*pip, *PIP_OFFLINE, str(source)], source)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "BALAI_"))}
    env.update({k: v for k, v in os.environ.items() if k.startswith("BALAI_TEST_")})

    out = _run([str(sample_python), "-m", "pytest", "-q", "-p", "no:xdist"], source, env)

    summary = out.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed in .*", summary), out[-3000:]  # none failed or skipped
