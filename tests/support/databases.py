"""A database of its own for a second Balai instance in a test.

The session's database serves the apps of ``make_app``; an instance beside them (the
region adopting a registry's plugins, say) gets a second one, migrated the same way: a
second SQLite file, or on PostgreSQL a second database when ``BALAI_TEST_DATABASE_URL``
is set, dropped afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from balai.testing import migrate_database, new_postgres_database

__all__ = ["second_database"]


@contextmanager
def second_database(folder: Path, name: str = "second") -> Iterator[str]:
    """The URL of a migrated, empty database named after ``name`` (its SQLite file and
    migration instance folder go in ``folder``). Dispose of every engine on it before
    leaving: on PostgreSQL the database is dropped then."""
    server = os.environ.get("BALAI_TEST_DATABASE_URL")
    instance = folder / f"{name}-migrate"
    instance.mkdir(parents=True, exist_ok=True)
    if not server:
        url = f"sqlite:///{folder / f'{name}.sqlite'}"
        migrate_database(url, instance)
        yield url
        return
    url, drop = new_postgres_database(server)
    try:
        migrate_database(url, instance)
        yield url
    finally:
        drop()
