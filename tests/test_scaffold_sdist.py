"""What ``balai plugins new`` writes builds into a source distribution that carries its
own tests, so a registry's check can run them, and a summary in Indonesian."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from email.parser import Parser

from balai.scaffold import new_plugin, spec_for


def test_the_source_distribution_carries_the_tests_and_an_indonesian_summary(tmp_path):
    target = new_plugin(spec_for("kebun", title="Kebun Kota"), tmp_path)
    dist = tmp_path / "dist"
    subprocess.run(  # noqa: S603 - our own interpreter and the build frontend
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(dist)],
        cwd=target,
        capture_output=True,
        check=True,
        timeout=300,
    )
    (sdist,) = dist.glob("balai_kebun-0.1.0.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        metadata = archive.extractfile("balai_kebun-0.1.0/PKG-INFO").read().decode()
    written = {
        str(path.relative_to(target))
        for path in (target / "tests").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert written and written <= names
    assert "tests/conftest.py" in names
    assert "babel.cfg" in names
    assert Parser().parsestr(metadata)["Summary"] == "Kebun Kota: layanan pemerintah daerah."
