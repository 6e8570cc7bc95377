"""The plugin's per-tenant settings (region admin → Plugins → Pengaduan → Settings)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from balai.fields import Integer, Text
from balai.i18n import N_
from balai.settings import LimitSetting

__all__ = ["ComplaintSettings"]


class ComplaintSettings(Schema):
    """Deadlines follow SP4N-LAPOR!: forwarded within 3 working days, followed up within 5."""

    forward_days = Integer(
        load_default=3,
        min=1,
        max=30,
        metadata={
            "label": N_("Working days to forward a complaint"),
            "description": N_("Counted from the day after it was received."),
        },
    )
    followup_days = Integer(
        load_default=5,
        min=1,
        max=60,
        metadata={
            "label": N_("Working days to follow up a forwarded complaint"),
            "description": N_("Counted from the day after it was forwarded to the department."),
        },
    )
    reopen_days = Integer(
        load_default=14,
        min=0,
        max=90,
        metadata={
            "label": N_("Days a reporter may reopen a resolved complaint"),
            "description": N_("0 means a resolved complaint cannot be reopened."),
        },
    )
    duplicate_radius_m = Integer(
        load_default=200,
        min=10,
        max=5000,
        metadata={
            "label": N_("Distance for possible duplicates (metres)"),
            "description": N_("Open complaints of the same category this close are shown."),
        },
    )
    duplicate_days = Integer(
        load_default=30,
        min=1,
        max=365,
        metadata={"label": N_("Look back this many days for possible duplicates")},
    )
    max_photos = Integer(
        load_default=3,
        min=0,
        max=10,
        metadata={"label": N_("Photos per complaint")},
    )
    max_photo_kb = Integer(
        load_default=5120,
        min=100,
        max=20480,
        metadata={"label": N_("Largest photo (KB)")},
    )
    submit_limit_address = LimitSetting(
        load_default="10 per hour",
        validate=validate.Length(max=100),
        metadata={
            "label": N_("New complaints per connection (web form and Open311)"),
            "description": N_(
                'For example "10 per hour"; empty: no limit. Many phones can share one address on mobile networks: do not set it too low.'  # noqa: E501
            ),
        },
    )
    submit_limit_recipient = LimitSetting(
        load_default="5 per day",
        validate=validate.Length(max=100),
        metadata={
            "label": N_("New complaints per reporter e-mail address or phone number"),
            "description": N_(
                'Each one sends a confirmation there; for example "5 per day"; empty: no limit.'
            ),
        },
    )
    open311_contact = Text(
        load_default="",
        validate=validate.Length(max=300),
        metadata={
            "label": N_("Open311 contact"),
            "description": N_(
                "How developers reach the people who run this region's Open311 service (an e-mail address, a phone number), shown in its discovery file; empty: the region's name and the address of its complaints page."  # noqa: E501
            ),
        },
    )
    open311_test = fields.Boolean(
        load_default=False,
        metadata={
            "label": N_("Open311 is for testing only"),
            "description": N_(
                "On: the discovery file calls the endpoint a test one, whose requests are not acted upon."  # noqa: E501
            ),
        },
    )
