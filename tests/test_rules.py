"""A plugin's rule refusals (``balai.rules``) read in the request's language, by field."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from flask_babel import force_locale

from balai.i18n import N_
from balai.rules import FORM, Label, RuleError, rule_errors, rule_message

# Message ids of the core's catalogue, so the test needs no catalogue of its own.
IN_USE = N_("The domain %(host)s is already in use.")
TAKEN = N_("A user with this e-mail address already exists.")


class ComplaintError(RuleError):
    """A plugin's own refusal, as plugins declare theirs."""


def test_a_refusal_keeps_its_fields_message_ids_and_status() -> None:
    exc = ComplaintError({"host": IN_USE, "email": [TAKEN]}, params={"host": "a.go.id"}, status=409)
    assert exc.errors == {"host": [IN_USE], "email": [TAKEN]}
    assert exc.params == {"host": "a.go.id"}
    assert exc.status == 409
    assert str(exc) == f"{IN_USE}; {TAKEN}"
    assert RuleError(TAKEN).errors == {"": [TAKEN]}
    assert RuleError(TAKEN).status == 422


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("id", {"host": ["Domain a.go.id sudah dipakai."]}),
        ("en", {"host": ["The domain a.go.id is already in use."]}),
    ],
)
def test_messages_are_translated_with_their_values(
    app: Flask, language: str, expected: dict[str, list[str]]
) -> None:
    exc = ComplaintError({"host": IN_USE}, params={"host": "a.go.id"})
    with app.test_request_context("/"), force_locale(language):
        assert rule_errors(exc) == expected


def test_the_form_as_a_whole_is_under_form_or_the_key_asked_for(app: Flask) -> None:
    exc = ComplaintError(TAKEN)
    with app.test_request_context("/"), force_locale("id"):
        assert rule_errors(exc) == {FORM: ["Pengguna dengan alamat email ini sudah ada."]}
        assert list(rule_errors(exc, whole="_schema")) == ["_schema"]
        assert rule_message(exc) == "Pengguna dengan alamat email ini sudah ada."


def test_labels_are_translated_and_dates_written_in_the_language(app: Flask) -> None:
    exc = ComplaintError({"host": IN_USE}, params={"host": Label(N_("Citizen"), lower=True)})
    later = ComplaintError({"host": IN_USE}, params={"host": date(2026, 12, 7)})
    plain = ComplaintError({"host": IN_USE}, params={"host": Label(N_("Citizen"))})
    with app.test_request_context("/"), force_locale("id"):
        assert rule_message(exc) == "Domain warga sudah dipakai."
        assert rule_message(plain) == "Domain Warga sudah dipakai."
        assert rule_message(later) == "Domain 7 Desember 2026 sudah dipakai."
    with app.test_request_context("/"), force_locale("en"):
        assert rule_message(later) == "The domain December 7, 2026 is already in use."


def test_showing_a_refusal_leaves_it_unchanged(app: Flask) -> None:
    exc = ComplaintError({"host": IN_USE}, params={"host": Label(N_("Citizen"))})
    with app.test_request_context("/"), force_locale("id"):
        rule_errors(exc)
    assert exc.params == {"host": Label(N_("Citizen"))}
