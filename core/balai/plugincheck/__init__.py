"""Check a plugin distribution before it is published: ``run_check(path)``.

The wheel or sdist at ``path`` is installed into a throw-away virtual environment
that sees the running environment's packages, and every check runs in a separate
process (never in the caller's) with a time limit, a memory limit and, inside
bubblewrap, no network and nothing writable but the check's scratch folder
(``require_sandbox=True`` refuses to run without bubblewrap). The report lists each
check with its status and captured output, and what the distribution declares
(:attr:`CheckReport.inspection`).

The ``metadata``, ``bandit`` and ``catalogue`` checks are static: worked out by a
process that never imports or runs the distribution's code, from the archive and the
installed files; they are authoritative. The other checks run the plugin's code in
the very process that reports them: a hostile plugin can forge their outcome, so they
are evidence for a reviewer, not proof. Results reach this process over a pipe it
reads with a size limit (never a file the code could replace), and a report passes
only with every check of :data:`CHECKS` in it. What the sandbox does and does not keep
from the code: ``docs/plugin-authors.md`` ("Check before you publish").
"""

from __future__ import annotations

from balai.plugincheck._files import direct_url_requirements, file_refusal
from balai.plugincheck._report import CHECKS, STATUSES, CheckReport, CheckResult, summary_text
from balai.plugincheck._run import run_check

__all__ = [
    "CHECKS",
    "STATUSES",
    "CheckReport",
    "CheckResult",
    "direct_url_requirements",
    "file_refusal",
    "run_check",
    "summary_text",
]
