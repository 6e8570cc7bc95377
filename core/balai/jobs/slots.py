"""Schedule arithmetic: the slot a cron line makes due, in a region's time zone.

A job's cron line is read in each region's own time zone (``"15 0 * * *"`` is a
quarter past midnight in Jayapura for a region in WIT, in Jakarta for one in WIB),
because the work it schedules (a deadline check, a daily report) follows the
region's day. Indonesia keeps no daylight saving, so every slot exists exactly once.
Slots are stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter
from flask import Flask

from balai.tenancy import TIMEZONES, TenantInfo

__all__ = ["latest_slot", "region_zone", "slot_key"]


def region_zone(app: Flask, tenant: TenantInfo) -> str:
    """The region's time zone, or the deployment's default (``BABEL_DEFAULT_TIMEZONE``)."""
    zone = tenant.settings.get("timezone")
    return str(zone) if zone in TIMEZONES else str(app.config["BABEL_DEFAULT_TIMEZONE"])


def latest_slot(schedule: str, now: datetime, zone: str) -> datetime:
    """The latest instant at or before ``now`` that ``schedule`` names in ``zone`` (UTC)."""
    local = now.astimezone(ZoneInfo(zone))
    if croniter.match(schedule, local.replace(second=0, microsecond=0)):
        found = local.replace(second=0, microsecond=0)
    else:
        found = croniter(schedule, local).get_prev(datetime)
    return found.astimezone(UTC)


def slot_key(instant: datetime) -> str:
    """How a scheduled slot is stored: ``2026-03-04T17:00:00Z``."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
