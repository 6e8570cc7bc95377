"""A region's link to its upstream registry, and its evaluations: the rules, without
Flask requests (the admin pages, the job and the command share them).

The token is sealed with the region's own key for ``"upstream"`` (:mod:`balai.crypto`)
and opened only to be sent upstream; pages show its last characters at most.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask_babel import lazy_gettext as _l
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion
from sqlalchemy import select
from sqlalchemy.orm import Session

from balai.crypto import SealError, sealer
from balai.db import utcnow
from balai.upstream.client import RegistryClient, UpstreamError
from balai.upstream.models import SEVERITIES, STATUSES, UpstreamEvaluation, UpstreamLink

__all__ = [
    "DERIVED_MAX_BYTES",
    "PATCH_MAX_BYTES",
    "SYNC_FRESH",
    "TOKEN_KEY",
    "NotConfigured",
    "allow_private",
    "check_derived",
    "client_for",
    "evaluation_payload",
    "link_of",
    "needs_sync",
    "parse_time",
    "record_sync_failure",
    "save_link",
    "store_evaluation",
    "sync_evaluations",
    "token_hint",
    "token_of",
    "upstream_url",
]

log = logging.getLogger(__name__)
#: The purpose the token's key is derived for (:func:`balai.crypto.sealer`).
TOKEN_KEY = "upstream"  # noqa: S105 - a key derivation purpose
#: A patch sent with an evaluation is text of at most this many bytes (the registry's limit).
PATCH_MAX_BYTES = 1024 * 1024
#: A derived plugin sent with an evaluation is at most this many bytes (the registry's
#: upload limit); the deployment's ``MAX_CONTENT_LENGTH`` caps any request before that.
DERIVED_MAX_BYTES = 50 * 1024 * 1024
#: The first bytes of a wheel (a zip archive) and of an sdist (a gzip stream).
_MAGIC = {".whl": b"PK\x03\x04", ".tar.gz": b"\x1f\x8b"}
#: Viewing the list fetches the evaluations again only when the copy is older than this.
SYNC_FRESH = timedelta(seconds=60)


class NotConfigured(UpstreamError):
    """The region has no upstream address or no registry token yet."""


def allow_private(app: Flask, url: str | None = None) -> bool:
    """Whether the server may contact ``url`` at a private, local or reserved address:
    when the operator allows it (``REGISTRY_ALLOW_PRIVATE_ADDRESSES``), or ``url`` is
    the deployment's own ``REGISTRY_URL`` (the operator's choice, not a region admin's)."""
    if app.config.get("REGISTRY_ALLOW_PRIVATE_ADDRESSES", False):
        return True
    default = app.config.get("REGISTRY_URL")
    return bool(url and default and url.rstrip("/") == str(default).strip().rstrip("/"))


def link_of(session: Session) -> UpstreamLink | None:
    """The link of the session's region, if its admin saved one."""
    return session.scalar(select(UpstreamLink))


def upstream_url(link: UpstreamLink | None, app: Flask) -> str | None:
    """The region's upstream address: its own (where ``REGISTRY_URL_PER_REGION``
    allows one), else the deployment's ``REGISTRY_URL``."""
    if link is not None and link.url and app.config.get("REGISTRY_URL_PER_REGION", True):
        return link.url
    default = app.config.get("REGISTRY_URL")
    return str(default).rstrip("/") if default else None


def token_of(link: UpstreamLink | None, tenant_id: int, app: Flask) -> str | None:
    """The region's registry token in clear, or ``None`` (unset, or sealed under a key
    this deployment no longer has: logged without the value)."""
    if link is None or not link.token:
        return None
    try:
        return sealer(TOKEN_KEY, tenant_id, app).open(link.token)
    except SealError:
        log.warning("the registry token of tenant %s cannot be opened with this key", tenant_id)
        return None


def token_hint(token: str | None) -> str:
    """What a page may show of a token: its last four characters."""
    return f"…{token[-4:]}" if token and len(token) > 8 else "…"


def save_link(
    session: Session,
    tenant_id: int,
    app: Flask,
    *,
    url: str | None,
    token: str | None,
    forget_token: bool = False,
) -> UpstreamLink:
    """Save the region's upstream address (``None``: the deployment's) and, when given,
    a new token (sealed); ``forget_token`` removes the stored one. Not committed."""
    link = link_of(session)
    if link is None:
        link = UpstreamLink(tenant_id=tenant_id)
        session.add(link)
    if (link.url or None) != (url or None):
        link.synced_at, link.sync_error = None, None  # another upstream: fetch afresh
    link.url = url or None
    if forget_token:
        link.token = None
    elif token:
        link.token = sealer(TOKEN_KEY, tenant_id, app).seal(token)
        link.sync_error = None
    return link


def client_for(session: Session, tenant_id: int, app: Flask) -> RegistryClient:
    """A client of the region's upstream with its token.

    :raises NotConfigured: no address or no token is set.
    """
    link = link_of(session)
    url, token = upstream_url(link, app), token_of(link, tenant_id, app)
    if not url:
        raise NotConfigured(_l("No upstream registry address is set (Upstream registry)."))
    if not token:
        raise NotConfigured(_l("The region has no registry token yet (Upstream registry)."))
    return RegistryClient(url, token, allow_private=allow_private(app, url))


def evaluation_payload(data: Mapping[str, Any], distribution: str, version: str) -> dict[str, Any]:
    """The body of ``POST /evaluations`` from the form's checked ``data``, naming the
    plugin by its ``distribution`` (the registry's name for it, ``balai-pengaduan``)."""
    payload = {
        "plugin": distribution,
        "version": version,
        "severity": data["severity"],
        "title": data["title"],
        "body": data["body"],
    }
    if data.get("patch"):
        payload["patch"] = data["patch"]
    return payload


def check_derived(filename: str, content: bytes) -> list[Any]:
    """Why a derived plugin's file may not be sent, lightly checked before anything is
    (empty: it may). Only its name, kind and size: the upstream reads the file itself
    and applies every rule of its uploads.

    ``filename`` must be that of a wheel (``.whl``) or an sdist (``.tar.gz``) of a
    ``balai-`` distribution (the registry takes no other), ``content`` start as such a
    file does, and hold at most :data:`DERIVED_MAX_BYTES`.
    """
    suffix = next((s for s in _MAGIC if filename.endswith(s)), None)
    if suffix is None or "/" in filename or "\\" in filename:
        return [_l("Choose a wheel (.whl) or an sdist (.tar.gz) file.")]
    try:
        if suffix == ".whl":
            name = parse_wheel_filename(filename)[0]
        else:
            name = parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return [
            _l(
                "The file name is not that of a Python distribution, such as "
                "balai_pengumuman_bali-1.0.0-py3-none-any.whl."
            )
        ]
    if not canonicalize_name(name).startswith("balai-"):
        return [_l("The registry takes only Balai plugins: the name must start with balai-.")]
    if not content:
        return [_l("The file is empty.")]
    if len(content) > DERIVED_MAX_BYTES:
        return [_l("The file may be at most %(mb)d MB.", mb=DERIVED_MAX_BYTES // 2**20)]
    if not content.startswith(_MAGIC[suffix]):
        return [_l("The file is not a wheel or an sdist: it cannot be read as one.")]
    return []


def _derived(value: Any) -> dict[str, Any] | None:
    """What is kept of the upstream's ``derived`` (the submission a derived plugin became)."""
    if not isinstance(value, dict):
        return None
    url = str(value.get("url") or "")[:500]
    passed = value.get("passed")
    return {
        "filename": str(value.get("filename") or "")[:255],
        "project": str(value.get("project") or "")[:100],
        "version": str(value.get("version") or "")[:64],
        "status": str(value.get("status") or "")[:20],
        "passed": passed if isinstance(passed, bool) else None,
        # never a javascript: or data: link
        "url": url if urlsplit(url).scheme in ("http", "https") else None,
    }


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time the upstream sent, aware (UTC when it names no zone); else ``None``."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _replies(value: Any) -> list[dict[str, Any]]:
    replies = []
    for reply in value if isinstance(value, list) else []:
        if isinstance(reply, dict):
            replies.append(
                {
                    "author": str(reply.get("author") or "")[:200],
                    "from_upstream": bool(reply.get("from_upstream")),
                    "body": str(reply.get("body") or ""),
                    "created_at": str(reply.get("created_at") or ""),
                }
            )
    return replies


def store_evaluation(
    session: Session, upstream: str, item: Mapping[str, Any], now: datetime | None = None
) -> UpstreamEvaluation | None:
    """Keep the upstream's ``item`` (one evaluation) in the region's copy; ``None`` if it
    is not one (no id). Not committed."""
    remote_id = item.get("id")
    if not isinstance(remote_id, int) or isinstance(remote_id, bool):
        return None
    row = session.scalar(
        select(UpstreamEvaluation).where(
            UpstreamEvaluation.upstream == upstream, UpstreamEvaluation.remote_id == remote_id
        )
    )
    if row is None:
        row = UpstreamEvaluation(upstream=upstream, remote_id=remote_id)
        session.add(row)
    now = now or utcnow()
    row.plugin = str(item.get("plugin") or row.plugin or "")[:100]
    row.version = str(item.get("version") or row.version or "")[:64]
    severity = item.get("severity")
    row.severity = severity if severity in SEVERITIES else (row.severity or "medium")
    row.title = str(item.get("title") or row.title or "")[:200]
    row.body = str(item.get("body") or row.body or "")
    status = item.get("status")
    row.status = status if status in STATUSES else (row.status or "open")
    if "replies" in item:
        row.replies = _replies(item.get("replies"))
    elif row.replies is None:
        row.replies = []
    patch = item.get("patch")
    # What was sent, or the upstream's copy of it (never more than the registry takes).
    if isinstance(patch, str) and patch.strip() and len(patch.encode()) <= PATCH_MAX_BYTES:
        row.patch = patch
    if "derived" in item:
        row.derived = _derived(item.get("derived"))
    url = str(item.get("url") or "")[:500]
    if urlsplit(url).scheme in ("http", "https"):  # never a javascript: or data: link
        row.url = url
    row.created_at = parse_time(item.get("created_at")) or row.created_at or now
    row.updated_at = parse_time(item.get("updated_at")) or row.updated_at or now
    row.synced_at = now
    return row


def needs_sync(link: UpstreamLink | None, now: datetime | None = None) -> bool:
    """Whether the copy is older than :data:`SYNC_FRESH` (or was never fetched)."""
    if link is None or link.synced_at is None:
        return True
    return (now or utcnow()) - link.synced_at >= SYNC_FRESH


def sync_evaluations(session: Session, tenant_id: int, app: Flask) -> int:
    """Fetch every evaluation of the region from its upstream into its copy; the number
    fetched. Not committed.

    :raises UpstreamError: not configured, unreachable, token refused.
    """
    with client_for(session, tenant_id, app) as client:
        items = list(client.all_evaluations())
        now = utcnow()
        for item in items:
            store_evaluation(session, client.base_url, item, now)
    link = link_of(session)
    assert link is not None  # client_for found a token in it
    link.synced_at, link.sync_error = now, None
    return len(items)


def record_sync_failure(session: Session, error: UpstreamError) -> None:
    """Note on the link why the last fetch failed (the copy stays as it was)."""
    link = link_of(session)
    if link is not None:
        link.sync_error = str(error)[:500]
