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
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import flask_babel
from babel import dates as babel_dates
from babel.dates import get_date_format, get_datetime_format, get_time_format
from flask import Flask, current_app, request
from flask_babel import Domain, get_domain, gettext
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from balai.plugins import Plugins

__all__ = ["N_", "format_date", "format_datetime", "format_time"]

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
    folder = _template_folder(context.name)
    if folder is not None:
        domains = getattr(context.environment, "balai_domains", None)
        if domains is None:  # an environment made without init_app
            domains = current_app.extensions.get("balai.i18n.domains", {})
        found = domains.get(folder)
        if found is not None:
            return found
    return get_domain()


@lru_cache(maxsize=1024)
def _template_folder(name: str | None) -> str | None:
    """``pengaduan`` for ``pengaduan/list.html``; None for a template outside a folder."""
    return name.split("/", 1)[0] if name and "/" in name else None


@pass_context
def _template_gettext(context: Context, string: str) -> str:
    return _translated(_template_domain(context), flask_babel.get_locale(), string)


@pass_context
def _template_underscore(context: Context, string: str, /, **variables: Any) -> str:
    """``_()`` and ``gettext()`` in templates: what Jinja's new-style ``gettext`` does
    (escape-safe, always a format string) in one call instead of three."""
    found = _translated(_template_domain(context), flask_babel.get_locale(), string)
    # A catalogue's text is trusted as Jinja's own gettext trusts it; values are escaped.
    rv = Markup(found) if context.eval_ctx.autoescape else found  # noqa: S704
    if variables or "%" in found:  # without either, formatting gives ``rv`` back
        return rv % variables  # type: ignore[no-any-return]
    return rv


@lru_cache(maxsize=8192)
def _translated(domain: Domain, locale: Any, string: str) -> str:
    """``string`` in ``domain``'s catalogue for ``locale`` (the request's, so that the
    domain's own cache answers for it). A domain keeps each language's catalogue for
    good once read, so the translation is kept too instead of looked up on every use."""
    return str(domain.get_translations().ugettext(string))


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

    A list shows the same moments again and again (every page of every request): each
    is formatted once per pattern, language and zone and then kept (:func:`_formatted`).
    """
    if value is None:
        return ""
    return _formatted(
        value,
        getattr(value, "tzinfo", None),
        getattr(value, "fold", 0),
        format,
        "datetime",
        flask_babel.get_locale(),
        flask_babel.get_timezone(),
    )


def format_time(value: datetime | time | None, format: str = "short") -> str:
    """A time of day with its zone, as :func:`format_datetime` (Jinja ``timeformat``)."""
    if value is None:
        return ""
    locale, zone = flask_babel.get_locale(), flask_babel.get_timezone()
    if isinstance(value, datetime):
        return _formatted(value, value.tzinfo, value.fold, format, "time", locale, zone)
    # A bare time's zone name may depend on today's date (summer time): never kept.
    return babel_dates.format_time(
        value, _zoned_format(format, "time", locale, zone), tzinfo=zone, locale=locale
    )


def format_date(value: date | None, format: str = "medium") -> str:
    """A day as Flask-Babel's ``format_date`` writes it (Jinja ``dateformat``), kept as
    :func:`format_datetime` keeps moments. Without a day, Flask-Babel writes today's."""
    if value is None:
        return flask_babel.format_date(value, format)
    fold = value.fold if isinstance(value, datetime) else 0
    return _formatted(
        value,
        getattr(value, "tzinfo", None),
        fold,
        format,
        "date",
        flask_babel.get_locale(),
        flask_babel.get_timezone(),
    )


@lru_cache(maxsize=8192)
def _formatted(
    value: date, tzinfo: Any, fold: int, format: str, kind: str, locale: Any, zone: Any
) -> str:
    """``value`` as Flask-Babel's ``format_datetime``/``format_time`` would write it in
    ``locale`` and ``zone``. The result depends on nothing else, so it is kept: ``tzinfo``
    and ``fold`` are part of the key because equal datetimes in one zone may still be
    different moments (the hour repeated when summer time ends)."""
    if kind == "date":  # called in the request whose language and zone are the key's
        return flask_babel.format_date(value, format)
    pattern = _zoned_format(format, kind, locale, zone)
    formatter = babel_dates.format_datetime if kind == "datetime" else babel_dates.format_time
    return formatter(value, pattern, tzinfo=zone, locale=locale)


@lru_cache(maxsize=256)
def _zoned_format(format: str, kind: str, locale: Any, zone: Any) -> str:
    """The CLDR pattern of ``format`` (a pattern or ``short``...) in ``locale``, with
    ``zone`` written out as :func:`zoned_pattern` does; worked out once."""
    return zoned_pattern(_pattern(format, kind, locale), str(zone))


def _pattern(format: str, kind: str, locale: Any = None) -> str:
    if format not in ("short", "medium", "long", "full"):
        return format
    if locale is None:
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
    """Replace Flask-Babel's ``datetimeformat``, ``timeformat`` and ``dateformat`` filters
    with the ones above (zone-aware, and keeping what they wrote); let each plugin's
    catalogue win on its own pages and in its own templates."""
    app.jinja_env.filters.update(
        datetimeformat=format_datetime, timeformat=format_time, dateformat=format_date
    )
    if manager is None:
        return
    domains = app.extensions["balai.i18n.domains"] = plugin_domains(manager)
    app.jinja_env.balai_domains = domains  # type: ignore[attr-defined]  # themes' overlays too
    app.before_request(_plugin_first_for_request)
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_template_gettext, ngettext=_template_ngettext, newstyle=True
    )
    app.jinja_env.globals.update(_=_template_underscore, gettext=_template_underscore)
