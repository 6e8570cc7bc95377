"""Maintainers' pages of evaluations (*evaluasi*) and endorsements (*dukungan*).

Threads per plugin with their status, a thread with its patch and replies, the
maintainer's reply and status change, and upstream's own endorsements. Open to
holders of ``registry.answer_evaluations`` or ``registry.review_submissions``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from balai.api import paginate
from balai.auth import current_user
from balai.db import db, utcnow
from balai.fields import int_arg
from balai.permissions import has_permission, require
from balai_registry import feedback
from balai_registry.names import plugin_name

__all__ = ["ANSWER", "REVIEW", "bp"]

ANSWER = "registry.answer_evaluations"
REVIEW = "registry.review_submissions"
PAGE_SIZE = 20

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint(
    "registry_feedback", __name__, url_prefix="/registry/kelola", template_folder="templates"
)


def answering(view: F) -> F:
    """Let only maintainers in: either permission opens the evaluations."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not may_answer():
            abort(403)
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]


def may_answer() -> bool:
    """Whether the current user answers evaluations here."""
    return has_permission(current_user, ANSWER) or has_permission(current_user, REVIEW)


def _maintainer() -> tuple[int, str]:
    return current_user.id, current_user.name


@bp.get("/evaluasi")
@require()
@answering
def threads() -> str:
    """Evaluation threads, filtered by plugin and status, with counts per plugin."""
    status = request.args.get("status", "")
    status = status if status in feedback.STATUSES else ""
    plugin = plugin_name(request.args.get("plugin", "")) or ""
    page_number = int_arg(request.args, "page") or 1
    page = paginate(feedback.threads(plugin or None, status or None), page_number, PAGE_SIZE)
    return render_template(
        "registry/feedback/threads.html",
        page=page,
        counts=feedback.evaluation_counts(db.session),
        plugin=plugin,
        status=status,
        statuses=feedback.STATUSES,
    )


@bp.get("/evaluasi/<int:evaluation_id>")
@require()
@answering
def thread(evaluation_id: int) -> str:
    """One evaluation: what the partner found, its patch, the replies and the trail."""
    return _thread_page(_evaluation(evaluation_id), {}, {})


def _thread_page(
    evaluation: feedback.Evaluation, errors: dict[str, list[str]], values: dict[str, str]
) -> str:
    return render_template(
        "registry/feedback/thread.html",
        evaluation=evaluation,
        events=feedback.events_of(db.session, evaluation),
        statuses=feedback.STATUSES,
        errors=errors,
        values=values,
    )


@bp.post("/evaluasi/<int:evaluation_id>")
@require()
@answering
def answer(evaluation_id: int) -> Response | tuple[str, int]:
    """Reply to the partner and/or move the thread's status."""
    evaluation = _evaluation(evaluation_id)
    body = request.form.get("body", "")
    status = request.form.get("status") or None
    try:
        feedback.reply(
            db.session, evaluation, body, utcnow(), maintainer=_maintainer(), status=status
        )
    except feedback.FeedbackError as exc:
        db.session.rollback()
        errors = {k: [_(m) for m in v] for k, v in exc.errors.items()}
        return _thread_page(_evaluation(evaluation_id), errors, request.form.to_dict()), 422
    db.session.commit()
    flash(
        _(
            "Your answer is saved; the partner region sees it on its own page of "
            "evaluations sent upstream (Evaluasi ke hulu)."
        ),
        "ok",
    )
    return redirect(url_for(".thread", evaluation_id=evaluation_id))


@bp.get("/evaluasi/<int:evaluation_id>/patch")
@require()
@answering
def patch(evaluation_id: int) -> Response:
    """The evaluation's patch as a file, never shown as a page."""
    evaluation = _evaluation(evaluation_id)
    if evaluation.patch is None:
        abort(404)
    response = make_response(evaluation.patch)
    response.mimetype = "text/x-diff"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="evaluasi-{evaluation.id}.patch"'
    )
    return response


def _evaluation(evaluation_id: int) -> feedback.Evaluation:
    evaluation = db.session.get(feedback.Evaluation, evaluation_id)
    if evaluation is None:
        abort(404)
    return evaluation


# -- upstream's endorsements --------------------------------------------------------


@bp.get("/dukungan")
@require()
@answering
def endorsements() -> str:
    """Endorsements of every plugin, and the form for upstream's own."""
    return _endorsements_page({}, {})


def _endorsements_page(errors: dict[str, list[str]], values: dict[str, str]) -> str:
    return render_template(
        "registry/feedback/endorsements.html",
        endorsements=feedback.endorsements_of(db.session),
        errors=errors,
        values=values,
    )


@bp.post("/dukungan")
@require()
@answering
def endorse() -> Response | tuple[str, int]:
    """Upstream stands behind a plugin version (again: the note changes)."""
    form = request.form
    try:
        endorsement = feedback.endorse(
            db.session,
            form.get("plugin", ""),
            form.get("version", ""),
            form.get("note", ""),
            utcnow(),
            upstream=(current_user.id, g.tenant.name),
        )
    except feedback.FeedbackError as exc:
        db.session.rollback()
        errors = {k: [_(m) for m in v] for k, v in exc.errors.items()}
        return _endorsements_page(errors, form.to_dict()), 422
    db.session.commit()
    flash(
        _(
            "%(plugin)s %(version)s is endorsed by %(region)s.",
            plugin=endorsement.plugin,
            version=endorsement.version,
            region=endorsement.endorser,
        ),
        "ok",
    )
    return redirect(url_for(".endorsements"))
