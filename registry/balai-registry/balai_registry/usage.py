"""Usage reports: which plugin versions run in which region (*laporan pemakaian*).

A partner's Balai installation reports now and then, under a stable random id of its
own (``instance``), the region it serves, its core version and its plugins. The
latest report of an installation replaces the one before, so the registry always
knows what runs where now. No Flask here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from packaging.version import Version
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from balai.db import Base, TenantScoped, db
from balai.i18n import N_
from balai_registry.models import Partner
from balai_registry.names import plugin_name, plugin_version

__all__ = [
    "MAX_INSTANCES",
    "MAX_PLUGINS",
    "Report",
    "ReportError",
    "RunningRegion",
    "UsagePlugin",
    "UsageReport",
    "record_report",
    "regions_running",
]

MAX_PLUGINS = 500
#: The installations one partner may have reported: a partner hosting its neighbours
#: reports one a region, not an unbounded list of regions it names itself.
MAX_INSTANCES = 50
_INSTANCE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class ReportError(ValueError):
    """A report the rules refuse; ``errors`` maps each field to its message ids."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class UsageReport(TenantScoped, Base):
    """The latest report of one installation of a partner region."""

    __tablename__ = "registry_usage_report"
    __table_args__ = (UniqueConstraint("tenant_id", "partner_id", "instance"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("registry_partner.id", ondelete="CASCADE"))
    instance: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(200))
    core_version: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column()


class UsagePlugin(TenantScoped, Base):
    """One plugin version a reported installation runs."""

    __tablename__ = "registry_usage_plugin"
    __table_args__ = (Index("ix_registry_usage_plugin_tenant_id_name", "tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("registry_usage_report.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(64))


class RunningRegion(NamedTuple):
    """A region a report names, and the partner whose token sent the report: the
    region's name is the partner's word, so pages say who reported it."""

    region: str
    reported_by: str


@dataclass(frozen=True)
class Report:
    """A report as an installation sends it; ``plugins`` are ``(name, version)`` pairs."""

    instance: str
    region: str
    core_version: str
    plugins: list[tuple[str, str]]


def record_report(session: Session, partner: Partner, report: Report, now: datetime) -> UsageReport:
    """Keep ``report`` as the installation's latest, replacing the one before.

    :raises ReportError: with the problems of every field at fault; nothing changes.
    """
    problems: dict[str, list[str]] = {}
    if not _INSTANCE.match(report.instance):
        problems["instance"] = [
            N_("Give the installation's id: 8 to 64 letters, digits, dots, dashes or underscores.")
        ]
    region = " ".join(report.region.split())
    if not region or len(region) > 200:
        problems["region"] = [N_("Give the name of the region, at most 200 characters.")]
    core_version = plugin_version(report.core_version)
    if core_version is None:
        problems["core_version"] = [
            N_("Give a version as Python packages number them, such as 1.2.0.")
        ]
    plugins = _plugins(report.plugins, problems)
    if problems:
        raise ReportError(problems)
    kept = session.scalars(
        select(UsageReport).where(
            UsageReport.partner_id == partner.id, UsageReport.instance == report.instance
        )
    ).first()
    if kept is None:
        if _instances_of(session, partner) >= MAX_INSTANCES:
            raise ReportError(
                {
                    "instance": [
                        N_(
                            "A partner may report at most 50 installations: send the next "
                            "report with the id of one already reported."
                        )
                    ]
                }
            )
        kept = UsageReport(partner_id=partner.id, instance=report.instance)
        session.add(kept)
    kept.region, kept.core_version, kept.received_at = region, core_version or "", now
    session.flush()
    session.execute(delete(UsagePlugin).where(UsagePlugin.report_id == kept.id))
    session.add_all(UsagePlugin(report_id=kept.id, name=n, version=v) for n, v in plugins)
    session.flush()
    return kept


def _instances_of(session: Session, partner: Partner) -> int:
    stmt = select(func.count(UsageReport.id)).where(UsageReport.partner_id == partner.id)
    return session.scalar(stmt) or 0


def _plugins(given: list[tuple[str, str]], problems: dict[str, list[str]]) -> list[tuple[str, str]]:
    if len(given) > MAX_PLUGINS:
        problems["plugins"] = [N_("A report may name at most 500 plugins.")]
        return []
    plugins: dict[str, str] = {}
    for name, version in given:
        normal_name, normal_version = plugin_name(name), plugin_version(version)
        if normal_name is None or normal_version is None:
            problems["plugins"] = [
                N_("Name every plugin by its distribution name and a version such as 1.2.0.")
            ]
            return []
        if normal_name in plugins:
            problems["plugins"] = [N_("Name every plugin once.")]
            return []
        plugins[normal_name] = normal_version
    return sorted(plugins.items())


def regions_running(plugin: str, session: Session | None = None) -> dict[str, list[RunningRegion]]:
    """``{version: [RunningRegion(region, reported_by)]}`` of the installations whose
    latest report names ``plugin``, each with the partner that reported it; newest
    version first, regions in alphabetical order."""
    session = session if session is not None else db.session
    name = plugin_name(plugin) or plugin
    stmt = (
        select(UsagePlugin.version, UsageReport.region, Partner.region)
        .join(UsageReport, UsagePlugin.report_id == UsageReport.id)
        .join(Partner, UsageReport.partner_id == Partner.id)
        .where(UsagePlugin.name == name)
    )
    running: dict[str, set[RunningRegion]] = {}
    for version, region, partner in session.execute(stmt):
        running.setdefault(version, set()).add(RunningRegion(region, partner))
    return {
        v: sorted(running[v], key=lambda r: (r.region.casefold(), r.reported_by.casefold()))
        for v in sorted(running, key=Version, reverse=True)
    }
