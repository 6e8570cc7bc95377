"""Files a region's uploads become: written whole or not at all.

Uploads (a region's logo, a plugin's photos) are kept under the instance folder. A
write that fails half-way, most often because the disk is full, must leave no partial
file for a page to serve or a backup to copy: :func:`write_whole` writes to a hidden
``.part`` file beside the target and renames it into place, deleting it on failure.
"""

from __future__ import annotations

import errno
from pathlib import Path

__all__ = ["NoRoom", "write_whole"]

_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT})  # the disk, or the user's quota, is full


class NoRoom(OSError):
    """The disk (or the quota) is full: nothing was written. Tell the user so."""


def write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; on failure no file is left behind.

    :raises NoRoom: the disk or the quota is full.
    :raises OSError: any other failure (also when ``path``'s partial file exists).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    try:
        with open(partial, "xb") as out:  # exclusive: never another writer's file
            out.write(data)
        partial.replace(path)
    except FileExistsError:
        raise  # another writer's partial file: not ours to delete
    except OSError as exc:
        partial.unlink(missing_ok=True)
        if exc.errno in _NO_ROOM:
            raise NoRoom(exc.errno, "no room left on the device", str(path)) from exc
        raise
