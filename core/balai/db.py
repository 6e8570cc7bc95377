"""Engine, sessions, the declarative ``Base`` and the tenant filter.

Every model that holds a region's data mixes in :class:`TenantScoped`. A session
knows its tenant (``session.info["tenant_id"]``): reads are filtered to that
tenant, new rows are stamped with it, and a query of tenant-scoped rows from a
session without a tenant raises :class:`TenantContextError` unless the code says
it works across tenants (a session from :meth:`Database.all_tenants`). On
PostgreSQL the same tenant is also set per transaction for row-level security,
sent with the transaction's first statement.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import (
    DateTime,
    ForeignKey,
    MetaData,
    Table,
    create_engine,
    event,
    false,
    or_,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "TenantContextError",
    "TenantOptional",
    "TenantScoped",
    "UTCDateTime",
    "db",
    "utcnow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones; this keeps both databases returning the same values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use balai.db.utcnow() or an aware value")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every Balai table (core and plugins)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class TenantScoped:
    """Mixin for rows that belong to one region (tenant).

    Reads are filtered to the session's tenant and new rows get it automatically.
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(
            ForeignKey("balai_tenant.id", ondelete="CASCADE"), index=True, nullable=False
        )


class TenantOptional:
    """Mixin for rows that belong to one tenant or, with ``tenant_id`` NULL, to none.

    Used for platform operators (global users) and their sessions and tokens:
    a tenant sees its own rows and the global ones, never another tenant's.
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[int | None]:
        return mapped_column(
            ForeignKey("balai_tenant.id", ondelete="CASCADE"), index=True, nullable=True
        )


class TenantContextError(RuntimeError):
    """Tenant-scoped data was touched with no tenant, or with another tenant's rows."""


class TenantSession(Session):
    """A session bound to at most one tenant (see module docstring)."""


def _is_tenant_model(cls: type) -> bool:
    return issubclass(cls, (TenantScoped, TenantOptional))


@event.listens_for(TenantSession, "do_orm_execute")
def _filter_by_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # criteria already travel with the parent query
    if state.session.info.get("all_tenants"):
        return
    tenant_id = state.session.info.get("tenant_id")
    # Nested in subqueries the guard below cannot see them: like row security, a
    # session with no tenant then sees no tenant's rows (global ones only).
    criteria = _NO_TENANT_CRITERIA if tenant_id is None else _tenant_criteria(tenant_id)
    filtered, problem = _filtered(state, criteria)
    if problem:
        raise TenantContextError(
            f"{problem} is queried without its model, so no tenant filter can be "
            "added: build the statement on the model, e.g. select(func.count()).select_from(Model)"
        )
    if tenant_id is None:
        touched = [m.class_.__name__ for m in state.all_mappers if _is_tenant_model(m.class_)]
        if touched:
            raise TenantContextError(
                f"{', '.join(touched)} queried with no tenant; use a tenant session "
                "or db.all_tenants() explicitly"
            )
    state.statement = filtered


_NO_TENANT_CRITERIA = (
    with_loader_criteria(TenantScoped, lambda cls: false(), include_aliases=True),
    with_loader_criteria(TenantOptional, lambda cls: cls.tenant_id.is_(None), include_aliases=True),
)


def _filtered(state: ORMExecuteState, criteria: tuple[Any, ...]) -> tuple[Any, str | None]:
    """The statement with the tenant's ``criteria``, and the name of a tenant table it
    reads without its model (:func:`_bare_table_in`), or ``None``.

    A statement the code keeps and runs again (a query built once) gets the same
    filtered copy each time it runs with the same criteria, with its verdict:
    SQLAlchemy then finds the copy's cache key already worked out. Copies are kept
    while the statement lives, per criteria object (each tenant has its own), a few
    tenants per statement.
    """
    statement = state.statement
    kept = _FILTERED.get(id(statement))
    if kept is None or kept[0]() is not statement:
        kept = None
    else:
        found = kept[1].get(id(criteria))
        if found is not None and found[0] is criteria:
            return found[1], found[2]
    filtered = statement.options(*criteria)
    problem = _refuse_bare_tables(state, filtered) if state.is_select else None
    if kept is None:
        try:
            ref = weakref.ref(statement, _forget(id(statement)))
        except TypeError:  # pragma: no cover - SQLAlchemy's statements take weak references
            return filtered, problem
        if len(_FILTERED) >= 10_000:
            _FILTERED.clear()
        kept = _FILTERED[id(statement)] = (ref, {})
    if len(kept[1]) >= _TENANTS_PER_STATEMENT:
        kept[1].clear()
    kept[1][id(criteria)] = (criteria, filtered, problem)
    return filtered, problem


def _forget(key: int) -> Any:
    def forget(ref: Any) -> None:
        kept = _FILTERED.get(key)
        if kept is not None and kept[0] is ref:
            del _FILTERED[key]

    return forget


#: ``id(statement)`` → (weak reference to it, {id(criteria): (criteria, filtered copy,
#: bare-table verdict)})
_FILTERED: dict[int, tuple[Any, dict[int, tuple[Any, Any, str | None]]]] = {}
_TENANTS_PER_STATEMENT = 8


def _refuse_bare_tables(state: ORMExecuteState, statement: Any) -> str | None:
    """The name of a tenant table ``statement`` reads without its model: a plain table,
    or one reached only through a ``WHERE`` (``select(func.count()).where(...)``). The
    loader criteria cannot be relied on to reach it; subqueries of the model can.

    Finding the statement's FROM list means compiling it, which costs far more than
    running a small query, so the verdict is kept per statement shape (its cache key,
    which leaves out the values of its parameters). The key is the filtered
    statement's, the one SQLAlchemy then compiles with: worked out once, used twice."""
    key = statement._generate_cache_key()
    if key is None:  # a statement SQLAlchemy cannot cache: check it each time
        return _bare_table_in(state, statement)
    problem = _BARE_VERDICTS.get(key.key, _UNKNOWN)
    if problem is _UNKNOWN:
        problem = _bare_table_in(state, statement)
        if len(_BARE_VERDICTS) >= 10_000:
            _BARE_VERDICTS.clear()
        _BARE_VERDICTS[key.key] = problem
    return problem  # type: ignore[return-value]


_UNKNOWN = object()
_BARE_VERDICTS: dict[Any, Any] = {}


def _bare_table_in(state: ORMExecuteState, statement: Any) -> str | None:
    """The name of a tenant table ``statement`` reads without its model, or ``None``."""
    mapped = {m.local_table for m in state.all_mappers}
    for from_ in statement.get_final_froms():
        if not isinstance(from_, Table) or from_ in mapped or from_._annotations:
            continue
        if from_.name in _tenant_table_names():
            return str(from_.name)
    return None


def _tenant_table_names() -> frozenset[str]:
    mappers = Base.registry.mappers
    if _TABLE_NAMES.get("count") != len(mappers):  # models are added as plugins load
        _TABLE_NAMES["names"] = frozenset(
            str(m.local_table.name) for m in mappers if _is_tenant_model(m.class_)
        )
        _TABLE_NAMES["count"] = len(mappers)
    return _TABLE_NAMES["names"]  # type: ignore[no-any-return]


_TABLE_NAMES: dict[str, Any] = {}


@lru_cache(maxsize=4096)
def _tenant_criteria(tenant_id: int) -> tuple[Any, Any]:
    """The loader criteria of one tenant, built once: they cost more to build than to use."""
    return (
        with_loader_criteria(
            TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True
        ),
        with_loader_criteria(
            TenantOptional,
            lambda cls: or_(cls.tenant_id == tenant_id, cls.tenant_id.is_(None)),
            include_aliases=True,
        ),
    )


@event.listens_for(TenantSession, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    tenant_id = session.info.get("tenant_id")
    all_tenants = session.info.get("all_tenants", False)
    new = list(session.new)  # session.new builds a fresh set on every access
    for obj, is_new in [(o, True) for o in new] + [(o, False) for o in session.dirty]:
        if not _is_tenant_model(type(obj)):
            continue
        if isinstance(obj, TenantScoped) and obj.tenant_id is None and is_new:
            if tenant_id is None:
                raise TenantContextError(
                    f"new {type(obj).__name__} has no tenant and the session has none"
                )
            obj.tenant_id = tenant_id
        if all_tenants or obj.tenant_id is None:
            continue
        if obj.tenant_id != tenant_id:
            raise TenantContextError(
                f"{type(obj).__name__} of tenant {obj.tenant_id} written from tenant {tenant_id}"
            )


ROW_SECURITY_SQL = (
    "SELECT set_config('balai.tenant_id', %(tenant)s, true),"
    " set_config('balai.all_tenants', %(all)s, true)"
)
_PENDING = "_balai_row_security"  # attribute of the transaction's Connection


@event.listens_for(TenantSession, "after_begin")
def _set_row_security(session: Session, transaction: Any, connection: Any) -> None:
    """Row security of the session's tenant, for this transaction only.

    The setting is not sent on its own: it waits on the transaction's
    :class:`~sqlalchemy.engine.Connection` and goes with the transaction's first
    statement, both in one psycopg pipeline (:func:`_first_statement`), so that
    PostgreSQL runs ``set_config`` and then the statement in one network exchange.
    """
    if connection.dialect.name != "postgresql":
        return
    tenant_id = session.info.get("tenant_id")
    setattr(
        connection,
        _PENDING,
        {
            "tenant": "" if tenant_id is None else str(tenant_id),
            "all": "on" if session.info.get("all_tenants") else "off",
        },
    )


def _pending_row_security(context: Any) -> dict[str, str] | None:
    connection = getattr(context, "root_connection", None)
    if connection is None:
        return None
    return connection.__dict__.pop(_PENDING, None)  # type: ignore[no-any-return]


def _first_statement(cursor: Any, context: Any, run: Any, alone: bool = False) -> bool:
    """Send the waiting row security setting and then the statement ``run`` executes,
    in one pipeline: the server runs them in that order, so the statement's rows are
    read under the setting. ``False`` when no setting waits (SQLAlchemy then executes
    the statement itself)."""
    settings = _pending_row_security(context)
    if settings is None:
        return False
    driver = cursor.connection
    if alone or isinstance(cursor, _server_cursor()) or not _pipeline_supported():
        driver.execute(ROW_SECURITY_SQL, settings)  # its own round trip, then the statement
        run()
        return True
    with driver.pipeline():
        driver.execute(ROW_SECURITY_SQL, settings)
        run()
    return True


@lru_cache(maxsize=1)
def _server_cursor() -> type:
    import psycopg

    return psycopg.ServerCursor


@lru_cache(maxsize=1)
def _pipeline_supported() -> bool:
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def _row_security_done(connection: Any) -> None:
    """The transaction ended before any statement: nothing may wait for the next one."""
    connection.__dict__.pop(_PENDING, None)


def _execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    # SQL without parameters may hold several commands ("SET ...; SELECT ..."), which
    # psycopg sends as a simple query; a pipeline cannot: the setting goes first, alone.
    return _first_statement(
        cursor, context, lambda: cursor.execute(statement, parameters), alone=not parameters
    )


def _execute_no_params(cursor: Any, statement: str, context: Any) -> bool:
    return _first_statement(cursor, context, lambda: cursor.execute(statement), alone=True)


def _executemany(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    return _first_statement(cursor, context, lambda: cursor.executemany(statement, parameters))


def _listen_row_security(engine: Engine) -> None:
    """Send each transaction's row security with its first statement (PostgreSQL)."""
    event.listen(engine, "do_execute", _execute)
    event.listen(engine, "do_execute_no_params", _execute_no_params)
    event.listen(engine, "do_executemany", _executemany)
    event.listen(engine, "commit", _row_security_done)
    event.listen(engine, "rollback", _row_security_done)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Database:
    """Flask extension owning the engine and the per-app-context session.

    Created unbound as :data:`db`; :meth:`init_app` stores the engine in
    ``app.extensions["balai.db"]`` so every app has its own.
    """

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"], echo=app.config["DATABASE_ECHO"])
        factory = sessionmaker(engine, class_=TenantSession, expire_on_commit=False)
        app.extensions["balai.db"] = _State(engine, factory)
        app.teardown_appcontext(self._close_session)

    @staticmethod
    def _state(app: Flask | None = None) -> _State:
        return (app or current_app).extensions["balai.db"]

    @property
    def engine(self) -> Engine:
        return self._state().engine

    def engine_for(self, app: Flask) -> Engine:
        return self._state(app).engine

    @property
    def session(self) -> Session:
        """The session of the current app context, bound to its tenant (``g.tenant``)."""
        session: Session | None = g.get("_balai_session")
        if session is None:
            tenant = g.get("tenant")
            session = self.new_session(tenant_id=tenant.id if tenant is not None else None)
            g._balai_session = session
        return session

    def new_session(self, tenant_id: int | None = None, *, all_tenants: bool = False) -> Session:
        """A fresh session for ``tenant_id`` (or across tenants); the caller closes it."""
        session = self._state().factory()
        session.info["tenant_id"] = tenant_id
        session.info["all_tenants"] = all_tenants
        return session

    def end_request_transaction(self) -> None:
        """Roll back the current app context's transaction, if any, releasing its locks.

        For the rare request that must change the schema (enabling a plugin
        migrates it): objects already loaded stay usable, unflushed changes are lost.
        """
        session: Session | None = g.get("_balai_session")
        if session is not None and session.in_transaction():
            session.rollback()

    @contextmanager
    def all_tenants(self) -> Iterator[Session]:
        """A session that explicitly works across tenants; commits on success."""
        with self.new_session(all_tenants=True) as session, session.begin():
            yield session

    @contextmanager
    def tenant_session(self, tenant_id: int) -> Iterator[Session]:
        """A session for one tenant outside a request (CLI, jobs); commits on success."""
        with self.new_session(tenant_id) as session, session.begin():
            yield session

    @staticmethod
    def _close_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("_balai_session", None)
        if session is not None:
            session.close()


class _State:
    def __init__(self, engine: Engine, factory: sessionmaker[Session]) -> None:
        self.engine = engine
        self.factory = factory


CONNECT_TIMEOUT = 3  # seconds to wait for PostgreSQL to answer a new connection


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    """An engine with Balai's settings for SQLite (WAL, foreign keys) or PostgreSQL."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # No pre-ping: a lost connection invalidates the pool, and the next request reconnects.
    # A server that accepts but never answers must not hold a request: 503 after a few seconds.
    engine = create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=3600,
        connect_args={"connect_timeout": CONNECT_TIMEOUT},
    )
    _listen_row_security(engine)
    return engine


db = Database()
