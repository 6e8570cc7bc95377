"""The plugin's per-tenant settings (region admin → Plugins → e-Puskesmas → Settings)."""

from __future__ import annotations

from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate

from balai.i18n import N_
from balai.ratelimit import valid_spec

__all__ = ["PuskesmasSettings"]


def _encrypted(url: str) -> None:
    """Health data and the client secret travel only over HTTPS (plain HTTP only to
    this machine, for a local test server)."""
    parts = urlsplit(url)
    if parts.scheme != "https" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise ValidationError(N_("Use an https:// address: health data must travel encrypted."))


def _limit(spec: str) -> None:
    """A limit in the ``limits`` notation, or empty for none."""
    if spec.strip() and not valid_spec(spec):
        raise ValidationError(N_("Write a limit like \"10 per hour\" or \"3 per day\"."))


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
    closed_on_holidays = fields.Boolean(
        load_default=True,
        metadata={
            "label": N_("No queue numbers on holidays"),
            "description": N_(
                "National holidays, joint leave and the region's own days off (Administrasi → Hari libur). Off: clinics take numbers on those days as on any open day."  # noqa: E501
            ),
        },
    )
    ticket_limit_address = fields.String(
        load_default="10 per hour",
        validate=[validate.Length(max=100), _limit],
        metadata={
            "label": N_("Queue numbers per connection (web and app)"),
            "description": N_(
                "For example \"10 per hour\"; empty: no limit. Many phones can share one address on mobile networks: do not set it too low."  # noqa: E501
            ),
        },
    )
    ticket_limit_phone = fields.String(
        load_default="3 per day",
        validate=[validate.Length(max=100), _limit],
        metadata={
            "label": N_("Queue numbers per phone number (web, app and SMS)"),
            "description": N_("For example \"3 per day\"; empty: no limit."),
        },
    )
    one_number_per_person = fields.Boolean(
        load_default=True,
        metadata={
            "label": N_("One waiting number per person (NIK) per clinic and day"),
            "description": N_("The desk and the kiosk may still give a second number."),
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
        validate=_encrypted,
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
        validate=_encrypted,
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
