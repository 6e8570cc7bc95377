"""The registry's tables: partners (``registry_partner``) and what they send."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from balai.db import Base, TenantScoped, utcnow

__all__ = ["SCOPES", "Partner"]

#: What a partner's token may do: send plugins, send evaluations, report usage.
SCOPES = ("upload", "feedback", "report")


class Partner(TenantScoped, Base):
    """A partner region (*daerah mitra*) holding a registry token of the upstream region.

    Only the token's SHA-256 is kept; the token itself is shown once, when issued.
    ``scopes`` is a space-separated subset of :data:`SCOPES`.
    """

    __tablename__ = "registry_partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(20))
    scopes: Mapped[str] = mapped_column(String(100))
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
