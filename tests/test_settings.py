"""Plugin settings resolve: tenant value, then deployment value, then the schema default."""

from __future__ import annotations

import pytest
from marshmallow import Schema, fields, validate

from balai.settings import resolve_settings


class Example(Schema):
    days = fields.Integer(load_default=3, validate=validate.Range(min=1, max=30))
    label = fields.String(load_default=lambda: "default")
    strict = fields.Boolean(load_default=False)


@pytest.mark.parametrize(
    ("tenant", "deployment", "expected"),
    [
        ({}, {}, {"days": 3, "label": "default", "strict": False}),
        ({}, {"days": 5}, {"days": 5, "label": "default", "strict": False}),
        ({"days": 7}, {"days": 5}, {"days": 7, "label": "default", "strict": False}),
        ({"days": "8"}, {}, {"days": 8, "label": "default", "strict": False}),
        ({"days": 99}, {"days": 5}, {"days": 5, "label": "default", "strict": False}),
        ({"days": 99}, {"days": 0}, {"days": 3, "label": "default", "strict": False}),
        ({"strict": True, "label": "x"}, {}, {"days": 3, "label": "x", "strict": True}),
        ({"unknown": 1}, {}, {"days": 3, "label": "default", "strict": False}),
    ],
    ids=[
        "defaults",
        "deployment",
        "tenant-wins",
        "coerced",
        "invalid-tenant-falls-back",
        "both-invalid-default",
        "several",
        "unknown-ignored",
    ],
)
def test_resolve_settings(tenant, deployment, expected):
    assert resolve_settings(Example(), tenant, deployment) == expected
