"""Translation catalogues of the core and of every loaded plugin (Flask-Babel).

Message ids are English; Bahasa Indonesia (``id``) is the default locale and its
catalogue must be complete (a test checks). Each plugin keeps its catalogues in
``<package>/translations``; Flask-Babel merges them into one domain, the core's
last so that a plugin cannot change the core's wording.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

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
