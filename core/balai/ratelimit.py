"""Rate limits shared by every worker and host, on the ``limits`` library.

A plugin declares a :class:`Limit` (a name and a limit string such as
``"5 per 15 minutes"``), calls :func:`hit` with what identifies the caller (a client
address, an e-mail address, a phone number) and refuses with :class:`TooManyRequests`
when the outcome says so::

    from balai import ratelimit

    REPORTS = ratelimit.Limit("pengaduan.report-address", "10 per hour")

    outcome = ratelimit.hit(REPORTS, ratelimit.client_key(request.remote_addr))
    if not outcome:
        raise ratelimit.TooManyRequests(outcome)   # 429 page, JSON error or Open311 error

A limit a region admin sets (a plugin setting) is written in English or in Bahasa
Indonesia (``"10 per jam"``, ``"5 per 15 menit"``, ``"100/hari"``): :func:`parse_spec`
turns it into the one stored form (``"5 per 15 minutes"``), :func:`describe_spec`
shows a stored one in the reader's language, and
:class:`balai.settings.LimitSetting` is the settings field that does both.

A client address is always counted through :func:`client_key`: an IPv4 address
counts alone, an IPv6 address with its whole ``/64`` (the block one subscriber,
phone or host gets, with more addresses than anyone could ever try), so changing
the last 64 bits does not buy a fresh counter.

A hit is counted atomically *before* the work it guards (fixed windows: the window
starts with the first hit and the counter starts again when it ends), so parallel
requests can never get more than the limit through. Counters live in the database
(table ``balai_rate_limit``, one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per
hit, committed at once on its own connection) or in Redis through the library's own
storage: the one ``RATELIMIT_STORAGE_URL`` names, else the deployment's ``REDIS_URL``
(:func:`storage_url`). Keys hold no personal data (the
identity is a keyed hash) and belong to the current region unless a limit is declared
``cross_region``.

``limits`` itself (which imports its asyncio storages with it) is imported at an app's
first hit, with the database storage (:mod:`balai.ratelimit_db`), not when a worker
starts. While the counters' store cannot be reached, :func:`hit`, :func:`refund` and
:func:`clear` raise :class:`StorageUnreachable`, which the app answers with a 503.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, g
from flask_babel import gettext, ngettext
from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import TooManyRequests as _TooManyRequests

from balai.db import Base, make_engine

if TYPE_CHECKING:  # ``limits`` itself is imported at the first hit, not at start-up
    from limits import RateLimitItem
    from limits.storage import Storage
    from limits.strategies import FixedWindowRateLimiter
    from sqlalchemy import Engine

__all__ = [
    "Limit",
    "Outcome",
    "StorageUnreachable",
    "TooManyRequests",
    "clear",
    "client_key",
    "describe_spec",
    "hit",
    "hit_all",
    "parse_spec",
    "refund",
    "valid_spec",
]


class RateCounter(Base):
    """One rate-limit counter of the database storage: hits in a window that ends at
    ``expires_at`` (seconds since the epoch). ``key`` is hashed: no personal data."""

    __tablename__ = "balai_rate_limit"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


# -- client addresses -------------------------------------------------------------------

#: The prefix an IPv6 client is counted by: one subscriber's network (RFC 6177).
IPV6_PREFIX = 64


def client_key(address: str | None) -> str:
    """What a per-address limit counts a client address as: its network.

    An IPv4 address counts as itself (``/32``), an IPv6 address as its ``/64``, and an
    IPv4-mapped IPv6 address (``::ffff:192.0.2.7``) as the IPv4 address it holds::

        ratelimit.hit(PER_ADDRESS, ratelimit.client_key(request.remote_addr))

    A missing address is ``"-"``; text that is no address is kept as it is (lower
    case), so it counts on its own and never with a real address.
    """
    text = (address or "").strip()
    if not text:
        return "-"
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])  # a zone ("fe80::1%eth0") is no part
    except ValueError:
        return f"other:{text.lower()}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return f"ip4:{ip}"
    network = ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False)
    return f"ip6:{network}"


# -- limits and hits ---------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """A named limit: ``spec`` in the ``limits`` notation (``"5 per 15 minutes"``,
    ``"10/hour; 50/day"``: every part must allow a hit), or in Bahasa Indonesia
    (``"5 per 15 menit"``, see :func:`parse_spec`).

    Counters are per region; ``cross_region=True`` counts one counter for the whole
    deployment (the platform operator's account, which logs in on every region).
    """

    name: str
    spec: str
    cross_region: bool = False

    def items(self) -> list[RateLimitItem]:
        return _parse(self.spec)


# -- limit strings ------------------------------------------------------------------------

#: Every unit word a limit may be written with, English or Indonesian, and what it is
#: in ``limits``' own units (a week is counted as seven days).
UNITS: dict[str, tuple[str, int]] = {
    **dict.fromkeys(("second", "seconds", "sec", "detik"), ("second", 1)),
    **dict.fromkeys(("minute", "minutes", "min", "menit"), ("minute", 1)),
    **dict.fromkeys(("hour", "hours", "jam"), ("hour", 1)),
    **dict.fromkeys(("day", "days", "hari"), ("day", 1)),
    **dict.fromkeys(("week", "weeks", "minggu", "pekan"), ("day", 7)),
    **dict.fromkeys(("month", "months", "bulan"), ("month", 1)),
    **dict.fromkeys(("year", "years", "tahun"), ("year", 1)),
}
#: What a region admin may write for "no limit" (an empty setting).
NO_LIMIT = frozenset({"", "none", "no limit", "tanpa batas", "tidak ada"})
_PART = re.compile(
    r"(?P<amount>[0-9]{1,9})\s*(?:kali|times|x)?\s*(?:/|\bper\b|\bsetiap\b|\btiap\b)\s*"
    r"(?P<multiple>[0-9]{1,9})?\s*(?P<unit>[a-z]+)"
)
_SEPARATORS = re.compile(r"\s*(?:;|,|\||\bdan\b|\band\b)\s*")


def parse_spec(text: str) -> str:
    """``text`` in the one form Balai stores limits in; ``ValueError`` if it is none.

    English or Indonesian, with ``per`` or ``/``: ``"10 per jam"`` gives
    ``"10 per hour"``, ``"5 per 15 menit"`` ``"5 per 15 minutes"``, ``"100/hari"``
    ``"100 per day"``, ``"1 per minggu"`` ``"1 per 7 days"``. Several parts
    (``"10 per jam; 50 per hari"``, also with ``,`` or ``dan``) must each allow a hit.
    An empty text (or ``"tanpa batas"``) is ``""``: no limit. Amounts and windows
    start at 1.
    """
    cleaned = " ".join(str(text).lower().split())
    if cleaned in NO_LIMIT:
        return ""
    parts = []
    for part in _SEPARATORS.split(cleaned):
        found = _PART.fullmatch(part)
        if found is None or found["unit"] not in UNITS:
            raise ValueError(f"not a limit: {part!r}")
        amount = int(found["amount"])
        unit, days = UNITS[found["unit"]]
        multiple = int(found["multiple"] or 1) * days
        if amount < 1 or multiple < 1:
            raise ValueError(f"a limit counts from 1: {part!r}")
        window = unit if multiple == 1 else f"{multiple} {unit}s"
        parts.append(f"{amount} per {window}")
    return "; ".join(parts)


def describe_spec(spec: str) -> str:
    """A stored limit in the reader's language: ``"5 per 15 minutes"`` is
    ``"5 per 15 menit"`` in Bahasa Indonesia. What :func:`parse_spec` reads back."""
    try:
        items = _parse(spec) if spec.strip() else []
    except ValueError:
        return spec
    return "; ".join(_describe_item(item) for item in items)


def _describe_item(item: RateLimitItem) -> str:
    unit, num, amount = item.GRANULARITY.name, item.multiples, item.amount
    if unit == "day" and num % 7 == 0:
        unit, num = "week", num // 7
    if num == 1:
        single: dict[str, Callable[[], str]] = {
            "second": lambda: gettext("%(amount)d per second", amount=amount),
            "minute": lambda: gettext("%(amount)d per minute", amount=amount),
            "hour": lambda: gettext("%(amount)d per hour", amount=amount),
            "day": lambda: gettext("%(amount)d per day", amount=amount),
            "week": lambda: gettext("%(amount)d per week", amount=amount),
            "month": lambda: gettext("%(amount)d per month", amount=amount),
            "year": lambda: gettext("%(amount)d per year", amount=amount),
        }
        return single[unit]()
    several: dict[str, Callable[[], str]] = {
        "second": lambda: ngettext(
            "%(amount)d per %(num)d second", "%(amount)d per %(num)d seconds", num, amount=amount
        ),
        "minute": lambda: ngettext(
            "%(amount)d per %(num)d minute", "%(amount)d per %(num)d minutes", num, amount=amount
        ),
        "hour": lambda: ngettext(
            "%(amount)d per %(num)d hour", "%(amount)d per %(num)d hours", num, amount=amount
        ),
        "day": lambda: ngettext(
            "%(amount)d per %(num)d day", "%(amount)d per %(num)d days", num, amount=amount
        ),
        "week": lambda: ngettext(
            "%(amount)d per %(num)d week", "%(amount)d per %(num)d weeks", num, amount=amount
        ),
        "month": lambda: ngettext(
            "%(amount)d per %(num)d month", "%(amount)d per %(num)d months", num, amount=amount
        ),
        "year": lambda: ngettext(
            "%(amount)d per %(num)d year", "%(amount)d per %(num)d years", num, amount=amount
        ),
    }
    return several[unit]()


@lru_cache(maxsize=256)
def _parse(spec: str) -> list[RateLimitItem]:
    from limits import parse_many

    with suppress(ValueError):  # else whatever ``limits`` itself reads
        spec = parse_spec(spec) or spec
    return parse_many(spec)


def valid_spec(spec: str) -> bool:
    """Whether ``spec`` is a limit (English or Indonesian, see :func:`parse_spec`)."""
    try:
        return bool(_parse(spec))
    except ValueError:
        return False


@dataclass(frozen=True)
class Outcome:
    """What a hit found: ``allowed`` (also the truth value) and, when refused, the
    seconds until the window that refused it ends."""

    allowed: bool
    retry_after: int
    limit: Limit

    def __bool__(self) -> bool:
        return self.allowed

    def message(self) -> str:
        """The translated refusal: "Too many attempts. Try again in N minutes."."""
        return retry_message(self.retry_after)


#: The scheme of the database storage (:class:`balai.ratelimit_db.DatabaseStorage`).
DATABASE_SCHEME = "balai+db"


class _State:
    """The counters' storage and limiter of one app, built at its first use.

    ``limits`` (which imports its asyncio storages with it) and the database
    storage's own pool are not needed to start a worker, only to count a hit: they
    are made by the first request that counts one. Where the counters live is read
    from the configuration when the app is built.
    """

    def __init__(self, app: Flask) -> None:
        self.url = storage_url(app)
        if "://" not in self.url:
            raise ValueError(
                "RATELIMIT_STORAGE_URL (or REDIS_URL) must be a storage URL such as "
                f"'redis://host:6379/0' or '{DATABASE_SCHEME}://'"
            )
        self.key_prefix = str(app.config["RATELIMIT_KEY_PREFIX"])
        self.database_url = app.config["DATABASE_URL"]
        self.engine: Engine | None = None
        self._built: tuple[Storage, FixedWindowRateLimiter] | None = None
        self._lock = threading.Lock()

    @property
    def storage(self) -> Storage:
        return self._build()[0]

    @property
    def limiter(self) -> FixedWindowRateLimiter:
        return self._build()[1]

    def _build(self) -> tuple[Storage, FixedWindowRateLimiter]:
        built = self._built
        if built is None:
            with self._lock:
                built = self._built
                if built is None:
                    built = self._built = self._make()
        return built

    def _make(self) -> tuple[Storage, FixedWindowRateLimiter]:
        from limits.errors import ConfigurationError
        from limits.storage import storage_from_string
        from limits.strategies import FixedWindowRateLimiter

        from balai.ratelimit_db import DatabaseStorage  # registers the scheme

        try:
            if not self.url.startswith(DatabaseStorage.STORAGE_SCHEME[0] + ":"):
                options: dict[str, Any] = {"wrap_exceptions": True}
                if self.url.split(":", 1)[0].startswith(("redis", "valkey")):
                    options["key_prefix"] = self.key_prefix
                found: Storage = storage_from_string(self.url, **options)  # type: ignore[assignment]
            else:
                # Its own small pool: a request holding a connection of the main pool
                # must never wait for another one from the same pool to count a hit.
                self.engine = make_engine(self.database_url, pool_size=5)
                found = storage_from_string(
                    f"{DATABASE_SCHEME}://",
                    engine=self.engine,
                    wrap_exceptions=True,  # type: ignore[arg-type]
                )
        except ConfigurationError as exc:
            raise RuntimeError(f"RATELIMIT_STORAGE_URL (or REDIS_URL): {exc}") from exc
        return found, FixedWindowRateLimiter(found)

    @contextmanager
    def reaching_storage(self) -> Iterator[None]:
        """Turn the storage's failure (``limits.errors.StorageError``) into
        :class:`StorageUnreachable`, which the app answers with a 503."""
        try:
            yield
        except StorageUnreachable:
            raise
        except Exception as exc:
            from limits.errors import StorageError

            if isinstance(exc, StorageError):
                raise _unreachable_class()(exc.storage_error) from exc
            raise


class StorageUnreachable(Exception):
    """The counters' store cannot be reached (Redis, or the database of the database
    storage): :func:`hit`, :func:`refund` and :func:`clear` raise it, the app answers
    503 with ``Retry-After``. It is also a ``limits.errors.StorageError``."""

    storage_error: Exception


@cache
def _unreachable_class() -> type[StorageUnreachable]:
    """:class:`StorageUnreachable` that is also ``limits``' own ``StorageError``, so
    that code catching the library's error still catches it (made with ``limits``)."""
    from limits.errors import StorageError

    return type("StorageUnreachable", (StorageUnreachable, StorageError), {})


def storage_url(app: Flask) -> str:
    """Where ``app`` keeps its counters: ``RATELIMIT_STORAGE_URL`` when set, else the
    deployment's Redis (``REDIS_URL``) when it has one, else the database
    (``balai+db://``)."""
    return str(
        app.config.get("RATELIMIT_STORAGE_URL")
        or app.config.get("REDIS_URL")
        or f"{DATABASE_SCHEME}://"
    )


def storage(app: Flask | None = None) -> Storage:
    """The counters' storage of ``app`` (default: the current app)."""
    return _state(app).storage


def _state(app: Flask | None = None) -> _State:
    return (app or current_app).extensions["balai.ratelimit"]  # type: ignore[no-any-return]


_UNSET: Any = object()


def _identifiers(
    limit: Limit, identity: tuple[object, ...], tenant_id: int | None
) -> tuple[str, ...]:
    if limit.cross_region:
        scope = "all"
    else:
        if tenant_id is _UNSET:
            tenant = g.get("tenant")
            tenant_id = tenant.id if tenant is not None else None
        if tenant_id is None:
            raise RuntimeError(f"rate limit {limit.name!r} hit outside a region")
        scope = f"t{tenant_id}"
    secret = str(current_app.config["SECRET_KEY"]).encode()
    text = "\x1f".join(str(part).strip().lower() for part in identity)
    digest = hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()[:40]
    return ("balai", scope, limit.name, digest)


def hit(limit: Limit, *identity: object, tenant_id: int | None = _UNSET) -> Outcome:
    """Count one hit of ``limit`` for ``identity`` (in the current region unless the
    limit is cross-region, or ``tenant_id`` names one) and say whether it is allowed.

    A refused hit is counted too (it never lengthens the window). When ``limit`` has
    several parts and one refuses, the parts that allowed it are given back.
    """
    state = _state()
    ids = _identifiers(limit, identity, tenant_id)
    allowed: list[RateLimitItem] = []
    refused: list[RateLimitItem] = []
    with state.reaching_storage():
        for item in limit.items():
            (allowed if state.limiter.hit(item, *ids) else refused).append(item)
        if not refused:
            return Outcome(True, 0, limit)
        for item in allowed:
            _give_back(state, item, ids)
        now = time.time()
        wait = max(
            min(state.limiter.get_window_stats(item, *ids).reset_time - now, item.get_expiry())
            for item in refused
        )
    return Outcome(False, max(1, math.ceil(wait - 1e-6)), limit)


def hit_all(*hits: tuple[Limit, tuple[object, ...]]) -> Outcome:
    """Hit several limits as one: all allow it, or the ones that allowed it are given
    back and the first refusal (the longest wait) is returned.

    ``hits`` are ``(limit, identity)`` pairs, e.g. ``(PER_ACCOUNT, (email,))``.
    """
    outcomes = [(limit, identity, hit(limit, *identity)) for limit, identity in hits]
    refusals = [o for _l, _i, o in outcomes if not o]
    if not refusals:
        return outcomes[0][2] if outcomes else Outcome(True, 0, Limit("none", "1/second"))
    for limit, identity, outcome in outcomes:
        if outcome:
            refund(limit, *identity)
    return max(refusals, key=lambda o: o.retry_after)


def refund(limit: Limit, *identity: object, tenant_id: int | None = _UNSET) -> None:
    """Give one hit back (work that must not count, e.g. a login that succeeded)."""
    state = _state()
    ids = _identifiers(limit, identity, tenant_id)
    with state.reaching_storage():
        for item in limit.items():
            _give_back(state, item, ids)


def _give_back(state: _State, item: RateLimitItem, ids: tuple[str, ...]) -> None:
    key = item.key_for(*ids)
    if state.storage.get(key) > 0:  # never below zero, never a new window
        state.storage.incr(key, item.get_expiry(), -1)


def clear(limit: Limit, *identity: object, tenant_id: int | None = _UNSET) -> None:
    """Forget every hit of ``limit`` for ``identity``."""
    state = _state()
    ids = _identifiers(limit, identity, tenant_id)
    with state.reaching_storage():
        for item in limit.items():
            state.limiter.clear(item, *ids)


def retry_message(seconds: int) -> str:
    """ "Too many attempts. Try again in N minutes." (at least one minute)."""
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many attempts. Try again in %(num)d minute.",
        "Too many attempts. Try again in %(num)d minutes.",
        minutes,
    )


class TooManyRequests(_TooManyRequests):
    """The 429 of a refused hit, with ``Retry-After`` and the translated message.

    Raise it from any view: pages get the error page with the message, the JSON API
    its error shape (``code: too_many_requests``), and a blueprint with its own error
    handler (Open311) its own format, all with ``Retry-After``.
    """

    def __init__(self, outcome: Outcome, message: str | None = None) -> None:
        text = message or outcome.message()
        super().__init__(description=text, retry_after=outcome.retry_after)
        self.outcome = outcome
        self.data = {"message": text}


def _storage_error(exc: StorageUnreachable) -> Any:
    """The counters' store (Redis) cannot be reached: a 503 that does not blame the
    database, which may well be up."""
    from balai.web import unavailable

    current_app.logger.error("rate-limit storage unreachable: %s", exc)
    return unavailable(
        gettext("A part of the service cannot be reached right now. Please try again in a minute.")
    )


def dispose(app: Flask) -> None:
    """Close the pooled connections of the database storage (tests, forked workers);
    nothing when no hit has been counted yet."""
    engine = _state(app).engine
    if engine is not None:
        engine.dispose()


def init_app(app: Flask) -> None:
    app.extensions["balai.ratelimit"] = _State(app)
    app.register_error_handler(StorageUnreachable, _storage_error)


def __getattr__(name: str) -> Any:
    if name == "DatabaseStorage":  # made with ``limits``, at the first hit
        from balai.ratelimit_db import DatabaseStorage

        return DatabaseStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
