"""The plugin's per-tenant settings (region admin → Plugins → Pengaduan → Settings)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from balai.fields import Integer, Text
from balai.i18n import N_
from balai.settings import LimitSetting
from balai_pengaduan.geo import BoundarySetting
from balai_pengaduan.photos import MAX_UPLOAD_MB

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
    work_days = Integer(
        load_default=14,
        min=1,
        max=120,
        metadata={
            "label": N_("Working days to finish the work on a complaint"),
            "description": N_(
                "Counted from the day after work started; an unfinished complaint is overdue after it."  # noqa: E501
            ),
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
    max_photo_mb = Integer(
        load_default=MAX_UPLOAD_MB,
        min=1,
        max=MAX_UPLOAD_MB,
        metadata={
            "label": N_("Largest photo file accepted (MB)"),
            "description": N_(
                "Photos are shrunk on the server to 2048 pixels, so big phone photos are accepted; a larger file is refused. At most 25 MB."  # noqa: E501
            ),
        },
    )
    verify_before_public = fields.Boolean(
        load_default=False,
        metadata={
            "label": N_("Publish complaints only after verification"),
            "description": N_(
                "On: a new complaint stays off the public list, map, feeds and Open311 lists until an officer verifies it (as SP4N-LAPOR! does); its reporter still follows it with the tracking code."  # noqa: E501
            ),
        },
    )
    boundary = BoundarySetting(
        load_default="",
        validate=validate.Length(max=1_000_000),
        metadata={
            "label": N_("Boundary of the region (GeoJSON)"),
            "description": N_(
                "A GeoJSON Polygon or MultiPolygon (or a Feature or FeatureCollection of them), longitude first. When set, a point outside it is refused. Empty: any point is accepted."  # noqa: E501
            ),
        },
    )
    boundary_from_areas = fields.Boolean(
        load_default=False,
        metadata={
            "label": N_("The areas together are the region's boundary"),
            "description": N_(
                "On, with no boundary above: a point that lies in none of the complaint areas (Complaint categories, Areas) is refused. Leave it off while the areas do not cover the whole region."  # noqa: E501
            ),
        },
    )
    sms_number = Text(
        load_default="",
        validate=validate.Length(max=30),
        metadata={
            "label": N_("Number citizens send complaint SMS to"),
            "description": N_(
                "Shown with the SMS format and the category codes once the region's SMS webhook is set up (Administration, SMS). Empty: the SMS instructions are not shown."  # noqa: E501
            ),
        },
    )
    max_after_photos = Integer(
        load_default=5,
        min=0,
        max=10,
        metadata={
            "label": N_("Photos of the work done per complaint"),
            "description": N_("Officers attach them while working on or resolving a complaint."),
        },
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
