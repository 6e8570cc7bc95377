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
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import re
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import Flask, current_app, g
from flask_babel import gettext, ngettext
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Engine, Float, Integer, String, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import TooManyRequests as _TooManyRequests

from balai.db import Base, make_engine

__all__ = [
    "Limit",
    "Outcome",
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


class DatabaseStorage(Storage):
    """A ``limits`` storage on Balai's database: the default, shared by every worker.

    Registered as the scheme ``balai+db`` (``limits`` registers every ``Storage``
    subclass by its ``STORAGE_SCHEME``); built with the app's engine::

        storage_from_string("balai+db://", engine=engine)

    :meth:`incr` is one upsert that starts a new window when the old one has expired
    and returns the new count, committed on its own connection: call it before the
    request's first write (SQLite lets one writer in at a time). Expired rows are
    deleted at most once every :attr:`SWEEP_SECONDS` per worker.
    """

    STORAGE_SCHEME = ["balai+db"]
    SWEEP_SECONDS = 60.0

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        *,
        engine: Engine,
        **options: Any,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.engine = engine
        self._swept = -math.inf

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        table = RateCounter.__table__
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(table).values(key=key, count=amount, expires_at=now + expiry)
        expired = table.c.expires_at <= now
        upsert = insert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": case((expired, insert.excluded.count), else_=table.c.count + amount),
                "expires_at": case((expired, insert.excluded.expires_at), else_=table.c.expires_at),
            },
        ).returning(table.c.count)
        with self.engine.begin() as connection:
            count = int(connection.execute(upsert).scalar_one())
        if time.monotonic() - self._swept >= self.SWEEP_SECONDS:
            self.sweep()
        return count

    def get(self, key: str) -> int:
        table = RateCounter.__table__
        with self.engine.connect() as connection:
            count = connection.execute(
                select(table.c.count).where(table.c.key == key, table.c.expires_at > time.time())
            ).scalar()
        return int(count or 0)

    def get_expiry(self, key: str) -> float:
        table = RateCounter.__table__
        now = time.time()
        with self.engine.connect() as connection:
            expires = connection.execute(
                select(table.c.expires_at).where(table.c.key == key, table.c.expires_at > now)
            ).scalar()
        return float(expires) if expires is not None else now

    def check(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as connection:
            return int(connection.execute(delete(RateCounter.__table__)).rowcount)

    def clear(self, key: str) -> None:
        table = RateCounter.__table__
        with self.engine.begin() as connection:
            connection.execute(delete(table).where(table.c.key == key))

    def sweep(self) -> int:
        """Delete the counters whose window has ended; how many were deleted."""
        self._swept = time.monotonic()
        table = RateCounter.__table__
        with self.engine.begin() as connection:
            result = connection.execute(delete(table).where(table.c.expires_at <= time.time()))
        return int(result.rowcount)


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


class _State:
    def __init__(self, app: Flask) -> None:
        self.engine: Engine | None = None
        url = storage_url(app)
        if not url.startswith(DatabaseStorage.STORAGE_SCHEME[0] + ":"):
            options: dict[str, Any] = {"wrap_exceptions": True}
            if url.split(":", 1)[0].startswith(("redis", "valkey")):
                options["key_prefix"] = app.config["RATELIMIT_KEY_PREFIX"]
            self.storage: Storage = storage_from_string(url, **options)  # type: ignore[assignment]
        else:
            # Its own small pool: a request holding a connection of the main pool must
            # never wait for another one from the same pool to count a hit.
            self.engine = make_engine(app.config["DATABASE_URL"], pool_size=5)
            self.storage = storage_from_string(
                "balai+db://",
                engine=self.engine,
                wrap_exceptions=True,  # type: ignore[arg-type]
            )
        self.limiter = FixedWindowRateLimiter(self.storage)


def storage_url(app: Flask) -> str:
    """Where ``app`` keeps its counters: ``RATELIMIT_STORAGE_URL`` when set, else the
    deployment's Redis (``REDIS_URL``) when it has one, else the database
    (``balai+db://``)."""
    return str(
        app.config.get("RATELIMIT_STORAGE_URL") or app.config.get("REDIS_URL") or "balai+db://"
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


def _storage_error(exc: StorageError) -> Any:
    """The counters' store (Redis) cannot be reached: a 503 that does not blame the
    database, which may well be up."""
    from balai.web import unavailable

    current_app.logger.error("rate-limit storage unreachable: %s", exc)
    return unavailable(
        gettext("A part of the service cannot be reached right now. Please try again in a minute.")
    )


def dispose(app: Flask) -> None:
    """Close the pooled connections of the database storage (tests, forked workers)."""
    engine = _state(app).engine
    if engine is not None:
        engine.dispose()


def init_app(app: Flask) -> None:
    app.extensions["balai.ratelimit"] = _State(app)
    app.register_error_handler(StorageError, _storage_error)
