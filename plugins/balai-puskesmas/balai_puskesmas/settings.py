"""The plugin's per-tenant settings (region admin → Plugins → e-Puskesmas → Settings)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from balai.i18n import N_

__all__ = ["PuskesmasSettings"]


class PuskesmasSettings(Schema):
    """Defaults keep records inside each puskesmas and send nothing to SATUSEHAT."""

    share_records = fields.Boolean(
        load_default=False,
        metadata={
            "label": N_("Officers may read visits at every puskesmas of the region"),
            "description": N_(
                "Off: an officer reads only the visits of the puskesmas they are assigned to."
            ),
        },
    )
    days_ahead = fields.Integer(
        load_default=7,
        validate=validate.Range(min=0, max=30),
        metadata={
            "label": N_("Days ahead a queue number can be taken"),
            "description": N_("0 means numbers are for today only."),
        },
    )
    board_refresh_seconds = fields.Integer(
        load_default=15,
        validate=validate.Range(min=5, max=300),
        metadata={"label": N_("Seconds between refreshes of the display board")},
    )
    export_enabled = fields.Boolean(
        load_default=False,
        metadata={
            "label": N_("Send visits to SATUSEHAT"),
            "description": N_(
                "Each recorded visit is queued as a FHIR R4 bundle and sent by 'balai puskesmas send'."  # noqa: E501
            ),
        },
    )
    satusehat_token_url = fields.Url(
        load_default=(
            "https://api-satusehat-stg.dto.kemkes.go.id/oauth2/v1/accesstoken"
            "?grant_type=client_credentials"
        ),
        metadata={
            "label": N_("SATUSEHAT token address (OAuth2 client credentials)"),
            "description": N_("The staging address is the default; production is set by the region."),  # noqa: E501
        },
    )
    satusehat_base_url = fields.Url(
        load_default="https://api-satusehat-stg.dto.kemkes.go.id/fhir-r4/v1",
        metadata={"label": N_("SATUSEHAT FHIR address")},
    )
    satusehat_client_id = fields.String(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"label": N_("SATUSEHAT client ID")},
    )
    satusehat_client_secret = fields.String(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"label": N_("SATUSEHAT client secret"), "secret": True},
    )
    max_attempts = fields.Integer(
        load_default=8,
        validate=validate.Range(min=1, max=50),
        metadata={
            "label": N_("Attempts before a bundle is marked failed"),
            "description": N_("Waits double after each failure, from 1 minute up to 6 hours."),
        },
    )
