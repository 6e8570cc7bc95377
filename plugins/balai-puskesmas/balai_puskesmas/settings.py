"""The plugin's per-tenant settings (region admin → Plugins → e-Puskesmas → Settings).

The SATUSEHAT servers a region may send to are the operator's configuration
(``PUSKESMAS_SATUSEHAT_ENDPOINTS``; by default the Ministry of Health's production and
staging servers): the region chooses one by name, it cannot type an address, so the
sender never posts health data (or the client secret) to a server the operator did
not list. The client secret is a :class:`balai.settings.Secret`: sealed at rest and
never shown in the form.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, has_app_context, has_request_context
from flask_babel import gettext, ngettext
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from balai.fields import Integer, Text
from balai.i18n import N_
from balai.settings import LimitSetting, Secret

__all__ = [
    "DEFAULT_ENDPOINTS",
    "ENDPOINTS_SETTING",
    "OfferedServer",
    "PuskesmasSettings",
    "satusehat_endpoints",
    "sending_settings",
]

log = logging.getLogger(__name__)

#: The deployment setting that lists the SATUSEHAT servers regions may choose from.
ENDPOINTS_SETTING = "PUSKESMAS_SATUSEHAT_ENDPOINTS"
#: The Ministry of Health's servers (SATUSEHAT platform documentation): the OAuth2
#: client-credentials token address and the FHIR R4 base address of each.
DEFAULT_ENDPOINTS: dict[str, dict[str, str]] = {
    "production": {
        "token_url": "https://api-satusehat.kemkes.go.id/oauth2/v1/accesstoken"
        "?grant_type=client_credentials",
        "base_url": "https://api-satusehat.kemkes.go.id/fhir-r4/v1",
    },
    "staging": {
        "token_url": "https://api-satusehat-stg.dto.kemkes.go.id/oauth2/v1/accesstoken"
        "?grant_type=client_credentials",
        "base_url": "https://api-satusehat-stg.dto.kemkes.go.id/fhir-r4/v1",
    },
}


def _address(value: Any) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return parts is not None and parts.scheme in ("https", "http") and bool(parts.hostname)


def satusehat_endpoints(config: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The SATUSEHAT servers this deployment offers: name → ``token_url``, ``base_url``.

    ``PUSKESMAS_SATUSEHAT_ENDPOINTS`` replaces the default list; an entry without both
    addresses is left out (and logged).
    """
    configured = config.get(ENDPOINTS_SETTING) or DEFAULT_ENDPOINTS
    offered = {}
    for name, entry in dict(configured).items():
        if isinstance(entry, Mapping) and all(
            _address(entry.get(key)) for key in ("token_url", "base_url")
        ):
            offered[str(name)] = {"token_url": entry["token_url"], "base_url": entry["base_url"]}
        else:
            log.warning(
                "%s: %r needs a token_url and a base_url; left out", ENDPOINTS_SETTING, name
            )
    return offered


def sending_settings(settings: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """The region's resolved settings for the sender, with the addresses of the server it
    chose (``satusehat_token_url``, ``satusehat_base_url``; ``None`` when the operator
    no longer offers it)."""
    server = satusehat_endpoints(config).get(str(settings.get("satusehat_server")))
    return {
        **settings,
        "satusehat_token_url": server["token_url"] if server else None,
        "satusehat_base_url": server["base_url"] if server else None,
    }


class OfferedServer(validate.OneOf):
    """One of the SATUSEHAT servers the operator offers, read when the form is shown or
    checked (the app's configuration is not known when the schema is defined)."""

    def __init__(self) -> None:  # no fixed choices: see the properties
        self.error = N_("Choose one of the SATUSEHAT servers this installation offers.")

    @property
    def _offered(self) -> dict[str, dict[str, str]]:
        return satusehat_endpoints(current_app.config if has_app_context() else {})

    @property  # type: ignore[override]
    def choices(self) -> Iterable[str]:
        return list(self._offered)

    @property  # type: ignore[override]
    def labels(self) -> Iterable[str]:
        return [f"{name}: {entry['base_url']}" for name, entry in self._offered.items()]

    @property  # type: ignore[override]
    def choices_text(self) -> str:
        return ", ".join(self.choices)

    @property  # type: ignore[override]
    def labels_text(self) -> str:
        return ", ".join(self.labels)


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
    days_ahead = Integer(
        load_default=7,
        min=0,
        max=30,
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
                "National holidays, joint leave and the region's own days off (Administration → Holidays). Off: clinics take numbers on those days as on any open day."  # noqa: E501
            ),
        },
    )
    ticket_limit_address = LimitSetting(
        load_default="10 per hour",
        validate=validate.Length(max=100),
        metadata={
            "label": N_("Queue numbers per connection (web and app)"),
            "description": N_(
                'For example "10 per hour"; empty: no limit. Many phones can share one address on mobile networks: do not set it too low.'  # noqa: E501
            ),
        },
    )
    ticket_limit_phone = LimitSetting(
        load_default="3 per day",
        validate=validate.Length(max=100),
        metadata={
            "label": N_("Queue numbers per phone number (web, app and SMS)"),
            "description": N_('For example "3 per day"; empty: no limit.'),
        },
    )
    one_number_per_person = fields.Boolean(
        load_default=True,
        metadata={
            "label": N_("One waiting number per person (NIK) per clinic and day"),
            "description": N_("The desk and the kiosk may still give a second number."),
        },
    )
    desk_share_percent = Integer(
        load_default=20,
        min=0,
        max=100,
        metadata={
            "label": N_(
                "Share of each clinic's daily quota kept for the desk and the kiosk, in percent"
            ),
            "description": N_(
                "The web form, the app and SMS stop at the daily quota less this share; the registration desk and the kiosk give numbers up to the full quota, for people who come in person. 0: nothing kept; 100: numbers only at the puskesmas. Only for clinics with a daily quota."  # noqa: E501
            ),
        },
    )
    sms_number = Text(
        load_default="",
        validate=validate.Length(max=30),
        metadata={
            "label": N_("Number citizens send queue SMS to"),
            "description": N_(
                "Shown on the puskesmas page with the SMS format (ANTRE <puskesmas code> <clinic code> [NIK]) once the region's SMS webhook is set up (Administration, SMS). Empty: the SMS instructions are not shown."  # noqa: E501
            ),
        },
    )
    board_refresh_seconds = Integer(
        load_default=15,
        min=5,
        max=300,
        metadata={"label": N_("Seconds between refreshes of the display board")},
    )
    export_enabled = fields.Boolean(
        load_default=False,
        metadata={
            "label": N_("Send visits to SATUSEHAT"),
            "description": N_(
                "Each recorded visit is queued as a FHIR R4 bundle and sent by 'balai puskesmas send'. It can be switched on once every puskesmas, clinic and clinician has its SATUSEHAT id (Organization, Location, Practitioner): the page Sending to SATUSEHAT lists what is missing."  # noqa: E501
            ),
        },
    )
    satusehat_server = Text(
        load_default="staging",
        validate=OfferedServer(),
        metadata={
            "label": N_("SATUSEHAT server"),
            "description": N_(
                "The servers offered are set by this installation's operator: the Ministry of Health's production and staging servers unless they set others. Staging is the default; production is chosen by the region."  # noqa: E501
            ),
        },
    )
    satusehat_client_id = Text(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"label": N_("SATUSEHAT client ID")},
    )
    satusehat_client_secret = Secret(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"label": N_("SATUSEHAT client secret")},
    )
    bundle_retention_days = Integer(
        load_default=30,
        validate=validate.Range(min=0, max=365),
        metadata={
            "label": N_("Days a sent bundle is kept"),
            "description": N_(
                "A bundle holds the patient's NIK and clinical data: it is deleted this many days after SATUSEHAT accepted it (0: at the next run of 'balai puskesmas send'). The export and its outcome stay."  # noqa: E501
            ),
        },
    )
    max_attempts = Integer(
        load_default=8,
        min=1,
        max=50,
        metadata={
            "label": N_("Attempts before a bundle is marked failed"),
            "description": N_("Waits double after each failure, from 1 minute up to 6 hours."),
        },
    )

    @validates_schema
    def _ids_before_sending(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        """Sending is switched on only once SATUSEHAT's ids are all entered: without
        them every visit would be held (or, sent, refused)."""
        if data.get("export_enabled") and has_request_context() and g.get("tenant"):
            _refuse_without_ids()


def _refuse_without_ids() -> None:
    """Refuse to switch sending on while a puskesmas, clinic or clinician of the region
    has no SATUSEHAT id (read in the admin's request; left alone when sending is on
    already, so other settings can still be changed: those visits are held)."""
    from balai.db import db
    from balai.settings import plugin_settings
    from balai_puskesmas.readiness import missing_ids

    if plugin_settings("puskesmas").get("export_enabled"):
        return
    missing = missing_ids(db.session)
    if not missing:
        return
    parts = []
    if missing.facilities:
        number = len(missing.facilities)
        parts.append(
            ngettext(
                "%(num)d puskesmas without an Organization id",
                "%(num)d puskesmas without an Organization id",
                number,
            )
        )
    if missing.clinics:
        number = len(missing.clinics)
        parts.append(
            ngettext(
                "%(num)d clinic without a Location id",
                "%(num)d clinics without a Location id",
                number,
            )
        )
    if missing.clinicians:
        number = len(missing.clinicians)
        parts.append(
            ngettext(
                "%(num)d clinician without a Practitioner id",
                "%(num)d clinicians without a Practitioner id",
                number,
            )
        )
    raise ValidationError(
        gettext(
            "Sending cannot be switched on yet: SATUSEHAT refuses visits without the ids "
            "it gave the puskesmas, its clinics and clinicians. Missing: %(missing)s. "
            "The page Sending to SATUSEHAT lists them.",
            missing="; ".join(parts),
        ),
        field_name="export_enabled",
    )
