"""Open311 GeoReport v2 for the tenant, in XML and JSON, at ``/pengaduan/open311/v2/``,
with its discovery file at ``/pengaduan/open311/discovery.json`` (and ``.xml``).

Follows the frozen specification (wiki.open311.org/GeoReport_v2) so that
existing clients work unchanged: the six methods, its element names and order,
W3C UTC times, its error list, and its HTTP codes (404 for what does not exist,
403 for a missing or wrong ``api_key``, 400 for anything else).

Decisions where the specification leaves room:

- Each region's host is its own endpoint, so ``jurisdiction_id`` is optional
  ("implementations can ignore this parameter ... if the implementation only
  serves one jurisdiction"). When given, it must name this region: one of its
  host names (with or without ``www.``) or its slug; anything else is 404.
- ``service_code`` is the category code; categories have no extra attributes,
  so ``metadata`` is ``false`` and the service definition has no attributes.
- Service requests get their id at once (``type`` ``realtime``), so no token is
  ever issued and ``tokens/<token>`` always answers 404.
- ``service_request_id`` is the complaint's public number (as in the citizens'
  page ``/pengaduan/<id>``), never its tracking code: that code lets the reporter
  reopen the complaint, so only the submitting client learns it, in the POST
  answer's ``service_notice``. JSON carries it as a string (``"42"``), as XML
  carries text: the specification does not make it a number, and clients build
  URLs from it. On input it is the same digits either way.
- ``start_date`` and ``end_date`` must carry their zone (``Z`` or ``+07:00``), as the
  specification requires: one without is refused rather than read in a zone the
  client may not have meant.
- Lists never carry personal data, nor complaints rejected as spam or abuse
  (hidden on the citizens' pages too); a POST with no name or contact is anonymous.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, g, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import format_date, get_timezone
from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from balai import ratelimit
from balai.db import db, utcnow
from balai.fields import MAX_DATE, MIN_DATE, Id, in_date_range, load_int
from balai.permissions import public
from balai.rules import rule_message
from balai.tenancy import TenantInfo
from balai.text import xml_document
from balai.web import error_title, register_error_format
from balai_pengaduan import limiting, runtime, services
from balai_pengaduan.clients import find_client
from balai_pengaduan.cors import allow_reading
from balai_pengaduan.models import Category, Complaint, Photo
from balai_pengaduan.views import public_condition
from balai_pengaduan.workflow import CLOSED_STATUSES, OPEN_STATUSES, open311_status

__all__ = ["bp"]

PREFIX = "/pengaduan/open311"  # discovery here, GeoReport v2 under /v2
bp = Blueprint("pengaduan_open311", __name__, url_prefix=PREFIX)

MAX_RESULTS = 1000  # "first 1000 requests returned"
DEFAULT_SPAN = timedelta(days=90)  # "may not span more than 90 days"
MAX_DESCRIPTION = 4000  # "free form text limited to 4,000 characters"
MAX_MEDIA_URL = 500
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
# Element names of list items in XML (the Spark convention maps them to JSON arrays).
XML_ITEMS = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"  # its token in discovery files
FORMATS = ["text/xml", "application/json"]
STATUS_GROUPS = {"open": OPEN_STATUSES, "closed": CLOSED_STATUSES}


bp.after_request(allow_reading)  # public GETs are readable from any origin; POST is not


@bp.record_once
def _set_up(state: BlueprintSetupState) -> None:
    """Open311 clients post forms without a CSRF token (the ``api_key`` authenticates
    them), and read every error under the prefix in the specification's format."""
    state.app.extensions["csrf"].exempt(bp)
    register_error_format(state.app, PREFIX, _http_error)


# -- errors -------------------------------------------------------------------------


class Open311Error(Exception):
    """An error to answer in the specification's format, with its HTTP status."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


@bp.errorhandler(Open311Error)
def _open311_error(exc: Open311Error) -> Response:
    return _errors(exc.status, exc.description)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    """Every other error under the Open311 prefix, in its format: 404 of a region
    without the plugin, of an unknown host or path, 405, 413, 429, 500 ... (registered
    with the core for the whole prefix too, so routes that do not match are covered).
    The headers the error carries stay: ``Allow`` of a 405, ``Retry-After`` of a 429."""
    status = exc.code or 500
    response = _errors(status, _describe(exc, status))
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return allow_reading(response)  # a page reading the API elsewhere sees the error too


def _describe(exc: HTTPException, status: int) -> str:
    """What went wrong, in words a client's developer can act on."""
    if status == 404 and exc.description == "unknown-host":
        return _("This address does not belong to any region on this server.")
    if isinstance(exc, MethodNotAllowed):
        allowed = ", ".join(sorted(set(exc.valid_methods or ()) - {"HEAD", "OPTIONS"}))
        return _(
            "%(method)s is not allowed here; use %(allowed)s.",
            method=request.method,
            allowed=allowed,
        )
    data = getattr(exc, "data", None)
    message = data.get("message") if isinstance(data, dict) else None
    if isinstance(message, str):
        return message
    if exc.description and exc.description != type(exc).description:
        return str(exc.description)  # said by whoever raised it: a limit's reason, ...
    if status == 404:
        return _("There is no Open311 method at this address.")
    return error_title(status)


def _errors(status: int, description: str) -> Response:
    items = [{"code": status, "description": description}]
    response = _respond(_format(), "errors", "error", items)
    response.status_code = status
    return response


def _format() -> str:
    """The format the URL asks for by its extension; JSON when it names neither."""
    wanted = (request.view_args or {}).get("fmt")
    if wanted in CONTENT_TYPES:
        return str(wanted)
    return "xml" if request.path.endswith(".xml") else "json"


# -- rendering ------------------------------------------------------------------------


def _respond(fmt: str, root: str, item: str, items: Sequence[Mapping[str, Any]]) -> Response:
    """A list: ``<root><item>…</item></root>`` in XML, an array of objects in JSON."""
    if fmt == "json":
        return _body(fmt, json.dumps(list(items), ensure_ascii=False).encode())
    element = ET.Element(root)
    for values in items:
        _fill(ET.SubElement(element, item), values)
    return _body(fmt, xml_document(element))


def _respond_object(fmt: str, root: str, values: Mapping[str, Any]) -> Response:
    """One object: ``<root>…</root>`` in XML, a JSON object."""
    if fmt == "json":
        return _body(fmt, json.dumps(dict(values), ensure_ascii=False).encode())
    element = ET.Element(root)
    _fill(element, values)
    return _body(fmt, xml_document(element))


def _body(fmt: str, data: bytes) -> Response:
    return Response(data, content_type=CONTENT_TYPES[fmt])


def _fill(element: ET.Element, values: Mapping[str, Any]) -> None:
    """Child elements in the order of ``values``; None is an empty element."""
    for name, value in values.items():
        child = ET.SubElement(element, name)
        if isinstance(value, list):
            for item in value:
                entry = ET.SubElement(child, XML_ITEMS[name])
                if isinstance(item, Mapping):
                    _fill(entry, item)
                else:
                    entry.text = _text(item)
        elif value is not None:
            child.text = _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _w3c(moment: datetime | None) -> str | None:
    """``2026-11-22T10:00:00Z``: the W3C profile of ISO 8601, always in UTC."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- jurisdiction ---------------------------------------------------------------------


def jurisdiction_ids(tenant: TenantInfo) -> frozenset[str]:
    """The names a client may give as ``jurisdiction_id`` for this region."""
    hosts = {host.removeprefix("www.") for host in tenant.domains}
    return frozenset({tenant.slug, *tenant.domains, *hosts})


def _check_jurisdiction() -> None:
    given = (request.values.get("jurisdiction_id") or "").strip().lower()
    if given and given not in jurisdiction_ids(g.tenant):
        raise Open311Error(404, _("jurisdiction_id %(id)s was not found.", id=given))


# -- discovery ------------------------------------------------------------------------


@bp.route("/discovery.<any(json, xml):fmt>")
@public
def discovery(fmt: str) -> Response:
    """Service Discovery (wiki.open311.org/Service_Discovery): this region's GeoReport v2
    endpoint, on its primary domain, and what it speaks.

    The file is made for each request from the region's categories and settings, so
    its ``changeset`` is the time of the answer: a client comparing it re-reads the
    service list whenever it looks, and never keeps a stale one.
    """
    settings = runtime.settings()
    changeset = _w3c(utcnow())
    contact = str(settings["open311_contact"]).strip() or _(
        "%(region)s: %(url)s", region=g.tenant.name, url=url_for("pengaduan.index", _external=True)
    )
    endpoint = {
        "specification": SPECIFICATION,
        "url": _endpoint_url(),
        "changeset": changeset,
        "type": "test" if settings["open311_test"] else "production",
        "formats": FORMATS,
    }
    key_service = _(
        "Reading needs no key. Posting a service request needs an API key: ask the "
        "administrators of %(region)s for one for your application (%(contact)s).",
        region=g.tenant.name,
        contact=contact,
    )
    document = {
        "changeset": changeset,
        "contact": contact,
        "key_service": key_service,
        "endpoints": [endpoint],
    }
    return _respond_object(fmt, "discovery", document)


def _endpoint_url() -> str:
    """``https://<primary domain>/pengaduan/open311/v2``: built as every link is, on the
    region's own domain whatever ``Host`` the request claimed, less the method's name."""
    return url_for(".service_list", fmt="xml", _external=True).rsplit("/", 1)[0]


# -- services -------------------------------------------------------------------------


def _active_categories() -> Select[tuple[Category]]:
    return select(Category).where(Category.active.is_(True))


def _category(code: str) -> Category:
    code = code.strip()
    if not code:
        raise Open311Error(400, _("service_code was not provided."))
    found = db.session.scalar(_active_categories().where(func.upper(Category.code) == code.upper()))
    if found is None:
        raise Open311Error(404, _("service_code %(code)s was not found.", code=code))
    return found


def _service(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description,
        "metadata": False,  # no attributes beyond the standard fields
        "type": "realtime",
        "keywords": "",
        "group": category.group,
    }


@bp.route("/v2/services.<any(json, xml):fmt>")
@public
def service_list(fmt: str) -> Response:
    """GET Service List: the region's active complaint categories."""
    _check_jurisdiction()
    stmt = _active_categories().order_by(Category.position, Category.name, Category.id)
    return _respond(fmt, "services", "service", [_service(c) for c in db.session.scalars(stmt)])


@bp.route("/v2/services/<service_code>.<any(json, xml):fmt>")
@public
def service_definition(service_code: str, fmt: str) -> Response:
    """GET Service Definition: the category exists and asks for no extra attributes."""
    _check_jurisdiction()
    category = _category(service_code)
    return _respond_object(
        fmt, "service_definition", {"service_code": category.code, "attributes": []}
    )


# -- service requests: creating ---------------------------------------------------------


@bp.route("/v2/requests.<any(json, xml):fmt>", methods=["POST"])
@public
def create_request(fmt: str) -> Response:
    """POST Service Request: a complaint through the ``open311`` channel."""
    _check_jurisdiction()
    client = find_client(db.session, request.form.get("api_key"))
    if client is None:
        raise Open311Error(403, _("Missing or invalid api_key."))
    # The limits before the fields, as on the web form: a client over its limit is
    # refused before anything it sent is looked at.
    name, email, phone = _reporter(request.form)
    reservation = limiting.reserve(
        email=email, phone=phone, anonymous=_privacy(name, email, phone) == "anonymous"
    )
    if not reservation.allowed:
        outcome = reservation.outcome
        raise ratelimit.TooManyRequests(outcome, limiting.refusal_message(outcome))
    try:
        category = _category(request.form.get("service_code", ""))
        submission = _submission(request.form, category, client.id)
        complaint = services.submit(db.session, submission, runtime.context())
    except services.ComplaintError as exc:
        db.session.rollback()
        reservation.give_back()
        raise Open311Error(400, rule_message(exc)) from exc
    except Open311Error:
        reservation.give_back()
        raise
    runtime.announce_submitted(complaint)
    db.session.commit()
    notice = _(
        "Received. Your tracking code is %(code)s: keep it to follow the complaint. "
        "It will be verified and forwarded to the department responsible by %(day)s.",
        code=complaint.tracking_code,
        day=format_date(complaint.forward_due, format="long"),
    )
    created = {
        "service_request_id": str(complaint.id),
        "service_notice": notice,
        "account_id": None,  # accounts of other systems are not linked
    }
    return _respond(fmt, "service_requests", "request", [created])


def _submission(
    form: MultiDict[str, str], category: Category, client_id: int
) -> services.Submission:
    latitude, longitude = _point(form)
    address = form.get("address_string", "").strip()
    if latitude is None and not address:
        if form.get("address_id", "").strip():
            raise Open311Error(
                400, _("address_id is not supported here; send lat and long, or address_string.")
            )
        raise Open311Error(400, _("A location is required: lat and long, or address_string."))
    name, email, phone = _reporter(form)
    return services.Submission(
        category_code=category.code,
        description=_description(form),
        address=address,
        latitude=latitude,
        longitude=longitude,
        privacy=_privacy(name, email, phone),
        channel="open311",
        reporter_name=name,
        reporter_email=email,
        reporter_phone=phone,
        api_client_id=client_id,
    )


def _reporter(form: MultiDict[str, str]) -> tuple[str | None, str | None, str | None]:
    """The reporter's name, e-mail address and phone number as sent (None when not)."""
    name = " ".join(n for n in (form.get("first_name", ""), form.get("last_name", "")) if n.strip())
    email, phone = form.get("email", "").strip(), form.get("phone", "").strip()
    return name.strip() or None, email or None, phone or None


def _privacy(name: str | None, email: str | None, phone: str | None) -> str:
    """A request with no name or contact is anonymous."""
    return "public" if name or email or phone else "anonymous"


def _point(form: MultiDict[str, str]) -> tuple[float | None, float | None]:
    lat, long = form.get("lat", "").strip(), form.get("long", "").strip()
    if not lat and not long:
        return None, None
    if not (lat and long):
        raise Open311Error(400, _("lat and long must be sent together."))
    try:
        return float(lat), float(long)
    except ValueError as exc:
        raise Open311Error(400, _("lat and long must be WGS84 decimal degrees.")) from exc


def _description(form: MultiDict[str, str]) -> str:
    """The description, with ``media_url`` kept as its last line (photos are not fetched)."""
    text = form.get("description", "").strip()
    if not text:
        raise Open311Error(400, _("description was not provided."))
    if len(text) > MAX_DESCRIPTION:
        raise Open311Error(400, _("description is limited to 4,000 characters."))
    media = form.get("media_url", "").strip()
    if media:
        if not media.startswith(("https://", "http://")) or len(media) > MAX_MEDIA_URL:
            raise Open311Error(400, _("media_url must be an http or https URL."))
        text = f"{text}\n\nmedia_url: {media}"
    return text


# -- service requests: reading ----------------------------------------------------------


@bp.route("/v2/requests.<any(json, xml):fmt>", methods=["GET"])
@public
def request_list(fmt: str) -> Response:
    """GET Service Requests: newest first, at most 1000, 90 days unless asked otherwise."""
    _check_jurisdiction()
    stmt = _requests_query(request.args).limit(MAX_RESULTS)
    return _respond(fmt, "service_requests", "request", _requests(stmt))


@bp.route("/v2/requests/<service_request_id>.<any(json, xml):fmt>")
@public
def request_detail(service_request_id: str, fmt: str) -> Response:
    """GET Service Request: one complaint by its id."""
    _check_jurisdiction()
    found = _requests(_by_ids([service_request_id])) if _is_id(service_request_id) else []
    if not found:
        raise Open311Error(
            404, _("service_request_id %(id)s was not found.", id=service_request_id)
        )
    return _respond(fmt, "service_requests", "request", found)


@bp.route("/v2/tokens/<token>.<any(json, xml):fmt>")
@public
def token(token: str, fmt: str) -> Response:
    """GET service_request_id from a token: ids are given at once, so no token exists."""
    _check_jurisdiction()
    raise Open311Error(404, _("token %(token)s was not found.", token=token))


def _public() -> Select[tuple[Complaint]]:
    """Complaints the public may see, as on the citizens' pages: rejected ones stay off
    (and unverified ones, with ``verify_before_public``)."""
    return select(Complaint).where(public_condition())


def _is_id(text: str) -> bool:
    """Digits of a number an id can be: a larger one names no complaint (and no row)."""
    return text.isascii() and text.isdigit() and load_int(text, Id()) is not None


def _by_ids(ids: Iterable[str]) -> Select[tuple[Complaint]]:
    wanted = [int(i) for i in ids if _is_id(i)][:MAX_RESULTS]
    return _public().where(Complaint.id.in_(wanted))


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _requests_query(args: MultiDict[str, str]) -> Select[tuple[Complaint]]:
    """The complaints a GET Service Requests asks for; ``service_request_id`` overrides all."""
    ids = _csv(args.get("service_request_id"))
    if ids:
        if not all(i.isascii() and i.isdigit() for i in ids):
            raise Open311Error(400, _("service_request_id must be ids separated by commas."))
        return _by_ids(ids).order_by(Complaint.submitted_at.desc(), Complaint.id.desc())
    start, end = _date_range(args.get("start_date"), args.get("end_date"))
    stmt = _public().where(Complaint.submitted_at >= start, Complaint.submitted_at <= end)
    service_codes = [c.upper() for c in _csv(args.get("service_code"))]
    if service_codes:
        chosen = select(Category.id).where(func.upper(Category.code).in_(service_codes))
        stmt = stmt.where(Complaint.category_id.in_(chosen))
    statuses = _statuses(_csv(args.get("status")))
    if statuses is not None:
        stmt = stmt.where(Complaint.status.in_(sorted(statuses)))
    return stmt.order_by(Complaint.submitted_at.desc(), Complaint.id.desc())


def _statuses(asked: list[str]) -> frozenset[str] | None:
    unknown = [s for s in asked if s not in STATUS_GROUPS]
    if unknown:
        raise Open311Error(400, _("status must be open or closed."))
    if not asked or set(asked) == set(STATUS_GROUPS):
        return None
    return STATUS_GROUPS[asked[0]]


def _date_range(start_text: str | None, end_text: str | None) -> tuple[datetime, datetime]:
    """Both ends, defaulting to 90 days; a longer or reversed span is refused."""
    start = _moment(start_text, "start_date")
    end = _moment(end_text, "end_date")
    if start is None and end is None:
        end = utcnow()
    if start is None:
        start = end - DEFAULT_SPAN  # type: ignore[operator]
    if end is None:
        end = start + DEFAULT_SPAN
    if end < start:
        raise Open311Error(400, _("end_date must not be before start_date."))
    if end - start > DEFAULT_SPAN:
        raise Open311Error(400, _("start_date and end_date may not span more than 90 days."))
    return start, end


def _moment(text: str | None, name: str) -> datetime | None:
    # A W3C time has no space: one here is a "+" of an offset the client left unencoded.
    text = (text or "").strip().replace(" ", "+")
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Open311Error(
            400, _("%(name)s must be a W3C date and time, e.g. 2010-01-01T00:00:00Z.", name=name)
        ) from exc
    if moment.tzinfo is None:  # the specification requires a zone: no guessing which one
        raise Open311Error(
            400,
            _(
                "%(name)s needs a time zone, e.g. %(example)s.",
                name=name,
                example="2026-08-17T00:00:00+07:00",
            ),
        )
    if not in_date_range(moment):
        raise Open311Error(
            400,
            _(
                "%(name)s must be from %(min)s to %(max)s.",
                name=name,
                min=MIN_DATE.isoformat(),
                max=MAX_DATE.isoformat(),
            ),
        )
    return moment.astimezone(UTC)


def _requests(stmt: Select[tuple[Complaint]]) -> list[dict[str, Any]]:
    options = (selectinload(Complaint.events), selectinload(Complaint.photos))
    zone = ZoneInfo(str(get_timezone()))
    return [_request(c, zone) for c in db.session.scalars(stmt.options(*options))]


def _request(complaint: Complaint, zone: ZoneInfo) -> dict[str, Any]:
    """A complaint as a service request: no reporter's name, e-mail or phone, ever."""
    last = complaint.events[-1] if complaint.events else None
    return {
        "service_request_id": str(complaint.id),
        "status": open311_status(complaint.status),
        "status_notes": (last.note or None) if last else None,
        "service_name": complaint.category.name,
        "service_code": complaint.category.code,
        "description": complaint.description,
        "agency_responsible": complaint.department.name if complaint.department else None,
        "service_notice": None,
        "requested_datetime": _w3c(complaint.submitted_at),
        "updated_datetime": _w3c(last.at if last else complaint.updated_at),
        "expected_datetime": _w3c(_end_of(_deadline(complaint), zone)),
        "address": complaint.address or None,
        "address_id": None,
        "zipcode": None,
        "lat": complaint.latitude,
        "long": complaint.longitude,
        "media_url": _media_url(complaint.photos[0]) if complaint.photos else None,
    }


def _deadline(complaint: Complaint) -> date | None:
    """The deadline running now: forwarding, then follow-up; none once closed."""
    if complaint.status in ("received", "verified"):
        return complaint.forward_due
    if complaint.status in ("forwarded", "in_progress"):
        return complaint.followup_due
    return None


def _end_of(day: date | None, zone: ZoneInfo) -> datetime | None:
    """A deadline day ends at midnight in the region's time zone."""
    if day is None:
        return None
    return datetime.combine(day, time(23, 59, 59), zone)


def _media_url(photo: Photo) -> str:
    """The public address of a complaint's first photo (served by the citizens' pages)."""
    return url_for("pengaduan.photo", photo_id=photo.id, _external=True)
