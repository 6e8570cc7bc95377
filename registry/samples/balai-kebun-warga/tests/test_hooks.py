"""Hooks and translations of the plugin, and the platform's checks of it."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

import balai_kebun_warga
from balai.testing import check_plugin

CATALOGUE = Path(balai_kebun_warga.__file__).parent / "translations" / "id" / "LC_MESSAGES"
PAGE = "/kebun_warga/"


def test_the_plugin_keeps_balais_rules():
    """Names and layout, route guards, migrations against the models, a complete
    Indonesian catalogue, and the cross-tenant sweep over the demo data."""
    check_plugin("kebun_warga")


def test_menu_links_the_page_once_enabled(client, enable_plugin):
    assert f'href="{PAGE}"' not in client.get("/").text
    enable_plugin("kebun_warga")
    assert f'href="{PAGE}"' in client.get("/").text


def test_dashboard_widget_counts_the_entries(client, enabled, add, login):
    add("Satu")
    add("Dua")
    login(client, role="opd")
    page = client.get("/dasbor").text
    assert '<p class="figure"><strong>2</strong> lahan kebun' in page


def test_dashboard_widget_is_only_for_those_who_manage(client, enabled, add, login):
    add("Satu")
    login(client, role="warga", permissions=("balai.view_dashboard",))
    response = client.get("/dasbor")
    assert response.status_code == 200
    assert "<strong>1</strong> lahan kebun" not in response.text


def test_compiled_catalogue_matches_the_source():
    """Compare contents, not file times: a fresh clone gives both files the same age."""
    with (CATALOGUE / "messages.po").open("rb") as po:
        compiled = BytesIO()
        write_mo(compiled, read_po(po, locale="id"))
    compiled.seek(0)
    with (CATALOGUE / "messages.mo").open("rb") as mo:
        shipped = read_mo(mo)
    expected = {m.id: m.string for m in read_mo(compiled) if m.id}
    assert {m.id: m.string for m in shipped if m.id} == expected, "run pybabel compile"
