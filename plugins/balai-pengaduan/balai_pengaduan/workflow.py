"""The life of a complaint: statuses, allowed transitions and who may make them.

received → verified → forwarded → in_progress → resolved → closed, plus
rejected (with a reason) and duplicate (of another complaint) from the early
statuses; the reporter may reopen a resolved complaint for a few days.
"""

from __future__ import annotations

from balai.i18n import N_

__all__ = [
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "STATUSES",
    "STATUS_LABELS",
    "TRANSITIONS",
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
    "verified": frozenset({"forwarded", "rejected", "duplicate"}),
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


def can_transition(current: str, target: str) -> bool:
    """Whether an officer may move a complaint from ``current`` to ``target``."""
    return target in TRANSITIONS.get(current, frozenset())


def open311_status(status: str) -> str:
    """GeoReport v2 knows only ``open`` and ``closed``."""
    return "open" if status in OPEN_STATUSES else "closed"
