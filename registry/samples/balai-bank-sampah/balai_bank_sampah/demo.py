"""Sample entries for a demo region (``balai demo``); the cross-tenant sweep of
``balai.testing.check_plugin`` aims at them too."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from balai_bank_sampah import services

__all__ = ["SAMPLES", "add_samples"]

#: Titles of the sample entries, newest first.
SAMPLES = (
    "RW 05 Neglasari: 12,5 kg plastik dan 8 kg kardus",
    "Bank Sampah Melati RW 02: 20 kg botol plastik",
    "SMPN 4 Kota Tangerang: 6 kg kertas bekas",
)


def add_samples(session: Session, now: datetime) -> None:
    """Add :data:`SAMPLES` through the services, a day apart, the newest at ``now``."""
    for days_ago, title in enumerate(SAMPLES):
        services.add_deposit(session, {"title": title}, now - timedelta(days=days_ago))
