"""List endpoints: ``?page=`` and ``?per_page=``, one page of results, ``?sort=``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, TypedDict

from flask import current_app
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate, validates
from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import ColumnElement

from balai.db import db
from balai.fields import Integer, PageNumber, Text


class PageArgs(Schema):
    """Query arguments of a list endpoint: ``page`` and ``per_page``."""

    page = PageNumber()
    per_page = Integer(
        min=1,
        load_default=lambda: current_app.config["API_PAGE_SIZE"],
        metadata={"description": "Items per page (the server's maximum applies)"},
    )

    @validates("per_page")
    def _at_most_max(self, value: int, **_kwargs: Any) -> None:
        limit = current_app.config["API_MAX_PAGE_SIZE"]
        if value > limit:
            raise ValidationError(_("Must be at most %(limit)s.", limit=limit))


class Page(Schema):
    """One page of a list; :func:`page_of` adds the ``items`` field."""

    page = PageNumber(required=True)
    per_page = Integer(min=1, required=True)
    total = Integer(min=0, required=True, metadata={"description": "Items on all pages"})
    pages = Integer(min=0, required=True, metadata={"description": "Number of pages"})


@cache
def page_of(item: type[Schema]) -> type[Page]:
    """The :class:`Page` schema whose ``items`` are ``item``s (one class per item schema)."""
    name = item.__name__.removesuffix("Schema") + "PageSchema"
    return Page.from_dict({"items": fields.List(fields.Nested(item), required=True)}, name=name)


class PageDict(TypedDict):
    items: list[Any]
    page: int
    per_page: int
    total: int
    pages: int


def paginate(
    query: Select[Any], page: int, per_page: int, *, session: Session | None = None
) -> PageDict:
    """Run ``query`` for one page, counting all its rows (the tenant filter applies).

    On ``db.session``, or on ``session`` (a service's, a job's). Give ``query`` a total
    order (e.g. end with the primary key) so pages do not overlap. A page below 1 is
    page 1. An empty list has ``pages`` 0, and its page 1 is answered, with no items.
    """
    session = db.session if session is None else session
    page = max(page, 1)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {
        "items": list(rows),
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page),
    }


def past_the_end(found: PageDict) -> bool:
    """Whether ``found`` is a page after the last one (a web page answers 404 then).

    Page 1 is never past the end, even of an empty list.
    """
    return found["page"] > max(found["pages"], 1)


def sort_field(allowed: Iterable[str], default: str) -> Text:
    """A ``sort`` query field accepting ``name`` or ``-name`` for each allowed name."""
    names = list(allowed)
    choices = [*names, *(f"-{name}" for name in names)]
    return Text(load_default=default, validate=validate.OneOf(choices))


def sorted_by(
    query: Select[Any],
    sort: str,
    columns: Mapping[str, ColumnElement[Any] | InstrumentedAttribute[Any]],
) -> Select[Any]:
    """Order ``query`` by an allowed ``sort`` value (``-`` first means descending)."""
    column = columns[sort.removeprefix("-")]
    return query.order_by(column.desc() if sort.startswith("-") else column.asc())
