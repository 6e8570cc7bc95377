"""Self-registration (``/daftar``), password reset (``/lupa-sandi``) and accepting an
invitation (``/undangan/<token>``): the public account pages.

**Registration.** A citizen gives a name and an e-mail address or Indonesian
mobile number. A ``warga`` account is created *pending* (with a random password
nobody knows) and a six-digit code is sent to the address
(:mod:`balai.auth.codes`); on ``/daftar/kode`` the person enters the code together
with the password they choose, which confirms the address, sets the password,
activates the account and logs them in. The password is asked for only with the
code: whoever activates the account has proved they receive messages at its
address, so a second registration of a pending address can never activate a
password its owner did not choose. An address that already has an account gets the
very same answer on the page; the owner is sent a notice instead of a code, so
nobody learns from the page which addresses have accounts. An address whose account
is still pending can be registered again (a new code is sent to the address, the
older one stops working): nobody can squat an address they cannot receive messages
at. A region switches registration off on its appearance
page (:func:`balai.auth.codes.registration_open`).

**Password reset.** Someone gives their e-mail address or number; if an active
account has it, a code is sent there. The answer is the same either way. The code
with a new password sets it and ends every session and API token of the account.

**Invitations** (:mod:`balai.auth.invitations`): the link's page asks for a password
and creates the account with the role the admin chose; the link works once.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from marshmallow import validate
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from balai import ratelimit
from balai.auth import device
from balai.auth.accounts import AccountError, create_user, find_account, parse_login, set_password
from balai.auth.codes import check_code, registration_open, send_allowed, send_code, send_message
from balai.auth.invitations import accept, open_invitation
from balai.auth.models import User
from balai.auth.passwords import hash_password, password_problem
from balai.auth.sessions import start_session
from balai.auth.views import bp
from balai.db import db, utcnow
from balai.fields import Text
from balai.forms import FormSchema, validate_form
from balai.permissions import public
from balai.tenancy import external_url

__all__ = ["code_page"]

Errors = dict[str, list[str]]
#: Where the code pages remember which address a code went to (no secret in it).
SESSION_KEY = "balai_account_code"
PAGES = {"register": "balai_auth.register_code", "reset": "balai_auth.reset_code"}


class RegisterForm(FormSchema):
    name = Text(required=True, validate=validate.Length(max=200))
    login = Text(required=True, validate=validate.Length(max=254))


class LoginOnlyForm(FormSchema):
    login = Text(required=True, validate=validate.Length(max=254))


class CodeForm(LoginOnlyForm):
    code = Text(required=True, validate=validate.Length(max=20))


class ConfirmForm(CodeForm):
    password = Text(required=True, validate=validate.Length(max=1024))
    confirm = Text(required=True, validate=validate.Length(max=1024))


class ResetForm(CodeForm):
    new = Text(required=True, validate=validate.Length(max=1024))
    confirm = Text(required=True, validate=validate.Length(max=1024))


class PasswordOnlyForm(FormSchema):
    password = Text(required=True, validate=validate.Length(max=1024))
    confirm = Text(required=True, validate=validate.Length(max=1024))


def _not_a_login() -> Errors:
    return {
        "login": [
            _("Enter an e-mail address or an Indonesian mobile number (e.g. 0812 3456 7890).")
        ]
    }


def _differ() -> Errors:
    return {"confirm": [_("The two passwords differ.")]}


def _wrong_code() -> Errors:
    return {"code": [_("The code is wrong or has expired. Check it, or ask for a new one.")]}


def code_page(purpose: str, login: str) -> Response:
    """Remember where the code went and go to the page where it is entered."""
    parsed = parse_login(login)
    shown = parsed[1] if parsed else login.strip()[:254]
    session[SESSION_KEY] = {"purpose": purpose, "login": shown}
    return redirect(url_for(PAGES[purpose]))


def _remembered(purpose: str) -> str:
    """The address the last code of ``purpose`` went to from this browser, if any."""
    kept = session.get(SESSION_KEY)
    if isinstance(kept, dict) and kept.get("purpose") == purpose:
        return str(kept.get("login", ""))
    return ""


def _throttled(outcome: ratelimit.Outcome) -> tuple[Errors, int, dict[str, str]]:
    return {"_form": [outcome.message()]}, 429, {"Retry-After": str(outcome.retry_after)}


def _region_account(user: User | None) -> bool:
    return user is not None and user.tenant_id == g.tenant.id


# -- registration ------------------------------------------------------------------


@bp.route("/daftar", methods=["GET", "POST"])
@public
def register() -> Any:
    """The registration form; when the region switched it off, a page that says so."""
    if not registration_open():
        return render_template("balai/auth/register.html", closed=True, errors={}), (
            403 if request.method == "POST" else 200
        )
    errors: Errors = {}
    status, headers = 200, {}
    if request.method == "POST":
        data, errors = validate_form(RegisterForm(), request.form)
        status = 400
        if data is not None:
            errors, status, headers = _register(data)
            if not errors:
                return code_page("register", data["login"])
    values = {k: v for k, v in request.form.items() if k in ("name", "login")}
    page = render_template("balai/auth/register.html", closed=False, errors=errors, values=values)
    return page, status, headers


def _register(data: dict[str, Any]) -> tuple[Errors, int, dict[str, str]]:
    """Create the pending account and send its code, or tell the owner of the address;
    the same answer either way."""
    parsed = parse_login(data["login"])
    if parsed is None:
        return _not_a_login(), 400, {}
    kind, address = parsed
    name = data["name"].strip()
    outcome = send_allowed(kind, address, request.remote_addr)
    if not outcome:
        return _throttled(outcome)
    try:
        _register_or_notify(kind, address, name)
        db.session.commit()
    except IntegrityError:  # the same address registered a moment ago: same answer
        db.session.rollback()
    except AccountError as exc:
        db.session.rollback()
        field = "login" if exc.field in ("email", "phone") else exc.field or "_form"
        return {field: [str(exc)]}, 400, {}
    return {}, 200, {}


def _register_or_notify(kind: str, address: str, name: str) -> None:
    user = find_account(db.session, g.tenant.id, address)
    if user is None:
        user = create_user(
            db.session,
            tenant_id=g.tenant.id,
            email=address if kind == "email" else None,
            phone=address if kind == "phone" else None,
            name=name,
            role="warga",
            # Nobody knows it: the password is chosen with the code (``_confirm``).
            password=secrets.token_urlsafe(32),
            pending=True,
        )
        send_code(db.session, user, "register", kind, address)
    elif user.pending and _region_account(user):
        # Not proved yet: whoever receives the code at this address chooses the
        # password. The name is the newest registration's; its owner can change it.
        user.name = name
        send_code(db.session, user, "register", kind, address)
    else:
        hash_password(secrets.token_urlsafe(32))  # the same work as a new account
        _notify_owner(kind, address)


def _notify_owner(kind: str, address: str) -> None:
    """Tell the owner of ``address`` that someone tried to register it again."""
    region = g.tenant.name
    subject = _("Someone tried to create an account at %(region)s", region=region)
    body = _(
        "Someone tried to create an account at %(region)s with this address, which already"
        " has one. If it was you, log in at %(login)s, or set a new password at %(reset)s."
        " Otherwise you can ignore this message.",
        region=region,
        login=external_url(g.tenant, "balai_auth.login"),
        reset=external_url(g.tenant, "balai_auth.forgot_password"),
    )
    send_message(db.session, kind, address, subject, body)


@bp.route("/daftar/kode", methods=["GET", "POST"])
@public
def register_code() -> Any:
    """Enter the code sent at registration and choose the password: confirms the
    address, activates the account and logs in."""
    if not registration_open():
        return render_template("balai/auth/register.html", closed=True, errors={}), 403
    errors: Errors = {}
    status = 200
    if request.method == "POST":
        data, errors = validate_form(ConfirmForm(), request.form)
        status = 400
        if data is not None:
            errors = _confirm(data)
            if not errors:
                flash(_("Welcome! Your account is ready and you are logged in."), "ok")
                return redirect(url_for("balai_auth.account"))
    login = request.form.get("login") or _remembered("register")
    page = render_template("balai/auth/code.html", errors=errors, login=login)
    return page, status


def _confirm(data: dict[str, Any]) -> Errors:
    parsed = parse_login(data["login"])
    if parsed is None:
        return _not_a_login()
    kind, address = parsed
    problem = password_problem(data["password"], email=address)
    if problem:
        return {"password": [problem]}
    if data["password"] != data["confirm"]:
        return _differ()
    user = find_account(db.session, g.tenant.id, address)
    if not (user is not None and user.pending and _region_account(user)):
        return _wrong_code()
    if not check_code(db.session, user, "register", data["code"]):
        db.session.commit()  # the wrong try stays counted
        return _wrong_code()
    try:
        set_password(db.session, user, data["password"])
    except AccountError as exc:
        db.session.rollback()
        return {"password": [str(exc)]}
    user.pending = False
    _mark_verified(user, kind)
    db.session.flush()  # the new password's credential version
    start_session(db.session, user, user.credential_version)  # commits
    device.remember(user, user.credential_version)
    return {}


def _mark_verified(user: User, kind: str) -> None:
    if kind == "email":
        user.email_verified_at = utcnow()
    else:
        user.phone_verified_at = utcnow()


@bp.route("/daftar/kirim-ulang", methods=["POST"])
@public
def register_resend() -> Any:
    """Send a new registration code (the older one stops working)."""
    if not registration_open():
        abort(403)
    data, errors = validate_form(LoginOnlyForm(), request.form)
    parsed = parse_login(data["login"]) if data is not None else None
    if parsed is None:
        errors = errors or _not_a_login()
        page = render_template("balai/auth/code.html", errors=errors, login="")
        return page, 400
    kind, address = parsed
    outcome = send_allowed(kind, address, request.remote_addr)
    if not outcome:
        errors, status, headers = _throttled(outcome)
        page = render_template("balai/auth/code.html", errors=errors, login=address)
        return page, status, headers
    user = find_account(db.session, g.tenant.id, address)
    if user is not None and user.pending and _region_account(user):
        send_code(db.session, user, "register", kind, address)
    elif user is not None:
        _notify_owner(kind, address)
    db.session.commit()
    flash(
        _("If an account is waiting for a code at this address, a new code is on its way."), "info"
    )
    return code_page("register", address)


# -- password reset ----------------------------------------------------------------


@bp.route("/lupa-sandi", methods=["GET", "POST"])
@public
def forgot_password() -> Any:
    """Ask for a code to set a new password; the answer never says whether an
    account exists."""
    errors: Errors = {}
    status, headers = 200, {}
    if request.method == "POST":
        data, errors = validate_form(LoginOnlyForm(), request.form)
        status = 400
        if data is not None:
            errors, status, headers = _send_reset(data["login"])
            if not errors:
                flash(
                    _(
                        "If an account has this address, a code to set a new password is on"
                        " its way."
                    ),
                    "info",
                )
                return code_page("reset", data["login"])
    login = request.form.get("login", "")
    page = render_template("balai/auth/forgot.html", errors=errors, login=login)
    return page, status, headers


def _send_reset(login: str) -> tuple[Errors, int, dict[str, str]]:
    parsed = parse_login(login)
    if parsed is None:
        return _not_a_login(), 400, {}
    kind, address = parsed
    outcome = send_allowed(kind, address, request.remote_addr)
    if not outcome:
        return _throttled(outcome)
    user = find_account(db.session, g.tenant.id, address)
    if _resettable(user):
        assert user is not None
        send_code(db.session, user, "reset", kind, address)
        db.session.commit()
    return {}, 200, {}


def _resettable(user: User | None) -> bool:
    """A region's active, confirmed account: operators reset theirs with ``balai``."""
    return _region_account(user) and user is not None and user.active and not user.pending


@bp.route("/lupa-sandi/kode", methods=["GET", "POST"])
@public
def reset_code() -> Any:
    """Enter the code and a new password; every session of the account ends."""
    errors: Errors = {}
    status = 200
    if request.method == "POST":
        data, errors = validate_form(ResetForm(), request.form)
        status = 400
        if data is not None:
            errors = _reset(data)
            if not errors:
                session.pop(SESSION_KEY, None)
                flash(
                    _(
                        "Your password has been changed and every device logged out. Log in"
                        " with the new password."
                    ),
                    "ok",
                )
                return redirect(url_for("balai_auth.login"))
    login = request.form.get("login") or _remembered("reset")
    page = render_template("balai/auth/reset.html", errors=errors, login=login)
    return page, status


def _reset(data: dict[str, Any]) -> Errors:
    parsed = parse_login(data["login"])
    if parsed is None:
        return _not_a_login()
    kind, address = parsed
    problem = password_problem(data["new"], email=address)
    if problem:
        return {"new": [problem]}
    if data["new"] != data["confirm"]:
        return _differ()
    user = find_account(db.session, g.tenant.id, address)
    if not _resettable(user):
        return _wrong_code()
    assert user is not None
    if not check_code(db.session, user, "reset", data["code"]):
        db.session.commit()  # the wrong try stays counted
        return _wrong_code()
    try:
        set_password(db.session, user, data["new"])
    except AccountError as exc:
        db.session.rollback()
        return {"new": [str(exc)]}
    _mark_verified(user, kind)
    db.session.commit()
    return {}


# -- invitations -------------------------------------------------------------------


@bp.route("/undangan/<token>", methods=["GET", "POST"])
@public
def invitation(token: str) -> Any:
    """Set a password and join with the invited role; a used, withdrawn or expired
    link says so (410)."""
    found = open_invitation(db.session, token)
    if found is None:
        return render_template("balai/auth/invitation.html", invitation=None, errors={}), 410
    errors: Errors = {}
    status = 200
    if request.method == "POST":
        data, errors = validate_form(PasswordOnlyForm(), request.form)
        status = 400
        if data is not None:
            errors = _accept(found, data)
            if not errors:
                flash(_("Welcome! Your account is ready and you are logged in."), "ok")
                return redirect(url_for("balai_auth.account"))
    page = render_template("balai/auth/invitation.html", invitation=found, errors=errors)
    # The token is in this page's address: never kept by a cache.
    return page, status, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _accept(found: Any, data: dict[str, Any]) -> Errors:
    problem = password_problem(data["password"], email=found.address)
    if problem:
        return {"password": [problem]}
    if data["password"] != data["confirm"]:
        return _differ()
    try:
        user = accept(db.session, found, data["password"])
        db.session.flush()
    except AccountError as exc:
        db.session.rollback()
        return {"_form": [str(exc)]}
    except IntegrityError:
        db.session.rollback()
        return {"_form": [_("An account with this address already exists.")]}
    start_session(db.session, user, user.credential_version)  # commits
    device.remember(user, user.credential_version)
    from balai.admin import audit

    audit("invitation.accepted", user=user.login, role=user.role)
    return {}
