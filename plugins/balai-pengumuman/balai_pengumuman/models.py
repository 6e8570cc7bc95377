"""The announcement table (``pengumuman_announcement``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from balai.auth import Department
from balai.db import Base, TenantScoped, utcnow

__all__ = ["Announcement", "Status"]

Status = Literal["scheduled", "active", "archived"]


class Announcement(TenantScoped, Base):
    """A public announcement (*pengumuman*) of the region or one of its departments (OPD).

    It is *scheduled* until ``published_at``, *active* until ``expires_at`` (if any),
    and *archived* after that; archiving early sets ``expires_at`` to now.
    """

    __tablename__ = "pengumuman_announcement"
    __table_args__ = (
        Index("ix_pengumuman_announcement_tenant_id_published_at", "tenant_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(30))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("balai_department.id", ondelete="SET NULL")
    )
    published_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    author_id: Mapped[int | None] = mapped_column(ForeignKey("balai_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    department: Mapped[Department | None] = relationship(lazy="joined")

    def status_at(self, now: datetime) -> Status:
        """Where the announcement stands at ``now``."""
        if self.expires_at is not None and self.expires_at <= now:
            return "archived"
        return "scheduled" if self.published_at > now else "active"

    @property
    def status(self) -> Status:
        """Where the announcement stands now."""
        return self.status_at(utcnow())
