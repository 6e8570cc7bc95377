"""The partner regions' JSON API: evaluations, usage reports and endorsements.

Mounted at ``/api/v1/registry/``. Every endpoint takes a partner's registry token
(``Authorization: Bearer balai-reg-…``) rather than a user's: it is marked
:func:`~balai.permissions.own_credentials`, and :func:`partner` checks the token and
its scope before the body is read, so a stranger learns nothing from a 422.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, NoReturn, TypeVar

from flask import g, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from balai.api import ApiBlueprint, PageArgs, page_of, paginate
from balai.db import db, utcnow
from balai.fields import INT_MAX, AwareDateTime, Id, Text
from balai.permissions import own_credentials
from balai_registry import feedback, partners, usage
from balai_registry.models import Partner
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


class CreatedSchema(Schema):
    id = Id(required=True)
    status = Text(required=True)
    url = Text(required=True, metadata={"description": "Where the partner reads the thread"})


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
