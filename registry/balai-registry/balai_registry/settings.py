"""The registry's settings (region admin → Plugins → Registri Plugin → Settings; the
operator's ``PLUGIN_SETTINGS["registry"]``): how often one registry token may call."""

from __future__ import annotations

from marshmallow import Schema, validate

from balai.i18n import N_
from balai.settings import LimitSetting

__all__ = ["RegistrySettings"]


class RegistrySettings(Schema):
    """Limits per registry token (one partner region), counted before the work."""

    upload_limit = LimitSetting(
        load_default="30 per hour",
        validate=validate.Length(max=100),
        metadata={
            "label": N_("Uploads per registry token (legacy upload API)"),
            "description": N_(
                'Each upload is stored and checked; for example "30 per hour"; empty: no limit.'
            ),
        },
    )
    api_limit = LimitSetting(
        load_default="600 per hour",
        validate=validate.Length(max=100),
        metadata={
            "label": N_("Partner API requests per registry token"),
            "description": N_(
                "Evaluations, replies, usage reports and endorsements; for example "
                '"600 per hour"; empty: no limit.'
            ),
        },
    )
