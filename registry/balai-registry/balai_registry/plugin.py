"""Hook implementations of the ``registry`` plugin: each one delegates.

Rules live in :mod:`~balai_registry.services`, pages in :mod:`~balai_registry.views`,
who a partner is in :mod:`~balai_registry.partners`.
"""

from __future__ import annotations

from flask import Blueprint, Flask, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema
from sqlalchemy.orm import Session

from balai import Manifest, hookimpl
from balai.api import ApiBlueprint
from balai.auth import User
from balai.i18n import N_
from balai.items import MenuItem
from balai.jobs import Job
from balai.permissions import Permission
from balai.tenancy import TenantInfo
from balai_registry import api, feedback_api, feedback_views, jobs, packages, views
from balai_registry.settings import RegistrySettings

manifest = Manifest(
    description=N_(
        "The plugin registry: partner regions send plugins upstream, every region installs them."
    ),
    title="Registri Plugin",
    category="informasi",
    core=">=0.1,<0.2",
)


@hookimpl
def register_routes(app: Flask) -> list[Blueprint]:
    return [views.bp, packages.bp, feedback_views.bp]


@hookimpl
def register_api(app: Flask) -> list[ApiBlueprint]:
    return [api.blp, feedback_api.blp]


@hookimpl
def register_settings_schema() -> type[Schema]:
    return RegistrySettings


@hookimpl
def register_jobs(app: Flask) -> list[Job]:
    return jobs.JOBS


@hookimpl
def register_permissions() -> list[Permission]:
    return [
        Permission(
            views.REVIEW,
            _l("Review plugins sent to the registry and issue partner tokens"),
            roles=("admin",),
            admin_only=True,
        ),
        Permission(
            feedback_views.ANSWER,
            _l("Answer evaluations from partner regions and endorse plugin versions"),
            roles=("admin",),
        ),
    ]


@hookimpl
def menu_items(tenant: TenantInfo, user: User | None) -> list[MenuItem]:
    return [
        # A page for developers and partner regions, not for residents: the catalogue
        # stays public at /registry/, the menu links it for the maintainers only.
        MenuItem(
            _("Plugin registry"),
            url_for("registry.index"),
            section="admin",
            permission=views.REVIEW,
        ),
        MenuItem(
            _("Registry submissions"),
            url_for("registry.submissions"),
            section="admin",
            permission=views.REVIEW,
        ),
        MenuItem(
            _("Evaluations from partners"),
            url_for("registry_feedback.threads"),
            section="admin",
            permission=feedback_views.ANSWER,
        ),
    ]


@hookimpl
def populate_demo(tenant: TenantInfo, session: Session) -> None:
    from balai_registry import demo  # only `balai demo` needs it, not a worker

    demo.add_sample_registry(session, tenant.id)
