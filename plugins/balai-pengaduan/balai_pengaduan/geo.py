"""Small geometry for routing and duplicates: points in areas, distances, boxes.

Coordinates are WGS 84 degrees; GeoJSON order is ``[longitude, latitude]``.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from marshmallow import ValidationError

from balai.fields import Text

__all__ = [
    "Boundary",
    "BoundarySetting",
    "GeometryError",
    "bounding_box",
    "box_around",
    "contains",
    "distance_m",
    "parse_boundary",
    "validate_geometry",
    "validate_point",
]

EARTH_RADIUS_M = 6_371_008.8
Ring = Sequence[Sequence[float]]


class GeometryError(ValueError):
    """A point or area that is not valid GeoJSON on the globe."""


def validate_point(latitude: float, longitude: float) -> tuple[float, float]:
    """Refuse coordinates off the globe (or not numbers)."""
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in (latitude, longitude)):
        raise GeometryError("coordinates must be finite numbers")
    if not -90 <= latitude <= 90:
        raise GeometryError("latitude must be between -90 and 90")
    if not -180 <= longitude <= 180:
        raise GeometryError("longitude must be between -180 and 180")
    return float(latitude), float(longitude)


def _polygons(geometry: dict[str, Any]) -> list[list[Ring]]:
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        return [coordinates]  # type: ignore[list-item]
    if kind == "MultiPolygon":
        return list(coordinates)  # type: ignore[arg-type]
    raise GeometryError("an area must be a GeoJSON Polygon or MultiPolygon")


def validate_geometry(geometry: Any) -> dict[str, Any]:
    """Check a GeoJSON (Multi)Polygon: closed rings of at least four valid positions."""
    if not isinstance(geometry, dict):
        raise GeometryError("an area must be a GeoJSON object")
    polygons = _polygons(geometry)
    if not polygons:
        raise GeometryError("the area has no polygon")
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise GeometryError("a polygon needs at least one ring")
        for ring in polygon:
            _validate_ring(ring)
    return geometry


def _validate_ring(ring: Any) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise GeometryError("a ring needs at least four positions")
    for position in ring:
        if not isinstance(position, list | tuple) or len(position) < 2:
            raise GeometryError("a position is [longitude, latitude]")
        validate_point(position[1], position[0])
    if list(ring[0][:2]) != list(ring[-1][:2]):
        raise GeometryError("a ring must end where it starts")


def _in_ring(lon: float, lat: float, ring: Ring) -> bool:
    """Ray casting: count the ring's edges a ray from the point crosses."""
    inside = False
    for (x1, y1, *_), (x2, y2, *_) in itertools.pairwise(ring):
        if (y1 > lat) != (y2 > lat):
            crossing = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < crossing:
                inside = not inside
    return inside


def contains(geometry: dict[str, Any], latitude: float, longitude: float) -> bool:
    """Whether the point lies in the area (inside an outer ring and outside its holes)."""
    for outer, *holes in _polygons(geometry):
        if _in_ring(longitude, latitude, outer) and not any(
            _in_ring(longitude, latitude, hole) for hole in holes
        ):
            return True
    return False


def bounding_box(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """``(min_lon, min_lat, max_lon, max_lat)`` of an area."""
    positions: Iterable[Sequence[float]] = (
        p for polygon in _polygons(geometry) for ring in polygon for p in ring
    )
    lons, lats = zip(*((p[0], p[1]) for p in positions), strict=True)
    return min(lons), min(lats), max(lons), max(lats)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def box_around(latitude: float, longitude: float, radius_m: float) -> tuple[float, ...]:
    """``(min_lat, max_lat, min_lon, max_lon)`` enclosing a circle: a cheap SQL prefilter."""
    d_lat = math.degrees(radius_m / EARTH_RADIUS_M)
    cos_lat = max(math.cos(math.radians(latitude)), 1e-6)
    d_lon = min(180.0, math.degrees(radius_m / (EARTH_RADIUS_M * cos_lat)))
    return latitude - d_lat, latitude + d_lat, longitude - d_lon, longitude + d_lon


# -- the region's boundary ------------------------------------------------------------


@dataclass(frozen=True)
class Boundary:
    """Where the region is: one or more (Multi)Polygons, a point must be in one of them."""

    geometries: tuple[dict[str, Any], ...]

    def contains(self, latitude: float, longitude: float) -> bool:
        return any(contains(g, latitude, longitude) for g in self.geometries)


def parse_boundary(text: str) -> Boundary | None:
    """The boundary a region admin pasted: a GeoJSON (Multi)Polygon, or a Feature or
    FeatureCollection of them (their union). Empty text: no boundary.

    :raises GeometryError: not JSON, or not such a GeoJSON object.
    """
    if not text.strip():
        return None
    try:
        found = json.loads(text)
    except ValueError as exc:
        raise GeometryError("the boundary is not JSON") from exc
    geometries = tuple(validate_geometry(g) for g in _geometries(found))
    if not geometries:
        raise GeometryError("the boundary has no polygon")
    return Boundary(geometries)


def _geometries(found: Any) -> list[Any]:
    if not isinstance(found, dict):
        raise GeometryError("the boundary must be a GeoJSON object")
    if found.get("type") == "FeatureCollection":
        features = found.get("features")
        if not isinstance(features, list):
            raise GeometryError("a FeatureCollection has a list of features")
        return [g for f in features for g in _geometries(f)]
    if found.get("type") == "Feature":
        return [found.get("geometry")]
    return [found]


class BoundarySetting(Text):
    """A setting holding a region's boundary as GeoJSON text (checked, stored compact)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            return ""
        try:
            parse_boundary(text)
        except GeometryError as exc:
            raise ValidationError(
                gettext(
                    "The boundary must be a GeoJSON Polygon or MultiPolygon (or a Feature or FeatureCollection of them): %(problem)s.",  # noqa: E501
                    problem=str(exc),
                )
            ) from None
        return json.dumps(json.loads(text), separators=(",", ":"))
