"""Web pages of the registry: the catalogue, and the maintainer's pages (*kelola*)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from babel import Locale, UnknownLocaleError
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from packaging.utils import canonicalize_name
from sqlalchemy import select
from werkzeug.wrappers import Response

from balai.auth import current_user
from balai.crypto import SealError, sealer
from balai.db import db, utcnow
from balai.fields import int_arg
from balai.jobs import enqueue
from balai.permissions import has_permission, public, require
from balai.plugincheck import summary_text
from balai.static import serve_static
from balai_registry import catalogue, feedback, notices, services
from balai_registry.jobs import TIME_LIMIT as CHECK_TIME_LIMIT
from balai_registry.models import SCOPES, Partner, Submission
from balai_registry.packages import CHECK_JOB

PLUGIN = "registry"
REVIEW = "registry.review_submissions"

bp = Blueprint(PLUGIN, __name__, url_prefix="/registry", template_folder="templates")

serve_static(bp)  # the registry's style sheet: url_for("registry.static", filename=...)

Errors = dict[str, list[str]]


PAGE_SIZE = 20


@bp.get("/")
@public
def index() -> str:
    """The catalogue of published plugins, searchable (``?q=``), 20 a page."""
    query = " ".join(request.args.get("q", "").split())[:200]
    page = catalogue.search(
        db.session, query, page=int_arg(request.args, "page") or 1, per_page=PAGE_SIZE
    )
    if page.page > page.pages:
        abort(404)
    return render_template("registry/index.html", page=page, query=query)


@bp.get("/<project>/")
@public
def plugin(project: str) -> Response | str:
    """One plugin: what its newest release says of itself, and its version history."""
    normalized = canonicalize_name(project)
    shown = catalogue.plugin_page(db.session, normalized)
    if shown is None:  # no redirect to a page that is not there
        abort(404)
    if normalized != project:
        return redirect(url_for(".plugin", project=normalized), 301)
    # What an adopting operator names as REGISTRY_URL (or --registry): this Balai's address.
    registry_url = request.url_root.rstrip("/")
    return render_template(
        "registry/plugin.html",
        **shown,
        **feedback.feedback_context(db.session, normalized),
        registry_url=registry_url,
        may_review=may_review(),
        reader_language_name=reader_language_name,
    )


def reader_language_name(code: str) -> str:
    """A language's name in the reader's language (``id`` → *Indonesia*), for the
    plugin's translations; the footer's language switch keeps each language's own name."""
    try:
        return Locale.parse(code).get_display_name(get_locale()) or code
    except (ValueError, TypeError, UnknownLocaleError):
        return code


# -- partners and their tokens (maintainers) --------------------------------------


#: Where the session keeps a token just issued, sealed, until its page shows it once.
NEW_TOKEN = "registry_new_token"  # noqa: S105 - a session key, not a secret
TOKEN_KEY = "registry-new-token"  # noqa: S105 - a key derivation purpose


@bp.get("/kelola/mitra")
@require(REVIEW)
def partners() -> Response:
    """Partner regions and their tokens, live and revoked; a token just issued (or
    rotated) is shown here once, then gone from the session."""
    response = make_response(_partners_page({}, {"scopes": list(SCOPES)}, _take_new_token()))
    # The token must not outlive this page in a cache or the browser's history.
    response.headers["Cache-Control"] = "no-store"
    return response


def _partners_page(
    errors: Errors,
    values: dict[str, Any],
    new: tuple[Partner, str] | None,
    existing: Partner | None = None,
) -> str:
    return render_template(
        "registry/partners.html",
        partners=services.list_partners(db.session),
        scopes=SCOPES,
        errors=errors,
        values=values,
        new=new,
        existing=existing,
    )


def _keep_new_token(partner: Partner, token: str) -> None:
    sealed = sealer(TOKEN_KEY, g.tenant.id).seal(token)
    session[NEW_TOKEN] = {"partner": partner.id, "token": sealed}


def _take_new_token() -> tuple[Partner, str] | None:
    kept = session.pop(NEW_TOKEN, None)
    if not isinstance(kept, dict):
        return None
    partner = db.session.get(Partner, kept.get("partner") or 0)
    try:
        token = sealer(TOKEN_KEY, g.tenant.id).open(str(kept.get("token")))
    except SealError:
        return None
    if partner is None or partner.token_hash != services.hash_token(token):
        return None  # rotated or revoked again meanwhile: no longer its token
    return partner, token


@bp.post("/kelola/mitra")
@require(REVIEW)
def create_partner() -> Response | tuple[str, int]:
    """Issue a token to a new partner region; the list then shows it, once (only its
    hash is kept). A region that already is a partner is refused, with the offer to
    give it a new token."""
    scopes = request.form.getlist("scopes")
    try:
        partner, token = services.issue_partner(
            db.session,
            request.form.get("region", ""),
            request.form.get("email", ""),
            scopes,
            current_user.id,
            upstream=bool(request.form.get("upstream")),
        )
    except services.PartnerError as exc:
        errors = {k: [_(m) for m in v] for k, v in exc.errors.items()}
        values = {**request.form.to_dict(), "scopes": scopes}
        existing = services.partner_of_region(db.session, request.form.get("region", ""))
        return _partners_page(errors, values, None, existing), 422
    db.session.commit()
    _keep_new_token(partner, token)
    flash(_("%(region)s is a partner region now.", region=partner.region), "ok")
    return redirect(url_for(".partners"), 303)


def _partner_or_404(partner_id: int) -> Partner:
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        abort(404)
    return partner


def _confirm_page(partner: Partner, action: str) -> Response:
    if action == "revoke":
        question = _("Revoke the token of %(region)s?", region=partner.region)
    else:
        question = _("Give %(region)s a new token?", region=partner.region)
    response = make_response(
        render_template(
            "registry/partner_confirm.html", partner=partner, action=action, question=question
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/kelola/mitra/<int:partner_id>/token-baru")
@require(REVIEW)
def confirm_rotate_partner(partner_id: int) -> Response:
    """Ask before giving a partner a new token (no script needed)."""
    return _confirm_page(_partner_or_404(partner_id), "rotate")


@bp.post("/kelola/mitra/<int:partner_id>/token-baru")
@require(REVIEW)
def rotate_partner(partner_id: int) -> Response:
    """Give the partner a new token (its old one ends at once); the list shows it once.
    Without the confirmation field, the question is asked first."""
    partner = _partner_or_404(partner_id)
    if request.form.get("confirm") != "yes":
        return redirect(url_for(".confirm_rotate_partner", partner_id=partner.id), 303)
    token = services.rotate_partner(db.session, partner, current_user.id, utcnow())
    db.session.commit()
    _keep_new_token(partner, token)
    flash(
        _("%(region)s has a new token; the old one no longer works.", region=partner.region), "ok"
    )
    return redirect(url_for(".partners"), 303)


@bp.get("/kelola/mitra/<int:partner_id>/cabut")
@require(REVIEW)
def confirm_revoke_partner(partner_id: int) -> Response:
    """Ask before revoking a partner's token (no script needed)."""
    partner = _partner_or_404(partner_id)
    if partner.revoked_at is not None:
        return redirect(url_for(".partners"))
    return _confirm_page(partner, "revoke")


@bp.post("/kelola/mitra/<int:partner_id>/cabut")
@require(REVIEW)
def revoke_partner(partner_id: int) -> Response:
    """End a partner's token at once; what it sent stays. Without the confirmation
    field, the question is asked first."""
    partner = _partner_or_404(partner_id)
    if request.form.get("confirm") != "yes":
        return redirect(url_for(".confirm_revoke_partner", partner_id=partner.id), 303)
    services.revoke_partner(db.session, partner, utcnow())
    db.session.commit()
    flash(_("The token of %(region)s is revoked.", region=partner.region), "ok")
    return redirect(url_for(".partners"), 303)


# -- submissions ----------------------------------------------------------------------


def may_review() -> bool:
    return current_user.is_authenticated and has_permission(current_user, REVIEW)


@bp.get("/kiriman/<key>")
@public  # the link is the key: maintainers and the submitter, who was sent it, open it
def submission(key: str) -> str:
    """A submission's report: each check with its status and output, and the decision."""
    found = db.session.scalars(select(Submission).where(Submission.key == key)).first()
    if found is None:
        abort(404)
    return _submission_page(found, may_review(), {})


def may_recheck(found: Submission) -> bool:
    """Whether the checks of a submission may run again: once they have run, or when
    they should have ended long ago (the job failed before it kept a report)."""
    if found.status == "checked":
        return True
    overdue = utcnow() - found.created_at > timedelta(seconds=CHECK_TIME_LIMIT)
    return found.status == "pending" and found.report is None and overdue


def _submission_page(found: Submission, reviewer: bool, errors: Errors) -> str:
    siblings = services.release_siblings(db.session, found)
    return render_template(
        "registry/submission.html",
        submission=found,
        may_review=reviewer,
        may_recheck=may_recheck(found),
        errors=errors,
        failed_files=services.failed_files(siblings),
        unchecked_files=services.unchecked_files(siblings),
        siblings=siblings,
        summary_text=summary_text,
    )


@bp.get("/kelola/")
@require(REVIEW)
def submissions() -> str:
    """Every submission, those awaiting a decision first."""
    page = services.list_submissions(db.session, page=int_arg(request.args, "page") or 1)
    if page.page > page.pages:
        abort(404)
    return render_template("registry/submissions.html", page=page)


def _submission_or_404(submission_id: int) -> Submission:
    found = db.session.get(Submission, submission_id)
    if found is None:
        abort(404)
    return found


@bp.post("/kelola/kiriman/<int:submission_id>/putuskan")
@require(REVIEW)
def decide(submission_id: int) -> Response | tuple[str, int]:
    """Publish or reject a checked submission, with a comment the submitter reads."""
    found = _submission_or_404(submission_id)
    publish = request.form.get("decision") == "publish"
    try:
        services.decide(
            found,
            publish,
            request.form.get("comment", ""),
            current_user.id,
            utcnow(),
            reserved=services.reserved_names(current_app.config.get("REGISTRY_RESERVED_NAMES")),
        )
    except services.DecisionError as exc:
        return _submission_page(found, True, {"comment": [_(str(exc))]}), 422
    notices.decided(db.session, found)
    db.session.commit()
    flash(
        _("The submission is published.")
        if publish
        else _("The submission is rejected; the submitter is told why."),
        "ok",
    )
    return redirect(url_for(".submission", key=found.key))


@bp.post("/kelola/kiriman/<int:submission_id>/periksa-ulang")
@require(REVIEW)
def recheck(submission_id: int) -> Response:
    """Run the checks of a submission that awaits a decision again."""
    found = _submission_or_404(submission_id)
    if not may_recheck(found):
        abort(409)  # decided, or its first checks are still to run
    found.status, found.report, found.checked_at = "pending", None, None
    db.session.commit()
    enqueue(
        CHECK_JOB,
        tenant=g.tenant,
        key=f"check-{found.id}-{secrets.token_hex(4)}",
        submission_id=found.id,
    )
    flash(_("The checks will run again."), "ok")
    return redirect(url_for(".submission", key=found.key))


@bp.post("/kelola/<project>/<version>/tarik")
@require(REVIEW)
def yank(project: str, version: str) -> Response:
    """Yank a published version (PEP 592), or take the yank back."""
    if request.form.get("undo"):
        count = services.unyank(db.session, project, version)
    else:
        try:
            count = services.yank(
                db.session, project, version, request.form.get("reason", ""), utcnow()
            )
        except services.DecisionError as exc:
            flash(_(str(exc)), "error")
            return redirect(url_for(".plugin", project=project))
    if not count:
        abort(404)
    db.session.commit()
    flash(
        _("Version %(version)s is yanked.", version=version)
        if not request.form.get("undo")
        else _("The yank of version %(version)s is taken back.", version=version),
        "ok",
    )
    return redirect(url_for(".plugin", project=project))
