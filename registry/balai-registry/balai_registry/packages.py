"""The package index's HTTP surface: the legacy upload API that twine speaks.

Its own blueprint (``registry_index``, under ``/registry/``): programs post to it
without a CSRF token (the partner's registry token authenticates them), and its
errors are plain text whose reason phrase carries the message, which twine shows.
"""

from __future__ import annotations

from flask import Blueprint, Flask, g, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from balai import storage
from balai.db import db
from balai.jobs import enqueue
from balai.permissions import public
from balai_registry import partners, services
from balai_registry.models import Submission

__all__ = ["CHECK_JOB", "bp", "registry_files"]

CHECK_JOB = "registry.check-submission"

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
    except HTTPException as exc:
        return plain(exc.code or 401, str(exc.description), list(exc.get_headers()))
    sent = request.files.get("content")
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
        )
    except services.UploadError as exc:
        return plain(exc.status, _(exc.message, **exc.params))
    return _store(submission, data)


def _store(submission: Submission, data: bytes) -> Response:
    """Keep the file, then the row naming it; the check runs once both are in."""
    files, key = registry_files(), services.file_key(submission.sha256, submission.filename)
    try:
        files.put(key, data, content_type="application/octet-stream")
    except storage.NoRoom:
        db.session.rollback()
        return plain(507, _("The registry's storage is full: nothing was saved. Try later."))
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        files.delete(key)
        raise
    enqueue(CHECK_JOB, tenant=g.tenant, key=f"check-{submission.id}-0", submission_id=submission.id)
    link = url_for("registry.submission", key=submission.key, _external=True)
    return plain(200, _("OK: the file is waiting for its checks. Report: %(url)s", url=link))
