"""The database storage of :mod:`balai.ratelimit`: a ``limits`` storage on Balai's own
database (table ``balai_rate_limit``).

Imported with ``limits`` itself when an app counts its first hit, not at start-up:
``limits`` imports its asyncio storages with it, which a worker that never counts a
hit would pay for on every start.
"""

from __future__ import annotations

import math
import time
from typing import Any

from limits.storage import Storage
from sqlalchemy import Engine, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from balai.ratelimit import RateCounter

__all__ = ["DatabaseStorage"]


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
