"""Hook implementations of the ``pengumuman`` plugin: each one delegates.

Business rules live in :mod:`~balai_pengumuman.services`, pages in
:mod:`~balai_pengumuman.views`, the JSON API in :mod:`~balai_pengumuman.api`.
"""

from __future__ import annotations

from flask import Blueprint, Flask, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema
from sqlalchemy.orm import Session

from balai import Manifest, hookimpl
from balai.auth import User
from balai.i18n import N_
from balai.items import MenuItem, SearchResult, Widget
from balai.permissions import Permission
from balai.tenancy import DEFAULT_TIMEZONE, TenantInfo
from balai_pengumuman import api, views
from balai_pengumuman.schemas import AnnouncementSettings

manifest = Manifest(
    description=N_(
        "Announcements of the region and its departments: service outages, vaccination days, road closures."  # noqa: E501
    ),
    title="Pengumuman",
    category="informasi",
    core=">=0.1,<0.2",
)


@hookimpl
def register_routes(app: Flask) -> Blueprint:
    return views.bp


@hookimpl
def register_api(app: Flask) -> ApiBlueprint:
    return api.blp


@hookimpl
def register_permissions() -> list[Permission]:
    return [
        Permission(views.PUBLISH, _l("Publish announcements"), roles=("opd", "admin")),
        Permission(views.MANAGE, _l("Edit and archive every announcement"), roles=("admin",)),
    ]


@hookimpl
def register_settings_schema() -> type[Schema]:
    return AnnouncementSettings


@hookimpl
def menu_items(tenant: TenantInfo, user: User | None) -> list[MenuItem]:
    return [MenuItem(_("Announcements"), url_for("pengumuman.index"), order=20)]


@hookimpl
def dashboard_widgets(tenant: TenantInfo, user: User | None) -> list[Widget]:
    return [views.dashboard_widget()]


@hookimpl
def search(tenant: TenantInfo, user: User | None, query: str) -> list[SearchResult]:
    return views.search_results(query)


@hookimpl
def populate_demo(tenant: TenantInfo, session: Session) -> None:
    from balai_pengumuman import demo  # only `balai demo` needs it, not a worker

    zone = (getattr(tenant, "settings", None) or {}).get("timezone") or DEFAULT_TIMEZONE
    demo.add_sample_announcements(session, tenant.id, zone)
