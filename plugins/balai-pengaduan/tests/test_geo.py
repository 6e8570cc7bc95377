"""Geometry: points on the globe, areas, distances."""

from __future__ import annotations

import math

import pytest

from balai_pengaduan import geo

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]],
}
WITH_HOLE = {
    "type": "Polygon",
    "coordinates": [
        [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
        [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]],
    ],
}


@pytest.mark.parametrize(
    ("lat", "lon"), [(91, 0), (-90.5, 0), (0, 181), (0, -180.1), (math.nan, 0), (0, math.inf)]
)
def test_points_off_the_globe_are_refused(lat, lon):
    with pytest.raises(geo.GeometryError):
        geo.validate_point(lat, lon)


def test_points_on_the_edges_are_fine():
    assert geo.validate_point(-90, 180) == (-90.0, 180.0)


@pytest.mark.parametrize(
    ("lat", "lon", "inside"),
    [(5, 5, False), (2, 2, True), (5, 11, False), (-1, 5, False), (9.9, 0.1, True)],
)
def test_contains_respects_holes(lat, lon, inside):
    assert geo.contains(WITH_HOLE, lat, lon) is inside


def test_multipolygon_contains_either_part():
    other = [[[20, 20], [30, 20], [30, 30], [20, 30], [20, 20]]]
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"], other]}
    assert geo.contains(multi, 25, 25) and geo.contains(multi, 5, 5)
    assert not geo.contains(multi, 15, 15)
    assert geo.bounding_box(multi) == (0, 0, 30, 30)


@pytest.mark.parametrize(
    "geometry",
    [
        None,
        [],
        {"type": "Point", "coordinates": [0, 0]},
        {"type": "Polygon", "coordinates": []},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 95], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1], [1, 1], [0, 0]]]},
        {"type": "MultiPolygon", "coordinates": [[]]},
    ],
)
def test_invalid_areas_are_refused(geometry):
    with pytest.raises(geo.GeometryError):
        geo.validate_geometry(geometry)


def test_distance_and_box():
    # one degree of latitude is about 111 km
    assert 110_000 < geo.distance_m(0, 0, 1, 0) < 112_000
    min_lat, max_lat, min_lon, max_lon = geo.box_around(-6.2, 106.6, 1000)
    assert min_lat < -6.2 < max_lat and min_lon < 106.6 < max_lon
    assert geo.distance_m(-6.2, 106.6, max_lat, 106.6) == pytest.approx(1000, rel=1e-3)
