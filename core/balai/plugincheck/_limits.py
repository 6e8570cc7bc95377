"""``python -m balai.plugincheck._limits MB SECONDS -- COMMAND...``: run COMMAND with
its address space and CPU time limited (``resource.setrlimit``), by ``exec``.

A small program of its own rather than ``preexec_fn``, which is unsafe in a process
with threads (a job worker).
"""

from __future__ import annotations

import os
import resource
import sys


def main(argv: list[str]) -> None:
    megabytes, seconds, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: python -m balai.plugincheck._limits MB SECONDS -- COMMAND...")
    memory = int(megabytes) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (int(seconds), int(seconds) + 5))
    os.execvp(command[0], command)  # noqa: S606 - the caller's own command line


if __name__ == "__main__":
    main(sys.argv[1:])
