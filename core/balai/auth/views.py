"""Login, logout, account, password change and API token pages.

Registration, password reset and invitations are in :mod:`balai.auth.register`,
on the same blueprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import validate
from sqlalchemy import select, update
from werkzeug.wrappers import Response

from balai.auth import device, throttle
from balai.auth.accounts import find_account, set_password
from balai.auth.codes import registration_open
from balai.auth.models import ApiToken, User, hash_token, new_token
from balai.auth.passwords import check_password, hash_password, needs_rehash, password_problem
from balai.auth.sessions import end_session, start_session
from balai.db import db, utcnow
from balai.fields import Text
from balai.forms import FormSchema, validate_form
from balai.permissions import has_permission, public, require

bp = Blueprint("balai_auth", __name__)


class LoginForm(FormSchema):
    email = Text(required=True, validate=validate.Length(max=254))
    password = Text(required=True, validate=validate.Length(max=1024))
    next = Text(load_default="")


class PasswordForm(FormSchema):
    current = Text(required=True)
    new = Text(required=True)
    confirm = Text(required=True)


class TokenForm(FormSchema):
    name = Text(required=True, validate=validate.Length(min=1, max=100))


def safe_next(target: str | None) -> str:
    """A path on this site to go back to after login; anything else goes home.

    Browsers drop tabs and newlines inside a URL and read ``\\`` as ``/``, so
    ``/\\evil.example`` or ``/<tab>/evil.example`` would leave the site: refuse them.
    """
    if target and _is_local_path(target):
        return target
    return url_for("balai_web.home")


def _is_local_path(target: str) -> bool:
    """One leading slash, and no character a browser would drop or read as a slash."""
    return (
        target.startswith("/")
        and not target.startswith("//")
        and not any(ch < " " or ch in "\x7f\\" for ch in target)
    )


@dataclass(frozen=True)
class Refusal:
    """Why a login (or password check) was refused: the message, status and wait."""

    message: str
    status: int = 200
    retry_after: int = 0

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


@bp.route("/masuk", methods=["GET", "POST"])
@public
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(safe_next(request.values.get("next")))
    errors: dict[str, list[str]] = {}
    refusal = Refusal("")
    if request.method == "POST":
        data, errors = validate_form(LoginForm(), request.form)
        if data is not None:
            outcome = _attempt_login(data["email"], data["password"])
            if outcome is None:
                return redirect(safe_next(data["next"]) if data["next"] else _landing())
            if outcome.message == PENDING:
                return _confirm_registration(data["email"])
            refusal, errors = outcome, {"_form": [outcome.message]}
    page = render_template(
        "balai/auth/login.html",
        errors=errors,
        email=request.form.get("email", ""),
        next=request.values.get("next", ""),
        registration_open=registration_open(),
    )
    return page, refusal.status, refusal.headers()


def _landing() -> str:
    """Where a login with nowhere to go back to lands: officers at work, citizens at home."""
    if has_permission(current_user, "balai.view_dashboard"):
        return url_for("balai_web.dashboard")
    return url_for("balai_web.home")


def _attempt_login(login: str, password: str) -> Refusal | None:
    """Log in, or say why not: the same answer for an unknown account and a wrong password.

    ``login`` is an e-mail address or a mobile number. The attempt is counted before
    the password is checked (parallel guesses cannot check more than the limit): per
    device when this browser presents a device cookie for the account, else in the
    account's counter (:mod:`balai.auth.throttle`). A password is verified against a
    hash either way (a dummy one when there is no account), so the two also take the
    same time. Only after the right password does a disabled account hear that it is
    disabled, and a registration waiting for its code go on to the code page.
    """
    session = db.session
    user = find_account(session, g.tenant.id, login)
    attempt = throttle.reserve(
        session, login, request.remote_addr, user=user, device=device.trusted_nonce(user)
    )
    if not attempt.allowed:
        return _throttled(attempt)
    # The hash and the credential version come from one row read: the session gets
    # this version, so if the password changes while we verify, it is born dead.
    verified, version = (user.password_hash, user.credential_version) if user else (None, 0)
    if not check_password(verified, password):
        return Refusal(_("Wrong e-mail address, mobile number or password."))
    assert user is not None and verified is not None
    if not user.active:
        return Refusal(
            _(
                "Your account has been disabled. To use it again, contact the"
                " administrators of %(region)s.",
                region=g.tenant.name,
            ),
            403,
        )
    if user.pending:
        return Refusal(PENDING)
    attempt.succeeded()
    if needs_rehash(verified):
        _rehash(user, verified, password)
    start_session(session, user, version)
    device.remember(user, version)
    return None


#: The answer to the right password of a registration still waiting for its code.
PENDING = "pending"


def _confirm_registration(login: str) -> Response:
    """The right password of a registration still waiting for its code: on to the
    code page, where a new code can be asked for."""
    from balai.auth.register import code_page

    flash(_("Your account is not confirmed yet: enter the code we sent you."), "info")
    return code_page("register", login)


def _rehash(user: User, verified: str, password: str) -> None:
    """Store ``password`` hashed with today's settings, if the hash is still ``verified``.

    Same password, so sessions and tokens stay valid (a bulk UPDATE does not raise
    the credential version); and a password changed meanwhile is never overwritten.
    """
    db.session.execute(
        update(User)
        .where(User.id == user.id, User.password_hash == verified)
        .values(password_hash=hash_password(password))
        .execution_options(synchronize_session=False)
    )


def _throttled(attempt: throttle.Attempt) -> Refusal:
    """The 429 refusal of an attempt past the account's or the address's limit."""
    return Refusal(attempt.outcome.message(), 429, attempt.outcome.retry_after)


@bp.route("/keluar", methods=["POST"])
@public
def logout() -> Response:
    if current_user.is_authenticated:
        end_session(db.session)
        flash(_("You have logged out."), "info")
    return redirect(url_for("balai_web.home"))


@bp.route("/akun")
@require()
def account() -> str:
    from balai.web import menu

    shown_here = {url_for("balai_auth.account"), url_for("balai_auth.tokens")}
    lists = [item for item in menu("user") if item.url not in shown_here]
    return render_template("balai/auth/account.html", lists=lists)


@bp.route("/akun/kata-sandi", methods=["GET", "POST"])
@require()
def change_password() -> Any:
    errors: dict[str, list[str]] = {}
    refusal = Refusal("")
    if request.method == "POST":
        refusal, errors = _change_from_form()
        if not errors:
            flash(
                _(
                    "Your password has been changed. Other devices have been logged out"
                    " and your API tokens revoked."
                ),
                "ok",
            )
            return redirect(url_for("balai_auth.account"))
    page = render_template("balai/auth/password.html", errors=errors)
    return page, refusal.status, refusal.headers()


def _change_from_form() -> tuple[Refusal, dict[str, list[str]]]:
    """Change the password as the posted form asks: the refusal and errors, none when done.

    Guesses of the current password are counted like logins, before the check, with
    the same keys: a stolen session must not become a way to guess the password.
    """
    data, errors = validate_form(PasswordForm(), request.form)
    if data is None:
        return Refusal(""), errors
    # Always the account's shared counter: whoever holds the session holds the
    # browser, and its device cookie must not buy a stolen session more guesses.
    user = db.session.get(User, current_user.id)
    attempt = throttle.reserve(db.session, current_user.login, request.remote_addr, user=user)
    if not attempt.allowed:
        refusal = _throttled(attempt)
        return refusal, {"_form": [refusal.message]}
    if not check_password(current_user.password_hash, data["current"]):
        return Refusal(""), {"current": [_("The current password is wrong.")]}
    attempt.succeeded()
    errors = _new_password_errors(data)
    if not errors:
        _replace_password(data["new"])
    return Refusal(""), errors


def _new_password_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    problem = password_problem(data["new"], email=current_user.login)
    if problem:
        return {"new": [problem]}
    if data["new"] != data["confirm"]:
        return {"confirm": [_("The two new passwords differ.")]}
    return {}


def _replace_password(password: str) -> None:
    """Store the new password, end every session, and keep this browser logged in."""
    user = db.session.get(User, current_user.id)
    assert user is not None
    set_password(db.session, user, password)
    db.session.refresh(user, ["credential_version"])  # the new version, in this transaction
    start_session(db.session, user, user.credential_version)  # commits with the change
    device.remember(user, user.credential_version)


@bp.route("/akun/token", methods=["GET", "POST"])
@require()
def tokens() -> Any:
    errors: dict[str, list[str]] = {}
    created = None
    if request.method == "POST":
        data, errors = validate_form(TokenForm(), request.form)
        if data is not None:
            created = new_token("balai_")
            db.session.add(
                ApiToken(
                    user_id=current_user.id,
                    tenant_id=g.tenant.id,
                    # The version the session of this request was honoured under: a
                    # password changed meanwhile leaves the token born dead.
                    credential_version=g.login_session.credential_version,
                    name=data["name"],
                    token_hash=hash_token(created),
                    prefix=created[:12],
                )
            )
            db.session.commit()
    rows = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == current_user.id)
        .order_by(ApiToken.created_at.desc())
    ).all()
    live = {t.id for t in rows if t.is_live(current_user)}
    page = render_template(
        "balai/auth/tokens.html", tokens=rows, live=live, created=created, errors=errors
    )
    # The new token is in this page only: never kept by a cache, never stored anywhere.
    return page, 400 if errors else 200, {"Cache-Control": "no-store"}


@bp.route("/akun/token/<int:token_id>/cabut", methods=["POST"])
@require()
def revoke_token(token_id: int) -> Response:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
        flash(_("Token %(name)s has been revoked.", name=token.name), "ok")
    return redirect(url_for("balai_auth.tokens"))


from balai.auth import register  # noqa: E402,F401  # its pages, on this blueprint
