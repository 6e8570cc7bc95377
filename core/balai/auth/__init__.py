"""Users and authentication: login sessions, API tokens, password hashing.

Plugins use :data:`current_user` and :class:`User`; the rest may move.
"""

from flask_login import current_user

from balai.auth.models import ApiToken, Department, LoginSession, User
from balai.auth.passwords import check_password, hash_password
from balai.auth.sessions import init_app

__all__ = [
    "ApiToken",
    "Department",
    "LoginSession",
    "User",
    "check_password",
    "current_user",
    "hash_password",
    "init_app",
]
