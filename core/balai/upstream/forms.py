"""The forms of the upstream pages: the link, an evaluation, a reply."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, post_load, validate, validates

from balai.admin.forms import REQUIRED, checkbox, text
from balai.fields import Text
from balai.forms import FormSchema
from balai.upstream.client import UpstreamError, check_public, check_url
from balai.upstream.models import SEVERITIES
from balai.upstream.services import allow_private

__all__ = [
    "DERIVED_LABELS",
    "SEVERITY_LABELS",
    "STATUS_LABELS",
    "TOKEN_PREFIX",
    "EvaluationForm",
    "LinkForm",
    "ReplyForm",
]

TOKEN_PREFIX = "balai-reg-"  # noqa: S105 - the look of a token, not one
SEVERITY_LABELS = {
    "low": _l("low"),
    "medium": _l("medium"),
    "high": _l("high"),
    "critical": _l("critical"),
}
STATUS_LABELS = {
    "open": _l("open"),
    "answered": _l("answered"),
    "planned": _l("planned"),
    "done": _l("done"),
    "declined": _l("declined"),
}
#: Where the submission a derived plugin became stands upstream (``checked`` says
#: whether its checks passed).
DERIVED_LABELS = {
    "pending": _l("waiting for its checks"),
    "passed": _l("checks passed, awaiting a decision"),
    "failed": _l("checks did not pass"),
    "published": _l("published"),
    "rejected": _l("rejected"),
}
BODY_MAX = 20_000


class LinkForm(FormSchema):
    """The region's upstream: its address (empty: the deployment's) and a new token
    (empty: keep the stored one)."""

    url = text(500, required=False)
    token = text(200, required=False)
    forget_token = checkbox()

    @validates("url")
    def _url(self, value: str | None, **kwargs: Any) -> None:
        if value is None:
            return
        try:
            check_url(value)
        except ValueError:
            raise ValidationError(
                _("Enter an http or https address such as https://balai.example.go.id.")
            ) from None
        if allow_private(current_app, check_url(value)):
            return
        try:
            check_public(value)
        except UpstreamError as exc:
            raise ValidationError(str(exc)) from None

    @validates("token")
    def _token(self, value: str | None, **kwargs: Any) -> None:
        if value is not None and (not value.startswith(TOKEN_PREFIX) or " " in value.strip()):
            raise ValidationError(
                _("A registry token starts with %(prefix)s.", prefix=TOKEN_PREFIX)
            )

    @post_load
    def _clean(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["url"] = check_url(data["url"]) if data.get("url") else None
        data["token"] = (data.get("token") or "").strip() or None
        return data


class EvaluationForm(FormSchema):
    """An evaluation of a plugin the region runs: how bad, a title, what is lacking.
    The plugin is checked against the region's enabled plugins by the page."""

    plugin = text(100)
    severity = Text(
        required=True,
        validate=validate.OneOf(SEVERITIES, error=_l("Choose one of the listed severities.")),
        error_messages=REQUIRED,
    )
    title = text(200)
    body = text(BODY_MAX)

    @post_load
    def _strip(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["title"] = data["title"].strip()
        data["body"] = data["body"].strip()
        return data


class ReplyForm(FormSchema):
    """The region's reply in an evaluation's thread."""

    body = text(BODY_MAX)

    @post_load
    def _strip(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["body"] = data["body"].strip()
        return data
