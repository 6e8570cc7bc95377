"""Images people upload (complaint photos, a region's logo): sized up before decoding.

A PNG of a few kilobytes can declare 30,000 by 30,000 pixels, and decoding it takes
gigabytes; three honest 6,300-pixel PNGs take half a gigabyte and seconds. So an
upload is handled in three steps, and nothing is decoded until all of them passed:

1. :func:`probe` reads only the header (Pillow opens files lazily): the format must
   be JPEG, PNG or WebP, and the declared size at most ``IMAGE_MAX_PIXELS``.
2. The request's :class:`PixelBudget` (``IMAGE_REQUEST_PIXELS``) is charged with
   what decoding every image of the request will cost, before the first is decoded.
   A JPEG is decoded at a reduced scale when it is stored smaller (Pillow's draft
   mode), and counts at that scale.
3. :func:`prepare` decodes, turns it upright, shrinks it to ``max_side`` and encodes
   it again: only the pixels are kept, never the uploaded bytes, so no metadata (a
   phone's GPS position), no trailing payload and no second format survive. SVG and
   every other format are refused: they are not in the list.

Refusals raise :class:`ImageError`, whose message is a translatable msgid naming the
file and the limit; :meth:`ImageError.message` translates it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING

from flask import current_app, g, has_app_context, has_request_context
from flask_babel import gettext

from balai.i18n import N_
from balai.text import clean_text

if TYPE_CHECKING:
    from PIL.Image import Image as PilImage

__all__ = [
    "FORMATS",
    "ImageError",
    "PixelBudget",
    "Prepared",
    "Probe",
    "prepare",
    "probe",
    "request_budget",
]

FORMATS = ("JPEG", "PNG", "WEBP")
DEFAULT_MAX_PIXELS = 40_000_000  # IMAGE_MAX_PIXELS
DEFAULT_REQUEST_PIXELS = 24_000_000  # IMAGE_REQUEST_PIXELS
JPEG_QUALITY = 85
_NOT_AN_IMAGE = N_("%(name)s is not a JPEG, PNG or WebP image.")
# Pillow reports unknown, truncated and corrupt files in these ways (and in its own
# UnidentifiedImageError, an OSError). Pillow itself is imported at the first image,
# not by every worker at start-up.
_UNREADABLE = (OSError, ValueError, SyntaxError, EOFError)


class ImageError(ValueError):
    """An image was refused. ``str()`` is a msgid; ``values`` fill its placeholders."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message)
        self.values = values

    def message(self) -> str:
        """The reason, in the current language."""
        return gettext(str(self), **self.values)


@dataclass(frozen=True)
class Probe:
    """What an upload's header says: nothing decoded yet."""

    raw: bytes
    name: str
    format: str
    width: int
    height: int
    decoded_width: int  # the size decoding will produce (smaller for a JPEG in draft mode)
    decoded_height: int

    @property
    def decoded_pixels(self) -> int:
        return self.decoded_width * self.decoded_height


@dataclass(frozen=True)
class Prepared:
    """A checked, decoded and re-encoded image, still in memory."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default)) if has_app_context() else default


def probe(raw: bytes, *, name: str, max_side: int, max_pixels: int | None = None) -> Probe:
    """Read the header of ``raw``: its format and size; no pixel is decoded.

    :raises ImageError: not a JPEG, PNG or WebP image, or more than ``max_pixels``
        (default ``IMAGE_MAX_PIXELS``) pixels.
    """
    name = clean_text(name)  # it is shown in messages
    limit = (
        max_pixels if max_pixels is not None else _setting("IMAGE_MAX_PIXELS", DEFAULT_MAX_PIXELS)
    )
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we check ourselves
            with Image.open(BytesIO(raw), formats=FORMATS) as image:
                kind, (width, height) = _kind(image), image.size
                if width * height > limit:
                    found = Probe(raw, name, kind, width, height, width, height)
                    raise _too_many_pixels(found, limit)
                if kind == "JPEG":  # decode at 1/2, 1/4 or 1/8 when stored that small anyway
                    image.draft(None, _fitted(width, height, max_side))
                decoded = image.size
    except ImageError:
        raise
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours: refused alike
        raise ImageError(
            N_("%(name)s has too many pixels: at most %(limit)d megapixels are accepted."),
            name=name,
            limit=max(1, limit // 1_000_000),
        ) from None
    except _UNREADABLE:
        raise ImageError(_NOT_AN_IMAGE, name=name) from None
    if kind not in FORMATS or width < 1 or height < 1:
        raise ImageError(_NOT_AN_IMAGE, name=name)
    return Probe(raw, name, kind, width, height, decoded[0], decoded[1])


def _kind(image: PilImage) -> str:
    """The format of ``image``; a multi-picture JPEG (MPO: what many phone cameras
    write, the photo and a preview or depth image) is a JPEG whose first picture is used."""
    kind = str(image.format)
    return "JPEG" if kind == "MPO" else kind


def _too_many_pixels(found: Probe, limit: int) -> ImageError:
    return ImageError(
        N_(
            "%(name)s is %(width)d by %(height)d pixels: at most %(limit)d megapixels are accepted."
        ),
        name=found.name,
        width=found.width,
        height=found.height,
        limit=max(1, limit // 1_000_000),
    )


def _fitted(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size ``width`` x ``height`` shrinks to within ``max_side`` (as ``thumbnail``)."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


class PixelBudget:
    """The pixels one request may decode, over all its images."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0

    def charge(self, probes: Iterable[Probe]) -> None:
        """Take the cost of decoding ``probes``, or refuse them all (nothing is taken)."""
        probes = list(probes)
        for found in probes:
            if found.decoded_pixels > self.limit:
                raise _too_many_pixels(found, self.limit)
        cost = sum(p.decoded_pixels for p in probes)
        if self.spent + cost > self.limit:
            raise ImageError(
                N_(
                    "Together these images have too many pixels to process at once "
                    "(%(total)d megapixels; at most %(limit)d). Send fewer or smaller images."
                ),
                total=max(1, -(-(self.spent + cost) // 1_000_000)),
                limit=max(1, self.limit // 1_000_000),
            )
        self.spent += cost


def request_budget() -> PixelBudget:
    """The current request's budget (``IMAGE_REQUEST_PIXELS``); outside a request, a new one."""
    limit = _setting("IMAGE_REQUEST_PIXELS", DEFAULT_REQUEST_PIXELS)
    if not has_request_context():
        return PixelBudget(limit)
    if "balai_pixel_budget" not in g:
        g.balai_pixel_budget = PixelBudget(limit)
    budget: PixelBudget = g.balai_pixel_budget
    return budget


def prepare(
    uploads: Iterable[tuple[bytes, str]],
    *,
    max_side: int,
    lossless: bool = False,
    budget: PixelBudget | None = None,
) -> list[Prepared]:
    """Probe every ``(raw, name)``, charge the budget, then decode and re-encode each.

    Images come back upright, at most ``max_side`` pixels wide and high, as PNG when
    ``lossless`` or transparent, else as JPEG; with no metadata at all.

    :raises ImageError: the first upload that is refused, or the budget is exceeded;
        nothing has been decoded then.
    """
    probes = [probe(raw, name=name, max_side=max_side) for raw, name in uploads]
    (budget or request_budget()).charge(probes)
    return [_encode(_decode(p, max_side), lossless=lossless) for p in probes]


def _decode(found: Probe, max_side: int) -> PilImage:
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(found.raw), formats=[found.format])
            if found.format == "JPEG":
                image.draft(None, _fitted(found.width, found.height, max_side))
            if image.size != (found.decoded_width, found.decoded_height):
                raise ImageError(_NOT_AN_IMAGE, name=found.name)  # not what was charged
            image.load()
    except ImageError:
        raise
    except (*_UNREADABLE, Image.DecompressionBombError):
        raise ImageError(_NOT_AN_IMAGE, name=found.name) from None
    upright = ImageOps.exif_transpose(image) or image
    upright.thumbnail((max_side, max_side))
    return upright


def _encode(image: PilImage, *, lossless: bool) -> Prepared:
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    out = BytesIO()
    if lossless or transparent:
        clean = image.convert("RGBA" if transparent else "RGB")
        clean.info.clear()  # no ICC profile, text chunk or EXIF carried over
        clean.save(out, format="PNG", optimize=True)
        kind, extension = "image/png", "png"
    else:
        clean = image.convert("RGB")
        clean.info.clear()
        clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        kind, extension = "image/jpeg", "jpg"
    return Prepared(out.getvalue(), kind, extension, clean.width, clean.height)
