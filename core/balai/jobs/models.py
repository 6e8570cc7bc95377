"""``balai_job_run``: one row per run of a job for one region and one slot.

The slot is the scheduled instant a run belongs to (``2026-03-04T17:00:00Z``), or
for an enqueued run its key. The unique ``(tenant, job, slot)`` makes a second claim
of the same slot fail, so two schedulers, a retried enqueue or overlapping cron runs
never run it twice. The rows are region data like any other (tenant-scoped).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from balai.db import Base, TenantScoped, utcnow

__all__ = ["FINISHED", "STATUSES", "WAITING", "JobRun"]

#: queued: claimed, waiting for a worker; running; done; retrying: failed, tried again
#: at ``due_at``; failed: failed for good (or stopped at its time limit, out of retries).
STATUSES = ("queued", "running", "done", "retrying", "failed")
WAITING = ("queued", "retrying")
FINISHED = ("done", "failed")
MAX_ERROR = 2000
MAX_RESULT = 200


class JobRun(TenantScoped, Base):
    """A run of a job for a region: its slot, status, attempts and outcome."""

    __tablename__ = "balai_job_run"
    __table_args__ = (
        UniqueConstraint("tenant_id", "job", "slot"),
        Index("ix_balai_job_run_status_due_at", "status", "due_at"),
        Index("ix_balai_job_run_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    slot: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    #: Keyword arguments of an enqueued run (JSON), given to the job's function.
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: When it may run: the slot's instant, or when a retry is due.
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    result: Mapped[str | None] = mapped_column(String(MAX_RESULT), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
