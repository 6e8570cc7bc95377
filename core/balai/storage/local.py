"""A folder on the local disk (the default: the instance folder)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import IO

from balai.files import is_partial, write_whole
from balai.storage.base import Entry, NotFound, Stat, StorageError, Store, check_key

__all__ = ["LocalStore"]


class LocalStore(Store):
    """Keys are paths under ``root``; writes go through :func:`balai.files.write_whole`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return f"file://{self.root}"

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes | IO[bytes], *, content_type: str | None = None) -> None:
        write_whole(self.path(key), data)

    def open(self, key: str) -> IO[bytes]:
        try:
            return open(self.path(key), "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFound(key) from None

    def delete(self, key: str) -> None:
        path = self.path(key)
        path.unlink(missing_ok=True)
        for parent in path.parents:  # no empty folders left behind
            if parent == self.root or self.root not in parent.parents:
                break
            try:
                parent.rmdir()
            except OSError:
                break  # not empty (or gone)

    def stat(self, key: str) -> Stat:
        path = self.path(key)
        try:
            found = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(key) from None
        if not path.is_file():
            raise NotFound(key)
        return Stat(found.st_size, found.st_mtime, f"{found.st_mtime_ns:x}-{found.st_size:x}")

    def list(self, prefix: str) -> Iterator[Entry]:
        folder, _sep, _start = prefix.rpartition("/")
        base = self.path(folder) if folder else self.root
        if not base.is_dir():
            return
        found = []
        for directory, _dirs, names in os.walk(base):
            for name in names:
                path = Path(directory) / name
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix) and not is_partial(name):
                    with suppress(FileNotFoundError):  # deleted meanwhile
                        info = path.stat()
                        found.append(Entry(key, info.st_size, info.st_mtime))
        yield from sorted(found, key=lambda entry: entry.key)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(exc.errno, f"cannot create {self.root}: {exc.strerror}") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageError(f"{self.root} is not writable")
