"""The tables of ``kebun_warga``: ``kebun_warga_plot``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from balai.db import Base, TenantScoped, utcnow

__all__ = ["Plot"]


class Plot(TenantScoped, Base):
    """An entry of one region; ``tenant_id`` is set and filtered by the core."""

    __tablename__ = "kebun_warga_plot"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
