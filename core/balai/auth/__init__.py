"""Users and authentication: login sessions, API tokens, password hashing.

Plugins use :data:`current_user`, :class:`User`, :class:`Department`,
:func:`create_user` (sample accounts for ``populate_demo``), :func:`end_session`
(log this browser out) and :func:`parse_login` (an e-mail address or a mobile number
as typed, to find an account); the rest may move.
"""

from flask_login import current_user

from balai.auth.accounts import AccountError, create_user, parse_login
from balai.auth.models import ApiToken, Department, LoginSession, User
from balai.auth.passwords import check_password, hash_password
from balai.auth.sessions import end_session, init_app

__all__ = [
    "AccountError",
    "ApiToken",
    "Department",
    "LoginSession",
    "User",
    "check_password",
    "create_user",
    "current_user",
    "end_session",
    "hash_password",
    "init_app",
    "parse_login",
]
