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

from packaging.version import Version
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from balai.db import Base, TenantScoped, db
from balai.i18n import N_
from balai_registry.models import Partner
from balai_registry.names import plugin_name, plugin_version

__all__ = [
    "MAX_PLUGINS",
    "Report",
    "ReportError",
    "UsagePlugin",
    "UsageReport",
    "record_report",
    "regions_running",
]

MAX_PLUGINS = 500
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
        kept = UsageReport(partner_id=partner.id, instance=report.instance)
        session.add(kept)
    kept.region, kept.core_version, kept.received_at = region, core_version or "", now
    session.flush()
    session.execute(delete(UsagePlugin).where(UsagePlugin.report_id == kept.id))
    session.add_all(UsagePlugin(report_id=kept.id, name=n, version=v) for n, v in plugins)
    session.flush()
    return kept


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


def regions_running(plugin: str, session: Session | None = None) -> dict[str, list[str]]:
    """``{version: [region names]}`` of the installations whose latest report names
    ``plugin``; newest version first, regions in alphabetical order."""
    session = session if session is not None else db.session
    name = plugin_name(plugin) or plugin
    stmt = (
        select(UsagePlugin.version, UsageReport.region)
        .join(UsageReport, UsagePlugin.report_id == UsageReport.id)
        .where(UsagePlugin.name == name)
    )
    running: dict[str, set[str]] = {}
    for version, region in session.execute(stmt):
        running.setdefault(version, set()).add(region)
    return {
        v: sorted(running[v], key=str.casefold) for v in sorted(running, key=Version, reverse=True)
    }
