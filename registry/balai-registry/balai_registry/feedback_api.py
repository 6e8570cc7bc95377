"""The partner regions' JSON API: evaluations, usage reports and endorsements.

Mounted at ``/api/v1/registry/``. Every endpoint takes a partner's registry token
(``Authorization: Bearer balai-reg-…``) rather than a user's: it is marked
:func:`~balai.permissions.own_credentials`, and :func:`partner` checks the token and
its scope before the body is read, so a stranger learns nothing from a 422.

``POST /evaluations/derived`` sends an evaluation together with a *derived plugin*
(a wheel or an sdist, multipart): it needs a token with both ``feedback`` and
``upload``, since the file becomes an ordinary submission under every upload rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, NoReturn, TypeVar

from flask import g, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_smorest import abort
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from balai import storage
from balai.api import ApiBlueprint, PageArgs, page_of, paginate
from balai.db import db, utcnow
from balai.fields import INT_MAX, AwareDateTime, Id, Text
from balai.i18n import N_
from balai.permissions import own_credentials
from balai_registry import feedback, packages, partners, services, usage
from balai_registry.models import Partner, Submission
from balai_registry.names import MAX_NAME, MAX_VERSION

__all__ = ["blp"]

F = TypeVar("F", bound=Callable[..., Any])

blp = ApiBlueprint(
    "registry_feedback_api",
    __name__,
    description="Evaluations, usage reports and endorsements from partner regions "
    "(a registry token, not a user's)",
)


def partner(scope: str) -> Callable[[F], F]:
    """Let the view run only for a partner whose live token carries ``scope``."""

    def decorator(view: F) -> F:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            g.registry_partner = partners.authenticate(scope)
            partners.throttle(g.registry_partner, partners.API_LIMIT)
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorator


def _partner() -> Partner:
    found: Partner = g.registry_partner
    return found


def _refuse(exc: feedback.FeedbackError | usage.ReportError) -> NoReturn:
    errors = {name: [gettext(m) for m in messages] for name, messages in exc.errors.items()}
    abort(422, messages={"json": errors})
    raise AssertionError  # abort() raised


# -- schemas -----------------------------------------------------------------------


class EvaluationInSchema(Schema):
    plugin = Text(
        required=True,
        validate=validate.Length(max=MAX_NAME),
        metadata={"description": "Distribution name of the plugin"},
    )
    version = Text(
        required=True,
        validate=validate.Length(max=MAX_VERSION),
        metadata={"description": "The version evaluated (PEP 440)"},
    )
    severity = Text(
        required=True,
        validate=validate.OneOf(feedback.SEVERITIES, error=_l("Choose one of: {choices}.")),
    )
    title = Text(required=True, validate=validate.Length(max=200))
    body = Text(required=True)
    patch = Text(
        load_default=None,
        allow_none=True,
        metadata={"description": "A patch (unified diff), at most 1 MB"},
    )


class DerivedInSchema(EvaluationInSchema):
    """The multipart form of an evaluation with a derived plugin: the evaluation's
    fields, the file (``derived``) and its digest."""

    sha256_digest = Text(
        required=True,
        metadata={"description": "SHA-256 of the derived plugin's file, 64 hexadecimal digits"},
    )
    # Read from request.files by the view (a missing file is a 422 naming ``derived``);
    # declared here so that the form is documented as one multipart body.
    derived = Upload(
        metadata={
            "description": "The derived plugin (required): a wheel or a .tar.gz sdist of a "
            "balai- distribution, at most 50 MB; its name and version are read from the "
            "file name and checked against its metadata"
        },
    )


class DerivedSchema(Schema):
    """A derived plugin sent with an evaluation: the submission it became."""

    filename = Text(required=True)
    project = Text(required=True, metadata={"description": "Its distribution name"})
    version = Text(required=True)
    status = Text(required=True, metadata={"enum": ["pending", "checked", "published", "rejected"]})
    passed = fields.Boolean(
        required=True,
        allow_none=True,
        metadata={"description": "Whether every check passed; null while they have not run"},
    )
    url = fields.Function(
        lambda found: url_for("registry.submission", key=found.key, _external=True),
        required=True,
        metadata={"description": "Its report page (the checks, the decision)"},
    )


class CreatedSchema(Schema):
    id = Id(required=True)
    status = Text(required=True)
    url = Text(required=True, metadata={"description": "Where the partner reads the thread"})


class CreatedWithDerivedSchema(CreatedSchema):
    derived = fields.Nested(DerivedSchema, required=True)


class ReplySchema(Schema):
    author = Text(required=True)
    from_upstream = fields.Boolean(required=True)
    body = Text(required=True)
    created_at = AwareDateTime(required=True)


class EvaluationSchema(Schema):
    id = Id(required=True)
    plugin = Text(required=True)
    version = Text(required=True)
    severity = Text(required=True, metadata={"enum": list(feedback.SEVERITIES)})
    title = Text(required=True)
    body = Text(required=True)
    status = Text(required=True, metadata={"enum": list(feedback.STATUSES)})
    created_at = AwareDateTime(required=True)
    updated_at = AwareDateTime(required=True)
    replies = fields.List(fields.Nested(ReplySchema), required=True)
    derived = fields.Nested(
        DerivedSchema,
        allow_none=True,
        metadata={"description": "The derived plugin sent with it, if any"},
    )


class ReplyInSchema(Schema):
    body = Text(required=True)


class ReportedPluginSchema(Schema):
    name = Text(required=True, validate=validate.Length(max=MAX_NAME))
    version = Text(required=True, validate=validate.Length(max=MAX_VERSION))


class ReportInSchema(Schema):
    instance = Text(required=True, metadata={"description": "Stable random id of the installation"})
    region = Text(required=True, metadata={"description": "Name of the region it serves"})
    core_version = Text(required=True, validate=validate.Length(max=MAX_VERSION))
    plugins = fields.List(fields.Nested(ReportedPluginSchema), required=True)


class EndorsementInSchema(Schema):
    plugin = Text(required=True, validate=validate.Length(max=MAX_NAME))
    version = Text(required=True, validate=validate.Length(max=MAX_VERSION))
    note = Text(load_default="")


class EndorsementSchema(Schema):
    id = Id(required=True)
    plugin = Text(required=True)
    version = Text(required=True)
    endorser = Text(required=True)
    from_upstream = fields.Boolean(required=True)
    note = Text(required=True)
    created_at = AwareDateTime(required=True)


# -- evaluations -------------------------------------------------------------------


@blp.route("/evaluations", methods=["POST"])
@own_credentials
@partner("feedback")
@blp.arguments(EvaluationInSchema)
@blp.response(201, CreatedSchema)
def create_evaluation(data: dict[str, Any]) -> Mapping[str, Any]:
    """Send an evaluation of a plugin version (registry token with scope ``feedback``)."""
    try:
        created = feedback.submit_evaluation(
            db.session, _partner(), feedback.Draft(**data), utcnow()
        )
    except feedback.FeedbackError as exc:
        _refuse(exc)
    db.session.commit()
    url = url_for(".get_evaluation", evaluation_id=created.id, _external=True)
    return {"id": created.id, "status": created.status, "url": url}


def uploading(view: F) -> F:
    """Let a partner whose token also allows ``upload`` send a file as large as the
    upload API takes; checked before the body is read."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not _partner().allows("upload"):
            abort(
                403,
                message=gettext(
                    "The registry token does not allow upload: a derived plugin is sent "
                    "only with a token that allows both feedback and upload."
                ),
            )
        request.max_content_length = services.MAX_UPLOAD + packages.FORM_MARGIN
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]


@blp.route("/evaluations/derived", methods=["POST"])
@own_credentials
@partner("feedback")
@uploading
@blp.arguments(DerivedInSchema, location="form", content_type="multipart/form-data")
@blp.response(201, CreatedWithDerivedSchema)
def create_evaluation_with_derived(data: dict[str, Any]) -> Mapping[str, Any]:
    """Send an evaluation with a derived plugin (scopes ``feedback`` and ``upload``).

    The file becomes an ordinary submission: checked by the same job, shown on the
    same report page, published or rejected by a maintainer; every rule of the upload
    API holds, and a file under another name than the evaluated plugin's must be a new
    name. If the evaluation or the file is refused, nothing is kept (422 naming the
    fields; ``derived`` for the file).
    """
    sent = request.files.get("derived")
    content = sent.read(services.MAX_UPLOAD + 1) if sent else b""
    filename = (sent.filename or "") if sent else ""
    digest = data.pop("sha256_digest")
    data.pop("derived", None)
    errors: dict[str, list[str]] = {}
    evaluation: feedback.Evaluation | None = None
    submission: Submission | None = None
    try:
        evaluation = feedback.submit_evaluation(
            db.session, _partner(), feedback.Draft(**data), utcnow()
        )
    except feedback.FeedbackError as exc:
        errors.update({k: [gettext(m) for m in v] for k, v in exc.errors.items()})
    try:
        if sent is None:
            raise services.UploadError(N_("Attach the derived plugin's file."))
        upload = feedback.derived_upload(filename, content, digest)
        submission = feedback.attach_derived(db.session, _partner(), data["plugin"], upload)
    except services.UploadError as exc:
        errors["derived"] = [gettext(exc.message, **exc.params)]
    if errors or evaluation is None or submission is None:
        db.session.rollback()
        abort(422, messages={"json": errors})
    submission.evaluation_id = evaluation.id
    try:
        packages.keep(submission, content)
    except storage.NoRoom:
        abort(507, message=gettext("The registry's storage is full: nothing was saved. Try later."))
    url = url_for(".get_evaluation", evaluation_id=evaluation.id, _external=True)
    return {"id": evaluation.id, "status": evaluation.status, "url": url, "derived": submission}


@blp.route("/evaluations", methods=["GET"])
@own_credentials
@partner("feedback")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(EvaluationSchema))
def list_evaluations(query: dict[str, Any]) -> Mapping[str, Any]:
    """The partner's own evaluations with their replies, newest first."""
    stmt = feedback.partner_evaluations(_partner())
    return paginate(stmt, query["page"], query["per_page"])


# ``max=None``: an id beyond the column's range still reaches the view, which answers
# 404 once the token is checked (the core would refuse an unmatched API path's
# registry token as an invalid API token: 401).
@blp.route("/evaluations/<int(max=None):evaluation_id>", methods=["GET"])
@own_credentials
@partner("feedback")
@blp.response(200, EvaluationSchema)
def get_evaluation(evaluation_id: int) -> feedback.Evaluation:
    """One of the partner's own evaluations; another partner's answers 404."""
    return _own(evaluation_id)


@blp.route("/evaluations/<int(max=None):evaluation_id>/replies", methods=["POST"])
@own_credentials
@partner("feedback")
@blp.arguments(ReplyInSchema)
@blp.response(201, ReplySchema)
def reply_to_evaluation(data: dict[str, Any], evaluation_id: int) -> feedback.EvaluationReply:
    """Add the partner's reply to the thread of one of its evaluations."""
    evaluation = _own(evaluation_id)
    try:
        added = feedback.reply(db.session, evaluation, data["body"], utcnow(), partner=_partner())
    except feedback.FeedbackError as exc:
        _refuse(exc)
    db.session.commit()
    assert added is not None  # a partner's reply always carries a body
    return added


def _own(evaluation_id: int) -> feedback.Evaluation:
    if evaluation_id > INT_MAX:  # no row has such an id; the database would refuse it
        abort(404)
    evaluation = feedback.partner_evaluation(db.session, _partner(), evaluation_id)
    if evaluation is None:
        abort(404)
    return evaluation


# -- usage reports and endorsements ------------------------------------------------


@blp.route("/reports", methods=["POST"])
@own_credentials
@partner("report")
@blp.arguments(ReportInSchema)
@blp.response(204)
def create_report(data: dict[str, Any]) -> None:
    """Report which plugins an installation runs (scope ``report``); the latest wins."""
    report = usage.Report(
        instance=data["instance"],
        region=data["region"],
        core_version=data["core_version"],
        plugins=[(p["name"], p["version"]) for p in data["plugins"]],
    )
    try:
        usage.record_report(db.session, _partner(), report, utcnow())
    except usage.ReportError as exc:
        _refuse(exc)
    db.session.commit()


@blp.route("/endorsements", methods=["POST"])
@own_credentials
@partner("feedback")
@blp.arguments(EndorsementInSchema)
@blp.response(201, EndorsementSchema)
def create_endorsement(data: dict[str, Any]) -> feedback.Endorsement:
    """Stand behind a plugin version as a partner region (scope ``feedback``)."""
    try:
        endorsement = feedback.endorse(
            db.session, data["plugin"], data["version"], data["note"], utcnow(), partner=_partner()
        )
    except feedback.FeedbackError as exc:
        _refuse(exc)
    db.session.commit()
    return endorsement
