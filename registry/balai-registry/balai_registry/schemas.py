"""marshmallow schemas of the JSON API (``/api/v1/registry/``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from balai.api import PageArgs
from balai.fields import AwareDateTime, Text

__all__ = ["FileSchema", "PluginQuery", "PluginSchema", "PluginSummarySchema", "VersionSchema"]

KINDS = ["plugin", "theme"]


class PluginQuery(PageArgs):
    """``?q=`` (every word in the name or summary), ``?page=``, ``?per_page=``."""

    q = Text(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"description": "Words the name or summary must all hold"},
    )


class PluginSummarySchema(Schema):
    """A published plugin in the list, as its newest release says."""

    name = Text(metadata={"description": "The distribution's normalised name, for pip"})
    kind = Text(metadata={"enum": KINDS})
    summary = Text()
    latest_version = Text(metadata={"description": "The newest version that is not yanked"})
    requires_core = Text(metadata={"description": "PEP 440 range of the Balai core"})
    yanked = fields.Boolean(
        metadata={"description": "Every version is yanked: latest_version is the newest of them"}
    )


class FileSchema(Schema):
    filename = Text()
    url = Text(metadata={"description": "Where to download it"})
    sha256 = Text()


class VersionSchema(Schema):
    version = Text()
    requires_core = Text()
    yanked = fields.Boolean()
    published_at = AwareDateTime(allow_none=True)
    files = fields.List(fields.Nested(FileSchema))


class PluginSchema(Schema):
    """A published plugin with every published version, newest first."""

    name = Text()
    kind = Text(metadata={"enum": KINDS})
    summary = Text()
    licence = Text()
    versions = fields.List(fields.Nested(VersionSchema))
