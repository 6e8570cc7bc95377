"""Throw-away virtual environments for tests that install distributions for real.

Such an environment sees this one's packages (the core, the shipped plugins, pip and
setuptools, through a ``.pth`` file), so nothing needs the network, but what is
installed into it stays there: this environment is never changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

__all__ = ["child_env", "throwaway_python"]


def throwaway_python(folder: Path) -> Path:
    """A new virtual environment in ``folder`` (made if missing); its ``python``."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True
    )
    python = folder / "bin" / "python"
    own = subprocess.run(  # noqa: S603 - the new interpreter
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = dict.fromkeys(sysconfig.get_path(kind) for kind in ("purelib", "platlib"))
    # addsitedir, not a bare path: this environment's own .pth files (editable installs) count.
    parents = "; ".join(f"site.addsitedir({path!r})" for path in ours)
    Path(own, "_balai_parent.pth").write_text(f"import site; {parents}\n")
    return python


def child_env(**settings: str) -> dict[str, str]:
    """The environment of a command run in a throw-away environment: this process's,
    without pytest's, Balai's or pip's own variables (the tests' ``BALAI_TEST_*``
    stay), no pip configuration file, then ``settings``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "BALAI_", "PIP_"))
    }
    env.update({k: v for k, v in os.environ.items() if k.startswith("BALAI_TEST_")})
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_CACHE_DIR="1")
    env.update(settings)
    return env
