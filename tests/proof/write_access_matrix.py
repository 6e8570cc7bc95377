"""Write ``access_matrix.csv`` from what the current app does.

    .venv/bin/python tests/proof/write_access_matrix.py

runs ``test_access_matrix.py`` with ``BALAI_WRITE_ACCESS_MATRIX=1`` on SQLite: every
guarded route is called as every role, and the outcomes replace the file instead of
being compared with it. Do this on purpose, after adding or changing a route or a
permission, and read the diff (``git diff tests/proof/access_matrix.csv``) before
committing it: every ``allow`` there is a promise of who may do what. A citizen or a
visitor allowed an officer's or an admin's action is a defect of the product to fix,
not a row to keep.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    env = {**os.environ, "BALAI_WRITE_ACCESS_MATRIX": "1"}
    env.pop("BALAI_TEST_DATABASE_URL", None)
    test = HERE / "test_access_matrix.py"
    command = [sys.executable, "-m", "pytest", str(test), "-q", "-rs", "-p", "no:cacheprovider"]
    return subprocess.call(command, env=env, cwd=HERE.parent.parent)  # noqa: S603


if __name__ == "__main__":
    sys.exit(main())
