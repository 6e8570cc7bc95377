"""Hooks, settings, demo data, migration and translations of the plugin."""

from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask import g
from marshmallow import ValidationError

import balai_pengumuman
from balai import i18n
from balai.db import Base, db, utcnow
from balai.settings import plugin_settings
from balai.tenancy import registry
from balai.testing import travel
from balai_pengumuman import demo, plugin, services
from balai_pengumuman.schemas import AnnouncementSettings

PACKAGE = Path(balai_pengumuman.__file__).parent


def test_permissions_are_declared_with_default_roles(app):
    declared = {permission.name: permission for permission in plugin.register_permissions()}
    assert declared["pengumuman.publish_announcement"].roles == ("opd", "admin")
    assert declared["pengumuman.manage_announcement"].roles == ("admin",)


def test_menu_links_the_list_once_enabled(client, tenant, enable_plugin):
    assert 'href="/pengumuman/"' not in client.get("/").get_data(as_text=True)
    enable_plugin("pengumuman")
    assert 'href="/pengumuman/"' in client.get("/").get_data(as_text=True)


def test_dashboard_widget_counts(client, enabled, add, login):
    add("Berlaku")
    add("Lama", published_at=utcnow() - timedelta(days=10))
    add("Nanti", published_at=utcnow() + timedelta(days=1))
    add("Selesai", published_at=utcnow() - timedelta(days=3), expires_at=utcnow())
    login(client, role="opd")
    page = client.get("/dasbor").get_data(as_text=True)
    bars = re.findall(r'"bar-label">(\w+)</span>.*?"bar-value">(\d+)<', page, re.S)
    assert bars == [("Berlaku", "2"), ("Baru", "1"), ("Terjadwal", "1")]


def test_search_finds_title_and_body_but_not_scheduled(client, enabled, add):
    add("Vaksinasi campak", body="Di puskesmas.")
    add("Air mati", body="Pipa PDAM diperbaiki; 100% selesai Sabtu.")
    add("Vaksinasi rahasia", published_at=utcnow() + timedelta(days=1))
    page = client.get("/cari?q=vaksinasi").get_data(as_text=True)
    assert "Vaksinasi campak" in page
    assert "Vaksinasi rahasia" not in page
    assert "Air mati" in client.get("/cari?q=PDAM").get_data(as_text=True)
    literal = client.get("/cari?q=0_%25").get_data(as_text=True)  # not LIKE wildcards
    assert "Air mati" not in literal


def test_populate_demo_adds_a_dozen_announcements(app, tenant, db_session, department, stored):
    health = department("DINKES", "Dinas Kesehatan")
    plugin.populate_demo(tenant=tenant, session=db_session)
    db_session.commit()
    announcements = stored()
    assert len(announcements) == 12
    assert {a.status for a in announcements} == {"active", "archived", "scheduled"}
    assert {a.department_id for a in announcements if a.category == "kesehatan"} == {health.id}
    assert all(a.tenant_id == tenant.id for a in announcements)


# -- settings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant_values", "deployment", "expected"),
    [
        ({}, {}, {"page_size": 20, "new_days": 3}),
        ({}, {"page_size": 50}, {"page_size": 50, "new_days": 3}),
        ({"page_size": 10}, {"page_size": 50}, {"page_size": 10, "new_days": 3}),
        ({}, {"page_size": 1000}, {"page_size": 20, "new_days": 3}),
        ({"new_days": 0}, {}, {"page_size": 20, "new_days": 0}),
    ],
)
def test_settings_resolve_tenant_then_deployment_then_default(
    make_app, tenant, set_plugin_settings, tenant_values, deployment, expected
):
    set_plugin_settings("pengumuman", **tenant_values)
    worker = make_app(PLUGIN_SETTINGS={"pengumuman": deployment})
    with worker.test_request_context():
        g.tenant = registry(worker).by_id(tenant.id)
        assert plugin_settings("pengumuman") == expected


@pytest.mark.parametrize("values", [{"page_size": 1000}, {"page_size": 4}, {"new_days": -1}])
def test_a_region_cannot_store_what_the_schema_refuses(app, set_plugin_settings, values):
    with pytest.raises(ValidationError) as refused:
        set_plugin_settings("pengumuman", **values)
    assert set(refused.value.messages) == set(values)


def test_every_setting_is_labelled():
    for field in AnnouncementSettings().fields.values():
        assert field.metadata["label"] and field.metadata["description"]


def _add_many(add, n):
    start = utcnow() - timedelta(days=1)
    for i in range(n):
        add(f"Pengumuman {i}", published_at=start + timedelta(minutes=i))


@pytest.mark.balai_config(PLUGIN_SETTINGS={"pengumuman": {"page_size": 5}})
def test_deployment_setting_sets_page_size(client, enabled, add):
    _add_many(add, 7)
    assert client.get("/pengumuman/").get_data(as_text=True).count('class="card"') == 5


def test_region_admin_sets_page_size(client, enabled, add, login):
    _add_many(add, 7)
    login(client, role="admin")
    response = client.post(
        "/admin/plugin/pengumuman/pengaturan", data={"page_size": "6", "new_days": "2"}
    )
    assert response.status_code == 302
    assert client.get("/pengumuman/").get_data(as_text=True).count('class="card"') == 6
    refused = client.post("/admin/plugin/pengumuman/pengaturan", data={"page_size": "1"})
    assert "Isi angka dari 5 sampai 100." in refused.get_data(as_text=True)


# -- migration and translations ------------------------------------------------------


def test_messages_are_marked_with_the_cores_n_():
    assert services.N_ is i18n.N_
    assert "def N_" not in Path(services.__file__).read_text()


def test_migration_matches_the_model(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [
            diff for diff in compare_metadata(context, Base.metadata) if "pengumuman_" in repr(diff)
        ]
    assert differences == []


def test_indonesian_catalogue_is_complete():
    path = PACKAGE / "translations" / "id" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalog = read_po(po)
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert missing == []


def test_compiled_catalogue_matches_the_source():
    """Compare contents, not file times: a fresh clone gives both files the same age."""
    folder = PACKAGE / "translations" / "id" / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as po:
        compiled = BytesIO()
        write_mo(compiled, read_po(po, locale="id"))
    compiled.seek(0)
    with (folder / "messages.mo").open("rb") as mo:
        shipped = read_mo(mo)
    expected = {m.id: m.string for m in read_mo(compiled) if m.id}
    assert {m.id: m.string for m in shipped if m.id} == expected, "run pybabel compile"


@pytest.mark.clock
@pytest.mark.parametrize("moment", ["2026-03-04T00:03:00+07:00", "2026-03-04T20:00:00+07:00"])
def test_demo_announcements_are_published_in_office_hours(tenant, db_session, stored, moment):
    with travel(moment):
        plugin.populate_demo(tenant=tenant, session=db_session)
        db_session.commit()
        now = utcnow()
    announcements = stored()
    assert len(announcements) == len(demo.SAMPLES)
    opens, closes = demo.OFFICE_HOURS
    for announcement, sample in zip(
        sorted(announcements, key=lambda a: a.id), demo.SAMPLES, strict=True
    ):
        local = announcement.published_at.astimezone(ZoneInfo("Asia/Jakarta"))
        assert opens <= local.time() <= closes, (sample.title, local)
        assert (announcement.published_at <= now) is (sample.days <= 0), sample.title
