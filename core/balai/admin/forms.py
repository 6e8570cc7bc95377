"""marshmallow schemas for the admin forms, with translatable error messages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates,
)
from marshmallow import validates_schema as schema_check

from balai.fields import Text
from balai.forms import FormSchema
from balai.permissions import RESERVED_ROLES, ROLES
from balai.tenancy import DEFAULT_TIMEZONE, TIMEZONES
from balai.themes import COLOUR

__all__ = [
    "COLOUR_NAMES",
    "EDITABLE_ROLES",
    "AppearanceForm",
    "CustomRoleForm",
    "DepartmentForm",
    "DepartmentNameForm",
    "NewCustomRoleForm",
    "NewUserForm",
    "UserForm",
    "grant_key",
    "grant_schema",
]

COLOUR_NAMES = ("primary", "accent", "background")
EDITABLE_ROLES = ("warga", "opd")  # region admins always hold every permission
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,29}$")
ROLE_SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,19}$")
REQUIRED = {"required": _l("This field is required.")}


def at_most(length: int) -> Any:
    return _l("At most %(n)d characters.", n=length)


def text(max_length: int, *, required: bool = True, **kwargs: Any) -> Text:
    """A text field with translated messages; blank input counts as missing."""
    if not required:
        kwargs["load_default"] = None
    return Text(
        required=required,
        validate=validate.Length(max=max_length, error=at_most(max_length)),
        error_messages=REQUIRED,
        **kwargs,
    )


def checkbox() -> fields.Boolean:
    """A checkbox: absent (unticked) means ``False``."""
    return fields.Boolean(load_default=False)


# -- users and departments -------------------------------------------------------


class UserForm(FormSchema):
    """Editing a user: name, role and (for officers) department."""

    name = text(200)
    role = Text(
        required=True,
        validate=validate.OneOf(ROLES, error=_l("Choose one of the listed roles.")),
        error_messages=REQUIRED,
    )
    department = text(30, required=False)

    @schema_check
    def _officers_need_a_department(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("role") == "opd" and not data.get("department"):
            raise ValidationError(
                _("Choose the officer's department (add departments under Departments)."),
                "department",
            )

    @post_load
    def _strip(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["name"] = data["name"].strip()
        if data.get("role") != "opd":
            data["department"] = None  # only officers belong to a department
        return data


class NewUserForm(UserForm):
    """Inviting a user: also the e-mail address or mobile number the invitation goes
    to (no password: the invitee chooses their own)."""

    email = text(254)


class DepartmentNameForm(FormSchema):
    """Renaming a department (*OPD*)."""

    name = text(200)

    @post_load
    def _strip(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["name"] = data["name"].strip()
        return data


class DepartmentForm(DepartmentNameForm):
    """Creating a department: a short code (e.g. ``DINKES``) and its name."""

    code = Text(
        required=True,
        validate=validate.Regexp(
            CODE_RE,
            error=_l(
                "Use 1 to 30 letters, digits, hyphens or underscores, starting with a letter "
                "or digit."
            ),
        ),
        error_messages=REQUIRED,
    )


# -- roles -------------------------------------------------------------------------


def grant_key(role: str, permission: str) -> str:
    """The checkbox name of one cell of the role matrix."""
    return f"{role}:{permission}"


def grant_schema(permissions: Iterable[str], locked: Mapping[str, bool] | None = None) -> Schema:
    """A schema with one checkbox per editable role and permission.

    Fields are keyed by position because marshmallow reads dots in field names
    as nested paths; ``data_key`` keeps the readable checkbox name. An unticked
    checkbox sends nothing, so an absent box means "not held", except for the
    ``locked`` cells (checkbox name → held now) the page shows disabled: a browser
    does not send those at all, so absent means unchanged.
    """
    locked = locked or {}
    declared: dict[str, fields.Field] = {}
    for index, name in enumerate(permissions):
        for role in EDITABLE_ROLES:
            key = grant_key(role, name)
            declared[f"{role}_{index}"] = fields.Boolean(
                load_default=locked.get(key, False), data_key=key
            )
    return FormSchema.from_dict(declared, name="RoleMatrixForm")()


class CustomRoleForm(FormSchema):
    """A custom role's name and description (its permissions are checked by the view,
    against the permissions declared here)."""

    name = text(100)
    description = text(500, required=False)

    @post_load
    def _strip(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["name"] = data["name"].strip()
        data["description"] = (data.get("description") or "").strip()
        return data


class NewCustomRoleForm(CustomRoleForm):
    """Creating a custom role: also its slug, which never changes afterwards."""

    slug = Text(
        required=True,
        validate=validate.Regexp(
            ROLE_SLUG_RE,
            error=_l("Use 2 to 20 lowercase letters, digits or hyphens, starting with a letter."),
        ),
        error_messages=REQUIRED,
    )

    @pre_load
    def _lower(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if isinstance(data.get("slug"), str):
            data = {**data, "slug": data["slug"].strip().lower()}
        return data

    @validates("slug")
    def _not_built_in(self, value: str, **kwargs: Any) -> None:
        if value in RESERVED_ROLES:
            raise ValidationError(
                _("%(slug)s is the slug of a built-in role; choose another.", slug=value)
            )


# -- appearance ------------------------------------------------------------------


def _luminance(hex_colour: str) -> float:
    """Relative luminance (WCAG 2.1) of ``#rrggbb``."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two colours, from 1 (none) to 21 (black on white)."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def colour() -> Text:
    return Text(
        load_default=None,
        validate=validate.Regexp(COLOUR, error=_l("Use a colour like #0b5d7a.")),
    )


class AppearanceForm(FormSchema):
    """The region's name, theme and colours (the logo is checked separately)."""

    name = text(200)
    theme = Text(required=True, error_messages=REQUIRED)
    primary = colour()
    accent = colour()
    background = colour()
    timezone = Text(load_default=DEFAULT_TIMEZONE, validate=validate.OneOf(list(TIMEZONES)))
    reset_colours = checkbox()
    remove_logo = checkbox()
    self_registration = checkbox()

    def __init__(self, themes: Iterable[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.themes = frozenset(themes)

    @validates("theme")
    def _installed_theme(self, value: str, **kwargs: Any) -> None:
        if value not in self.themes:
            raise ValidationError(_("Choose one of the installed themes."))

    @schema_check
    def _readable(self, data: dict[str, Any], **kwargs: Any) -> None:
        """White text must stay readable on the main colour, dark text on the background."""
        if data.get("primary") and contrast(data["primary"], "#ffffff") < 3:
            raise ValidationError(
                _("White text would be hard to read on this colour; choose a darker one."),
                "primary",
            )
        if data.get("background") and contrast(data["background"], "#1b1f23") < 4.5:
            raise ValidationError(
                _("Text would be hard to read on this background; choose a lighter one."),
                "background",
            )

    @post_load
    def _normalise(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["name"] = data["name"].strip()
        for name in COLOUR_NAMES:
            if data.get(name):
                data[name] = data[name].lower()
        return data
