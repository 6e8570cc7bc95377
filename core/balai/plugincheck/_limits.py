"""``python -m balai.plugincheck._limits MB SECONDS FILE_MB PROCESSES -- COMMAND...``:
run COMMAND with its address space (MB), CPU time (SECONDS), the size of any file it
writes (FILE_MB) and the number of processes (PROCESSES more than this user runs now)
limited (``resource.setrlimit``), by ``exec``.

The process limit (``RLIMIT_NPROC``) counts every process of the user, and the kernel
ignores it for root: it is not set when running as root. Under bubblewrap the children
have a PID namespace of their own, and every process in it is killed when the check's
process ends (``--die-with-parent``), so none outlives its check.

A small program of its own rather than ``preexec_fn``, which is unsafe in a process
with threads (a job worker).
"""

from __future__ import annotations

import os
import resource
import sys


def main(argv: list[str]) -> None:
    megabytes, seconds, file_mb, processes, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit(
            "usage: python -m balai.plugincheck._limits MB SECONDS FILE_MB PROCESSES -- COMMAND..."
        )
    memory = int(megabytes) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (int(seconds), int(seconds) + 5))
    largest = int(file_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (largest, largest))
    if os.geteuid() != 0:
        allowed = user_processes() + int(processes)
        resource.setrlimit(resource.RLIMIT_NPROC, (allowed, allowed))
    os.execvp(command[0], command)  # noqa: S606 - the caller's own command line


def user_processes() -> int:
    """How many processes (threads) this user runs now (``/proc``; 0 where it cannot be
    read)."""
    uid, count = str(os.getuid()), 0
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return 0
    for entry in entries:
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            if fields.get("Uid", "").split()[:1] == [uid]:
                count += int(fields.get("Threads", "1").strip() or 1)
        except (OSError, ValueError):
            continue
    return count


if __name__ == "__main__":
    main(sys.argv[1:])
