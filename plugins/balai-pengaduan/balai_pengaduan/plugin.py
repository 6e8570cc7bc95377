"""Hook implementations of the ``pengaduan`` plugin: each one delegates.

Rules live in :mod:`~balai_pengaduan.services`, pages in :mod:`~balai_pengaduan.views`
(citizens), :mod:`~balai_pengaduan.officer` (officers) and
:mod:`~balai_pengaduan.manage` (categories, areas, Open311 keys), the JSON API in
:mod:`~balai_pengaduan.api`, Open311 in :mod:`~balai_pengaduan.open311`.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Blueprint, Flask
from flask_babel import lazy_gettext as _l
from marshmallow import Schema
from sqlalchemy.orm import Session

from balai import Manifest, hookimpl
from balai.auth import User
from balai.channels import SmsKeyword
from balai.i18n import N_
from balai.items import MapLayer, MenuItem, SearchResult, Widget
from balai.jobs import Job
from balai.permissions import Permission
from balai.tenancy import TenantInfo
from balai_pengaduan import (
    api,
    commands,
    feeds,
    hookspecs,
    manage,
    moving,
    notify,
    officer,
    open311,
    sms,
    views,
)
from balai_pengaduan.runtime import HANDLE, MANAGE, VERIFY, VIEW, VIEW_ALL
from balai_pengaduan.settings import ComplaintSettings

manifest = Manifest(
    description=N_(
        "24-hour public complaints, routed to the responsible department, with working-day deadlines, a map, SMS and Open311."  # noqa: E501
    ),
    title="Pengaduan Masyarakat",
    category="layanan",
    core=">=0.1,<0.2",
    hookspecs=hookspecs,
)


@hookimpl
def register_routes(app: Flask) -> list[Blueprint]:
    return [views.bp, officer.bp, manage.bp, open311.bp, feeds.bp]


@hookimpl
def register_api(app: Flask) -> Any:
    return api.blp


@hookimpl
def register_permissions() -> list[Permission]:
    return [
        # Complaints carry the reporter's name, e-mail address and telephone number.
        Permission(
            VIEW,
            _l("See complaints routed to one's department"),
            roles=("opd", "admin"),
            admin_only=True,
        ),
        Permission(
            VIEW_ALL,
            _l("See the complaints of every department"),
            roles=("admin",),
            admin_only=True,
        ),
        Permission(
            VERIFY, _l("Verify, reject, merge and forward complaints"), roles=("opd", "admin")
        ),
        Permission(HANDLE, _l("Work on and resolve forwarded complaints"), roles=("opd", "admin")),
        Permission(
            MANAGE,
            _l("Manage complaint categories, areas and Open311 keys"),
            roles=("admin",),
            admin_only=True,
        ),
    ]


@hookimpl
def register_settings_schema() -> type[Schema]:
    return ComplaintSettings


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(commands.group)


@hookimpl
def register_jobs(app: Flask) -> list[Job]:
    return commands.JOBS


@hookimpl
def register_sms_keywords(app: Flask) -> list[SmsKeyword]:
    return [sms.keyword()]


@hookimpl
def menu_items(tenant: TenantInfo, user: User | None) -> list[MenuItem]:
    # "My complaints" (/pengaduan/saya) in the account menu of anyone logged in.
    return [*views.menu_items(user), *views.own_menu_items(user)]


@hookimpl
def dashboard_widgets(tenant: TenantInfo, user: User | None) -> list[Widget]:
    return feeds.widgets()


@hookimpl
def map_layers(tenant: TenantInfo, user: User | None) -> list[MapLayer]:
    return feeds.map_layers()


@hookimpl
def search(tenant: TenantInfo, user: User | None, query: str) -> list[SearchResult]:
    return views.search_results(query)


@hookimpl
def complaint_submitted(tenant: TenantInfo, complaint: Any, session: Session) -> None:
    notify.submitted(session, tenant, complaint)


@hookimpl
def complaint_status_changed(
    tenant: TenantInfo, complaint: Any, event: Any, session: Session
) -> None:
    notify.status_changed(session, tenant, complaint, event)


@hookimpl
def populate_demo(tenant: TenantInfo, session: Session) -> None:
    from balai_pengaduan import demo  # only `balai demo` needs it, not a worker

    demo.populate(session, tenant)


@hookimpl
def tenant_data() -> moving.TenantData:
    return moving.tenant_data()
