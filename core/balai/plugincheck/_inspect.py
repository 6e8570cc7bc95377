"""What a distribution declares: :attr:`balai.plugincheck.CheckReport.inspection`.

:func:`distribution_facts` reads only its metadata; :func:`inspect_plugin` asks the
app it was loaded into (run in the checking process only).
"""

from __future__ import annotations

from typing import Any

import importlib_metadata
from flask import Flask
from packaging.requirements import InvalidRequirement, Requirement

from balai.plugincheck._report import INSPECTION_KEYS

GROUPS = {"balai.plugins": "plugin", "balai.themes": "theme"}


def distribution_facts(dist: importlib_metadata.Distribution) -> dict[str, Any]:
    """Every key of the inspection, those the metadata gives filled in."""
    meta = dist.metadata
    point = next((ep for ep in dist.entry_points if ep.group in GROUPS), None)
    requires = [_requirement(r) for r in dist.requires or ()]
    core = next((r for r in requires if r is not None and r.name.lower() == "balai"), None)
    facts: dict[str, Any] = dict.fromkeys(INSPECTION_KEYS, None)
    facts |= {
        "name": point.name if point else "",
        "distribution": meta.get("Name") or "",
        "version": dist.version,
        "kind": GROUPS[point.group] if point else "",
        "summary": meta.get("Summary") or "",
        "licence": meta.get("License-Expression")
        or _short(meta.get("License"))
        or _classifier(meta),
        "requires_core": str(core.specifier) if core is not None else "",
        "requires": sorted(r.name.lower() for r in requires if r is not None),
        "hooks": [],
        "permissions": [],
        "settings": [],
        "migrations": [],
        "languages": {},
        "readme": meta.get("Description") or meta.get_payload() or "",  # type: ignore[attr-defined]
        "readme_content_type": meta.get("Description-Content-Type") or "text/plain",
    }
    return facts


def _requirement(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def _short(licence: str | None) -> str:
    return (licence or "").strip().splitlines()[0] if (licence or "").strip() else ""


def _classifier(meta: Any) -> str:
    found = [c for c in meta.get_all("Classifier") or () if c.startswith("License ::")]
    return found[0].rsplit(" :: ", 1)[-1] if found else ""


def inspect_plugin(app: Flask, name: str) -> dict[str, Any]:
    """Hooks, permissions, settings fields, migrations and languages of plugin ``name``."""
    from balai.plugins import plugins
    from balai.proof.plugin import catalogue_completeness, package_dir

    info = plugins(app).get(name)
    if info is None:
        return {}
    folder = package_dir(info)
    languages = catalogue_completeness(folder) if folder else {}
    return {
        "hooks": list(info.hooks) or _hook_names(info.module),
        "permissions": _permissions(app, name),
        "settings": _settings(app, name),
        "migrations": _migrations(app, name),
        "languages": {lang: percent for lang, (percent, _missing) in languages.items()},
    }


def _hook_names(module: object) -> list[str]:
    """The ``@hookimpl`` functions of a plugin the core left out (no hook callers)."""
    return sorted(
        attr
        for attr in dir(module)
        if getattr(getattr(module, attr, None), "balai_impl", None) is not None
    )


def _permissions(app: Flask, name: str) -> list[dict[str, Any]]:
    from balai.permissions import registry

    declared = registry(app)
    return [
        {"name": permission, "label": str(declared.permissions[permission].label)}
        | {"roles": list(declared.permissions[permission].roles)}
        for permission, owner in sorted(declared.owner.items())
        if owner == name
    ]


def _settings(app: Flask, name: str) -> list[dict[str, Any]]:
    from marshmallow import missing

    from balai.settings import schema_for

    schema_cls = schema_for(name, app)
    if schema_cls is None:
        return []
    fields = []
    for field_name, field in schema_cls().fields.items():
        default = field.load_default
        default = None if default is missing else default() if callable(default) else default
        fields.append(
            {
                "name": field.data_key or field_name,
                "type": type(field).__name__,
                "default": default
                if isinstance(default, str | int | float | bool)
                else str(default),
                "label": str(field.metadata.get("label", "")),
            }
        )
    return fields


def _migrations(app: Flask, name: str) -> list[dict[str, Any]]:
    from pathlib import Path

    from alembic.script import ScriptDirectory

    from balai.plugins import plugins
    from balai.schema import alembic_config

    folder = plugins(app).get(name).migrations  # type: ignore[union-attr]
    if folder is None:
        return []
    script = ScriptDirectory.from_config(alembic_config(app))
    revisions = [
        r for r in script.walk_revisions() if r.path and Path(r.path).parent == Path(folder)
    ]
    return [
        {"revision": r.revision, "down_revision": r.down_revision, "message": r.doc or ""}
        for r in reversed(revisions)
    ]
