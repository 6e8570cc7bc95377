"""The opt-in usage report an installation sends its upstream registry: which core
version runs, and which plugins (with versions) each region has switched on.

It names the installation by a stable random id kept in the instance folder
(``instance-id``), never by its addresses, users or data.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from flask import Flask
from packaging.utils import canonicalize_name

from balai import __version__
from balai.plugins import PluginInfo
from balai.plugins import plugins as plugin_manager
from balai.tenancy import TenantInfo

__all__ = ["INSTANCE_ID_FILE", "distribution_name", "instance_id", "usage_report"]

INSTANCE_ID_FILE = "instance-id"


def distribution_name(info: PluginInfo) -> str:
    """The name the registry knows ``info`` by: its distribution's, normalised
    (PEP 503: ``balai-pengaduan``); ``balai-<name>`` for a plugin registered
    without a distribution."""
    return str(canonicalize_name(info.distribution or f"balai-{info.name}"))


def instance_id(app: Flask) -> str:
    """The installation's id: made once (a random UUID) and kept in the instance folder.

    Written whole under another name and linked into place, so two commands starting
    at once agree on one id.
    """
    path = Path(app.instance_path) / INSTANCE_ID_FILE
    if not path.exists():
        made = str(uuid.uuid4())
        draft = path.with_name(f".{INSTANCE_ID_FILE}-{made}")
        draft.write_text(made + "\n", encoding="ascii")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: its id wins
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii").strip()


def usage_report(app: Flask, tenant: TenantInfo) -> dict[str, Any]:
    """The body of ``POST /api/v1/registry/reports`` for one region."""
    installed = plugin_manager(app).installed
    enabled = sorted(n for n in tenant.plugins if n in installed and not installed[n].builtin)
    return {
        "instance": instance_id(app),
        "region": tenant.name,
        "core_version": __version__,
        "plugins": [
            {"name": distribution_name(installed[n]), "version": installed[n].version}
            for n in enabled
        ],
    }
