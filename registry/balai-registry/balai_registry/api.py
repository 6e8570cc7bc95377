"""JSON API of the registry, mounted at ``/api/v1/registry/``: the published plugins."""

from __future__ import annotations

import math
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_smorest import abort
from packaging.utils import canonicalize_name

from balai.api import ApiBlueprint, page_of
from balai.db import db
from balai.permissions import public
from balai_registry import catalogue
from balai_registry.schemas import PluginQuery, PluginSchema, PluginSummarySchema

blp = ApiBlueprint(
    "registry_api",
    __name__,
    description="The plugin registry: published plugins and themes, their versions and files",
)


@blp.route("/plugins", methods=["GET"])
@public
@blp.arguments(PluginQuery, location="query")
@blp.response(200, page_of(PluginSummarySchema))
def list_plugins(query: dict[str, Any]) -> dict[str, Any]:
    """Published plugins and themes, by name; ``q`` searches names and summaries."""
    page, per_page = query["page"], query["per_page"]
    found = catalogue.search(db.session, query["q"], page=page, per_page=per_page)
    return {
        "items": [_summary(e) for e in found.items],
        "page": page,
        "per_page": per_page,
        "total": found.total,
        "pages": math.ceil(found.total / per_page),
    }


def _summary(entry: catalogue.Entry) -> dict[str, Any]:
    current = entry.current
    return {
        "name": entry.project,
        "kind": current.kind,
        "summary": current.summary,
        "latest_version": current.version,
        "requires_core": current.requires_core,
        "yanked": entry.latest.yanked,
    }


@blp.route("/plugins/<name>", methods=["GET"])
@public
@blp.response(200, PluginSchema)
def get_plugin(name: str) -> dict[str, Any]:
    """One published plugin with every version and its files, newest first."""
    entry = catalogue.entry(db.session, canonicalize_name(name))
    if entry is None:
        abort(404, message=_("No published plugin has this name."))
    current = entry.current
    return {
        "name": entry.project,
        "kind": current.kind,
        "summary": current.summary,
        "licence": current.licence,
        "versions": [_version(r) for r in entry.releases],
    }


def _version(release: catalogue.Release) -> dict[str, Any]:
    return {
        "version": release.version,
        "requires_core": release.requires_core,
        "yanked": release.yanked,
        "published_at": release.published_at,
        "files": [
            {
                "filename": f.filename,
                "url": url_for(
                    "registry_index.file", sha256=f.sha256, filename=f.filename, _external=True
                ),
                "sha256": f.sha256,
            }
            for f in release.files
        ],
    }
