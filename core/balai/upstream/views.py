"""Admin pages of the region's upstream registry: the link (``/admin/registri``) and
the evaluations (*evaluasi*, ``/admin/evaluasi``) it sends about the plugins it runs,
each optionally with a patch or a derived plugin (a wheel or an sdist the upstream
checks as any submission).

The list and the thread show the region's copy of its evaluations, fetched again
when they are viewed (and by the ``core.sync-evaluations`` job), so they still open,
with the time of the last fetch, while the upstream is down.
"""

from __future__ import annotations

from math import ceil
from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from balai.admin import audit, bp
from balai.db import db
from balai.fields import int_arg
from balai.forms import validate_form
from balai.permissions import require
from balai.plugins import plugins as plugin_manager
from balai.upstream import services
from balai.upstream.client import (
    RegistryClient,
    UpstreamError,
    UpstreamInvalid,
    UpstreamNotFound,
    UpstreamRefused,
)
from balai.upstream.forms import (
    DERIVED_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    EvaluationForm,
    LinkForm,
    ReplyForm,
)
from balai.upstream.models import SEVERITIES, UpstreamEvaluation
from balai.upstream.report import distribution_name

__all__ = [
    "evaluation",
    "evaluations",
    "new_evaluation",
    "plugin_titles",
    "reply",
    "upstream",
]

PAGE_SIZE = 20
Errors = dict[str, list[str]]


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


# -- the link ------------------------------------------------------------------------


def _unchanged(data: dict[str, Any], own_url: bool) -> bool:
    """Whether saving ``data`` would change nothing of the region's link."""
    link = services.link_of(db.session)
    url = data["url"] if own_url else None
    current = link.url if link is not None and own_url else None
    forget = data["forget_token"] and link is not None and link.token
    return (url or None) == (current or None) and not data["token"] and not forget


def _check_token(url: str | None, token: str) -> tuple[bool, UpstreamError | None]:
    """Ask the upstream at ``url`` (the region's own evaluations: a request that needs
    the token) whether it takes ``token``: (refused, the error when it could not tell).
    Only an unknown or revoked token (401) is refused: one without the evaluations'
    scope (403) is still the region's, for usage reports, and is saved with a note."""
    if not url:
        return False, None
    try:
        allow = services.allow_private(_app(), url)
        with RegistryClient(url, token, allow_private=allow) as client:
            client.evaluations()
    except UpstreamRefused as exc:
        return exc.status == 401, (None if exc.status == 401 else exc)
    except UpstreamError as exc:
        return False, exc
    return False, None


@bp.route("/registri", methods=["GET", "POST"])
@require("balai.manage_plugins")
def upstream() -> Any:
    """The region's upstream registry address and its registry token (write-only).

    A form that changes nothing saves nothing; a new token is tried on the upstream
    first, and one it refuses is not saved."""
    errors: Errors = {}
    if request.method == "POST":
        data, errors = validate_form(LinkForm(), request.form)
        own_url = _app().config.get("REGISTRY_URL_PER_REGION", True)
        if data is not None and _unchanged(data, own_url):
            link = services.link_of(db.session)
            if link is not None and link.token:
                flash(_("Nothing was changed."), "info")
                return redirect(url_for("balai_admin.upstream"))
            errors = {
                "_form": [
                    _(
                        "Nothing was saved: enter the registry token the upstream's "
                        "maintainer gave this region (and its address, unless the "
                        "deployment's is the one)."
                    )
                ]
            }
            data = None
        unchecked: UpstreamError | None = None
        if data is not None and data["token"]:
            url = (data["url"] if own_url else None) or services.upstream_url(None, _app())
            refused, unchecked = _check_token(url, data["token"])
            if refused:
                errors = {
                    "token": [
                        _(
                            "The upstream registry at %(url)s refused this token: check it "
                            "with its maintainer. Nothing was saved.",
                            url=url,
                        )
                    ]
                }
                data = None
        if data is not None:
            services.save_link(
                db.session,
                g.tenant.id,
                _app(),
                url=data["url"] if own_url else None,
                token=data["token"],
                forget_token=data["forget_token"] and not data["token"],
            )
            db.session.commit()
            token = "replaced" if data["token"] else "removed" if data["forget_token"] else "kept"
            audit("upstream.saved", url=(own_url and data["url"]) or "(deployment)", token=token)
            flash(_("The upstream registry settings have been saved."), "ok")
            if unchecked is not None:
                flash(
                    _(
                        "The token could not be checked with the upstream registry: %(error)s",
                        error=unchecked,
                    ),
                    "error",
                )
            return redirect(url_for("balai_admin.upstream"))
    link = services.link_of(db.session)
    body = render_template(
        "balai/admin/upstream.html",
        link=link,
        url=services.upstream_url(link, _app()),
        default_url=_app().config.get("REGISTRY_URL"),
        own_url=_app().config.get("REGISTRY_URL_PER_REGION", True),
        token_hint=services.token_hint(services.token_of(link, g.tenant.id, _app()))
        if link is not None and link.token
        else None,
        errors=errors,
        values=request.form,
    )
    return body, 400 if errors else 200


# -- the list ------------------------------------------------------------------------


def _sync_now() -> UpstreamError | None:
    """Fetch the evaluations again if the copy is stale; the error, if that failed."""
    if not services.needs_sync(services.link_of(db.session)):
        return None
    try:
        services.sync_evaluations(db.session, g.tenant.id, _app())
    except services.NotConfigured as exc:
        db.session.rollback()
        return exc
    except UpstreamError as exc:
        db.session.rollback()
        services.record_sync_failure(db.session, exc)
        db.session.commit()
        return exc
    db.session.commit()
    return None


def _page_of_evaluations() -> dict[str, Any]:
    total = db.session.scalar(select(func.count(UpstreamEvaluation.id))) or 0
    pages = max(1, ceil(total / PAGE_SIZE))
    page = min(max(int_arg(request.args, "page") or 1, 1), pages)
    rows = db.session.scalars(
        select(UpstreamEvaluation)
        .order_by(UpstreamEvaluation.created_at.desc(), UpstreamEvaluation.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return {"evaluations": rows, "total": total, "page": page, "pages": pages}


@bp.route("/evaluasi")
@require("balai.send_evaluations")
def evaluations() -> str:
    """The region's evaluations with their status, fetched again from the upstream."""
    problem = _sync_now()
    return render_template(
        "balai/admin/evaluations.html",
        link=services.link_of(db.session),
        problem=problem,
        not_configured=isinstance(problem, services.NotConfigured),
        severity_labels=SEVERITY_LABELS,
        status_labels=STATUS_LABELS,
        plugin_titles=plugin_titles(),
        **_page_of_evaluations(),
    )


# -- a new evaluation ----------------------------------------------------------------


def _plugin_choices() -> list[tuple[str, str, str, str]]:
    """(name, title, installed version, distribution) of each plugin the region runs."""
    installed = plugin_manager().installed
    found = [(n, installed[n]) for n in sorted(g.tenant.plugins) if n in installed]
    return [
        (n, str(info.title), info.version, distribution_name(info))
        for n, info in found
        if not info.builtin
    ]


def plugin_titles() -> dict[str, str]:
    """The title of each installed plugin by the name the registry knows it by (its
    distribution), so pages show *Pengumuman*, not ``balai-pengumuman``."""
    installed = plugin_manager().installed.values()
    return {distribution_name(i): str(i.title) for i in installed if not i.builtin}


def _read_patch(upload: FileStorage | None) -> tuple[str | None, list[str]]:
    """The patch file as text, or why it is refused."""
    if upload is None or not upload.filename:
        return None, []
    try:
        content = upload.stream.read(services.PATCH_MAX_BYTES + 1)
    finally:  # a large upload is spooled to a temporary file: close it now
        upload.close()
    if len(content) > services.PATCH_MAX_BYTES:
        return None, [_("A patch may be at most 1 MB.")]
    try:
        return content.decode("utf-8"), []
    except UnicodeDecodeError:
        return None, [_("A patch is a text file (UTF-8), such as the output of git diff.")]


def _read_derived(upload: FileStorage | None) -> tuple[tuple[str, bytes] | None, list[str]]:
    """The derived plugin's (file name, content), or why it is refused (lightly: its
    name, kind and size; the upstream checks the rest)."""
    if upload is None or not upload.filename:
        return None, []
    try:
        content = upload.stream.read(services.DERIVED_MAX_BYTES + 1)
    finally:  # a large upload is spooled to a temporary file: close it now
        upload.close()
    problems = services.check_derived(upload.filename, content)
    if problems:
        return None, [str(p) for p in problems]
    return (upload.filename, content), []


def _check_evaluation() -> tuple[dict[str, Any] | None, tuple[str, str], Errors]:
    """The checked form (with ``derived``: a file name and content, or ``None``), and
    the plugin's (distribution, version); or the errors."""
    data, errors = validate_form(EvaluationForm(), request.form)
    runs = {name: (dist, version) for name, _title, version, dist in _plugin_choices()}
    plugin = request.form.get("plugin", "")
    if plugin and plugin not in runs:
        errors["plugin"] = [_("Choose one of the region's enabled plugins.")]
    patch, patch_errors = _read_patch(request.files.get("patch"))
    if patch_errors:
        errors["patch"] = patch_errors
    derived, derived_errors = _read_derived(request.files.get("derived"))
    if derived_errors:
        errors["derived"] = derived_errors
    if errors or data is None:
        return None, ("", ""), errors
    return {**data, "patch": patch, "derived": derived}, runs[data["plugin"]], {}


@bp.route("/evaluasi/baru", methods=["GET", "POST"])
@require("balai.send_evaluations")
def new_evaluation() -> Any:
    """Send an evaluation of one of the region's plugins upstream."""
    errors: Errors = {}
    if request.method == "POST":
        data, (distribution, version), errors = _check_evaluation()
        if data is not None:
            sent, errors = _send(data, distribution, version)
            if sent is not None:
                flash(_("The evaluation has been sent upstream."), "ok")
                return redirect(url_for("balai_admin.evaluation", upstream_evaluation_id=sent.id))
    body = render_template(
        "balai/admin/evaluation_new.html",
        plugins=[(name, f"{title} {version}") for name, title, version, _d in _plugin_choices()],
        severities=[(s, SEVERITY_LABELS[s]) for s in SEVERITIES],
        derived_max_mb=services.DERIVED_MAX_BYTES // 2**20,
        errors=errors,
        values=request.form,
    )
    return body, 400 if errors else 200


def _upstream_errors(exc: UpstreamError) -> Errors:
    errors: Errors = {"_form": [str(exc)]}
    if isinstance(exc, UpstreamInvalid):
        for key, messages in exc.fields.items():
            listed = messages if isinstance(messages, list) else [messages]
            errors[str(key)] = [str(m) for m in listed]
    return errors


def _send(
    data: dict[str, Any], distribution: str, version: str
) -> tuple[UpstreamEvaluation | None, Errors]:
    payload = services.evaluation_payload(data, distribution, version)
    derived = data.get("derived")
    try:
        with services.client_for(db.session, g.tenant.id, _app()) as client:
            if derived is None:
                answer = client.send_evaluation(payload)
            else:
                answer = client.send_evaluation_with_derived(payload, *derived)
            stored = services.store_evaluation(
                db.session, client.base_url, {**payload, "replies": [], **answer}
            )
    except UpstreamError as exc:
        errors = _upstream_errors(exc)
        if derived is not None and isinstance(exc, UpstreamRefused) and exc.status == 403:
            errors["derived"] = [
                _(
                    "A derived plugin is sent only with a registry token that allows both "
                    "feedback and upload: ask the registry's maintainer for one."
                )
            ]
        elif derived is not None and isinstance(exc, UpstreamNotFound):
            errors["derived"] = [
                _(
                    "The upstream registry does not take derived plugins yet: send the "
                    "evaluation without the file, or with a patch."
                )
            ]
        return None, errors
    if stored is None:
        return None, {"_form": [_("The upstream registry did not confirm the evaluation.")]}
    db.session.commit()
    audit(
        "evaluation.sent",
        plugin=distribution,
        version=version,
        remote_id=stored.remote_id,
        derived=derived[0] if derived is not None else "-",
    )
    return stored, {}


# -- a thread ------------------------------------------------------------------------


def _own(upstream_evaluation_id: int) -> UpstreamEvaluation:
    row = db.session.scalar(
        select(UpstreamEvaluation).where(
            UpstreamEvaluation.id == upstream_evaluation_id,
            UpstreamEvaluation.tenant_id == g.tenant.id,
        )
    )
    if row is None:
        abort(404)
    return row


def _elsewhere(row: UpstreamEvaluation, client: RegistryClient) -> None:
    """Refuse to talk about ``row`` with an upstream other than the one it was sent to
    (the region changed its upstream since): ids are only unique per upstream."""
    if client.base_url != row.upstream:
        raise UpstreamError(
            _l(
                "This evaluation was sent to another upstream registry (%(url)s).",
                url=row.upstream,
            )
        )


def _refresh(row: UpstreamEvaluation) -> UpstreamError | None:
    """Fetch this evaluation again; the error, if that failed (the copy is kept)."""
    try:
        with services.client_for(db.session, g.tenant.id, _app()) as client:
            _elsewhere(row, client)
            services.store_evaluation(db.session, row.upstream, client.evaluation(row.remote_id))
    except UpstreamError as exc:
        db.session.rollback()
        return exc
    db.session.commit()
    return None


def _thread(row: UpstreamEvaluation, problem: UpstreamError | None, errors: Errors) -> str:
    replies = [{**r, "at": services.parse_time(r.get("created_at"))} for r in row.replies or []]
    return render_template(
        "balai/admin/evaluation.html",
        evaluation=row,
        replies=replies,
        problem=problem,
        severity_labels=SEVERITY_LABELS,
        status_labels=STATUS_LABELS,
        derived_labels=DERIVED_LABELS,
        plugin_titles=plugin_titles(),
        errors=errors,
        values=request.form,
    )


@bp.route("/evaluasi/<int:upstream_evaluation_id>")
@require("balai.send_evaluations")
def evaluation(upstream_evaluation_id: int) -> str:
    """One evaluation with its replies, and a form to reply."""
    row = _own(upstream_evaluation_id)
    problem = _refresh(row)
    return _thread(_own(upstream_evaluation_id), problem, {})


@bp.route("/evaluasi/<int:upstream_evaluation_id>/balas", methods=["POST"])
@require("balai.send_evaluations")
def reply(upstream_evaluation_id: int) -> Any:
    """Send the region's reply upstream, then show the thread again."""
    row = _own(upstream_evaluation_id)
    data, errors = validate_form(ReplyForm(), request.form)
    if data is not None:
        try:
            with services.client_for(db.session, g.tenant.id, _app()) as client:
                _elsewhere(row, client)
                client.reply(row.remote_id, data["body"])
        except UpstreamError as exc:
            errors = _upstream_errors(exc)
        else:
            audit("evaluation.replied", remote_id=row.remote_id)
            flash(_("Your reply has been sent upstream."), "ok")
            return redirect(url_for("balai_admin.evaluation", upstream_evaluation_id=row.id))
    return _thread(row, None, errors), 400
