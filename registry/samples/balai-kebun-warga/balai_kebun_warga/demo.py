"""Sample entries for a demo region (``balai demo``); the cross-tenant sweep of
``balai.testing.check_plugin`` aims at them too."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from balai_kebun_warga import services

__all__ = ["SAMPLES", "add_samples"]

#: Titles of the sample entries, newest first.
SAMPLES = (
    "Kebun RW 03 Kelurahan Cipondoh, 120 m2",
    "Lahan tidur Jalan Perintis Kemerdekaan, 250 m2",
    "Kebun sekolah SDN Karawaci Baru 2, 80 m2",
)


def add_samples(session: Session, now: datetime) -> None:
    """Add :data:`SAMPLES` through the services, a day apart, the newest at ``now``."""
    for days_ago, title in enumerate(SAMPLES):
        services.add_plot(session, {"title": title}, now - timedelta(days=days_ago))
