"""Public pages that do not depend on the visitor: validators, 304s and a shared cache.

A view opts in with :func:`cached_page`, below its access decorator::

    from balai.pagecache import cached_page

    @bp.get("/")
    @public
    @cached_page
    def index() -> str: ...

Only an anonymous read is concerned: ``GET``/``HEAD``, no ``Authorization`` header, no
cookie but the language one (and the device cookie, read only at login). Its page,
when nothing in it was the visitor's own (a 200 with a body, nothing put in the
session such as a CSRF token or a flashed message, no cookie set, no ``private``/``no-
store`` from the view), carries a strong ``ETag`` (a hash of the body), ``Last-
Modified`` once the second it was made in has passed, ``Cache-Control: no-cache`` and
``Vary: Cookie``, and a conditional request that still matches is answered 304. Anyone
else gets the view's answer untouched.

With the cache on (``PAGE_CACHE``; by default when ``REDIS_URL`` is set) each
worker keeps such pages in memory (``PAGE_CACHE_MAX_BYTES``, least recently used out
first) under a key of the region (its id, and the registry's state version, so that
a new appearance, plugin switch or grant is a new key), the ``Host``, scheme and
script root (the prefix every link is built with), the language, the endpoint, the
path and query string as sent, and the region's content versions.

Content versions: every commit of a session of :mod:`balai.db` that changed a region's
rows (any statement but a read that ran in the session's transaction: the unit of work,
ORM and Core statements, ``text()``, the driver's own SQL) gives that region a new
version in this worker at once and, with ``REDIS_URL``, in Redis right after the commit,
before the request that made it is answered; every worker reads those versions (one
``MGET``) before it answers from memory (with ``PAGE_CACHE_CHECK`` seconds, at most that
often). A kept page is used at most ``PAGE_CACHE_TTL`` seconds, which bounds what no
commit announces (a scheduled announcement whose time has come; a change made by another
process when there is no Redis). Code that changes what pages show without a session
calls :func:`changed`."""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_app_context, make_response, request, session
from flask_babel import get_locale
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.http import http_date
from werkzeug.wrappers import Response

from balai.db import TenantSession, db

__all__ = ["cached_page", "changed"]

F = TypeVar("F", bound=Callable[..., Any])

EXTENSION = "balai.pagecache"
LANG_COOKIE = "balai_lang"  # balai.web.LANG_COOKIE; the one cookie a cached page may vary by
# Cookies an anonymous read may carry: the language, and the device cookie a browser
# keeps after logging out (balai.auth.device.COOKIE, read only when logging in).
_HARMLESS_COOKIES = frozenset({LANG_COOKIE, "balai_device"})
ALL = "*"  # a change no single region owns: every region's pages
_MARKS = "balai_pagecache_marks"
MAX_QUERY = 512  # bytes of query string a kept page's address may have
_OWN = frozenset({"content-length", "etag", "last-modified", "cache-control", "date"})

# Each change takes a new number from one counter, so two changes never leave the
# same version behind.
_counter = itertools.count(1)


def changed(tenant_id: int | None = None) -> None:
    """Announce that ``tenant_id``'s pages (``None``: every region's) changed: for
    changes made outside a database session. Commits of a session announce theirs."""
    _bump({ALL if tenant_id is None else tenant_id})


def _bump(marks: set[int | str]) -> None:
    cache = current_app.extensions.get(EXTENSION) if has_app_context() else None
    if cache is not None:
        cache.bump(marks)


# -- which regions a commit changed ----------------------------------------------------


def _mark(session: Session, mark: int | str) -> None:
    session.info.setdefault(_MARKS, set()).add(mark)


@event.listens_for(TenantSession, "after_flush")
def _changed_rows(session: Session, flush_context: Any) -> None:
    for obj in itertools.chain(session.new, session.dirty, session.deleted):
        if not hasattr(obj, "tenant_id"):
            continue  # regions, domains, plugin states: the registry's version covers them
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        tenant_id = obj.tenant_id
        _mark(session, ALL if tenant_id is None else tenant_id)


@event.listens_for(TenantSession, "after_begin")
def _watch_connection(session: Session, transaction: Any, connection: Any) -> None:
    """Let the statements of the session's transaction find the session (see below)."""
    connection.__dict__[_SESSION] = session


def _statement_ran(
    connection: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
) -> None:
    """Engine event: a statement that may write, run in a session's transaction, marks
    the session's region: whether it came through the ORM, a Core statement on
    ``session.connection()``, ``text()`` or ``exec_driver_sql``."""
    session = connection.__dict__.get(_SESSION)
    if session is not None and _writes(statement, context):
        tenant_id = session.info.get("tenant_id")
        _mark(session, ALL if tenant_id is None else tenant_id)


def _writes(statement: str, context: Any) -> bool:
    """Whether ``statement`` may change rows: an INSERT, UPDATE or DELETE by SQLAlchemy's
    own account, or any SQL that, past its comments, is no plain read."""
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        return True
    text = statement
    while (comment := _COMMENT.match(text)) is not None:
        text = text[comment.end() :]
    return _READ.match(text) is None


_SESSION = "_balai_pagecache_session"  # attribute of the transaction's Connection
_COMMENT = re.compile(r"\s*(?:--[^\n]*(?:\n|$)|/\*.*?\*/)", re.DOTALL)
_READ = re.compile(r"\s*(?:select|savepoint|release|rollback|pragma|show|explain)\b", re.I)


# SQLAlchemy sends after_commit and after_rollback for a savepoint too: only the
# outermost transaction's end announces (a page read between a savepoint's release and
# the COMMIT would otherwise be kept under the new version with the old rows) or
# forgets (a savepoint rolled back keeps the marks of what the transaction did before
# it; announcing a change it undid costs a render, never a stale page).
@event.listens_for(TenantSession, "after_commit")
def _announce(session: Session) -> None:
    if session.in_nested_transaction():
        return
    marks = session.info.pop(_MARKS, None)
    if marks:
        _bump(marks)


@event.listens_for(TenantSession, "after_rollback")
def _forget(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_MARKS, None)


@event.listens_for(TenantSession, "after_transaction_create")
def _fresh_start(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # a rollback of the whole, savepoints open, left marks
        session.info.pop(_MARKS, None)


# -- the cache ------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    body: bytes
    headers: tuple[tuple[str, str], ...]  # the view's own, Content-Type among them
    etag: str
    modified: float  # wall clock, for Last-Modified
    expires: float  # wall clock (a test's travel in time moves it too)

    def fresh(self, now: float) -> bool:
        return self.modified <= now < self.expires


class PageCache:
    """One worker's pages, least recently used first out beyond ``max_bytes``."""

    def __init__(self, app: Flask) -> None:
        self.redis_url = app.config.get("REDIS_URL")
        setting = app.config.get("PAGE_CACHE")
        self.enabled = bool(self.redis_url) if setting is None else bool(setting)
        self.ttl = float(app.config.get("PAGE_CACHE_TTL", 10.0))
        self.max_bytes = int(app.config.get("PAGE_CACHE_MAX_BYTES", 32 * 1024 * 1024))
        self.prefix = str(app.config.get("PAGE_CACHE_KEY_PREFIX", "balai:pagecache:")) + "v:"
        self._redis: Any = None
        self._versions: dict[int | str, int] = {}  # this worker's, changed at once
        # Seconds the versions read from Redis are trusted (0: read for every request).
        self.check = float(app.config.get("PAGE_CACHE_CHECK", 0.0))
        self._shared: dict[int, tuple[float, tuple[Any, ...]]] = {}
        self._lock = threading.Lock()
        self._pages: OrderedDict[tuple[Any, ...], Page] = OrderedDict()
        self._sizes: dict[tuple[Any, ...], int] = {}
        self._size = 0
        self.hits = self.stores = 0

    @property
    def redis(self) -> Any:
        if self._redis is None:
            import redis  # only deployments with REDIS_URL pay for the import

            self._redis = redis.Redis.from_url(
                self.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
            )
        return self._redis

    def bump(self, marks: set[int | str]) -> None:
        """``marks`` (region ids, or ``ALL``) changed: new versions here and in Redis."""
        for mark in marks:
            self._versions[mark] = next(_counter)
        if not self.redis_url:
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            for mark in marks:
                pipe.incr(f"{self.prefix}{mark}")
            pipe.execute()
        except Exception:  # Redis down: the other workers see it within PAGE_CACHE_TTL
            current_app.logger.warning("page cache: Redis unreachable, change not shared")

    def versions(self, tenant_id: int) -> tuple[Any, ...] | None:
        """This worker's and Redis's versions of ``tenant_id``'s pages, or ``None`` when
        they cannot be known (no page is then served or kept).

        The counters in Redis start again at 1 when Redis loses its keys (a restart
        without persistence, eviction, a flush), so a version alone could match a page
        kept before: Redis's counters come with an epoch, a random key set once (``SET
        NX``) and read in the same ``MGET``, so pages kept before never match again."""
        local = (self._versions.get(ALL, 0), self._versions.get(tenant_id, 0))
        if not self.redis_url:
            return local
        now = time.time()
        seen = self._shared.get(tenant_id)
        if seen is not None and 0 <= now - seen[0] < self.check:
            return (*local, *seen[1])
        epoch = f"{self.prefix}epoch"
        try:
            shared = tuple(
                self.redis.mget(epoch, f"{self.prefix}{ALL}", f"{self.prefix}{tenant_id}")
            )
            if shared[0] is None:  # Redis is new, or lost its keys: a new epoch
                pipe = self.redis.pipeline(transaction=False)
                pipe.set(epoch, secrets.token_hex(8), nx=True)
                pipe.get(epoch)  # this worker's, or the one another set first
                shared = (pipe.execute()[1], *shared[1:])
        except Exception:
            return None  # cannot know whether another worker changed it: no cache
        if self.check > 0:
            self._shared[tenant_id] = (now, shared)
        return (*local, *shared)

    def get(self, key: tuple[Any, ...]) -> Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                return None
            if not page.fresh(time.time()):
                self._drop(key)
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return page

    def put(self, key: tuple[Any, ...], page: Page) -> None:
        size = _footprint(key, page)
        if size > self.max_bytes // 8:
            return
        with self._lock:
            if key in self._pages:
                self._drop(key)
            self._pages[key] = page
            self._sizes[key] = size
            self._size += size
            self.stores += 1
            while self._size > self.max_bytes:
                self._drop(next(iter(self._pages)))

    def _drop(self, key: tuple[Any, ...]) -> None:
        del self._pages[key]
        self._size -= self._sizes.pop(key)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._sizes.clear()
            self._size = 0


ENTRY_OVERHEAD = 1024  # bytes an entry costs besides its text: objects, hash table slots


def _footprint(key: tuple[Any, ...], page: Page) -> int:
    """What keeping ``page`` under ``key`` costs, counted against ``PAGE_CACHE_MAX_BYTES``:
    the body, the headers, the key's text and a fixed overhead, so that many small
    entries (one per query string) cannot hold more than the bound."""
    text = sum(len(k) + len(v) for k, v in page.headers)
    text += sum(len(part) for part in key if isinstance(part, (str, bytes)))
    return len(page.body) + text + ENTRY_OVERHEAD


def _anonymous() -> bool:
    """Whether the request is a plain anonymous read: ``GET``/``HEAD``, no credentials,
    no cookie but the language and device ones (a session may hold a login, a form's
    token or a message; an unknown cookie may change the page)."""
    if request.method not in ("GET", "HEAD") or "Authorization" in request.headers:
        return False
    return all(name in _HARMLESS_COOKIES for name in request.cookies)


def _key(cache: PageCache) -> tuple[Any, ...] | None:
    """The request's key in the cache, or ``None`` when it cannot be known."""
    tenant = g.get("tenant")
    if tenant is None or len(request.query_string) > MAX_QUERY:
        return None  # a long query string is no page a link leads to: rendered, not kept
    versions = cache.versions(tenant.id)
    if versions is None:
        return None
    state = getattr(current_app.extensions.get("balai.tenancy"), "_version", None)
    return (
        tenant.id,
        state,
        versions,
        request.scheme,
        request.host,
        request.root_path,  # SCRIPT_NAME: a proxy's (or a forged) prefix is in every link
        str(get_locale()),
        request.endpoint,
        request.path,
        request.query_string,
    )


def _own_to_the_visitor(response: Response) -> bool:
    """Whether rendering left anything of this visitor's in the page or its headers."""
    user = g.get("_login_user")
    return bool(
        session.modified
        or session
        or current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") in g
        or (user is not None and user.is_authenticated)
        or "Set-Cookie" in response.headers
        or response.cache_control.private
        or response.cache_control.no_store
    )


def _answer(page: Page, now: float) -> Response:
    """``page`` with its validators, or 304 when the request's copy is still current.

    ``Last-Modified`` is sent only once the second the page was kept in has passed:
    two different pages kept in the same second would otherwise share a date, and a
    client asking ``If-Modified-Since`` with the first one's would be told the second
    is not modified. ``If-None-Match`` wins over ``If-Modified-Since`` (RFC 9110).
    """
    modified = int(page.modified) if page.modified < int(now) else None
    matches = request.if_none_match
    if matches:
        unchanged = matches.contains_weak(page.etag)  # weak comparison, as for any GET
    else:
        since = request.if_modified_since
        unchanged = since is not None and modified is not None and modified <= since.timestamp()
    response = current_app.response_class(
        b"" if unchanged else page.body, status=304 if unchanged else 200, headers=page.headers
    )
    if unchanged:
        response.headers.pop("Content-Type", None)
    response.set_etag(page.etag)
    if modified is not None:
        response.headers["Last-Modified"] = http_date(modified)
    # No "public": a correct shared cache needs no more to keep it; every use is
    # revalidated, and the page varies by the language cookie (and login).
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Cookie")
    return response


def _render(
    cache: PageCache, view: Callable[..., Any], args: Any, kwargs: Any, ttl: float | None
) -> Any:
    response = make_response(view(*args, **kwargs))
    if response.status_code != 200 or response.direct_passthrough:
        return response
    if _own_to_the_visitor(response):
        return response
    body = response.get_data()
    now = time.time()
    page = Page(
        body=body,
        headers=tuple((k, v) for k, v in response.headers.items() if k.lower() not in _OWN),
        etag=hashlib.blake2b(body, digest_size=16).hexdigest(),
        modified=now,
        expires=now + min(cache.ttl, cache.ttl if ttl is None else ttl),
    )
    return page


def cached_page(view: F | None = None, *, ttl: float | None = None) -> Any:
    """Give ``view``'s page validators and 304s, and serve it to anonymous visitors
    from the shared page cache when it is on (see the module).

    Put it below the access decorators (``@public``, ``@require``), so that they run
    first on every request. ``ttl`` shortens ``PAGE_CACHE_TTL`` for this page.
    """

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            cache: PageCache | None = current_app.extensions.get(EXTENSION)
            if cache is None or not _anonymous():
                return view(*args, **kwargs)
            key = _key(cache) if cache.enabled else None
            if key is not None:
                page = cache.get(key)
                if page is not None:
                    return _answer(page, time.time())
            rendered = _render(cache, view, args, kwargs, ttl)
            if not isinstance(rendered, Page):
                return rendered
            if key is not None:
                cache.put(key, rendered)
            return _answer(rendered, time.time())

        wrapper.balai_cached_page = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = PageCache(app)
    event.listen(db.engine_for(app), "after_cursor_execute", _statement_ran)
