"""Hook implementations of the ``puskesmas`` plugin: each one delegates.

Rules live in :mod:`~balai_puskesmas.services` and the modules beside it (``queue``,
``patients``, ``visits``, ``facilities``, ``fhir``, ``export``); pages in
:mod:`~balai_puskesmas.views` (citizens: numbers, kiosk, display board),
:mod:`~balai_puskesmas.desk` (the registration desk's queue),
:mod:`~balai_puskesmas.records` (patients and visits), :mod:`~balai_puskesmas.manage`
(puskesmas, clinics, staff, audit trail) and :mod:`~balai_puskesmas.exports`
(SATUSEHAT sending); the JSON API in :mod:`~balai_puskesmas.api`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import click
from flask import Blueprint, Flask, url_for
from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from marshmallow import Schema
from sqlalchemy.orm import Session

from balai import Manifest, hookimpl
from balai.auth import User
from balai.channels import SmsKeyword
from balai.db import utcnow
from balai.i18n import N_
from balai.items import MapLayer, MenuItem, SearchResult, Widget
from balai.jobs import Job
from balai.permissions import Permission
from balai.tenancy import TenantInfo
from balai_puskesmas import (
    api,
    commands,
    desk,
    export,
    exports,
    feeds,
    hookspecs,
    manage,
    moving,
    navigation,
    notify,
    records,
    runtime,
    sms,
    views,
)
from balai_puskesmas.runtime import EXPORT, MANAGE, READ, RECORD, REGISTER, SERVE, VIEW_AUDIT
from balai_puskesmas.settings import PuskesmasSettings

manifest = Manifest(
    title="e-Puskesmas",
    description=N_(
        "Community health centres: queue numbers by web, kiosk and SMS, patients, visits with ICD-10 diagnoses, and FHIR R4 export to SATUSEHAT."  # noqa: E501
    ),
    category="kesehatan",
    core=">=0.1,<0.2",
    hookspecs=hookspecs,
)


@hookimpl
def register_routes(app: Flask) -> list[Blueprint]:
    return [views.bp, desk.bp, records.bp, manage.bp, exports.bp, feeds.bp]


@hookimpl
def register_api(app: Flask) -> Any:
    return api.blp


#: What the permissions that open a puskesmas's work need besides being held.
NEEDS_DUTY = _l(
    "a duty at a puskesmas, region admins included (Puskesmas and clinics → the "
    "puskesmas → Officers and duties)"
)


@hookimpl
def register_permissions() -> list[Permission]:
    return [
        # Everything that opens patients' data, or hands it out through duties, is
        # given only by a region admin.
        Permission(
            MANAGE,
            _l("Manage puskesmas, clinics and staff duties"),
            roles=("admin",),
            admin_only=True,
        ),
        Permission(
            SERVE,
            _l("Call queue numbers at one's puskesmas"),
            roles=("opd", "admin"),
            needs=NEEDS_DUTY,
        ),
        Permission(
            REGISTER,
            _l("Register and update patients at one's puskesmas"),
            roles=("opd", "admin"),
            admin_only=True,
            needs=NEEDS_DUTY,
        ),
        Permission(
            READ,
            _l("Read patient records as one's duty allows"),
            roles=("opd", "admin"),
            admin_only=True,
            needs=NEEDS_DUTY,
        ),
        Permission(
            RECORD,
            _l("Record visits as a clinician at one's puskesmas"),
            roles=("opd", "admin"),
            admin_only=True,
            needs=NEEDS_DUTY,
        ),
        Permission(
            VIEW_AUDIT,
            _l("Search the audit trail of health records"),
            roles=("admin",),
            admin_only=True,
        ),
        Permission(
            EXPORT,
            _l("See and retry sending to SATUSEHAT"),
            roles=("admin",),
            admin_only=True,
        ),
    ]


@hookimpl
def register_settings_schema() -> type[Schema]:
    return PuskesmasSettings


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
    items = navigation.menu_items(user)
    if user is not None and user.role == "warga":
        items.append(
            MenuItem(str(_l("My queue numbers")), url_for("puskesmas.my_tickets"), section="user")
        )
    return items


@hookimpl
def dashboard_widgets(tenant: TenantInfo, user: User | None) -> list[Widget]:
    # The queues' figures are for those who work the queues (and the admin): an
    # officer of another service, say DLH, does not see them on the dashboard.
    return [
        widget if widget.permission else replace(widget, permission=SERVE)
        for widget in feeds.widgets(user)
    ]


@hookimpl
def map_layers(tenant: TenantInfo, user: User | None) -> list[MapLayer]:
    return feeds.map_layers()


@hookimpl
def search(tenant: TenantInfo, user: User | None, query: str) -> list[SearchResult]:
    return navigation.search_results(query)


@hookimpl
def ticket_called(tenant: TenantInfo, ticket: Any, session: Session) -> None:
    notify.ticket_called(session, tenant, ticket)


@hookimpl
def visit_recorded(tenant: TenantInfo, visit: Any, session: Session) -> None:
    if runtime.settings()["export_enabled"]:
        export.enqueue(
            session,
            runtime.vault(),
            visit,
            utcnow(),
            runtime.current_actor(),
            zone=str(get_timezone()),
        )


@hookimpl
def populate_demo(tenant: TenantInfo, session: Session) -> None:
    from balai_puskesmas import demo  # only `balai demo` needs it, not a worker

    demo.populate(session, tenant)


@hookimpl
def tenant_data() -> moving.TenantData:
    return moving.tenant_data()
