"""Translation catalogues of the core and of every loaded plugin (Flask-Babel).

Message ids are English; Bahasa Indonesia (``id``) is the default locale and its
catalogue must be complete (a test checks). Each plugin keeps its catalogues in
``<package>/translations``; Flask-Babel merges them into one domain, the core's
last so that a plugin cannot change the core's wording elsewhere.

A plugin's own words still read as the plugin translated them when the core has the
same message id: while a request is handled by one of the plugin's blueprints (its
pages and its API), and in its own templates (``templates/<plugin>/...``) wherever
they are rendered, the plugin's catalogue is merged last (:func:`plugin_domain`).
"""

from __future__ import annotations

import re
from datetime import datetime, time
from pathlib import Path
from types import ModuleType

import flask_babel
from babel.dates import get_date_format, get_datetime_format, get_time_format
from flask import Flask, current_app, request
from flask_babel import Domain, get_domain, gettext
from jinja2 import pass_context
from jinja2.runtime import Context

from balai.plugins import Plugins

__all__ = ["N_", "format_datetime", "format_time"]

CORE_TRANSLATIONS = Path(__file__).parent / "translations"


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now.

    For strings defined at import time and translated when shown, e.g. a schema
    field's label: ``metadata={"label": N_("Days to reopen")}``, later ``_(label)``.
    """
    return message


def plugin_translation_folders(manager: Plugins) -> dict[str, Path]:
    """The ``translations`` folder of each working plugin that has one, by plugin name."""
    folders = {}
    for info in manager.working():
        module_file = getattr(info.module, "__file__", None)
        if isinstance(info.module, ModuleType) and module_file:
            folder = Path(module_file).parent / "translations"
            if folder.is_dir():
                folders[info.name] = folder
    return folders


def translation_directories(manager: Plugins) -> str:
    """Plugins' catalogues first and the core's last, so the core wins on shared words."""
    folders = [*plugin_translation_folders(manager).values(), CORE_TRANSLATIONS]
    return ";".join(str(f) for f in folders)


def plugin_domains(manager: Plugins) -> dict[str, Domain]:
    """For each plugin with catalogues, a domain of every catalogue with the plugin's
    own merged last: its translation wins over the core's and other plugins'."""
    folders = plugin_translation_folders(manager)
    domains = {}
    for name, own in folders.items():
        others = [str(f) for n, f in folders.items() if n != name]
        domains[name] = Domain([*others, str(CORE_TRANSLATIONS), str(own)])
    return domains


def plugin_domain(name: str | None) -> Domain | None:
    """The domain in which plugin ``name``'s catalogue wins, if it has catalogues."""
    if name is None:
        return None
    found: dict[str, Domain] = current_app.extensions.get("balai.i18n.domains", {})
    return found.get(name)


def _plugin_first_for_request() -> None:
    """Before a request one of a plugin's blueprints handles: its catalogue wins."""
    from balai.plugins import plugins

    domain = plugin_domain(plugins().owner_of(request.blueprint))
    if domain is not None:
        domain.as_default()


def _template_domain(context: Context) -> Domain:
    """A plugin's own template (``<plugin>/...``) reads its catalogue first."""
    name = (context.name or "").split("/", 1)[0] if "/" in (context.name or "") else None
    return plugin_domain(name) or get_domain()


@pass_context
def _template_gettext(context: Context, string: str) -> str:
    return str(_template_domain(context).get_translations().ugettext(string))


@pass_context
def _template_ngettext(context: Context, singular: str, plural: str, num: int) -> str:
    return str(_template_domain(context).get_translations().ungettext(singular, plural, num))


# marshmallow's own messages, so validation errors speak the user's language too.
# Fixed messages are translated as they are; parametrised ones through a pattern.
VALIDATION_MESSAGES = (
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Invalid value."),
    N_("Invalid input."),
    N_("Invalid input type."),
    N_("Invalid type."),
    N_("Unknown field."),
    N_("Not a valid boolean."),
    N_("Not a valid date."),
    N_("Not a valid datetime."),
    N_("Not a valid time."),
    N_("Not a valid email address."),
    N_("Not a valid integer."),
    N_("Not a valid number."),
    N_("Number too large."),
    N_("Not a valid string."),
    N_("Not a valid list."),
    N_("Not a valid mapping type."),
    N_("Not a valid URL."),
    N_("Not a valid UUID."),
    N_("String does not match expected pattern."),
    N_("Special numeric values (nan or infinity) are not permitted."),
)
VALIDATION_PATTERNS = (
    (re.compile(r"^Longer than maximum length (?P<max>\d+)\.$"), N_("At most %(max)s characters.")),
    (
        re.compile(r"^Shorter than minimum length (?P<min>\d+)\.$"),
        N_("At least %(min)s characters."),
    ),
    (
        re.compile(r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$"),
        N_("Between %(min)s and %(max)s characters."),
    ),
    (
        re.compile(
            r"^Must be greater than or equal to (?P<min>\S+)"
            r" and less than or equal to (?P<max>\S+)\.$"
        ),
        N_("Must be from %(min)s to %(max)s."),
    ),
    (
        re.compile(r"^Must be greater than or equal to (?P<min>\S+)\.$"),
        N_("Must be at least %(min)s."),
    ),
    (re.compile(r"^Must be less than or equal to (?P<max>\S+)\.$"), N_("Must be at most %(max)s.")),
    (re.compile(r"^Must be one of: (?P<choices>.+)\.$"), N_("Must be one of: %(choices)s.")),
)


def translate_error(message: str) -> str:
    """A validation message in the user's language (marshmallow's included)."""
    for pattern, msgid in VALIDATION_PATTERNS:
        found = pattern.match(message)
        if found:
            return gettext(msgid, **found.groupdict())
    return gettext(message) if message in VALIDATION_MESSAGES else message


# -- times and their zones ------------------------------------------------------

#: Indonesia's zones by the names people use, in every language (CLDR gives English
#: "GMT+7" for what everyone in Indonesia calls WIB).
ZONE_NAMES = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}
_TIME_FIELDS = frozenset("HhKkmsaBb")
_ZONE_FIELDS = frozenset("zZvVOxX")


#: How a moment is written unless a page asks otherwise: "7 Desember 2026, 09.50 WIB",
#: "7 December 2026, 09.50 WIB", the same in every language.
DATETIME_PATTERN = "d MMMM y, HH.mm z"


def format_datetime(value: datetime | None, format: str = DATETIME_PATTERN) -> str:
    """A moment in the region's zone, always saying which zone (Jinja ``datetimeformat``).

    ``format`` is a CLDR pattern (by default :data:`DATETIME_PATTERN`) or
    ``short``/``medium``/``long``/``full``. Indonesia's zones read WIB, WITA and WIT in
    every language; a pattern that shows a time but no zone gets the zone added at its
    end.
    """
    if value is None:
        return ""
    return flask_babel.format_datetime(value, zoned_pattern(_pattern(format, "datetime")))


def format_time(value: datetime | time | None, format: str = "short") -> str:
    """A time of day with its zone, as :func:`format_datetime` (Jinja ``timeformat``)."""
    if value is None:
        return ""
    return flask_babel.format_time(value, zoned_pattern(_pattern(format, "time")))


def _pattern(format: str, kind: str) -> str:
    if format not in ("short", "medium", "long", "full"):
        return format
    locale = flask_babel.get_locale()
    time_pattern = get_time_format(format, locale=locale).pattern
    if kind == "time":
        return str(time_pattern)
    date_pattern = get_date_format(format, locale=locale).pattern
    joined = str(get_datetime_format(format, locale=locale))
    return joined.replace("{1}", date_pattern).replace("{0}", time_pattern)


def zoned_pattern(pattern: str, zone: str | None = None) -> str:
    """``pattern`` with the region's zone written out where it names a zone, and added
    when it shows a time without one. Quoted text (``'pukul'``) is left alone."""
    name = ZONE_NAMES.get(zone or str(flask_babel.get_timezone()))
    out, fields, quoted, i = [], set(), False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            quoted = not quoted
        elif not quoted and char in _ZONE_FIELDS:
            run = len(pattern) - len(pattern[i:].lstrip(char))
            fields.add(char)
            out.append(f"'{name}'" if name else pattern[i : i + run])
            i += run
            continue
        elif not quoted and char.isalpha():
            fields.add(char)
        out.append(char)
        i += 1
    if fields & _TIME_FIELDS and not fields & _ZONE_FIELDS:
        out.append(f" '{name}'" if name else " z")
    return "".join(out)


def init_app(app: Flask, manager: Plugins | None = None) -> None:
    """Replace Flask-Babel's ``datetimeformat`` and ``timeformat`` filters with the
    zone-aware ones above; let each plugin's catalogue win on its own pages and in its
    own templates."""
    app.jinja_env.filters.update(datetimeformat=format_datetime, timeformat=format_time)
    if manager is None:
        return
    app.extensions["balai.i18n.domains"] = plugin_domains(manager)
    app.before_request(_plugin_first_for_request)
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_template_gettext, ngettext=_template_ngettext, newstyle=True
    )
