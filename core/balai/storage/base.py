"""What every store does, on whole keys (``tenants/<id>/...``), and the key rules."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

__all__ = ["BadKey", "Entry", "NotFound", "Stat", "StorageError", "Store", "check_key"]


class StorageError(OSError):
    """The store failed (unreachable, refused, misconfigured)."""


class NotFound(FileNotFoundError):
    """No object under that key."""


class BadKey(ValueError):
    """A key that could leave its namespace or that a store cannot hold."""


@dataclass(frozen=True)
class Stat:
    size: int
    modified: float  # seconds since the epoch
    etag: str


@dataclass(frozen=True)
class Entry:
    key: str
    size: int
    modified: float  # seconds since the epoch


def check_key(key: str) -> str:
    """``key`` if it is a relative path of plain segments; else :class:`BadKey`.

    Refused: empty keys or segments, ``.`` and ``..``, a leading ``/`` (absolute),
    backslashes, NUL and other control characters.
    """
    if not isinstance(key, str) or not key:
        raise BadKey(f"empty or not a string: {key!r}")
    if "\\" in key or any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise BadKey(f"backslash or control character in {key!r}")
    if any(part in {"", ".", ".."} for part in key.split("/")):
        raise BadKey(f"absolute, empty or relative segment in {key!r}")
    return key


class Store(abc.ABC):
    """A flat space of keys to bytes. Every method checks its key."""

    @abc.abstractmethod
    def put(self, key: str, data: bytes | IO[bytes], *, content_type: str | None = None) -> None:
        """Store whole or not at all (a reader never sees part). :raises NoRoom:"""

    @abc.abstractmethod
    def open(self, key: str) -> IO[bytes]:
        """A stream of the object (the caller closes it). :raises NotFound:"""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""

    @abc.abstractmethod
    def stat(self, key: str) -> Stat:
        """Size, time and ETag. :raises NotFound:"""

    @abc.abstractmethod
    def list(self, prefix: str) -> Iterator[Entry]:
        """Objects whose keys start with ``prefix``, in key order."""

    @abc.abstractmethod
    def check(self) -> None:
        """Cheap readiness probe. :raises StorageError: the store cannot be used."""

    def url(self, key: str, *, expires: int = 300) -> str | None:
        """A signed address for ``key``, if the store has them."""
        return None

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except NotFound:
            return False
        return True

    def read(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    def describe(self) -> str:
        """Where the store is, for the operator (no secrets)."""
        return type(self).__name__
