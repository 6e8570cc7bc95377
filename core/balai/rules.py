"""Refusals of a plugin's business rules, translated where they are shown.

A plugin's services (no Flask there) raise :class:`RuleError` with English message
ids marked with :func:`balai.i18n.N_`, keyed by the input field at fault (``""``
for the form as a whole), and the values of their placeholders. The page or API
endpoint that catches it calls :func:`rule_errors` for the messages in the request's
language, by field, as :func:`balai.forms.validate_form` gives a form's errors::

    try:
        services.submit(db.session, draft)
    except services.ComplaintError as exc:  # a RuleError
        return render_template("pengaduan/submit.html", errors=rule_errors(exc)), 422

A placeholder value that is itself a message (a status's name) is a :class:`Label`;
a :class:`~datetime.date` is written out in the request's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import format_date, gettext

__all__ = ["FORM", "Label", "RuleError", "rule_errors", "rule_message"]

#: The key of messages about the form as a whole (``form_errors`` in ``_macros.html``).
FORM = "_form"


@dataclass(frozen=True)
class Label:
    """A placeholder value that is a message id itself, translated where it is shown
    (in lower case with ``lower``, for a word inside a sentence)."""

    message: str
    lower: bool = False


class RuleError(ValueError):
    """A rule said no. ``errors`` maps a field name (``""``: the form as a whole) to
    message ids; ``params`` holds their placeholders' values; ``status`` is the HTTP
    status a view answers with (422, or 403, 404, 409 ...)."""

    def __init__(
        self,
        errors: Mapping[str, str | Sequence[str]] | str,
        *,
        params: Mapping[str, object] | None = None,
        status: int = 422,
    ) -> None:
        if isinstance(errors, str):
            errors = {"": errors}
        self.errors = {k: [v] if isinstance(v, str) else list(v) for k, v in errors.items()}
        self.params = dict(params or {})
        self.status = status
        super().__init__("; ".join(m for ms in self.errors.values() for m in ms))


def rule_errors(exc: RuleError, *, whole: str = FORM) -> dict[str, list[str]]:
    """The rule's messages in the request's language, by field; messages about the
    form as a whole are under ``whole`` (``"_form"``; an API may prefer ``"_schema"``)."""
    shown = {name: _shown(value) for name, value in exc.params.items()}
    return {
        name or whole: [gettext(message, **shown) for message in messages]
        for name, messages in exc.errors.items()
    }


def rule_message(exc: RuleError) -> str:
    """All of the rule's messages in one line, for a flash message or an error page."""
    return " ".join(m for messages in rule_errors(exc).values() for m in messages)


def _shown(value: object) -> object:
    if isinstance(value, Label):
        text = gettext(value.message)
        return text.lower() if value.lower else text
    if isinstance(value, date) and not isinstance(value, datetime):
        return format_date(value, "long")
    return value
