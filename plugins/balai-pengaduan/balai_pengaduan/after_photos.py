"""Photos of the work done (*foto sesudah*): an officer attaches them while working on
a complaint or when resolving it, beside the reporter's photos of the problem.

They go through the same checks as the reporter's (:func:`balai_pengaduan.photos.prepare`:
format by content, size, pixels; re-encoded without EXIF) and are stored the same way,
as :class:`~balai_pengaduan.models.Photo` rows of ``kind`` ``after``, at most
``max_after_photos`` per complaint. Nothing reaches the store until the photos are valid;
files written for a transaction that fails are removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from balai.i18n import N_
from balai.storage import TenantFiles
from balai_pengaduan import photos
from balai_pengaduan.models import Complaint, Photo

__all__ = ["AFTER", "prepare", "store"]

AFTER = "after"


def prepare(
    uploads: Iterable[FileStorage], complaint: Complaint, settings: Mapping[str, Any]
) -> list[photos.PreparedPhoto]:
    """Check and re-encode the chosen photos; none chosen is an empty list.

    Raises :class:`~balai_pengaduan.photos.PhotoError` when the complaint would hold
    more than ``max_after_photos`` of them, or when a photo is refused.
    """
    files = [upload for upload in uploads if upload and upload.filename]
    if not files:
        return []
    limit = int(settings["max_after_photos"])
    have = len(complaint.after_photos)
    if have + len(files) > limit:
        raise photos.PhotoError(
            N_("At most %(n)d photos of the work done per complaint (%(have)d attached already)."),
            n=limit,
            have=have,
        )
    return photos.prepare(files, max_photos=len(files), max_mb=int(settings["max_photo_mb"]))


def store(
    session: Session,
    complaint: Complaint,
    prepared: list[photos.PreparedPhoto],
    directory: TenantFiles,
    *,
    added_by_id: int | None,
    now: datetime,
) -> list[str]:
    """Write the photos and add their rows (the caller commits); returns the file names.

    A write that fails removes what this call wrote before raising; the caller removes
    the returned files if its transaction does not commit.
    """
    written: list[str] = []
    try:
        for photo in prepared:
            name = photos.write(directory, photo)
            written.append(name)
            session.add(
                Photo(
                    complaint_id=complaint.id,
                    filename=name,
                    content_type=photo.content_type,
                    size=len(photo.data),
                    width=photo.width,
                    height=photo.height,
                    created_at=now,
                    kind=AFTER,
                    added_by_id=added_by_id,
                )
            )
        session.flush()
    except BaseException:
        photos.remove(directory, written)
        raise
    return written
