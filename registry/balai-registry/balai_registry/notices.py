"""E-mails to the submitter, through the core's outbox: checks done, decision taken.

Queued in the caller's transaction (nothing is sent if it rolls back). Needs an app
context whose current tenant is the upstream region (a request or a job).
"""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session

from balai.channels import Message, queue
from balai.tenancy import external_url
from balai_registry.models import Submission

__all__ = ["checked", "decided"]

SOURCE = "registry"


def _send(session: Session, submission: Submission, subject: str, lines: list[str]) -> None:
    partner = submission.partner
    if partner is None:
        return
    link = external_url(g.tenant, "registry.submission", key=submission.key)
    body = "\n\n".join([*lines, _("The report: %(url)s", url=link)])
    queue(session, Message("email", partner.email, body, subject), source=SOURCE)


def checked(session: Session, submission: Submission) -> None:
    """The checks of ``submission`` have run."""
    if submission.passed and submission.skipped:
        outcome = ngettext(
            "The checks passed, %(num)d of them skipped (the report says why). A maintainer "
            "will now publish or reject it.",
            "The checks passed, %(num)d of them skipped (the report says why). A maintainer "
            "will now publish or reject it.",
            submission.skipped,
        )
    elif submission.passed:
        outcome = _("Every check passed. A maintainer will now publish or reject it.")
    else:
        outcome = _("Some checks did not pass: see the report, fix them and send a new version.")
    _send(
        session,
        submission,
        _("Checks of %(filename)s", filename=submission.filename),
        [_("The checks of %(filename)s have run.", filename=submission.filename), outcome],
    )


def decided(session: Session, submission: Submission) -> None:
    """A maintainer published or rejected ``submission``."""
    if submission.status == "published":
        subject = _("%(filename)s is published", filename=submission.filename)
        first = _(
            "%(filename)s is published in the registry: every region can install it now.",
            filename=submission.filename,
        )
    else:
        subject = _("%(filename)s is rejected", filename=submission.filename)
        first = _("%(filename)s is not published.", filename=submission.filename)
    lines = [first]
    if submission.comment:
        lines.append(_("The maintainer's comment:") + "\n" + submission.comment)
    _send(session, submission, subject, lines)
