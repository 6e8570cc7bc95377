"""The registry's tables: partners (``registry_partner``) and what they send
(``registry_submission``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from balai.db import Base, TenantScoped, utcnow
from balai_registry.names import ordered_range

__all__ = ["SCOPES", "STATUSES", "Partner", "Submission"]

#: What a partner's token may do: send plugins, send evaluations, report usage.
SCOPES = ("upload", "feedback", "report")


class Partner(TenantScoped, Base):
    """A partner region (*daerah mitra*) holding a registry token of the upstream region.

    One partner per region: a new token replaces the old one on the same row
    (:func:`~balai_registry.services.rotate_partner`), so what the region sent stays its
    own. ``region_key``, the name with spaces and case aside, is unique in the upstream
    region, so two admins adding the same region at once cannot make it twice. Only the
    token's SHA-256 is kept; the token itself is shown once, when issued
    (``created_at``, by ``created_by_id``). ``scopes`` is a space-separated subset of
    :data:`SCOPES`.
    """

    __tablename__ = "registry_partner"
    __table_args__ = (
        Index("uq_registry_partner_tenant_id_region_key", "tenant_id", "region_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(200))
    region_key: Mapped[str] = mapped_column(String(200), server_default="")
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(20))
    scopes: Mapped[str] = mapped_column(String(100))
    #: The upstream region's own token: it alone may send the reserved names (the
    #: distributions the project ships, ``REGISTRY_RESERVED_NAMES``).
    upstream: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("balai_user.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None] = mapped_column()

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    def allows(self, scope: str) -> bool:
        """Whether the token is live and carries ``scope``."""
        return self.revoked_at is None and scope in self.scope_list


#: Where a submission stands: waiting for its checks, checked, then decided.
STATUSES = ("pending", "checked", "published", "rejected")


class Submission(TenantScoped, Base):
    """One distribution file a partner sent (*kiriman*): a wheel or an sdist.

    It is checked in the background (``report`` holds the check's report), then a
    maintainer publishes or rejects it. Only published files reach the index and the
    catalogue; a published version may later be yanked (PEP 592) with a reason.
    Everything shown about it is read from the file's own metadata (``metadata_text``,
    also served as the PEP 658 metadata file). ``key`` opens its report page to
    whoever holds the link the submitter was sent. ``evaluation_id`` names the
    evaluation it was sent with, when a partner sent it as a *derived plugin* of the
    plugin it evaluated (:func:`balai_registry.feedback.attach_derived`).
    """

    __tablename__ = "registry_submission"
    __table_args__ = (
        UniqueConstraint("tenant_id", "filename", name="uq_registry_submission_tenant_filename"),
        Index("ix_registry_submission_tenant_project", "tenant_id", "project", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("registry_partner.id", ondelete="SET NULL")
    )
    project: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    filetype: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(10), default="plugin")
    summary: Mapped[str] = mapped_column(String(512), default="")
    licence: Mapped[str] = mapped_column(String(200), default="")
    requires_python: Mapped[str] = mapped_column(String(100), default="")
    requires_core: Mapped[str] = mapped_column(String(100), default="")
    metadata_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    checked_at: Mapped[datetime | None] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("balai_user.id", ondelete="SET NULL")
    )
    yanked_at: Mapped[datetime | None] = mapped_column()
    yanked_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    evaluation_id: Mapped[int | None] = mapped_column(
        ForeignKey("registry_evaluation.id", ondelete="SET NULL"), index=True
    )

    partner: Mapped[Partner | None] = relationship(lazy="joined")

    @property
    def passed(self) -> bool | None:
        """Whether every check passed; ``None`` while the checks have not run."""
        return None if self.report is None else bool(self.report.get("passed"))

    @property
    def core_range(self) -> str:
        """Its core range as pages show it, lower bounds first (``>=0.1,<0.2``)."""
        return ordered_range(self.requires_core)

    @property
    def skipped(self) -> int:
        """How many of its checks were skipped (they count as neither passed nor failed)."""
        checks = (self.report or {}).get("checks") or []
        return sum(1 for check in checks if check.get("status") == "skipped")

    @property
    def inspection(self) -> dict[str, Any]:
        """What the check read from the plugin (hooks, permissions, languages, ...)."""
        return dict((self.report or {}).get("inspection") or {})
