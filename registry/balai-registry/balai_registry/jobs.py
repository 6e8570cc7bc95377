"""Background work of the registry: checking a submission (``registry.check-submission``).

The check itself is the core's :func:`balai.plugincheck.run_check`, imported when the
job runs; it installs the file in a scratch environment, so it runs as a job with a
generous time limit, never in a request.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from balai.db import db, utcnow
from balai.jobs import Job
from balai.tenancy import TenantInfo
from balai_registry import notices, services
from balai_registry.models import Submission
from balai_registry.packages import CHECK_JOB, registry_files

__all__ = ["JOBS", "check_file", "check_submission"]

#: The check's own limit, for everything it runs and reads.
CHECK_TIME_LIMIT = 600
#: The job's limit: the check's with room to fetch and record it.
TIME_LIMIT = 900


def check_submission(tenant: TenantInfo, submission_id: int) -> str:
    """Run the plugin check on a pending submission and keep its report."""
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.status != "pending":
        return f"submission {submission_id}: nothing to check"
    report = _run_check(submission)
    services.record_check(submission, report, utcnow())
    notices.checked(db.session, submission)
    verdict = "passed" if submission.passed else "did not pass"
    return f"submission {submission_id} ({submission.filename}): checks {verdict}"


def _run_check(submission: Submission) -> dict[str, Any]:
    data = registry_files().read(services.file_key(submission.sha256, submission.filename))
    return check_file(submission.filename, data)


def check_file(filename: str, data: bytes, *, require_sandbox: bool = True) -> dict[str, Any]:
    """The report (``CheckReport.to_dict``) of the plugin check of one file.

    Uploaded code is checked in bubblewrap only (``require_sandbox``); without it the
    check runs in bubblewrap when that works here, otherwise without it, and its
    report says so.
    """
    from balai.plugincheck import run_check  # the core's checker, loaded only where it runs

    with tempfile.TemporaryDirectory(prefix="balai-registry-") as folder:
        path = Path(folder) / filename
        path.write_bytes(data)
        report = run_check(path, require_sandbox=require_sandbox, time_limit=CHECK_TIME_LIMIT)
    result: dict[str, Any] = report.to_dict()
    return result


#: Never tried again by itself: a check that ran out of time would only do so again
#: (a reviewer runs it again from the submission's page).
JOBS = [Job(CHECK_JOB, check_submission, retries=0, time_limit=TIME_LIMIT)]
