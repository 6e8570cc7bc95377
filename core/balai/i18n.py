"""Translation catalogues of the core and of every loaded plugin (Flask-Babel).

Message ids are English; Bahasa Indonesia (``id``) is the default locale and its
catalogue must be complete (a test checks). Each plugin keeps its catalogues in
``<package>/translations``; Flask-Babel merges them into one domain.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from balai.plugins import Plugins

CORE_TRANSLATIONS = Path(__file__).parent / "translations"


def translation_directories(manager: Plugins) -> str:
    folders = [CORE_TRANSLATIONS]
    for info in manager.working():
        module_file = getattr(info.module, "__file__", None)
        if isinstance(info.module, ModuleType) and module_file:
            folder = Path(module_file).parent / "translations"
            if folder.is_dir():
                folders.append(folder)
    return ";".join(str(f) for f in folders)
