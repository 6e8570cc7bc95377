"""A form sent after its session expired: the same page again, filled in.

A form's CSRF token lives as long as the session. When the session has gone (it
expired, the browser dropped its cookie, the server's key changed) the token no
longer matches and the post is refused, and nothing is saved. Instead of a bare
error page, :func:`page_for_refused_form` renders the same page afresh (a GET of the
same address, with a new token), puts back into its form what was typed and says
what happened, so that sending it again works. Password fields and files are never
put back, and only posts that the browser says came from this site's own pages are
answered so (another site must not get its values shown in ours). When the page
cannot be shown again (it needs a login that has expired
too, or it has no such form) the typed text is listed on the error page instead.
"""

from __future__ import annotations

import io
from html import escape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import current_app, render_template, request, session
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

__all__ = ["page_for_refused_form"]

TOKEN_FIELD = "csrf_token"  # noqa: S105  # a field name, not a secret
# Never echoed, whatever the form calls them.
NOT_KEPT_TYPES = frozenset({"password", "file"})
SECRET_WORDS = ("password", "sandi", "secret", "token", "pin", "otp")
BUTTON_TYPES = frozenset({"submit", "button", "reset", "image"})


def page_for_refused_form() -> tuple[str, int] | None:
    """The page to answer a form post refused for its CSRF token, or ``None`` when
    the request is not a page's form post (an API call, a GET)."""
    if request.method != "POST" or request.path.startswith(("/api/", "/-/")):
        return None
    if not _from_this_site():
        return None  # another site's post: never echo what it sent into our page
    typed = MultiDict(
        (name, value) for name, value in request.form.items(multi=True) if name != TOKEN_FIELD
    )
    files = any(f.filename for f in request.files.values())
    html = _same_page_again()
    if html is not None:
        filled = fill_form(html, request.path, typed, _notice(files))
        if filled is not None:
            return filled, 400
    kept = [(n, v) for n, v in typed.items(multi=True) if v.strip() and not _secret(n)]
    page = render_template(
        "balai/error.html", status=400, title=_("Your session has expired"), expired=True,
        kept=kept, files=files, minimal=False, unknown_host=False, message=None,
    )  # fmt: skip
    return page, 400


def _from_this_site() -> bool:
    """Whether the browser says the post came from one of this site's pages.

    A page of another site could post a form here to have its values shown in ours,
    with a valid token, hoping someone presses "send": only our own pages get that.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("Origin") or request.headers.get("Referer") or ""
    return urlsplit(origin).netloc == request.host


def _notice(files: bool) -> str:
    text = _(
        "Your session expired before this form was sent, so nothing was saved. What you "
        "typed is kept below: check it and send it again."
    )
    if files:
        text += " " + _("Choose the files again: they are not kept.")
    return text


def _secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_WORDS)


def _same_page_again() -> str | None:
    """The HTML of a GET of this address, with the new token kept for the answer."""
    app: Any = current_app._get_current_object()  # type: ignore[attr-defined]
    environ = {
        key: value
        for key, value in request.environ.items()
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH", "werkzeug.request")
    }
    environ.update({"REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO(b"")})
    try:
        with app.request_context(environ):
            response = app.full_dispatch_request()
            key = session.get(TOKEN_FIELD)  # the one the new page's token was made from
    except Exception:  # the page cannot be shown again: the error page lists the text
        current_app.logger.exception("could not render %s again", request.path)
        return None
    if response.status_code != 200 or response.mimetype != "text/html" or not key:
        return None
    session[TOKEN_FIELD] = key  # this answer's cookie carries it
    return str(response.get_data(as_text=True))


def fill_form(html: str, path: str, typed: MultiDict[str, str], notice: str) -> str | None:
    """``html`` with its post forms to ``path`` holding ``typed`` and ``notice`` shown
    above them; ``None`` when the page has no such form."""
    filler = _FormFiller(path, typed, notice)
    filler.feed(html)
    filler.close()
    return "".join(filler.out) if filler.found else None


def _tag(tag: str, attrs: list[tuple[str, str | None]], closed: bool = False) -> str:
    parts = [tag] + [name if v is None else f'{name}="{escape(v)}"' for name, v in attrs]
    return "<" + " ".join(parts) + (" />" if closed else ">")


def _toggled(
    attrs: list[tuple[str, str | None]], name: str, on: bool
) -> list[tuple[str, str | None]]:
    return [(k, v) for k, v in attrs if k != name] + ([(name, None)] if on else [])


class _FormFiller(HTMLParser):
    """Copies a page, setting the fields of its matching forms to what was typed."""

    def __init__(self, path: str, typed: MultiDict[str, str], notice: str) -> None:
        super().__init__(convert_charrefs=False)
        self.path, self.typed, self.notice = path, typed, notice
        self.out: list[str] = []
        self.found = False
        self.in_form = False
        self.used: dict[str, int] = {}  # how many values of a repeated name are used
        self.select: str | None = None
        self.textarea = False

    def _target(self, attrs: dict[str, str | None]) -> bool:
        action = attrs.get("action") or self.path
        same = urlsplit(urljoin(self.path, action)).path == self.path
        return (attrs.get("method") or "get").lower() == "post" and same

    def _next_value(self, name: str) -> str | None:
        values = self.typed.getlist(name)
        index = self.used.get(name, 0)
        self.used[name] = index + 1
        return values[index] if index < len(values) else None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=True)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        given = dict(attrs)
        if tag == "form":
            self.in_form = self._target(given)
            self.out.append(self.get_starttag_text() or "")
            if self.in_form and not self.found:
                notice = escape(self.notice)
                self.out.append(f'<div class="alert" role="alert"><p>{notice}</p></div>')
            self.found = self.found or self.in_form
            return
        name = given.get("name")
        if not self.in_form or (name is None and tag != "option"):
            self.out.append(self.get_starttag_text() or "")
            return
        if tag == "input":
            attrs = self._input(given, attrs)
        elif tag == "textarea" and not _secret(str(name)):
            value = self._next_value(str(name))
            if value is not None:
                self.out.append(_tag(tag, attrs) + escape(value))
                self.textarea = True
                return
        elif tag == "select":
            self.select = str(name)
        elif tag == "option" and self.select is not None:
            attrs = self._option(given, attrs)
        self.out.append(_tag(tag, attrs, closed))

    def _input(
        self, given: dict[str, str | None], attrs: list[tuple[str, str | None]]
    ) -> list[tuple[str, str | None]]:
        kind = (given.get("type") or "text").lower()
        name = str(given["name"])
        if kind in NOT_KEPT_TYPES or kind in BUTTON_TYPES or name == TOKEN_FIELD or _secret(name):
            return attrs
        if kind in ("checkbox", "radio"):
            chosen = (given.get("value") or "on") in self.typed.getlist(name)
            return _toggled(attrs, "checked", chosen)
        value = self._next_value(name)
        if value is None:
            return attrs
        return [(k, v) for k, v in attrs if k != "value"] + [("value", value)]

    def _option(
        self, given: dict[str, str | None], attrs: list[tuple[str, str | None]]
    ) -> list[tuple[str, str | None]]:
        assert self.select is not None
        if self.select not in self.typed:
            return attrs
        chosen = (given.get("value") or "") in self.typed.getlist(self.select)
        return _toggled(attrs, "selected", chosen)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = False
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.textarea:
            self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        if not self.textarea:
            self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        if not self.textarea:
            self.out.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self.out.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.out.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.out.append(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.out.append(f"<![{data}]>")
