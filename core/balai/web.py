"""The core's pages and HTTP behaviour: home, dashboard, map, search, language,
navigation, error pages and security headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import LazyString, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

from balai.api import field_errors
from balai.auth.sessions import AnonymousUser
from balai.auth.views import safe_next
from balai.db import db
from balai.expired import page_for_refused_form
from balai.i18n import N_
from balai.items import MapLayer, MenuItem, SearchResult, Widget
from balai.pagecache import cached_page
from balai.permissions import has_permission, permissions_of, public, require, role_label
from balai.plugins import collect, plugins
from balai.storage.base import StorageError

__all__ = ["error_title", "register_error_format"]

bp = Blueprint("balai_web", __name__)

LANG_COOKIE = "balai_lang"
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


def _user() -> Any:
    """The logged-in user of the request, or ``None``: the user object itself, not the
    ``current_user`` proxy (every attribute read through the proxy costs a lookup)."""
    user = g.get("_login_user")
    if user is None:  # not loaded yet: let Flask-Login load it
        user = current_user._get_current_object()
    return user if user.is_authenticated else None


def _may(permission: str) -> bool:
    """Whether the current user holds ``permission`` (templates' ``has_permission``)."""
    return has_permission(_user(), permission)


def _of_type(items: list[Any], kind: type, hook: str) -> list[Any]:
    """Keep what a hook should return; anything else is a plugin's mistake, logged."""
    wrong = [item for item in items if not isinstance(item, kind)]
    if wrong:
        current_app.logger.error("%s returned %d item(s) that are not %s", hook, len(wrong), kind)
    return [item for item in items if isinstance(item, kind)]


def _visible(items: list[Any]) -> list[Any]:
    held = permissions_of(_user())
    return [i for i in items if i.permission is None or i.permission in held]


def menu(section: str = "main") -> list[MenuItem]:
    """Navigation links of ``section`` the current user may follow, in order."""
    if "balai_menu" not in g:
        items = collect("menu_items", tenant=g.tenant, user=_user()) if g.get("tenant") else []
        g.balai_menu = sorted(
            _visible(_of_type(items, MenuItem, "menu_items")),
            key=lambda i: (i.order, i.label),
        )
    return [i for i in g.balai_menu if i.section == section]


def current_url() -> str | None:
    """The menu link of the section the reader is in: the longest link whose path is
    the page's own or a folder above it (``/pengaduan/`` for ``/pengaduan/lapor``),
    so the navigation can mark it with ``aria-current``. The home page matches only
    itself."""
    if not has_request_context() or not g.get("tenant"):
        return None
    if "balai_current" not in g:
        g.balai_current = _longest_link(request.path)
    return g.balai_current  # type: ignore[no-any-return]


def _longest_link(path: str) -> str | None:
    found = None
    for item in menu("main") + menu("admin") + menu("user"):
        link = urlsplit(item.url).path
        inside = link != "/" and path.startswith(link.rstrip("/") + "/")
        if (path == link or inside) and (found is None or len(link) > len(found)):
            found = link
    return found


def is_current(*urls: str) -> bool:
    """Whether one of ``urls`` is the reader's current section (see :func:`current_url`)."""
    here = current_url()
    return here is not None and any(urlsplit(url).path == here for url in urls)


@bp.route("/")
@public
@cached_page
def home() -> str:
    return render_template("balai/home.html", services=menu("main"))


@bp.route("/dasbor")
@require("balai.view_dashboard")
def dashboard() -> str:
    widgets = collect("dashboard_widgets", tenant=g.tenant, user=_user())
    widgets = sorted(
        _visible(_of_type(widgets, Widget, "dashboard_widgets")), key=lambda w: w.order
    )
    return render_template("balai/dashboard.html", widgets=_render_widgets(widgets))


def _render_widgets(widgets: list[Widget]) -> list[tuple[Widget, Markup]]:
    """Each widget's HTML; a widget whose template fails is logged and left out."""
    rendered = []
    for widget in widgets:
        try:
            html = render_template(widget.template, **widget.context)  # autoescaped
            rendered.append((widget, Markup(html)))  # noqa: S704  # nosec B704
        except Exception:
            current_app.logger.exception("dashboard widget %r failed", widget.title)
    return rendered


@bp.route("/peta")
@public
def map_view() -> str:
    layers = collect("map_layers", tenant=g.tenant, user=_user())
    layers = _visible(_of_type(layers, MapLayer, "map_layers"))
    return render_template("balai/map.html", layers=layers)


@bp.route("/cari")
@public
def search() -> str:
    query = request.args.get("q", "").strip()[:200]
    results: list[SearchResult] = []
    if query:
        found = collect("search", tenant=g.tenant, user=_user(), query=query)
        results = _of_type(found, SearchResult, "search")
    return render_template("balai/search.html", query=query, results=results)


@bp.route("/bahasa", methods=["GET", "POST"])
@public
def set_language() -> Response:
    """Remember the chosen language in a cookie (and, on a POST, in the account).

    The footer uses GET so that pages for visitors need no session cookie: a
    language cookie is a preference, not something worth forging a request for.
    """
    lang = request.values.get("lang", "")
    response = redirect(safe_next(request.values.get("next")))
    if lang in current_app.config["LANGUAGES"]:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure or bool(current_app.config["SESSION_COOKIE_SECURE"]),
        )
        if request.method == "POST" and current_user.is_authenticated:
            _save_locale(lang)
    return response


def _save_locale(lang: str) -> None:
    if current_user.locale != lang:
        current_user.locale = lang
        db.session.commit()


def select_locale() -> str:
    """The visitor's chosen language, the account's, or the default (Indonesian)."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI and jobs speak the default language
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    user = _user() if g.get("tenant") is not None else None
    if user is not None and user.locale in languages:
        return str(user.locale)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def language_name(code: str) -> str:
    """A language's name in that language (``id`` → Bahasa Indonesia)."""
    if code in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[code]
    try:
        return Locale.parse(code).get_display_name(code).capitalize()
    except (ValueError, UnknownLocaleError):
        return code


def source_title(source: str | None) -> str:
    """Who sent a message, for people: a plugin's title, or the core's part."""
    if not source:
        return ""
    if source == "balai.accounts":
        return _("Accounts")
    if source == "balai" or source.startswith("balai."):
        return _("Balai core")
    info = plugins().get(source)
    return info.title if info is not None else source


def template_context() -> dict[str, Any]:
    return {
        "tenant": g.get("tenant"),
        "menu": menu,
        "is_current": is_current,
        "locale": str(get_locale()),
        "languages": current_app.config["LANGUAGES"],
        "has_permission": _may,
        "role_label": role_label,
        "language_name": language_name,
        "source_title": source_title,
    }


# -- errors ------------------------------------------------------------------

ERROR_TITLES = {
    400: N_("The request is not valid"),
    401: N_("Please log in"),
    403: N_("You do not have access to this page"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("The request conflicts with the current state"),
    413: N_("The upload is too large"),
    422: N_("Some fields are not valid"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
    503: N_("The service is temporarily unavailable"),
}


def error_title(status: int) -> str:
    """The title of an error page for ``status``, in the reader's language."""
    return _(ERROR_TITLES.get(status, ERROR_TITLES[500]))


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/-/")) or request.accept_mimetypes.best in (
        "application/json",
    )


def error_response(
    status: int,
    description: str | None = None,
    fields: dict[str, list[str]] | None = None,
    *,
    code: str | None = None,
    message: str | None = None,
) -> tuple[Any, int]:
    """The error page, or for API requests ``{"error": {"code", "message", "fields"}}``."""
    unknown_host = status == 404 and description == "unknown-host"
    title = error_title(status)
    if unknown_host:
        title = _("This address does not belong to any region on this server")
    if _wants_json():
        code = "unknown_host" if unknown_host else code or _error_code(status)
        body = {"error": {"code": code, "message": message or title, "fields": fields or {}}}
        return jsonify(body), status
    minimal = status >= 500 or g.get("tenant") is None
    html = render_template(
        "balai/error.html",
        status=status,
        title=title,
        unknown_host=unknown_host,
        minimal=minimal,
        message=message,
    )
    return html, status


def _error_code(status: int, exc: HTTPException | None = None) -> str:
    """A stable machine-readable code: the status name, or ``csrf_failed``."""
    if isinstance(exc, CSRFError):
        return "csrf_failed"
    return HTTP_STATUS_CODES.get(status, "error").lower().replace(" ", "_").replace("-", "_")


ERROR_FORMATS = "balai.error_formats"


def register_error_format(
    app: Flask, prefix: str, render: Callable[[HTTPException], Response]
) -> None:
    """Render every HTTP error under the path ``prefix`` with ``render``.

    For an interface whose clients expect errors in a format of its own (Open311):
    a blueprint's error handler sees only the errors of its matched routes, while
    this also covers an unknown path or method and an unknown host under ``prefix``.
    """
    app.extensions.setdefault(ERROR_FORMATS, {})[prefix.rstrip("/")] = render


def _error_format() -> Callable[[HTTPException], Response] | None:
    for prefix, render in current_app.extensions.get(ERROR_FORMATS, {}).items():
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return render  # type: ignore[no-any-return]
    return None


def _http_error(exc: HTTPException) -> Any:
    render = _error_format()
    if render is not None:
        return render(exc)
    status = exc.code or 500
    data = getattr(exc, "data", None)
    message = abort_message(data.get("message") if isinstance(data, dict) else None)
    if isinstance(exc, CSRFError):
        page = page_for_refused_form()  # a page's form: shown again, filled in
        if page is not None:
            return page
        message = _("The CSRF token is missing or invalid. Reload the page and try again.")
    body, status = error_response(
        status,
        exc.description,
        field_errors(data),
        code=_error_code(status, exc),
        message=message,
    )
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    retry_after = getattr(exc, "retry_after", None)
    if retry_after and not any(k.lower() == "retry-after" for k, _v in headers):
        headers.append(("Retry-After", str(retry_after)))
    challenged = any(k.lower() == "www-authenticate" for k, _v in headers)
    if status == 401 and _wants_json() and not challenged:
        headers.append(("WWW-Authenticate", "Bearer"))
    return body, status, headers


def abort_message(message: object) -> str | None:
    """The ``message`` of ``abort(..., message=...)`` in the request's language.

    An ``N_`` message id is translated now, a lazy string (``lazy_gettext``) rendered
    now; a message already translated by the view stays as it is.
    """
    if isinstance(message, LazyString):
        return str(message)
    if isinstance(message, str) and message:
        return _(message)
    return None


def _database_error(exc: DBAPIError) -> Any:
    """503 when the database cannot be reached; any other database error is a bug (500)."""
    if not _is_unreachable(exc):
        raise exc
    current_app.logger.error("database unreachable: %s", exc.__class__.__name__)
    session = g.pop("_balai_session", None)
    if session is not None:
        session.close()
    g._login_user = AnonymousUser()  # the error page must not query the database again
    return error_response(503)[0], 503, {"Retry-After": "30"}


def _is_unreachable(exc: DBAPIError) -> bool:
    return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)


class Unavailable(ServiceUnavailable):
    """A 503 naming the part that cannot be reached, with ``Retry-After: 30``."""

    def __init__(self, message: str) -> None:
        super().__init__(description=message, retry_after=30)
        self.data = {"message": message}


def unavailable(message: str) -> Any:
    """The 503 of a part that cannot be reached, in the format of the request's path:
    the error page, the API's error shape, or a format registered for the prefix."""
    return _http_error(Unavailable(message))


def _storage_error(exc: StorageError) -> Any:
    """503 when the file store (the instance folder, S3) cannot be reached."""
    current_app.logger.error("file store unreachable: %s", exc)
    return unavailable(_("The file store cannot be reached. Please try again in a minute."))


# -- security headers --------------------------------------------------------

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


#: Headers every answer carries unless its view set them: (lower-case name, name, value).
_ALWAYS = tuple(
    (name.lower(), name, value)
    for name, value in (
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
    )
)
_HSTS = ("strict-transport-security", "Strict-Transport-Security", "max-age=31536000")
_PRIVATE = ("cache-control", "Cache-Control", "private, no-store")


def security_headers(response: Response) -> Response:
    """Add the security headers a view did not set itself, in a fixed order (what
    ``setdefault`` one by one would do, with the answer's headers read once)."""
    headers = response.headers
    present = {name.lower() for name, _value in headers.items()}
    wanted = list(_ALWAYS)
    if request.is_secure:
        wanted.append(_HSTS)
    user = g.get("_login_user")  # already loaded; never query here
    if user is not None and user.is_authenticated:
        wanted.append(_PRIVATE)
    for lower, name, value in wanted:
        if lower not in present:
            headers.add(name, value)
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Signed cookie sessions, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(template_context)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(StorageError, _storage_error)
    app.after_request(security_headers)
    app.session_interface = SessionInterface()
