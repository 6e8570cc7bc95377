"""Hook implementations of the ``bank_sampah`` plugin: each one delegates.

Business rules live in :mod:`~balai_bank_sampah.services`, pages in
:mod:`~balai_bank_sampah.views`, the JSON API in :mod:`~balai_bank_sampah.api`.
"""

from __future__ import annotations

from flask import Blueprint, Flask, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint as ApiBlueprint
from sqlalchemy.orm import Session

from balai import Manifest, hookimpl
from balai.auth import User
from balai.db import utcnow
from balai.i18n import N_
from balai.items import MenuItem, Widget
from balai.permissions import Permission
from balai.tenancy import TenantInfo
from balai_bank_sampah import api, views

manifest = Manifest(
    description=N_("Waste bank: residents deposit sorted waste and officers record its weight."),
    title="Bank Sampah",
    category="lingkungan",
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
    return [Permission(views.MANAGE, _l("Manage entries"), roles=("opd", "admin"))]


@hookimpl
def menu_items(tenant: TenantInfo, user: User | None) -> list[MenuItem]:
    return [
        MenuItem(views.TITLE, url_for("bank_sampah.index"), order=50),
        MenuItem(
            _("Manage entries"),
            url_for("bank_sampah.manage"),
            section="user",
            permission=views.MANAGE,
        ),
    ]


@hookimpl
def dashboard_widgets(tenant: TenantInfo, user: User | None) -> list[Widget]:
    return [views.dashboard_widget()]


@hookimpl
def populate_demo(tenant: TenantInfo, session: Session) -> None:
    from balai_bank_sampah import demo  # only `balai demo` needs it, not a worker

    demo.add_samples(session, utcnow())
