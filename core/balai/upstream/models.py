"""What a region keeps of its upstream registry: the link (address and token) and a
copy of the evaluations it sent, so its pages work while the upstream is down."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from balai.db import Base, TenantScoped, utcnow

__all__ = ["SEVERITIES", "STATUSES", "UpstreamEvaluation", "UpstreamLink"]

#: How much what is lacking hurts, least first (the registry's values).
SEVERITIES = ("low", "medium", "high", "critical")
#: Where an evaluation stands upstream (the registry's values).
STATUSES = ("open", "answered", "planned", "done", "declined")


class UpstreamLink(TenantScoped, Base):
    """The region's upstream registry: its address (none: the deployment's
    ``REGISTRY_URL``) and the region's registry token, sealed (:mod:`balai.crypto`)."""

    __tablename__ = "balai_upstream_link"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str | None] = mapped_column(String(500), default=None)
    token: Mapped[str | None] = mapped_column(Text, default=None)
    #: When the evaluations were last fetched, and why the last try failed (if it did).
    synced_at: Mapped[datetime | None] = mapped_column(default=None)
    sync_error: Mapped[str | None] = mapped_column(String(500), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class UpstreamEvaluation(TenantScoped, Base):
    """An evaluation (*evaluasi*) the region sent upstream about a plugin it runs, as
    the upstream last told it, with the replies of both sides."""

    __tablename__ = "balai_upstream_evaluation"
    __table_args__ = (UniqueConstraint("tenant_id", "upstream", "remote_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The upstream's address it was sent to, and its id there.
    upstream: Mapped[str] = mapped_column(String(500))
    remote_id: Mapped[int]
    plugin: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    #: ``[{author, from_upstream, body, created_at}]`` as the upstream gives them.
    replies: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    url: Mapped[str | None] = mapped_column(String(500), default=None)
    #: The patch (a unified diff) sent with it, if any.
    patch: Mapped[str | None] = mapped_column(Text, default=None)
    #: The derived plugin sent with it, as the upstream last told:
    #: ``{filename, project, version, status, passed, url}``; ``None`` when none was sent.
    derived: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
