"""Bahasa Indonesia is the default language, and its catalogue covers every message."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "N_": None,
}
CATALOGUES = [
    (ROOT / "core" / "balai", ROOT / "core" / "balai" / "translations"),
    *(
        (package, package / "translations")
        for package in [*ROOT.glob("plugins/*/balai_*"), *ROOT.glob("registry/*/balai_*")]
        if (package / "translations").is_dir()
    ),
]


def _msgids(folder: Path) -> set[str]:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(folder), method_map=method_map, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _key(value):
    """Plural ids and strings come back as lists from one reader, tuples from the other."""
    return tuple(value) if isinstance(value, list | tuple) else value


def _catalogue(translations: Path):
    with (translations / "id" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale="id")


@pytest.mark.parametrize(("source", "translations"), CATALOGUES, ids=lambda p: p.name)
def test_indonesian_catalogue_translates_every_message(source, translations):
    messages = _msgids(source)
    if source.name == "balai":
        theme = ROOT / "themes" / "balai-theme-default" / "balai_theme_default"
        messages |= _msgids(theme)
    catalogue = _catalogue(translations)
    missing = sorted(
        m
        for m in messages
        if not catalogue.get(m) or not catalogue.get(m).string or catalogue.get(m).fuzzy
    )
    assert missing == [], f"untranslated in {translations}: {missing[:20]}"


@pytest.mark.parametrize(("source", "translations"), CATALOGUES, ids=lambda p: p.name)
def test_compiled_catalogue_matches_the_source(source, translations):
    catalogue = _catalogue(translations)
    with (translations / "id" / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        compiled = read_mo(handle)
    expected = {_key(m.id): _key(m.string) for m in catalogue if m.id and m.string and not m.fuzzy}
    actual = {_key(m.id): _key(m.string) for m in compiled if m.id}
    assert actual == expected, "run scripts/i18n compile"


def test_pages_speak_indonesian_by_default_and_english_on_request(client, tenant):
    assert "Masuk" in client.get("/masuk").text
    client.post("/bahasa", data={"lang": "en", "next": "/masuk"})
    assert "Log in" in client.get("/masuk").text


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Missing data for required field.", "Wajib diisi."),
        ("Longer than maximum length 200.", "200"),
        ("Must be greater than or equal to 1 and less than or equal to 5.", "1"),
        ("A message of our own.", "A message of our own."),
    ],
)
def test_validation_messages_are_translated(app, message, expected):
    from flask_babel import force_locale

    from balai.i18n import translate_error

    with force_locale("id"):
        translated = translate_error(message)
    assert expected in translated
    if message.startswith(("Missing", "Longer", "Must")):
        assert translated != message


# -- a plugin's own catalogue ------------------------------------------------------------

KATA = '''
"""A plugin whose catalogue translates a message id the core has too ("Save")."""
from flask import Blueprint, render_template
from flask_babel import gettext as _

from balai import hookimpl
from balai.permissions import public

name = "kata"
bp = Blueprint(
    "kata", __name__, url_prefix="/kata", template_folder="templates",
    root_path=__file__.rsplit("/", 1)[0],
)


@bp.get("/")
@public
def index():
    return _("Save") + "|" + render_template("kata/page.html")


@hookimpl
def register_routes(app):
    return [bp]
'''


def _kata_plugin(folder: Path) -> object:
    """The ``kata`` plugin written into ``folder`` with its compiled ``id`` catalogue."""
    import importlib.util

    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    package = folder / "balai_kata"
    (package / "templates" / "kata").mkdir(parents=True)
    (package / "__init__.py").write_text(KATA)
    (package / "templates" / "kata" / "page.html").write_text('{{ _("Save") }}')
    catalog = Catalog(locale="id")
    catalog.add("Save", "Kirim kata")
    (package / "translations" / "id" / "LC_MESSAGES").mkdir(parents=True)
    with open(package / "translations" / "id" / "LC_MESSAGES" / "messages.mo", "wb") as mo:
        write_mo(mo, catalog)
    spec = importlib.util.spec_from_file_location("balai_kata", package / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_plugins_own_words_read_as_the_plugin_translated_them(make_app, tenant, tmp_path):
    """The core's catalogue keeps its wording ("Save" is "Simpan") everywhere else,
    but the plugin's own strings and templates show the plugin's translation."""
    from flask import render_template

    from balai.tenancy import enable_plugin, registry

    app = make_app(EXTRA_PLUGINS=[_kata_plugin(tmp_path)])
    with app.app_context():
        enable_plugin(app, registry(app).by_slug(tenant.slug), "kata")
    client = app.test_client()
    page = client.get("/kata/", base_url=f"http://{tenant.domains[0]}")
    assert page.status_code == 200
    assert page.text == "Kirim kata|Kirim kata"
    with app.test_request_context("/", base_url=f"http://{tenant.domains[0]}"):
        app.preprocess_request()
        from flask_babel import gettext

        assert gettext("Save") == "Simpan"  # a core page: the core's wording
        assert render_template("kata/page.html") == "Kirim kata"  # the plugin's template
