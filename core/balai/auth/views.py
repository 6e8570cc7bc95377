"""Login, logout, account, password change and API token pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import fields, validate
from sqlalchemy import select
from werkzeug.wrappers import Response

from balai.auth import throttle
from balai.auth.models import ApiToken, User, hash_token, new_token
from balai.auth.passwords import check_password, hash_password, needs_rehash, password_problem
from balai.auth.sessions import end_all_sessions, end_session, start_session
from balai.db import db, utcnow
from balai.forms import FormSchema, validate_form
from balai.permissions import public, require

bp = Blueprint("balai_auth", __name__)


class LoginForm(FormSchema):
    email = fields.String(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(max=1024))
    next = fields.String(load_default="")


class PasswordForm(FormSchema):
    current = fields.String(required=True)
    new = fields.String(required=True)
    confirm = fields.String(required=True)


class TokenForm(FormSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


def safe_next(target: str | None) -> str:
    """A local path to go back to after login; anything else goes home."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("balai_web.home")


@bp.route("/masuk", methods=["GET", "POST"])
@public
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        data, errors = validate_form(LoginForm(), request.form)
        if data is not None:
            outcome = _attempt_login(data["email"], data["password"])
            if outcome is None:
                return redirect(safe_next(data["next"]))
            errors, status = {"_form": [outcome[0]]}, outcome[1]
    return (
        render_template(
            "balai/auth/login.html",
            errors=errors,
            email=request.form.get("email", ""),
            next=request.values.get("next", ""),
        ),
        status,
    )


def _attempt_login(email: str, password: str) -> tuple[str, int] | None:
    """Log in, or return the message and status to show; same answer for any failure."""
    session = db.session
    account = throttle.account_key(g.tenant.id, email)
    address = throttle.address_key(request.remote_addr)
    wait = throttle.retry_after(session, account, address)
    if wait:
        minutes = max(1, round(wait / 60))
        return _("Too many attempts. Try again in %(n)d minutes.", n=minutes), 429
    user = _find_user(email)
    if not check_password(user.password_hash if user else None, password):
        throttle.record_failure(session, account, address)
        session.commit()
        return _("Wrong e-mail address or password."), 200
    assert user is not None
    throttle.clear(session, account)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    start_session(session, user)
    return None


def _find_user(email: str) -> User | None:
    """The active user with this e-mail in this tenant, else an operator with it."""
    users = db.session.scalars(
        select(User).where(User.email == email.strip().lower(), User.active.is_(True))
    ).all()
    users.sort(key=lambda u: u.tenant_id is None)  # the tenant's own account first
    return users[0] if users else None


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
    return render_template("balai/auth/account.html")


@bp.route("/akun/kata-sandi", methods=["GET", "POST"])
@require()
def change_password() -> Any:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data, errors = validate_form(PasswordForm(), request.form)
        if data is not None:
            errors = _password_errors(data)
        if not errors:
            assert data is not None
            user = db.session.get(User, current_user.id)
            assert user is not None
            user.password_hash = hash_password(data["new"])
            user.password_changed_at = utcnow()
            end_all_sessions(db.session, user)
            start_session(db.session, user)  # this browser stays logged in, others do not
            flash(_("Your password has been changed. Other devices have been logged out."), "ok")
            return redirect(url_for("balai_auth.account"))
    return render_template("balai/auth/password.html", errors=errors)


def _password_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    if not check_password(current_user.password_hash, data["current"]):
        return {"current": [_("The current password is wrong.")]}
    problem = password_problem(data["new"], email=current_user.email)
    if problem:
        return {"new": [problem]}
    if data["new"] != data["confirm"]:
        return {"confirm": [_("The two new passwords differ.")]}
    return {}


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
                    tenant_id=current_user.tenant_id,
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
    return render_template("balai/auth/tokens.html", tokens=rows, created=created, errors=errors)


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
