"""The package index's HTTP surface: the legacy upload API that twine speaks, the
simple index pip reads (PEP 503 HTML and PEP 691 JSON) and the files themselves.

Its own blueprint (``registry_index``, under ``/registry/``): programs post to it
without a CSRF token (the partner's registry token authenticates them), and its
errors are plain text whose reason phrase carries the message, which twine shows.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from packaging.utils import canonicalize_name
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from balai import storage
from balai.db import db
from balai.jobs import enqueue
from balai.permissions import public
from balai_registry import index, partners, services
from balai_registry.models import Submission

__all__ = ["CHECK_JOB", "bp", "keep", "registry_files"]

CHECK_JOB = "registry.check-submission"
#: Room for the upload form's other fields besides the file.
FORM_MARGIN = 1024 * 1024

bp = Blueprint("registry_index", __name__, url_prefix="/registry")


@bp.record_once
def _set_up(state: BlueprintSetupState) -> None:
    """Upload clients post without a CSRF token: the registry token authenticates them."""
    app: Flask = state.app
    app.extensions["csrf"].exempt(bp)


def registry_files() -> storage.TenantFiles:
    """The current region's registry folder of the deployment's storage."""
    return storage.for_tenant().within("registry")


def plain(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    """A plain-text answer whose reason phrase is ``message`` (what twine prints)."""
    response = Response(message + "\n", mimetype="text/plain", headers=headers or [])
    reason = " ".join(message.split()).encode("latin-1", "replace").decode("latin-1")
    response.status = f"{status} {reason[:300]}"
    return response


@bp.post("/legacy/")
@public  # the partner's registry token is checked in the view (partners.authenticate)
def upload() -> Response:
    """The legacy upload API (``:action=file_upload``): a new pending submission."""
    try:
        partner = partners.authenticate("upload")
        partners.throttle(partner, partners.UPLOAD_LIMIT)  # before a byte of the file is read
    except HTTPException as exc:
        return plain(exc.code or 401, str(exc.description), list(exc.get_headers()))
    # A distribution may be larger than the deployment's limit for other forms.
    limit = services.MAX_UPLOAD + FORM_MARGIN
    request.max_content_length = limit
    too_large = _("The file is larger than %(mb)d MB.", mb=services.MAX_UPLOAD // 2**20)
    if (request.content_length or 0) > limit:
        return plain(413, too_large)  # refused before a byte of it is read
    try:
        sent = request.files.get("content")
    except RequestEntityTooLarge:  # a body without Content-Length, cut off while read
        return plain(413, too_large)
    data = sent.read(services.MAX_UPLOAD + 1) if sent else b""
    form = request.form
    try:
        submission, _metadata = services.accept_upload(
            db.session,
            partner,
            services.Upload(
                action=form.get(":action", ""),
                name=form.get("name", ""),
                version=form.get("version", ""),
                filetype=form.get("filetype", ""),
                sha256_digest=form.get("sha256_digest", ""),
                filename=(sent.filename or "") if sent else "",
                data=data,
            ),
            reserved=services.reserved_names(current_app.config.get("REGISTRY_RESERVED_NAMES")),
        )
    except services.UploadError as exc:
        params = dict(exc.params)
        if "state" in params:  # a submission's status in words, translated too
            params["state"] = _(params["state"])
        return plain(exc.status, _(exc.message, **params))
    return _store(submission, data)


def keep(submission: Submission, data: bytes) -> None:
    """Keep the file, then commit the row naming it, then queue its check: what every
    new submission goes through (an upload, or a derived plugin sent with an evaluation).

    :raises storage.NoRoom: the storage is full (the session is rolled back, nothing kept).
    """
    files, key = registry_files(), services.file_key(submission.sha256, submission.filename)
    try:
        files.put(key, data, content_type="application/octet-stream")
    except storage.NoRoom:
        db.session.rollback()
        raise
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        files.delete(key)
        raise
    enqueue(CHECK_JOB, tenant=g.tenant, key=f"check-{submission.id}-0", submission_id=submission.id)


def _store(submission: Submission, data: bytes) -> Response:
    """Keep the file and the row; the check runs once both are in."""
    try:
        keep(submission, data)
    except storage.NoRoom:
        return plain(507, _("The registry's storage is full: nothing was saved. Try later."))
    link = url_for("registry.submission", key=submission.key, _external=True)
    return plain(200, _("OK: the file is waiting for its checks. Report: %(url)s", url=link))


# -- the simple index (PEP 503, PEP 691, PEP 658/714, PEP 592) -------------------------

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
#: What a client may ask for (PEP 691), and what it is then answered with.
OFFERED = {
    "text/html": "text/html",  # first: what "*/*" gets, as old clients expect
    HTML_TYPE: HTML_TYPE,
    "application/vnd.pypi.simple.latest+html": HTML_TYPE,
    JSON_TYPE: JSON_TYPE,
    "application/vnd.pypi.simple.latest+json": JSON_TYPE,
}
API_VERSION = "1.1"
INDEX_CACHE = "public, max-age=60"
FILE_CACHE = "public, max-age=31536000, immutable"


def _negotiated() -> str:
    """The content type to answer with; 406 when the client accepts none of them.

    Without an ``Accept`` header (or ``*/*`` alone) the answer is HTML, as PEP 691
    asks of an index that must keep serving old clients.
    """
    if not request.headers.get("Accept"):
        return "text/html"
    chosen = request.accept_mimetypes.best_match(list(OFFERED), default=None)
    if chosen is None:
        abort(406)
    return OFFERED[chosen]


def _answer(content_type: str, body: str) -> Response:
    response = Response(body, content_type=f"{content_type}; charset=utf-8")
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = INDEX_CACHE
    return response


@bp.get("/simple/")
@public
def simple_root() -> Response:
    """Every project with a published file."""
    kind, names = _negotiated(), index.projects(db.session)
    if kind == JSON_TYPE:
        body = {"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in names]}
        return _answer(kind, json.dumps(body))
    return _answer(kind, render_template("registry/simple_root.html", names=names))


@bp.get("/simple/<project>/")
@public
def simple_project(project: str) -> Response:
    """The published files of one project; another spelling of its name redirects
    (a name with no published file is a 404, whatever its spelling)."""
    normalized = canonicalize_name(project)
    files = index.files_of(db.session, normalized)
    if not files:
        abort(404)
    if normalized != project:
        return redirect(url_for(".simple_project", project=normalized), 301)
    kind = _negotiated()
    if kind == JSON_TYPE:
        return _answer(kind, json.dumps(_project_json(project, files)))
    html = render_template("registry/simple_project.html", project=project, files=files)
    return _answer(kind, html)


def file_url(found: index.IndexFile) -> str:
    return url_for("registry_index.file", sha256=found.sha256, filename=found.filename)


def _project_json(project: str, files: list[index.IndexFile]) -> dict[str, Any]:
    return {
        "meta": {"api-version": API_VERSION},
        "name": project,
        "versions": index.versions(files),
        "files": [_file_json(f) for f in files],
    }


def _file_json(found: index.IndexFile) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "filename": found.filename,
        "url": file_url(found),
        "hashes": {"sha256": found.sha256},
        "requires-python": found.requires_python or None,
        "size": found.size,
        "upload-time": found.uploaded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "yanked": found.yanked if found.yanked else (found.yanked is not None),
    }
    if found.metadata_sha256:
        metadata = {"sha256": found.metadata_sha256}
        entry["core-metadata"] = metadata
        entry["dist-info-metadata"] = metadata  # PEP 714: the old key, for older clients
    return entry


@bp.get("/files/<sha256>/<filename>")
@public
def file(sha256: str, filename: str) -> Response:
    """A published file, or its core metadata (PEP 658: ``<file>.metadata``)."""
    if filename.endswith(".metadata"):
        return _metadata(sha256, filename.removesuffix(".metadata"))
    found = index.file_of(db.session, sha256, filename)
    if found is None:
        abort(404)
    key = services.file_key(found.sha256, found.filename)
    return storage.send(registry_files(), key, cache_control=FILE_CACHE)


def _metadata(sha256: str, filename: str) -> Response:
    found = index.file_of(db.session, sha256, filename)
    if found is None or found.filetype != "bdist_wheel":
        abort(404)
    response = Response(found.metadata_text.encode(), mimetype="text/plain")
    response.headers["Cache-Control"] = FILE_CACHE
    return response
