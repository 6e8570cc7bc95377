"""Users and authentication: login sessions, API tokens, password hashing.

Plugins use :data:`current_user`, :class:`User`, :class:`Department`,
:func:`create_user` (sample accounts for ``populate_demo``), :func:`end_session`
(log this browser out) and :func:`parse_login` (an e-mail address or a mobile number
as typed, to find an account); the rest may move.
"""

from flask_login import current_user

from balai.auth.accounts import AccountError, create_user, parse_login
from balai.auth.models import ApiToken as ApiToken
from balai.auth.models import Department, User
from balai.auth.models import LoginSession as LoginSession
from balai.auth.passwords import check_password as check_password
from balai.auth.passwords import hash_password as hash_password
from balai.auth.sessions import end_session
from balai.auth.sessions import init_app as init_app

# Only the names of __all__ are public (docs/plugin-authors.md#the-public-surface); those
# imported above as themselves (``x as x``) are re-exported for the core's own modules.
__all__ = [
    "AccountError",
    "Department",
    "User",
    "create_user",
    "current_user",
    "end_session",
    "parse_login",
]
