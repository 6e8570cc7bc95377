"""The life of a complaint: statuses, allowed transitions and the officers' actions.

received → verified → forwarded → in_progress → resolved → closed, plus
rejected (with a reason) and duplicate (of another complaint) from the early
statuses; the reporter may reopen a resolved complaint for a few days. A verified
complaint routed to the officer's own department goes straight to in_progress
(:func:`balai_pengaduan.services.transition` checks whose department it is).

Officers act with verbs (:data:`ACTIONS`): *Verifikasi*, *Teruskan*, *Kerjakan*,
*Selesaikan*, *Tutup*, *Tolak*, *Gabungkan*; each moves to one status and is recorded
on the complaint's timeline under its name.
"""

from __future__ import annotations

from dataclasses import dataclass

from balai.i18n import N_

__all__ = [
    "ACTIONS",
    "ACTION_LABELS",
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "STATUSES",
    "STATUS_LABELS",
    "TRANSITIONS",
    "Action",
    "action_for",
    "can_transition",
    "open311_status",
]

STATUSES = (
    "received",
    "verified",
    "forwarded",
    "in_progress",
    "resolved",
    "closed",
    "rejected",
    "duplicate",
)

STATUS_LABELS = {
    "received": N_("Received"),
    "verified": N_("Verified"),
    "forwarded": N_("Forwarded"),
    "in_progress": N_("In progress"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
    "rejected": N_("Rejected"),
    "duplicate": N_("Duplicate"),
}

# Moves officers make; the reporter's reopening (resolved → in_progress) is separate.
TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"verified", "rejected", "duplicate"}),
    # in_progress straight from verified: only for the department it is routed to.
    "verified": frozenset({"forwarded", "in_progress", "rejected", "duplicate"}),
    "forwarded": frozenset({"in_progress", "rejected", "duplicate"}),
    "in_progress": frozenset({"resolved"}),
    "resolved": frozenset({"closed", "in_progress"}),
    "closed": frozenset(),
    "rejected": frozenset(),
    "duplicate": frozenset(),
}

# Still waiting for the region to act (counted for deadlines and duplicates).
OPEN_STATUSES = frozenset({"received", "verified", "forwarded", "in_progress"})
CLOSED_STATUSES = frozenset(STATUSES) - OPEN_STATUSES


@dataclass(frozen=True)
class Action:
    """An officer's verb: the status it moves to, the form fields it needs, its address."""

    name: str
    target: str
    label: str
    slug: str  # the last part of its address under /pengaduan/petugas/<id>/
    #: The note is required (the resolution, the reason for rejecting).
    note_required: bool = False


#: The officers' actions, in the order the page offers them.
ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("verify", "verified", N_("Verify"), "verifikasi"),
        Action("start", "in_progress", N_("Start work"), "kerjakan"),
        Action("forward", "forwarded", N_("Forward"), "teruskan"),
        Action("resolve", "resolved", N_("Resolve"), "selesaikan", note_required=True),
        Action("close", "closed", N_("Close"), "tutup"),
        Action("reject", "rejected", N_("Reject"), "tolak", note_required=True),
        Action("merge", "duplicate", N_("Merge"), "gabungkan"),
    )
}

#: How the timeline names each recorded action (``ComplaintEvent.action``).
ACTION_LABELS = {
    "submit": N_("Submitted"),
    "verify": N_("Verified"),
    "forward": N_("Forwarded"),
    "start": N_("Work started"),
    "resolve": N_("Resolved"),
    "close": N_("Closed"),
    "reject": N_("Rejected"),
    "merge": N_("Merged"),
    "reopen": N_("Reopened by the reporter"),
}


def action_for(target: str) -> str:
    """The officers' action that moves a complaint to ``target``."""
    return next((a.name for a in ACTIONS.values() if a.target == target), target)


def can_transition(current: str, target: str) -> bool:
    """Whether an officer may move a complaint from ``current`` to ``target``."""
    return target in TRANSITIONS.get(current, frozenset())


def open311_status(status: str) -> str:
    """GeoReport v2 knows only ``open`` and ``closed``."""
    return "open" if status in OPEN_STATUSES else "closed"
