"""Start-up time of one worker: import Balai and build the app, in this fresh process.

    .venv/bin/python bench/startup_time.py DATABASE_URL PLUGINS

Prints ``{"imports": s, "create_app": s, "cpu": s}`` as JSON: the seconds to import
the core (and the stand-in plugins), the seconds ``create_app`` takes with ``PLUGINS``
stand-in plugins installed besides the real ones found through entry points, and
the CPU seconds the process used for all of it (interpreter start-up included).
"""

from __future__ import annotations

import time

started = time.perf_counter()

import json  # noqa: E402 - the imports are part of what is timed
import sys  # noqa: E402
import tempfile  # noqa: E402

from dummy_plugins import dummy_plugins  # noqa: E402

from balai.app import create_app  # noqa: E402


def main() -> None:
    url, count = sys.argv[1], int(sys.argv[2])
    imported = time.perf_counter()
    with tempfile.TemporaryDirectory() as instance:
        create_app(
            {
                "DATABASE_URL": url,
                "INSTANCE_PATH": instance,
                "SECRET_KEY": "bench-secret",
                "TENANCY": "multi",
                "EXTRA_PLUGINS": dummy_plugins(count),
            }
        )
        built = time.perf_counter()
    print(
        json.dumps(
            {
                "imports": imported - started,
                "create_app": built - imported,
                "cpu": time.process_time(),
            }
        )
    )


if __name__ == "__main__":
    main()
