"""Files a region's uploads become: written whole or not at all.

Uploads (a region's logo, a plugin's photos) kept in a local folder by
:mod:`balai.storage` are written here. A write that fails half-way, most often because
the disk is full, must leave no partial file for a page to serve or a backup to copy:
:func:`write_whole` writes to a hidden ``.part`` file beside the target and renames it
into place, deleting it on failure.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path
from typing import IO

__all__ = ["NoRoom", "write_whole"]

_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT})  # the disk, or the user's quota, is full


class NoRoom(OSError):
    """The disk (or the quota) is full: nothing was written. Tell the user so."""


def is_partial(name: str) -> bool:
    """Whether ``name`` is the partial file of a write under way (or one that failed)."""
    return name.startswith(".") and name.endswith(".part")


def write_whole(path: Path, data: bytes | IO[bytes]) -> None:
    """Write ``data`` (bytes, or a stream read to its end) to ``path`` atomically; on
    failure no file is left behind.

    :raises NoRoom: the disk or the quota is full.
    :raises OSError: any other failure (also when ``path``'s partial file exists).
    """
    partial = path.with_name(f".{path.name}.part")
    try:
        out = _create(partial)
        with out:  # exclusive: never another writer's file
            if isinstance(data, bytes | bytearray | memoryview):
                out.write(data)
            else:
                shutil.copyfileobj(data, out)
        partial.replace(path)
    except FileExistsError:
        raise  # another writer's partial file: not ours to delete
    except OSError as exc:
        partial.unlink(missing_ok=True)
        if exc.errno in _NO_ROOM:
            raise NoRoom(exc.errno, "no room left on the device", str(path)) from exc
        raise


def _create(partial: Path) -> IO[bytes]:
    """Open ``partial`` exclusively, making its folder (again, if an empty one was
    removed by a delete at the same moment)."""
    for _attempt in range(3):
        partial.parent.mkdir(parents=True, exist_ok=True)
        try:
            return open(partial, "xb")
        except FileNotFoundError:
            continue
    return open(partial, "xb")
