"""The admin blueprint with every admin page registered on it.

``create_app`` mounts :data:`bp` at ``/admin``. Each page lives in its own
module; importing them here registers their views on the shared blueprint.
"""

from __future__ import annotations

from flask import abort, redirect
from werkzeug.wrappers import Response

from balai.admin import appearance, bp, departments, holidays, plugins, roles, sms, users
from balai.jobs import views as jobs
from balai.permissions import require
from balai.upstream import views as upstream
from balai.web import menu

__all__ = [
    "appearance",
    "bp",
    "departments",
    "holidays",
    "jobs",
    "plugins",
    "roles",
    "sms",
    "upstream",
    "users",
]


@bp.route("/")
@require()
def index() -> Response:
    """Open the first admin page this user may see."""
    pages = menu("admin")
    if not pages:
        abort(403)
    return redirect(pages[0].url)
