"""Translation catalogues of the core and of every loaded plugin (Flask-Babel).

Message ids are English; Bahasa Indonesia (``id``) is the default locale and its
catalogue must be complete (a test checks). Each plugin keeps its catalogues in
``<package>/translations``; Flask-Babel merges them into one domain, the core's
last so that a plugin cannot change the core's wording.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

from flask_babel import gettext

from balai.plugins import Plugins

CORE_TRANSLATIONS = Path(__file__).parent / "translations"


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now.

    For strings defined at import time and translated when shown, e.g. a schema
    field's label: ``metadata={"label": N_("Days to reopen")}``, later ``_(label)``.
    """
    return message


def translation_directories(manager: Plugins) -> str:
    """Plugins' catalogues first and the core's last, so the core wins on shared words."""
    folders = []
    for info in manager.working():
        module_file = getattr(info.module, "__file__", None)
        if isinstance(info.module, ModuleType) and module_file:
            folder = Path(module_file).parent / "translations"
            if folder.is_dir():
                folders.append(folder)
    folders.append(CORE_TRANSLATIONS)
    return ";".join(str(f) for f in folders)


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
