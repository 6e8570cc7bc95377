"""The core's input fields: clean text and bounded integers, used by every schema."""

from __future__ import annotations

import importlib
import pkgutil
from xml.etree import ElementTree as ET

import pytest
from marshmallow import Schema, ValidationError, class_registry, fields

import balai
from balai.fields import (
    INT_MAX,
    MAX_PAGE,
    AwareDateTime,
    Date,
    DateTime,
    Email,
    Id,
    Integer,
    NaiveDateTime,
    Text,
    int_arg,
    load_int,
)
from balai.forms import CleanParameters, FormSchema, validate_form
from balai.text import clean_text, xml_document, xml_text

DATED = (Date, DateTime, AwareDateTime, NaiveDateTime)
FORBIDDEN_IN_XML = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]


# -- text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Sampah menumpuk", "Sampah menumpuk"),
        ("baris\r\nbaru\rlagi\n\ttab", "baris\nbaru\nlagi\n\ttab"),
        ("ESC\x1b[31m VT\x0b NUL\x00 BS\x08 DEL\x7f NEL\x85", "ESC[31m VT NUL BS DEL NEL"),
        ("noncharacters \ufffe\uffff, surrogate \ud800", "noncharacters , surrogate "),
        ("Jalan Raya — ꦧꦭꦻ 🏛️ ‮kanan", "Jalan Raya — ꦧꦭꦻ 🏛️ ‮kanan"),
    ],
)
def test_clean_text_keeps_tab_and_newline_and_drops_other_controls(given, kept):
    assert clean_text(given) == kept
    assert Text().deserialize(given) == kept


def test_xml_document_parses_whatever_its_text_holds():
    root = ET.Element("requests")
    child = ET.SubElement(root, "request", attrib={"note": "a\x1bb"})
    child.text = "".join(FORBIDDEN_IN_XML) + "ok\ufffe\uffff\ud800"
    child.tail = "\x00"
    document = xml_document(root)
    assert document.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n')
    parsed = ET.fromstring(document)  # noqa: S314 - our own document
    assert parsed[0].text == "ok" and parsed[0].get("note") == "ab"
    assert xml_text("tab\tnew\nline") == "tab\tnew\nline"


def test_query_and_form_values_are_cleaned_as_they_are_parsed():
    params = CleanParameters([("q\x00", "cari\x1b"), ("q\x00", "dua\r\n")])
    assert params.getlist("q") == ["cari", "dua\n"]
    assert CleanParameters({"a": ["x\x00", "y"]}).getlist("a") == ["x", "y"]


def test_a_value_of_only_control_characters_counts_as_missing():
    class Form(FormSchema):
        name = Text(required=True)

    data, errors = validate_form(Form(), CleanParameters([("name", "\x00\x1b")]))
    assert data is None and list(errors) == ["name"]


# -- integers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "99999999999999999999",
        "9223372036854775808",
        "2147483648",
        "-2147483649",
        "1e3",
        "1.5",
        "٣",
        "1_000",
        "0x10",
        "",
        " ",
        "nan",
        "1" * 5000,
        1.5,
        True,
        2**63,
    ],
)
def test_integer_refuses_what_a_database_integer_cannot_hold(given):
    with pytest.raises(ValidationError):
        Integer().deserialize(given)


@pytest.mark.parametrize(
    ("given", "value"), [("7", 7), (" 42 ", 42), ("+3", 3), ("-5", -5), (12, 12), (2.0, 2)]
)
def test_integer_takes_whole_numbers(given, value):
    assert Integer().deserialize(given) == value
    assert Integer().deserialize(str(INT_MAX)) == INT_MAX


def test_id_and_page_ranges_are_in_the_api_document(client, enable_plugin, login):
    enable_plugin("pengaduan")
    login(client, role="admin")
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/pengaduan/complaints"]["get"]
    ranges = {
        p["name"]: (p["schema"].get("minimum"), p["schema"].get("maximum"))
        for p in operation["parameters"]
    }
    assert ranges["area_id"] == (1, INT_MAX)
    assert ranges["page"] == (1, MAX_PAGE)


def test_id_refusal_uses_the_fields_own_message():
    field = Id(error_messages={"invalid": "Choose an area."})
    for given in ("abc", "0", "2147483648"):
        with pytest.raises(ValidationError) as refused:
            field.deserialize(given)
        assert refused.value.messages == ["Choose an area."]


def test_int_arg_gives_none_for_what_it_cannot_use():
    args = {"page": "99999999999999999999", "ok": "3", "zero": "0"}
    assert int_arg(args, "page") is None
    assert int_arg(args, "ok") == 3
    assert int_arg(args, "zero") is None
    assert int_arg(args, "missing") is None
    assert load_int("12", Id()) == 12


# -- dates and e-mail addresses -------------------------------------------------------


@pytest.mark.parametrize("field", [Date(), DateTime(), AwareDateTime(), NaiveDateTime()])
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01"])
def test_dates_no_one_means_are_refused_before_they_overflow(field, day):
    given = day if isinstance(field, Date) else f"{day}T00:00:00"
    if isinstance(field, AwareDateTime):
        given += "+07:00"
    with pytest.raises(ValidationError, match="from 1900-01-01 to 2199-12-31"):
        field.deserialize(given)


def test_dates_within_the_bounds_are_taken():
    assert Date().deserialize("1900-01-01").isoformat() == "1900-01-01"
    assert AwareDateTime().deserialize("2199-12-31T23:59:59+07:00").year == 2199


@pytest.mark.parametrize(
    "address",
    [
        "siti\u200b@contoh.id",
        "siti@cont\u043eh.id",
        "si ti@contoh.id",
        "siti@contoh",
        "\u00e9@contoh.id",
    ],
)
def test_email_refuses_invisible_and_look_alike_characters(address):
    with pytest.raises(ValidationError):
        Email().deserialize(address)


def test_email_takes_an_ordinary_address():
    assert Email().deserialize(" Siti.Aminah+rt05@Contoh.go.id ") == "Siti.Aminah+rt05@Contoh.go.id"


# -- every schema of the core and the plugins uses them ------------------------------


def _import_everything() -> None:
    packages = [balai, *(importlib.import_module(n) for n in _plugin_packages())]
    for package in packages:
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".migrations" in module.name or module.name.endswith(".testing"):
                continue
            importlib.import_module(module.name)


def _plugin_packages() -> list[str]:
    from importlib.metadata import entry_points

    return sorted(
        {ep.value.split(":")[0].split(".")[0] for ep in entry_points(group="balai.plugins")}
    )


def _leaves(field: fields.Field):
    yield field
    if isinstance(field, fields.List):
        yield from _leaves(field.inner)
    if isinstance(field, fields.Dict):
        for part in (field.key_field, field.value_field):
            if part is not None:
                yield from _leaves(part)


def test_every_schema_declares_text_and_numbers_with_the_core_fields(app):
    _import_everything()
    schemas = {
        cls
        for classes in class_registry._registry.values()
        for cls in classes
        if cls.__module__.split(".")[0].startswith("balai")
    }
    assert len(schemas) > 40, "the schemas of the core and the plugins were not found"
    bare = [
        f"{cls.__module__}.{cls.__name__}.{name}: {type(leaf).__name__}"
        for cls in schemas
        for name, declared in cls._declared_fields.items()
        for leaf in _leaves(declared)
        if (isinstance(leaf, fields.String) and not isinstance(leaf, Text))
        or (isinstance(leaf, fields.Integer) and not isinstance(leaf, Integer))
        or (isinstance(leaf, fields.DateTime) and not isinstance(leaf, DATED))
    ]
    assert bare == [], "use balai.fields.Text / Integer / Id / PageNumber / Date… instead"


def test_the_check_would_notice_a_bare_string():
    class Careless(Schema):
        name = fields.String()

    assert not isinstance(Careless._declared_fields["name"], Text)


@pytest.mark.parametrize("segment", ["SAMPAH%00", "SAM%1bPAH", "%7f"])
def test_a_path_segment_with_a_control_character_matches_no_route(client, enable_plugin, segment):
    enable_plugin("pengaduan")
    assert client.get(f"/pengaduan/open311/v2/services/{segment}.json").status_code == 404
    assert client.get("/pengaduan/open311/v2/services/SAMPAH.json").status_code == 404  # no such
