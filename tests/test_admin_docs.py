"""The region admin's guides (English and Bahasa Indonesia) say what the pages do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from balai.permissions import registry

DOCS = Path(__file__).resolve().parent.parent / "docs"
GUIDES = {"en": DOCS / "region-admin.md", "id": DOCS / "panduan-admin-daerah.md"}
CHECKED = [*GUIDES.values(), DOCS / "settings.md", DOCS / "operators.md"]
SEPARATOR = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table of ``text``: its rows (header first), each a list of cells."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            current.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif current:
            found.append(current)
            current = []
    return found


def section(text: str, heading: str) -> str:
    """The section of ``text`` whose ``## heading`` starts with ``heading``, heading included."""
    found = re.search(rf"^(## {re.escape(heading)}.*?)(?=^## |\Z)", text, re.M | re.S)
    assert found, f"no section {heading!r}"
    return found.group(1)


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: p.name)
def test_every_table_has_one_header_and_rows_of_its_width(path: Path) -> None:
    for rows in tables(path.read_text()):
        header, *body = rows
        assert body and SEPARATOR.match("|" + "|".join(body[0]) + "|"), (path.name, header)
        for row in body[1:]:
            assert row != header, f"{path.name}: the header {header} is repeated"
            assert not SEPARATOR.match("|" + "|".join(row) + "|"), f"{path.name}: {row}"
            assert len(row) == len(header), f"{path.name}: {row} under {header}"


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")
@pytest.mark.parametrize(("language", "start"), [("en", "**`/admin/plugin`**"), ("id", "Tabelnya")])
def test_the_plugins_page_columns_are_the_ones_the_guides_name(
    client, login, language: str, start: str
) -> None:
    login(client, role="admin")
    client.get(f"/bahasa?lang={language}")
    page = client.get("/admin/plugin").text
    headers = re.findall(r"<th>([^<]+)</th>", page.split("<thead>")[1].split("</thead>")[0])
    text = GUIDES[language].read_text()
    paragraph = text[text.index(start) :].split("\n\n")[0]
    named = re.findall(r"(?<!\*)\*([^*`]+)\*(?!\*)", paragraph)
    assert named == headers


def test_the_permission_table_says_which_permissions_only_an_admin_gives(app) -> None:
    declared = registry(app).permissions
    (rows,) = [t for t in tables(GUIDES["en"].read_text()) if t[0][0] == "permission"]
    header, _separator, *body = rows
    assert header == ["permission", "allows", "warga", "opd", "admin", "admin only"]
    for name, _allows, warga, opd, admin, admin_only in body:
        permission = declared[name.strip("`")]
        assert (admin_only == "✓") == permission.admin_only, name
        assert (warga == "✓", opd == "✓", admin == "✓") == tuple(
            role in permission.roles for role in ("warga", "opd", "admin")
        ), name


@pytest.mark.parametrize(
    ("language", "holidays", "sms"),
    [("en", "Holidays", "SMS and outbox"), ("id", "Hari libur", "SMS dan kotak keluar")],
)
def test_both_guides_explain_holidays_and_sms(language: str, holidays: str, sms: str) -> None:
    text = GUIDES[language].read_text()
    calendar = section(text, holidays)
    for needed in ("/admin/libur", "balai.manage_calendar", "closed_on_holidays", "cuti bersama"):
        assert needed in calendar, (language, needed)
    messages = section(text, sms)
    for needed in ("/admin/sms", "/-/sms/masuk", "X-Balai-Sms-Token", "ADUAN", "ANTRE"):
        assert needed in messages, (language, needed)


def test_both_guides_say_that_only_changed_settings_are_stored() -> None:
    english = section(GUIDES["en"].read_text(), "Services")
    indonesian = section(GUIDES["id"].read_text(), "Layanan")
    assert "stores only the values you changed from the defaults" in english
    assert "hanya mencatat nilai yang Anda ubah dari bawaan" in indonesian
    assert "menjadikan semua isiannya nilai daerah Anda" not in indonesian
