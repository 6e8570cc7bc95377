"""A map layer answers a GeoJSON FeatureCollection with GeoJSON's media type."""

from __future__ import annotations

import json

from flask import Flask

from balai.geojson import MEDIA_TYPE, feature_collection, point


def test_a_point_writes_the_longitude_first() -> None:
    feature = point(7, -6.17, 106.63, {"name": "Puskesmas Cibodas"})
    assert feature == {
        "type": "Feature",
        "id": 7,
        "geometry": {"type": "Point", "coordinates": [106.63, -6.17]},
        "properties": {"name": "Puskesmas Cibodas"},
    }


def test_a_feature_collection_is_application_geo_json(app: Flask) -> None:
    features = (point(i, -6.0, 106.0, {}) for i in (1, 2))
    with app.test_request_context("/"):
        response = feature_collection(features)
    assert MEDIA_TYPE == "application/geo+json"
    assert response.mimetype == "application/geo+json"
    body = json.loads(response.get_data(as_text=True))
    assert body["type"] == "FeatureCollection"
    assert [f["id"] for f in body["features"]] == [1, 2]


def test_an_empty_layer_is_an_empty_collection(app: Flask) -> None:
    with app.test_request_context("/"):
        response = feature_collection([])
    assert json.loads(response.get_data()) == {"type": "FeatureCollection", "features": []}
