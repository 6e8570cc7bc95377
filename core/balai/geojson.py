"""GeoJSON answers for map layers (RFC 7946), the ``url`` of a :class:`~balai.items.MapLayer`.

A layer's view builds its features with :func:`point` and answers with
:func:`feature_collection`, which carries GeoJSON's own media type,
``application/geo+json``, so map libraries and browsers know what they receive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, current_app

__all__ = ["MEDIA_TYPE", "feature_collection", "point"]

MEDIA_TYPE = "application/geo+json"


def point(
    id: int | str, latitude: float, longitude: float, properties: Mapping[str, Any]
) -> dict[str, Any]:
    """A ``Feature`` at one point; GeoJSON writes the longitude first."""
    return {
        "type": "Feature",
        "id": id,
        "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
        "properties": dict(properties),
    }


def feature_collection(features: Iterable[Mapping[str, Any]]) -> Response:
    """The response of a map layer: a ``FeatureCollection`` as ``application/geo+json``."""
    body = {"type": "FeatureCollection", "features": list(features)}
    return current_app.response_class(current_app.json.dumps(body), mimetype=MEDIA_TYPE)
