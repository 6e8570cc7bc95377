"""The plugin author's kit: ``balai plugins new`` and ``balai db revision --plugin``.

:func:`new_plugin` writes a distribution ``balai-<name>/`` (its name normalised, PEP 503:
``balai-pengumuman-sunda/`` for the plugin ``pengumuman_sunda``) from the template tree
next to this module (files ending ``.tmpl``, rendered with :class:`string.Template`;
``{name}`` in a path becomes the plugin's name). What it writes passes its own tests
and ruff as it is: a tenant-scoped model and the migration creating its table, a
public page, an officer page behind ``<name>.manage_<noun>``, an API endpoint, a
dashboard widget, demo data and the Indonesian catalogue, compiled; its tests end
with :func:`balai.testing.check_plugin`.
"""

from __future__ import annotations

import keyword
import re
import string
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import importlib_metadata
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po
from packaging.version import Version

from balai import __version__
from balai.db import utcnow

__all__ = ["TRANSLATIONS", "ScaffoldError", "Spec", "core_range", "new_plugin", "spec_for"]

TEMPLATE = Path(__file__).parent / "template"
NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
NAME_MAX, NOUN_MAX = 20, 16  # "fk_<name>_<noun>_tenant_id_balai_tenant" fits PostgreSQL's 63
# Words for a title or description: they land in Python strings, TOML and HTML as they are.
PLAIN = re.compile(r"[A-Za-z0-9 .,:;()/-]*")
RESERVED = frozenset({"admin", "api", "balai", "core", "static", "test", "tests", "theme"})
DESCRIPTION_LINE = 100 - len('    description=N_(""),')
#: The description when none is given, and its Indonesian; an author's own is copied as
#: it is into the Indonesian catalogue, for the author to translate.
DEFAULT_DESCRIPTION = "{}: a service of the region."
DEFAULT_DESCRIPTION_ID = "{}: layanan pemerintah daerah."

#: Indonesian for every message id of the template (the description is the author's).
TRANSLATIONS = {
    "Add the entry": "Tambahkan entri",
    "Added": "Ditambahkan",
    "Back to the public page": "Kembali ke halaman publik",
    "Entries": "Entri",
    "Give the entry a title.": "Isi judul entri.",
    "Manage entries": "Kelola entri",
    "Please correct the fields marked below.": "Mohon perbaiki isian yang ditandai di bawah ini.",
    "The entry is saved.": "Entri sudah disimpan.",
    "The title is too long (at most 200 characters).": (
        "Judulnya terlalu panjang (paling banyak 200 karakter)."
    ),
    "There are no entries yet.": "Belum ada entri.",
    "There is already an entry with this title.": "Sudah ada entri dengan judul ini.",
    "Title": "Judul",
    "entries": "entri",
}


class ScaffoldError(ValueError):
    """A name, title or folder the scaffold refuses; the message says why."""


@dataclass(frozen=True)
class Spec:
    """What a new plugin is called and says of itself."""

    name: str
    title: str
    description: str
    category: str = "umum"
    noun: str = "item"

    @property
    def package(self) -> str:
        return f"balai_{self.name}"

    @property
    def distribution(self) -> str:
        """``balai-<name>`` normalised (PEP 503), as pip and a registry spell it:
        plugin ``pengumuman_sunda`` is ``balai-pengumuman-sunda``."""
        return f"balai-{self.name.replace('_', '-')}"

    @property
    def model(self) -> str:
        return "".join(part.capitalize() for part in self.noun.split("_"))


def core_range(version: str = __version__) -> str:
    """The core versions a new plugin supports: this minor series (``>=0.1,<0.2``)."""
    major, minor, *_rest = (*Version(version).release, 0, 0)
    return f">={major}.{minor},<{major}.{minor + 1}"


def installed_names() -> set[str]:
    """Names taken by installed distributions: plugins and their packages."""
    names = {ep.name for ep in importlib_metadata.entry_points(group="balai.plugins")}
    for dist in importlib_metadata.distributions():
        dist_name = (dist.metadata.get("Name") or "").lower().replace("_", "-")
        if dist_name.startswith("balai-"):
            names.add(dist_name.removeprefix("balai-").replace("-", "_"))
    return names


def spec_for(
    name: str,
    *,
    title: str | None = None,
    description: str | None = None,
    category: str = "umum",
    noun: str = "item",
) -> Spec:
    """Check the names of a new plugin and fill in the defaults.

    :raises ScaffoldError: naming what is wrong and what would do.
    """
    _check_identifier("NAME", name, NAME_MAX)
    if name in RESERVED:
        raise ScaffoldError(f"NAME {name!r} is reserved by the core; choose another")
    if name in installed_names():
        raise ScaffoldError(f"a plugin named {name!r} is already installed; choose another")
    _check_identifier("--noun", noun, NOUN_MAX)
    _check_identifier("--category", category, 30)
    title = _plain("--title", title if title is not None else name.replace("_", " ").title(), 40)
    description = _plain("--description", description or DEFAULT_DESCRIPTION.format(title), 200)
    return Spec(name, title, description, category, noun)


def _check_identifier(what: str, value: str, longest: int) -> None:
    if not NAME.fullmatch(value) or keyword.iskeyword(value):
        raise ScaffoldError(
            f"{what} {value!r} must be a lowercase identifier: a letter, then letters, "
            "digits or single underscores (e.g. 'kebun' or 'izin_usaha')"
        )
    if len(value) > longest:
        raise ScaffoldError(f"{what} {value!r} is too long (at most {longest} characters)")


def _plain(what: str, value: str, longest: int) -> str:
    value = " ".join(value.split())
    if not value or not PLAIN.fullmatch(value) or len(value) > longest:
        raise ScaffoldError(
            f"{what} must be 1 to {longest} characters: letters, digits, spaces and . , : ; ( ) / -"
        )
    return value


def new_plugin(spec: Spec, folder: Path) -> Path:
    """Write the distribution ``balai-<name>/`` (:attr:`Spec.distribution`) into
    ``folder`` and return its path.

    :raises ScaffoldError: the target exists already.
    """
    target = folder / spec.distribution
    if target.exists():
        raise ScaffoldError(f"{target} already exists; choose another --dir")
    values = _values(spec)
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = str(source.relative_to(TEMPLATE).with_suffix("")).replace("{name}", spec.name)
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(string.Template(source.read_text()).substitute(values), encoding="utf-8")
    _write_catalogues(spec, target / spec.package)
    return target


def _values(spec: Spec) -> dict[str, str]:
    return {
        "name": spec.name,
        "package": spec.package,
        "distribution": spec.distribution,
        "title": spec.title,
        "summary": _summary(spec),
        "summary_sentence": _summary(spec).rstrip(".") + ".",
        "description": spec.description,
        "description_code": _description_code(spec.description),
        "category": spec.category,
        "noun": spec.noun,
        "model": spec.model,
        "table": f"{spec.name}_{spec.noun}",
        "permission": f"{spec.name}.manage_{spec.noun}",
        "core_range": core_range(),
        "today": utcnow().date().isoformat(),
    }


def _summary(spec: Spec) -> str:
    """The distribution's summary, shown in a registry's catalogue: the default description
    in Indonesian, an author's own as written."""
    if spec.description == DEFAULT_DESCRIPTION.format(spec.title):
        return DEFAULT_DESCRIPTION_ID.format(spec.title)
    return spec.description


def _description_code(description: str) -> str:
    """The manifest's ``description=`` argument, laid out as ``ruff format`` would."""
    if len(description) <= DESCRIPTION_LINE:
        return f'    description=N_("{description}"),'
    return f'    description=N_(\n        "{description}"  # noqa: E501\n    ),'


def _write_catalogues(spec: Spec, package: Path) -> None:
    """Extract the messages as pybabel would, and write the Indonesian catalogue compiled."""
    translations = package / "translations"
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "_l": None}
    keywords["lazy_gettext"] = None
    header = {
        "project": spec.distribution,
        "version": "0.1.0",
        "copyright_holder": f"the authors of {spec.distribution}",
        "fuzzy": False,
    }
    template = Catalog(**header)
    for _filename, _lineno, message, _comments, context in extract_from_dir(
        package, method_map, keywords=keywords
    ):
        template.add(message, None, [], context=context)
    template_lines = BytesIO()
    write_po(template_lines, template, omit_header=False, sort_output=True, no_location=True)
    translations.mkdir(parents=True, exist_ok=True)
    (translations / "messages.pot").write_bytes(template_lines.getvalue())
    indonesian = Catalog(
        locale="id",
        last_translator=f"the authors of {spec.distribution}",
        language_team="Bahasa Indonesia",
        **header,
    )
    known = {**TRANSLATIONS, spec.description: spec.description}
    if spec.description == DEFAULT_DESCRIPTION.format(spec.title):
        known[spec.description] = DEFAULT_DESCRIPTION_ID.format(spec.title)
    for message in template:
        if message.id:
            indonesian.add(message.id, known[message.id])
    folder = translations / "id" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.po").open("wb") as po:
        write_po(po, indonesian, sort_output=True, no_location=True)
    with (folder / "messages.mo").open("wb") as mo:
        write_mo(mo, indonesian)
